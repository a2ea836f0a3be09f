"""tests/receivers/receiver_common.py - what the stand-in receivers share:
a threaded HTTP server on a free loopback port (written to --port-file),
every request recorded as one JSON line (--log), and a script of answers
that tests queue with POST /_control/script (a JSON list of actions, used
one per request, in order; an empty queue means "answer normally"):

  {"status": 429, "headers": {"Retry-After": "1"}, "body": "..."}
  {"json": {"ok": false, "error": "channel_not_found"}}   (HTTP 200)
  {"delay": 3}          sleep before answering normally (or with status)
  {"reset": true}       close the connection with a TCP reset, no answer

Standard library only (http.server)."""
import argparse
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, log_path):
        self.log_path = log_path
        self.lock = threading.Lock()
        self.script = []

    def record(self, entry):
        with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, sort_keys=True) + "\n")

    def next_action(self):
        with self.lock:
            return self.script.pop(0) if self.script else None


def make_handler(rx, validate):
    """validate(handler, path, headers, body, parsed) -> (status, ctype, body, violations)"""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n > 0 else b""

        def _send(self, status, ctype, body, headers=None):
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def _reset(self):
            # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _handle(self):
            raw = self._body()
            if self.path == "/_control/script":
                with rx.lock:
                    rx.script.extend(json.loads(raw or b"[]"))
                self._send(200, "application/json", "{}")
                return
            text = raw.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            status, ctype, body, violations = validate(self, self.path, self.headers, text, parsed)
            action = rx.next_action()
            rx.record({
                "time": time.time(), "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": text, "json": parsed, "violations": violations,
                "action": action,
            })
            if action:
                if action.get("delay"):
                    time.sleep(float(action["delay"]))
                if action.get("reset"):
                    self._reset()
                    return
                if "json" in action:
                    self._send(action.get("status", 200), "application/json",
                               json.dumps(action["json"]), action.get("headers"))
                    return
                if "status" in action:
                    self._send(action["status"], action.get("ctype", "text/plain"),
                               action.get("body", ""), action.get("headers"))
                    return
            self._send(status, ctype, body)

        do_POST = _handle
        do_PUT = _handle
        do_PATCH = _handle
        do_GET = _handle

    return Handler


def serve(validate, description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--log", required=True, help="JSON-lines file of the requests")
    ap.add_argument("--port-file", required=True, help="written with the port once listening")
    ap.add_argument("--token", default="", help="the bearer token to accept (Slack API)")
    ap.add_argument("--webhook-path", default="", help="the incoming webhook path to accept")
    args = ap.parse_args()
    rx = Receiver(args.log)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rx, lambda *a: validate(args, *a)))
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()
