#!/usr/bin/python3
"""tests/receivers/zabbix_trapper.py - the Zabbix server side of the sender
protocol (what a trapper on port 10051 does), checking the framing
exactly: "ZBXD", flags 0x01, a 4-byte little-endian data length that
matches the JSON that follows to the byte, 4 reserved zero bytes (Zabbix
4.0+); JSON {"request":"sender data","data":[{"host","key","value",
"clock","ns"}...]} with string host/key/value, integer clock and ns
(0..999999999). A value counts as processed when "host:key" is one of
--items (comma separated), else failed, like a server that knows no such
trapper item. Answers, framed the same way:
  {"response":"success","info":"processed: P; failed: F; total: T; seconds spent: 0.000042"}
A request that breaks the framing is answered {"response":"failed",
"info":"..."} and logged with its violations.

--script FILE: each connection takes the first line of FILE (and removes
it) as what to do: "close" (no answer), "failed" (response failed),
"garbage" (an answer that is not a Zabbix packet), "delay N" (answer after
N seconds); an empty file means answer normally.
Every request is logged as a JSON line in --log; the port (--port, or a free one) goes to --port-file."""
import argparse
import json
import os
import socket
import socketserver
import struct
import threading
import time

LOCK = threading.Lock()


def frame(obj):
    data = json.dumps(obj).encode()
    return b"ZBXD\x01" + struct.pack("<II", len(data), 0) + data


def take_action(path):
    if not path:
        return ""
    with LOCK:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return ""
        if not lines:
            return ""
        with open(path, "w") as f:
            f.write("".join(x + "\n" for x in lines[1:]))
        return lines[0].strip()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        args = self.server.args
        sock = self.request
        sock.settimeout(5)
        v = []
        hdr = recv_exact(sock, 13)
        entry = {"time": time.time(), "violations": v, "json": None}
        if len(hdr) < 13 or hdr[:4] != b"ZBXD":
            v.append("no ZBXD header")
        else:
            if hdr[4] != 0x01:
                v.append("flags 0x%02x, expected 0x01" % hdr[4])
            dlen, reserved = struct.unpack("<II", hdr[5:13])
            if reserved != 0:
                v.append("reserved bytes are not zero")
            data = recv_exact(sock, dlen)
            if len(data) != dlen:
                v.append("data shorter than the header's length")
            sock.settimeout(0.2)
            try:
                extra = sock.recv(1)
            except socket.timeout:
                extra = b""
            if extra:
                v.append("bytes after the announced length")
            entry["length"] = dlen
            try:
                req = json.loads(data.decode("utf-8"))
                entry["json"] = req
            except (ValueError, UnicodeDecodeError) as e:
                v.append("data is not JSON: %s" % e)
                req = None
            if isinstance(req, dict):
                if req.get("request") != "sender data":
                    v.append("request is %r, not 'sender data'" % req.get("request"))
                items = req.get("data")
                if not isinstance(items, list) or not items:
                    v.append("data is not a non-empty array")
                    items = []
                for i, d in enumerate(items):
                    for k in ("host", "key", "value"):
                        if not isinstance(d.get(k), str):
                            v.append("data[%d].%s is not a string" % (i, k))
                    if not isinstance(d.get("clock"), int):
                        v.append("data[%d].clock is not an integer" % i)
                    ns = d.get("ns")
                    if not isinstance(ns, int) or not 0 <= ns <= 999999999:
                        v.append("data[%d].ns is not 0..999999999" % i)
        action = take_action(args.script)
        entry["action"] = action
        known = set(x for x in args.items.split(",") if x)
        if v:
            answer = {"response": "failed", "info": "; ".join(v)}
        elif action == "failed":
            answer = {"response": "failed", "info": "host [x] not found"}
        else:
            items = entry["json"]["data"]
            ok = sum(1 for d in items if "%s:%s" % (d["host"], d["key"]) in known)
            answer = {"response": "success",
                      "info": "processed: %d; failed: %d; total: %d; seconds spent: 0.000042"
                              % (ok, len(items) - ok, len(items))}
        entry["answer"] = answer
        with LOCK, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if action == "close":
            return
        if action.startswith("delay"):
            time.sleep(float(action.split()[1]))
        if action == "garbage":
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            return
        sock.sendall(frame(answer))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--items", default="", help="host:key pairs that exist as trapper items")
    ap.add_argument("--script", default="")
    ap.add_argument("--port", type=int, default=0, help="0: a free one")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.args = args
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
