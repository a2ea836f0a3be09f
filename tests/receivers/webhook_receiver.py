#!/usr/bin/python3
"""tests/receivers/webhook_receiver.py - a generic webhook receiver for the
webhook output's tests: accepts any path with 200 {"received":true},
records each request (method, path, headers, body, parsed JSON) as a JSON
line and can be scripted with error answers (see receiver_common.py).
Violations noted: a method other than POST/PUT/PATCH, no Content-Type, a
body that is not JSON while Content-Type says JSON."""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402


def validate(args, h, path, headers, body, msg):
    v = []
    if h.command not in ("POST", "PUT", "PATCH"):
        v.append("method " + h.command)
    ctype = headers.get("Content-Type", "")
    if not ctype:
        v.append("no Content-Type")
    if "json" in ctype and msg is None:
        v.append("body is not JSON")
    return 200, "application/json", '{"received":true}', v


if __name__ == "__main__":
    serve(validate, "a generic webhook receiver")
