#!/usr/bin/python3
"""tests/receivers/elasticsearch_receiver.py - a stand-in for Elasticsearch's
_bulk API that checks requests the way Elasticsearch documents them and
answers the way it does.

  POST /_bulk  (also /<index>/_bulk)
    Authorization must equal --token (the whole header value, e.g.
    "Basic dXNlcjpwYXNz" or "ApiKey ..."; several separated by "|") when
    --token is given, else 401
    security_exception; Content-Type application/x-ndjson (else 406 like
    ES: "Content-Type header [..] is not supported"); the body is NDJSON:
    pairs of an action line {"create":{"_index":..,"_id":..}} and a source
    line (a JSON object), every line ending with "\\n" including the last
    (else 400 illegal_argument_exception "The bulk request must be
    terminated by a newline [\\n]"); no empty lines; index names valid.
    Documents are kept per index: a create of an _id already there answers
    the item 409 version_conflict_engine_exception, as ES does.
    Answers {"took":N,"errors":bool,"items":[{"create":{"_index","_id",
    "_version","result":"created","status":201,...}}]}.
  POST /_control/items   queues per-item statuses for the next bulk
    requests: a JSON list of lists, one list per request, one entry per
    item in request order (null = normal, 429, 400, 503...). A failed item
    is not stored.
  GET /_docs             every stored document: {"<index>/<id>": source}

Whole-request answers (429 with Retry-After, 5xx, delay, reset) are
scripted through receiver_common.py's /_control/script."""
import json
import re
import sys
import threading

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import receiver_common  # noqa: E402
from receiver_common import serve  # noqa: E402

_rx = []


class _Receiver(receiver_common.Receiver):
    """Remembers itself, so a request about to be refused by a scripted
    whole-request answer (a status or a reset) is not indexed: only a
    "delay" (an answer that comes too late) leaves the documents in."""

    def __init__(self, log_path):
        super().__init__(log_path)
        _rx.append(self)


receiver_common.Receiver = _Receiver


def _refused_whole():
    rx = _rx[0] if _rx else None
    if rx is None:
        return False
    with rx.lock:
        a = rx.script[0] if rx.script else None
    return bool(a) and ("status" in a or "json" in a or a.get("reset"))

_lock = threading.Lock()
_docs = {}          # (index, id) -> source
_item_script = []   # list of lists of statuses
_BAD_INDEX = re.compile(r'[\\/*?"<>| ,#:A-Z]')

ITEM_ERRORS = {
    429: ("es_rejected_execution_exception",
          "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
          "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, "
          "max_coordinating_and_primary_bytes=0]"),
    400: ("document_parsing_exception",
          "[1:42] failed to parse field [severity] of type [long] in document"),
    503: ("unavailable_shards_exception",
          "[reflex][0] primary shard is not active Timeout: [1m]"),
    500: ("exception", "internal error"),
}


def es_error(status, etype, reason):
    return status, "application/json", json.dumps({
        "error": {"root_cause": [{"type": etype, "reason": reason}], "type": etype,
                  "reason": reason}, "status": status})


def validate(args, h, path, headers, body, parsed):
    v = []
    if path == "/_control/items":
        with _lock:
            _item_script.extend(parsed or [])
        return 200, "application/json", "{}", v
    if path == "/_docs":
        with _lock:
            out = {"%s/%s" % k: s for k, s in _docs.items()}
        return 200, "application/json", json.dumps(out), v
    if not (path == "/_bulk" or path.startswith("/_bulk?") or re.match(r"^/[^/_][^/]*/_bulk(\?|$)", path)):
        return (*es_error(400, "invalid_index_name_exception", "unknown path " + path), v + ["unknown path " + path])
    if h.command not in ("POST", "PUT"):
        v.append("method %s" % h.command)
    if args.token:
        auth = headers.get("Authorization", "")
        if auth not in args.token.split("|"):
            st, ct, b = es_error(401, "security_exception",
                                 "missing authentication credentials for REST request [/_bulk]"
                                 if not auth else "unable to authenticate user for REST request [/_bulk]")
            return st, ct, b, v + ["wrong or missing Authorization"]
    ctype = headers.get("Content-Type", "")
    if ctype.split(";")[0].strip() != "application/x-ndjson":
        v.append("Content-Type %r is not application/x-ndjson" % ctype)
        return (*es_error(406, "media_type_header_exception",
                          "Content-Type header [%s] is not supported" % ctype), v)
    if not body.endswith("\n"):
        v.append("body does not end with a newline")
        return (*es_error(400, "illegal_argument_exception",
                          "The bulk request must be terminated by a newline [\\n]"), v)
    lines = body[:-1].split("\n")
    if len(lines) % 2 != 0:
        v.append("odd number of lines: action and source lines must pair")
    if any(not x.strip() for x in lines):
        v.append("empty line in the body")
    refused = _refused_whole()
    with _lock:
        statuses = [] if refused else (_item_script.pop(0) if _item_script else [])
    items, errors = [], False
    for k in range(0, len(lines) - 1, 2):
        pos = k // 2
        try:
            action = json.loads(lines[k])
            source = json.loads(lines[k + 1])
        except ValueError as e:
            v.append("line %d or %d is not JSON: %s" % (k + 1, k + 2, e))
            return (*es_error(400, "x_content_parse_exception", "[1:1] Unexpected character"), v)
        if not isinstance(action, dict) or list(action) != ["create"]:
            v.append("line %d: action is not exactly one 'create'" % (k + 1))
            continue
        meta = action["create"]
        if set(meta) != {"_index", "_id"}:
            v.append("line %d: create metadata %r, expected _index and _id" % (k + 1, sorted(meta)))
        if not isinstance(source, dict):
            v.append("line %d: source is not an object" % (k + 2))
        idx, did = meta.get("_index", ""), meta.get("_id", "")
        if not re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", did or ""):
            v.append("line %d: _id %r is not an event id (ULID)" % (k + 1, did))
        if "@timestamp" not in (source or {}):
            v.append("line %d: source without @timestamp" % (k + 2))
        forced = statuses[pos] if pos < len(statuses) else None
        item = {"_index": idx, "_id": did}
        if not idx or _BAD_INDEX.search(idx) or idx[0] in "-_+":
            item.update(status=400, error={"type": "invalid_index_name_exception",
                                           "reason": "Invalid index name [%s]" % idx})
            v.append("invalid index name %r" % idx)
        elif refused:
            item.update(status=503)
        elif forced:
            etype, reason = ITEM_ERRORS.get(forced, ("exception", "scripted failure"))
            item.update(status=forced, error={"type": etype, "reason": reason, "index": idx})
        else:
            with _lock:
                there = (idx, did) in _docs
                if not there:
                    _docs[(idx, did)] = source
            if there:
                item.update(status=409, error={
                    "type": "version_conflict_engine_exception",
                    "reason": "[%s]: version conflict, document already exists (current version [1])" % did,
                    "index_uuid": "aAsFqTI0Tc2W0LCWgPNrOA", "shard": "0", "index": idx})
            else:
                item.update(_version=1, result="created",
                            _shards={"total": 2, "successful": 1, "failed": 0},
                            _seq_no=len(_docs), _primary_term=1, status=201)
        errors = errors or "error" in item
        items.append({"create": item})
    return 200, "application/json", json.dumps({"took": 3, "errors": errors, "items": items}), v


if __name__ == "__main__":
    serve(validate, "a stand-in for Elasticsearch's _bulk API")
