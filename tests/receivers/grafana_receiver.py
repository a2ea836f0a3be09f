#!/usr/bin/python3
"""tests/receivers/grafana_receiver.py - a stand-in for Grafana's
annotations HTTP API that checks requests the way Grafana documents them
and answers the way it does.

  POST /api/annotations
    Authorization: Bearer <--token> (else 401 {"message":"Unauthorized"}
    or {"message":"invalid API key"}); Content-Type application/json; a
    JSON object with `text` (required, a non-empty string: else 400
    {"message":"bad request data"}), `time` (epoch milliseconds, an
    integer: 13 digits for today's dates), optional `timeEnd` (>= time),
    `tags` (a list of strings), `dashboardUID` (string), `panelId`
    (integer), nothing else. Answers 200 {"message":"Annotation added","id":N}.
  PATCH /api/annotations/<id>
    the same auth; the id must exist (else 404 {"message":"Annotation not
    found"}); fields among time, timeEnd, text, tags, data; timeEnd must
    not be before the annotation's time. Answers 200
    {"message":"Annotation patched"}.
  GET /api/annotations/_all   (for tests) every stored annotation by id.

Errors (429 with Retry-After, 5xx, delay, reset) are scripted through
receiver_common.py's /_control/script."""
import itertools
import json
import re
import sys
import threading

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402

_lock = threading.Lock()
_ids = itertools.count(1)
_store = {}
POST_FIELDS = {"text", "time", "timeEnd", "tags", "dashboardUID", "dashboardId", "panelId", "data"}
PATCH_FIELDS = {"time", "timeEnd", "text", "tags", "data"}


def msg(status, text, v):
    return status, "application/json", json.dumps({"message": text}), v


def is_ms(x):
    return isinstance(x, int) and not isinstance(x, bool) and 10**12 <= x < 10**13


def validate(args, h, path, headers, body, doc):
    v = []
    if path == "/api/annotations/_all" and h.command == "GET":
        with _lock:
            return 200, "application/json", json.dumps(_store), v
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return msg(401, "Unauthorized", v + ["no Bearer token"])
    if auth != "Bearer " + args.token:
        return msg(401, "invalid API key", v + ["wrong token"])
    if not headers.get("Content-Type", "").startswith("application/json"):
        v.append("Content-Type is not application/json")
    if not isinstance(doc, dict):
        return msg(400, "bad request data", v + ["body is not a JSON object"])
    m = re.fullmatch(r"/api/annotations(?:/(\d+))?", path)
    if not m:
        return msg(404, "Not found", v + ["unknown path " + path])
    if m.group(1) is None:
        if h.command != "POST":
            return msg(405, "Method Not Allowed", v + ["method " + h.command])
        extra = set(doc) - POST_FIELDS
        if extra:
            v.append("unknown fields %s" % sorted(extra))
        if not isinstance(doc.get("text"), str) or not doc["text"]:
            return msg(400, "bad request data", v + ["text missing or empty"])
        if not is_ms(doc.get("time")):
            v.append("time %r is not epoch milliseconds" % (doc.get("time"),))
        if "timeEnd" in doc and (not is_ms(doc["timeEnd"]) or doc["timeEnd"] < doc.get("time", 0)):
            v.append("bad timeEnd")
        tags = doc.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            v.append("tags is not a list of non-empty strings")
        if "dashboardUID" in doc and not isinstance(doc["dashboardUID"], str):
            v.append("dashboardUID is not a string")
        if "panelId" in doc and not isinstance(doc["panelId"], int):
            v.append("panelId is not an integer")
        with _lock:
            aid = next(_ids)
            _store[aid] = dict(doc, id=aid)
        return 200, "application/json", json.dumps({"message": "Annotation added", "id": aid}), v
    if h.command != "PATCH":
        return msg(405, "Method Not Allowed", v + ["method " + h.command])
    aid = int(m.group(1))
    extra = set(doc) - PATCH_FIELDS
    if extra:
        v.append("unknown fields %s" % sorted(extra))
    with _lock:
        cur = _store.get(aid)
        if cur is None:
            return msg(404, "Annotation not found", v + ["unknown annotation %d" % aid])
        if "timeEnd" in doc:
            if not is_ms(doc["timeEnd"]) or doc["timeEnd"] < cur.get("time", 0):
                v.append("timeEnd %r before the annotation's time" % doc["timeEnd"])
        cur.update(doc)
    return 200, "application/json", json.dumps({"message": "Annotation patched"}), v


if __name__ == "__main__":
    serve(validate, "a stand-in for Grafana's annotations API")
