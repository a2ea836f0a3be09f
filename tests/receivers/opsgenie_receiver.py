#!/usr/bin/python3
"""tests/receivers/opsgenie_receiver.py - a stand-in for Opsgenie's Alert
API v2 that checks requests the way Opsgenie documents them and answers
the way Opsgenie does.

  Every request: Authorization: GenieKey <--token>, else 401 {"message":
  "Could not authenticate", ...}; Content-Type application/json; a body
  that is not JSON is 400 {"message": "Invalid JSON", ...}.
  POST /v2/alerts                                   create
    message required, <= 130 characters; alias <= 512; description <=
    15,000; entity <= 512; source <= 100; user <= 100; note <= 25,000;
    priority P1..P5; tags <= 20 strings; details a string map of <= 8,000
    characters; responders/visibleTo <= 50 of {type team|user|escalation|
    schedule, id | name | username (users)}; actions <= 10.
    A violation: 422 {"message": "Request body is not processable. Please
    check the errors.", "errors": {field: reason}, ...}.
  POST /v2/alerts/{identifier}/close?identifierType=alias
  POST /v2/alerts/{identifier}/acknowledge?identifierType=alias
    identifierType id | tiny | alias (default id); body {user?, source?,
    note?} with the limits above.
  Success: 202 {"result": "Request will be processed", "took": 0.0xx,
  "requestId": uuid} - Opsgenie processes the request later, so an
  unknown alias is accepted too (its failure shows only in Opsgenie's log).

Each request is recorded with the violations found (the list is empty for
a request that follows the documentation). Errors, 429s, slow answers and
resets can be scripted, see receiver_common.py."""
import json
import re
import sys
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402

CREATE_KEYS = {"message", "alias", "description", "responders", "visibleTo", "actions", "tags",
               "details", "entity", "source", "priority", "user", "note"}
ACTION_KEYS = {"user", "source", "note"}
LIMITS = {"message": 130, "alias": 512, "description": 15000, "entity": 512, "source": 100,
          "user": 100, "note": 25000}
RESPONDER_TYPES = {"team", "user", "escalation", "schedule"}
PATH_ACTION = re.compile(r"^/v2/alerts/([^/]+)/(close|acknowledge)$")


def answer(status, obj):
    obj = dict(obj, took=0.012, requestId=str(uuid.uuid4()))
    return status, "application/json", json.dumps(obj)


def check_strings(body, keys, errors):
    for k in keys:
        if k in body:
            if not isinstance(body[k], str):
                errors[k] = "%s must be a string" % k
            elif len(body[k]) > LIMITS[k]:
                errors[k] = "%s can not be longer than %d characters" % (k, LIMITS[k])


def check_recipients(name, lst, errors):
    if not isinstance(lst, list) or len(lst) > 50:
        errors[name] = "%s must be a list of at most 50 recipients" % name
        return
    for r in lst:
        if not isinstance(r, dict) or r.get("type") not in RESPONDER_TYPES:
            errors[name] = "%s type must be one of team, user, escalation, schedule" % name
            return
        ids = [k for k in ("id", "name", "username") if k in r]
        if len(ids) != 1 or not isinstance(r[ids[0]], str) or not r[ids[0]]:
            errors[name] = "%s need exactly one of id, name or username" % name
            return
        if ids[0] == "username" and r["type"] != "user":
            errors[name] = "username is for user recipients"
            return
        if ids[0] == "name" and r["type"] == "user":
            errors[name] = "user recipients take id or username"
            return


def check_create(body, errors):
    for k in body:
        if k not in CREATE_KEYS:
            errors[k] = "unknown field %s" % k
    if not isinstance(body.get("message"), str) or not body["message"].strip():
        errors["message"] = "Message can not be empty."
    check_strings(body, LIMITS.keys(), errors)
    if "priority" in body and body["priority"] not in ("P1", "P2", "P3", "P4", "P5"):
        errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]"
    if "tags" in body:
        t = body["tags"]
        if not isinstance(t, list) or len(t) > 20 or not all(isinstance(x, str) for x in t):
            errors["tags"] = "tags must be a list of at most 20 strings"
        elif any(len(x) > 50 for x in t):
            errors["tags"] = "a tag can not be longer than 50 characters"
    if "details" in body:
        d = body["details"]
        if not isinstance(d, dict) or not all(isinstance(v, str) for v in d.values()):
            errors["details"] = "details must be a map of strings"
        elif sum(len(k) + len(v) for k, v in d.items()) > 8000:
            errors["details"] = "details can not be longer than 8000 characters"
    for name in ("responders", "visibleTo"):
        if name in body:
            check_recipients(name, body[name], errors)
    if "actions" in body:
        a = body["actions"]
        if not isinstance(a, list) or len(a) > 10:
            errors["actions"] = "at most 10 actions"


def validate(args, h, path, headers, body, msg):
    v = []
    url = urlsplit(path)
    if h.command != "POST":
        v.append("method %s, not POST" % h.command)
    auth = headers.get("Authorization", "")
    if auth != "GenieKey " + args.token:
        v.append("Authorization is not 'GenieKey <key>'" if not auth.startswith("GenieKey ")
                 else "unknown API key")
        return answer(401, {"message": "Could not authenticate"}) + (v,)
    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("application/json"):
        v.append("Content-Type %r is not application/json" % ctype)
    if body and msg is None or (msg is not None and not isinstance(msg, dict)):
        return answer(400, {"message": "Invalid JSON"}) + (v + ["body is not a JSON object"],)
    msg = msg or {}
    errors = {}
    if url.path == "/v2/alerts":
        if url.query:
            v.append("unexpected query on create: " + url.query)
        check_create(msg, errors)
    else:
        m = PATH_ACTION.match(url.path)
        if not m:
            return answer(404, {"message": "Could not find handler"}) + (v + ["unknown path " + url.path],)
        ident = unquote(m.group(1))
        q = parse_qs(url.query)
        itype = (q.get("identifierType") or ["id"])[0]
        if itype not in ("id", "tiny", "alias"):
            errors["identifierType"] = "identifierType should be one of id, tiny, alias"
        elif itype != "alias":
            v.append("identifierType is %s, the plugin sends aliases" % itype)
        if len(ident) > 512:
            errors["identifier"] = "alias can not be longer than 512 characters"
        for k in msg:
            if k not in ACTION_KEYS:
                errors[k] = "unknown field %s" % k
        check_strings(msg, ACTION_KEYS, errors)
    if errors:
        v.extend("%s: %s" % kv for kv in errors.items())
        return answer(422, {"message": "Request body is not processable. Please check the errors.",
                            "errors": errors}) + (v,)
    return answer(202, {"result": "Request will be processed"}) + (v,)


if __name__ == "__main__":
    serve(validate, "a stand-in for Opsgenie's Alert API v2")
