"""tests/receivers/itsm_receiver_common.py - what the stateful ITSM
stand-ins (servicenow_receiver.py, jira_receiver.py, remedy_receiver.py)
share. Like receiver_common.py (whose Receiver it uses for the request log
and the script of answers) but for vendors with state: a request is checked
and applied to the vendor's records by the app's handle(); when a scripted
answer (status, json, reset) replaces the real one, the request is checked
but leaves the records as they were, so a scripted 500 never half-creates a
record. GET /_state returns the app's records as JSON.

  app.handle(req) -> (status, ctype, body, extra_headers, violations)
  req: method, path, query (dict of lists), headers, text, json

Standard library only."""
import argparse
import copy
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from receiver_common import Receiver


class Request:
    def __init__(self, method, path, query, headers, text, parsed):
        self.method, self.path, self.query = method, path, query
        self.headers, self.text, self.json = headers, text, parsed

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default


def make_handler(rx, app, lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

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
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _handle(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n > 0 else b""
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_control/script":
                with rx.lock:
                    rx.script.extend(json.loads(raw or b"[]"))
                self._send(200, "application/json", "{}")
                return
            if url.path == "/_state":
                with lock:
                    self._send(200, "application/json", json.dumps(app.state, sort_keys=True))
                return
            text = raw.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
            req = Request(self.command, urllib.parse.unquote(url.path),
                          urllib.parse.parse_qs(url.query, keep_blank_values=True),
                          self.headers, text, parsed)
            action = rx.next_action()
            if action and action.get("delay"):
                time.sleep(float(action["delay"]))
            replaced = bool(action) and any(k in action for k in ("reset", "status", "json"))
            with lock:
                saved = copy.deepcopy(app.state) if replaced else None
                status, ctype, body, hdrs, violations = app.handle(req)
                if replaced:
                    app.state = saved
            rx.record({
                "time": time.time(), "method": self.command, "path": req.path,
                "raw_path": self.path, "query": req.query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": text, "json": parsed, "violations": violations,
                "action": action, "status": status if not replaced else action.get("status", 200),
            })
            if action and action.get("reset"):
                self._reset()
                return
            if action and "json" in action:
                self._send(action.get("status", 200), "application/json",
                           json.dumps(action["json"]), action.get("headers"))
                return
            if action and "status" in action:
                self._send(action["status"], action.get("ctype", "text/plain"),
                           action.get("body", ""), action.get("headers"))
                return
            self._send(status, ctype, body, hdrs)

        do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

    return Handler


def serve(app, description, add_args=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--log", required=True, help="JSON-lines file of the requests")
    ap.add_argument("--port-file", required=True, help="written with the port once listening")
    if add_args:
        add_args(ap)
    args = ap.parse_args()
    app.configure(args)
    rx = Receiver(args.log)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(rx, app, threading.Lock()))
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()
