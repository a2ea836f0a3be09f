#!/usr/bin/python3
"""tests/receivers/pagerduty_receiver.py - a stand-in for PagerDuty's Events
API v2 that checks requests the way PagerDuty documents them and answers
the way PagerDuty does.

  POST /v2/enqueue
    Content-Type application/json; a JSON object with
      routing_key   32 characters; must be --token (PagerDuty answers an
                    unknown key with 400 too, after checking the format)
      event_action  trigger | acknowledge | resolve
      dedup_key     <= 255 characters; required for acknowledge/resolve
      payload       required for trigger: summary (<= 1024 characters),
                    source and severity (critical|error|warning|info)
                    required; timestamp ISO 8601; component, group, class
                    strings; custom_details an object
      links [{href, text?}], images [{src, href?, alt?}], client, client_url
    and the whole event <= 512 KB.
    A valid event: 202 {"status":"success","message":"Event processed",
    "dedup_key":...}. An invalid one: 400 {"status":"invalid event",
    "message":"Event object is invalid","errors":[...]}.
  Any other path: 404.

Each request is recorded with the violations found (the list is empty for
a request that follows the documentation). Errors, 429s, slow answers and
resets can be scripted, see receiver_common.py."""
import json
import re
import sys
import uuid

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}
ISO8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
TOP_KEYS = {"routing_key", "event_action", "dedup_key", "payload", "links", "images",
            "client", "client_url"}
PAYLOAD_KEYS = {"summary", "source", "severity", "timestamp", "component", "group", "class",
                "custom_details"}


def check_event(ev, token, v):
    if not isinstance(ev, dict):
        v.append("Event object is not a JSON object")
        return
    for k in ev:
        if k not in TOP_KEYS:
            v.append("unknown field '%s'" % k)
    rk = ev.get("routing_key")
    if not isinstance(rk, str) or len(rk) != 32:
        v.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif token and rk != token:
        v.append("'routing_key' is not a known integration key")
    action = ev.get("event_action")
    if action not in ACTIONS:
        v.append("'event_action' is invalid (must be one of the following: 'trigger', "
                 "'acknowledge' or 'resolve')")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or len(dk) > 255 or dk == ""):
        v.append("'dedup_key' is invalid (a string of at most 255 characters)")
    if action in ("acknowledge", "resolve") and not dk:
        v.append("'dedup_key' is required for %s events" % action)
    if action == "trigger":
        pl = ev.get("payload")
        if not isinstance(pl, dict):
            v.append("'payload' is missing or not an object")
        else:
            for k in pl:
                if k not in PAYLOAD_KEYS:
                    v.append("unknown payload field '%s'" % k)
            s = pl.get("summary")
            if not isinstance(s, str) or not s:
                v.append("'payload.summary' is missing or blank")
            elif len(s) > 1024:
                v.append("'payload.summary' is longer than 1024 characters")
            if not isinstance(pl.get("source"), str) or not pl.get("source"):
                v.append("'payload.source' is missing or blank")
            if pl.get("severity") not in SEVERITIES:
                v.append("'payload.severity' is invalid (must be one of the following: "
                         "'critical', 'warning', 'error' or 'info')")
            ts = pl.get("timestamp")
            if ts is not None and (not isinstance(ts, str) or not ISO8601.match(ts)):
                v.append("'payload.timestamp' is not ISO 8601")
            for k in ("component", "group", "class"):
                if k in pl and not isinstance(pl[k], str):
                    v.append("'payload.%s' is not a string" % k)
            if "custom_details" in pl and not isinstance(pl["custom_details"], (dict, str)):
                v.append("'payload.custom_details' is not an object")
    else:
        if "payload" in ev:
            v.append("payload sent with %s (PagerDuty ignores it)" % action)
    for link in ev.get("links", []) or []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            v.append("links[] entry without href")
    for img in ev.get("images", []) or []:
        if not isinstance(img, dict) or not isinstance(img.get("src"), str):
            v.append("images[] entry without src")
    for k in ("client", "client_url"):
        if k in ev and not isinstance(ev[k], str):
            v.append("'%s' is not a string" % k)


def validate(args, h, path, headers, body, ev):
    v = []
    if path != "/v2/enqueue":
        return 404, "application/json", '{"status":"not found"}', ["unknown path " + path]
    if h.command != "POST":
        v.append("method %s, not POST" % h.command)
    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("application/json"):
        v.append("Content-Type %r is not application/json" % ctype)
    if "Authorization" in headers:
        v.append("Authorization header sent (the Events API takes the routing_key only)")
    if len(body.encode("utf-8")) > 512 * 1024:
        v.append("event larger than 512 KB")
    if ev is None:
        return 400, "application/json", json.dumps({
            "status": "invalid event", "message": "Event object is invalid",
            "errors": ["Invalid JSON"]}), v + ["body is not JSON"]
    check_event(ev, args.token, v)
    if v:
        return 400, "application/json", json.dumps({
            "status": "invalid event", "message": "Event object is invalid",
            "errors": v}), v
    dk = ev.get("dedup_key") or uuid.uuid4().hex
    return 202, "application/json", json.dumps({
        "status": "success", "message": "Event processed", "dedup_key": dk}), v


if __name__ == "__main__":
    serve(validate, "a stand-in for PagerDuty's Events API v2")
