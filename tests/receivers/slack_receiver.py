#!/usr/bin/python3
"""tests/receivers/slack_receiver.py - a stand-in for Slack that checks
requests the way Slack documents them and answers the way Slack does.

  POST /api/chat.postMessage   (the Web API)
    Authorization: Bearer <--token>, else 200 {"ok":false,"error":"not_authed"
    | "invalid_auth"}; Content-Type application/json (charset utf-8
    expected); `channel` required (else channel_not_found); `text` or
    `blocks`; text <= 40,000 characters; blocks <= 50 (else invalid_blocks);
    a section's text <= 3,000 and a header's plain_text <= 150 characters;
    thread_ts, when present, must be a ts this receiver issued
    (else thread_not_found). Answers {"ok":true,"channel":...,"ts":...}.
  POST /services/...           (incoming webhooks)
    the path must be --webhook-path (else 404 "no_service"); JSON with
    `text` or `blocks` (else 400 "no_text" / "invalid_payload"); no
    `channel` override needed. Answers 200 "ok" as text/html.

Each request is recorded with the violations found (the list is empty for
a request that follows the documentation). Errors can be scripted, see
receiver_common.py."""
import itertools
import sys
import threading

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from receiver_common import serve  # noqa: E402

TEXT_MAX, BLOCKS_MAX, SECTION_MAX, HEADER_MAX = 40000, 50, 3000, 150
BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "image", "rich_text",
               "markdown"}
_ts = itertools.count(1)
_issued = set()
_lock = threading.Lock()


def check_blocks(msg, v):
    text = msg.get("text")
    blocks = msg.get("blocks")
    if text is None and not blocks:
        v.append("neither text nor blocks")
    if text is not None:
        if not isinstance(text, str):
            v.append("text is not a string")
        elif len(text) > TEXT_MAX:
            v.append("text longer than %d characters" % TEXT_MAX)
    if blocks is not None:
        if not isinstance(blocks, list):
            v.append("blocks is not an array")
            return
        if len(blocks) > BLOCKS_MAX:
            v.append("more than %d blocks" % BLOCKS_MAX)
        for i, b in enumerate(blocks):
            t = b.get("type") if isinstance(b, dict) else None
            if t not in BLOCK_TYPES:
                v.append("blocks[%d]: unknown type %r" % (i, t))
                continue
            if t in ("section", "header"):
                to = b.get("text")
                if not isinstance(to, dict) or not isinstance(to.get("text"), str):
                    v.append("blocks[%d]: %s without a text object" % (i, t))
                    continue
                if t == "header" and to.get("type") != "plain_text":
                    v.append("blocks[%d]: header text must be plain_text" % i)
                if t == "section" and to.get("type") not in ("mrkdwn", "plain_text"):
                    v.append("blocks[%d]: section text type %r" % (i, to.get("type")))
                lim = HEADER_MAX if t == "header" else SECTION_MAX
                if len(to["text"]) > lim:
                    v.append("blocks[%d]: %s text longer than %d characters" % (i, t, lim))
                if len(to["text"]) == 0:
                    v.append("blocks[%d]: empty %s text" % (i, t))


def validate(args, h, path, headers, body, msg):
    v = []
    ctype = headers.get("Content-Type", "")
    if h.command != "POST":
        v.append("method %s, not POST" % h.command)
    if not ctype.startswith("application/json"):
        v.append("Content-Type %r is not application/json" % ctype)
    if path == "/api/chat.postMessage":
        auth = headers.get("Authorization", "")
        if "charset=utf-8" not in ctype.replace(" ", "").lower():
            v.append("Content-Type without charset=utf-8 (Slack warns missing_charset)")
        if not auth:
            return 200, "application/json", '{"ok":false,"error":"not_authed"}', v + ["no Authorization"]
        if auth != "Bearer " + args.token:
            return 200, "application/json", '{"ok":false,"error":"invalid_auth"}', v + ["wrong token"]
        if not isinstance(msg, dict):
            return 200, "application/json", '{"ok":false,"error":"invalid_json"}', v + ["body is not a JSON object"]
        if not msg.get("channel"):
            return 200, "application/json", '{"ok":false,"error":"channel_not_found"}', v + ["no channel"]
        check_blocks(msg, v)
        if msg.get("thread_ts") is not None:
            with _lock:
                known = msg["thread_ts"] in _issued
            if not known:
                return 200, "application/json", '{"ok":false,"error":"thread_not_found"}', v + ["unknown thread_ts"]
        if any("blocks" in x or "block" in x for x in v):
            return 200, "application/json", '{"ok":false,"error":"invalid_blocks"}', v
        if any(x.startswith("neither") for x in v):
            return 200, "application/json", '{"ok":false,"error":"no_text"}', v
        with _lock:
            ts = "1700000000.%06d" % next(_ts)
            _issued.add(ts)
        import json
        return 200, "application/json", json.dumps({
            "ok": True, "channel": msg["channel"], "ts": ts,
            "message": {"type": "message", "text": msg.get("text", ""), "ts": ts}}), v
    if path.startswith("/services/"):
        if path != args.webhook_path:
            return 404, "text/html", "no_service", v + ["unknown webhook path"]
        if not isinstance(msg, dict):
            return 400, "text/html", "invalid_payload", v + ["body is not a JSON object"]
        if "Authorization" in headers:
            v.append("Authorization sent to an incoming webhook")
        check_blocks(msg, v)
        if any(x.startswith("neither") for x in v):
            return 400, "text/html", "no_text", v
        if v:
            return 400, "text/html", "invalid_blocks", v
        return 200, "text/html", "ok", v
    return 404, "text/html", "not found", v + ["unknown path " + path]


if __name__ == "__main__":
    serve(validate, "a stand-in for Slack's Web API and incoming webhooks")
