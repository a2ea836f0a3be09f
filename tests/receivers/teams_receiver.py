#!/usr/bin/python3
"""tests/receivers/teams_receiver.py - a stand-in for Microsoft Teams'
webhooks that checks requests the way Microsoft documents them and answers
the way Teams does.

  POST <--webhook-path>  (path and query, e.g. a Workflows trigger URL
  .../triggers/manual/paths/invoke?api-version=...&sig=...); another path
  or signature: 401 {"error":{"code":"DirectApiAuthorizationRequired",...}}
  Content-Type application/json; the body at most 28 KB (else 413).
    Workflows ("When a Teams webhook request is received"): a message
      {"type":"message","attachments":[{"contentType":
      "application/vnd.microsoft.card.adaptive","contentUrl":null,
      "content":{"$schema":...,"type":"AdaptiveCard","version":"1.0".."1.5",
      "body":[elements]}}]} - TextBlock with a text string, FactSet with
      facts [{title, value}] strings, Container/ColumnSet/Image known;
      actions Action.OpenUrl with a url. Answers 202 with an empty body.
    Legacy Office 365 connector: a MessageCard {"@type":"MessageCard",
      "@context":"https://schema.org/extensions" (or http), "summary" or
      "text" required, themeColor 6 hex digits, sections [{activityTitle?,
      text?, facts [{name, value}]?}], potentialAction [{"@type":"OpenUri",
      name, targets [{os, uri}]}]}. Answers 200 with the text "1".
  A request that breaks these: 400 (Workflows: {"error":{"code":
  "InvalidRequestContent","message":...}}; connector: text "Bad payload
  received by generic incoming webhook.").

Each request is recorded with the violations found (the list is empty for
a request that follows the documentation). Errors - including the
connector's "200 with an error text" - can be scripted, see
receiver_common.py."""
import json
import re
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402

MAX_BYTES = 28 * 1024
ELEMENTS = {"TextBlock", "FactSet", "Container", "ColumnSet", "Image", "RichTextBlock",
            "ActionSet", "Table"}
VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}


def check_card(card, v):
    if not isinstance(card, dict):
        v.append("content is not an object")
        return
    if card.get("type") != "AdaptiveCard":
        v.append("content.type is not AdaptiveCard")
    if card.get("version") not in VERSIONS:
        v.append("content.version %r is not 1.0-1.5 (Teams' range)" % card.get("version"))
    if "$schema" not in card:
        v.append("content without $schema")
    body = card.get("body")
    if not isinstance(body, list) or not body:
        v.append("content.body is not a non-empty array")
        body = []
    for i, el in enumerate(body):
        t = el.get("type") if isinstance(el, dict) else None
        if t not in ELEMENTS:
            v.append("body[%d]: unknown element %r" % (i, t))
        elif t == "TextBlock":
            if not isinstance(el.get("text"), str) or el["text"] == "":
                v.append("body[%d]: TextBlock without text" % i)
            if "color" in el and el["color"] not in ("Default", "Dark", "Light", "Accent",
                                                      "Good", "Warning", "Attention"):
                v.append("body[%d]: unknown color %r" % (i, el["color"]))
        elif t == "FactSet":
            facts = el.get("facts")
            if not isinstance(facts, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("title"), str)
                    and isinstance(f.get("value"), str) for f in facts):
                v.append("body[%d]: FactSet facts must be [{title, value}] strings" % i)
    for i, a in enumerate(card.get("actions", []) or []):
        if not isinstance(a, dict) or a.get("type") != "Action.OpenUrl" or \
                not isinstance(a.get("url"), str) or not isinstance(a.get("title"), str):
            v.append("actions[%d]: not an Action.OpenUrl with title and url" % i)


def check_message(msg, v):
    if msg.get("type") != "message":
        v.append("type is not 'message'")
    atts = msg.get("attachments")
    if not isinstance(atts, list) or len(atts) != 1:
        v.append("attachments must hold one card")
        return
    att = atts[0]
    if not isinstance(att, dict):
        v.append("attachments[0] is not an object")
        return
    if att.get("contentType") != "application/vnd.microsoft.card.adaptive":
        v.append("contentType %r" % att.get("contentType"))
    if "contentUrl" not in att or att["contentUrl"] is not None:
        v.append("contentUrl must be present and null")
    check_card(att.get("content"), v)


def check_messagecard(msg, v):
    if msg.get("@context") not in ("https://schema.org/extensions", "http://schema.org/extensions"):
        v.append("@context %r" % msg.get("@context"))
    if not msg.get("summary") and not msg.get("text"):
        v.append("MessageCard needs summary or text")
    tc = msg.get("themeColor")
    if tc is not None and not (isinstance(tc, str) and re.fullmatch(r"[0-9A-Fa-f]{6}", tc)):
        v.append("themeColor %r is not 6 hex digits" % tc)
    for i, s in enumerate(msg.get("sections", []) or []):
        if not isinstance(s, dict):
            v.append("sections[%d] is not an object" % i)
            continue
        for f in s.get("facts", []) or []:
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or \
                    not isinstance(f.get("value"), str):
                v.append("sections[%d]: facts must be [{name, value}] strings" % i)
                break
    for i, a in enumerate(msg.get("potentialAction", []) or []):
        tg = a.get("targets") if isinstance(a, dict) else None
        if not isinstance(a, dict) or a.get("@type") != "OpenUri" or not a.get("name") or \
                not isinstance(tg, list) or not all(isinstance(t, dict) and t.get("uri") for t in tg):
            v.append("potentialAction[%d]: not an OpenUri with name and targets" % i)


def validate(args, h, path, headers, body, msg):
    v = []
    if path != args.webhook_path:
        return 401, "application/json", json.dumps({"error": {
            "code": "DirectApiAuthorizationRequired",
            "message": "The request must be authenticated"}}), ["unknown webhook path or sig"]
    if h.command != "POST":
        v.append("method %s, not POST" % h.command)
    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("application/json"):
        v.append("Content-Type %r is not application/json" % ctype)
    if len(body.encode("utf-8")) > MAX_BYTES:
        v.append("message larger than 28 KB")
        return 413, "text/plain", "Payload too large", v
    legacy = isinstance(msg, dict) and msg.get("@type") == "MessageCard"
    if not isinstance(msg, dict):
        v.append("body is not a JSON object")
    elif legacy:
        check_messagecard(msg, v)
    else:
        check_message(msg, v)
    if legacy:
        if v:
            return 400, "text/plain", "Bad payload received by generic incoming webhook.", v
        return 200, "text/plain", "1", v
    if v:
        return 400, "application/json", json.dumps({"error": {
            "code": "InvalidRequestContent", "message": "; ".join(v)}}), v
    return 202, "text/plain", "", v


if __name__ == "__main__":
    serve(validate, "a stand-in for Microsoft Teams' Workflows and connector webhooks")
