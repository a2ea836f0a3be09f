#!/usr/bin/python3
"""tests/receivers/servicenow_receiver.py - a stand-in for a ServiceNow
instance's Table API on the incident table, stateful: it keeps the
incidents it was asked to create, so find-or-create, work notes and
resolution are checked across requests. It checks requests as ServiceNow
documents them and answers like ServiceNow:

  auth        Basic --user:--password or Bearer --token; else 401
              {"error":{"message":"User Not Authenticated","detail":"Required
              to provide Auth information"},"status":"failure"}
  headers     Accept: application/json (else a violation: ServiceNow may
              answer XML); Content-Type: application/json on POST/PATCH
  GET  /api/now/table/incident?sysparm_query=...&sysparm_limit=&sysparm_fields=
              encoded query terms FIELD=V, FIELD!=V, FIELD<N, FIELD>N,
              ORDERBY/ORDERBYDESC FIELD joined by ^; an unknown field is
              ignored, as ServiceNow does (and reported as a violation)
              -> 200 {"result":[...]}
  GET  /api/now/table/incident/SYS_ID -> 200 {"result":{...}} or 404
              {"error":{"message":"No Record found",...},"status":"failure"}
  POST /api/now/table/incident -> 201 {"result":{...}}: short_description
              (<= 160 characters) required; urgency/impact "1".."3";
              correlation_id <= 100; unknown fields are violations
  PATCH /api/now/table/incident/SYS_ID -> 200 {"result":{...}}: work_notes
              are appended to the journal; state 6 (Resolved) needs
              close_code (a known choice) and close_notes, else 403
              "Operation Failed" (a data policy)
  GET  /_state -> {"incidents": {sys_id: record}}

Scripted answers (POST /_control/script) as in receiver_common.py."""
import base64
import itertools
import json
import re
import sys
import uuid

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from itsm_receiver_common import serve  # noqa: E402

FIELDS = {"sys_id", "number", "state", "active", "short_description", "description",
          "urgency", "impact", "priority", "caller_id", "assignment_group", "cmdb_ci",
          "category", "correlation_id", "correlation_display", "work_notes", "comments",
          "close_code", "close_notes", "sys_created_on"}
WRITABLE = FIELDS - {"sys_id", "number", "active", "sys_created_on", "priority"}
CLOSE_CODES = {"Solved (Work Around)", "Solved (Permanently)", "Solved Remotely (Work Around)",
               "Solved Remotely (Permanently)", "Not Solved (Not Reproducible)",
               "Not Solved (Too Costly)", "Closed/Resolved by Caller", "Duplicate",
               "Known error", "No resolution provided", "Resolved by caller",
               "Resolved by change", "Resolved by problem", "Resolved by request",
               "Solution provided", "Workaround provided", "User error"}


def err(status, message, detail):
    return (status, "application/json",
            json.dumps({"error": {"message": message, "detail": detail}, "status": "failure"}),
            None)


class ServiceNow:
    def __init__(self):
        self.state = {"incidents": {}}
        self.numbers = itertools.count(10001)
        self.clock = itertools.count(1)

    def configure(self, args):
        self.args = args

    def view(self, rec, fields):
        out = {k: v for k, v in rec.items() if k != "journal"}
        out["work_notes"] = ""  # a journal field reads back empty
        if fields:
            out = {k: out.get(k, "") for k in fields}
        return out

    def auth_ok(self, headers):
        a = headers.get("Authorization", "")
        if self.args.token and a == "Bearer " + self.args.token:
            return True
        want = base64.b64encode(("%s:%s" % (self.args.user, self.args.password)).encode()).decode()
        return bool(self.args.user) and a == "Basic " + want

    def match(self, rec, terms, v):
        for t in terms:
            m = re.match(r"^([a-z_]+)(!=|=|<|>)(.*)$", t)
            if not m:
                v.append("unparsed query term %r" % t)
                continue
            f, op, val = m.groups()
            if f not in FIELDS:
                v.append("unknown field %r in sysparm_query (ServiceNow ignores it)" % f)
                continue
            have = str(rec.get(f, ""))
            if op == "=" and have != val:
                return False
            if op == "!=" and have == val:
                return False
            if op in "<>":
                try:
                    a, b = int(have or 0), int(val)
                except ValueError:
                    v.append("non-numeric comparison %r" % t)
                    return False
                if (op == "<" and not a < b) or (op == ">" and not a > b):
                    return False
        return True

    def handle(self, req):
        v = []
        base = "/api/now/table/incident"
        if req.headers.get("Accept", "") != "application/json":
            v.append("Accept is %r, not application/json" % req.headers.get("Accept"))
        if not self.auth_ok(req.headers):
            return err(401, "User Not Authenticated", "Required to provide Auth information") + (
                v + ["bad or missing Authorization"],)
        incs = self.state["incidents"]
        m = re.match(r"^%s(?:/([0-9a-f]{32}))?$" % base, req.path)
        if not m:
            return err(400, "Invalid table", "Invalid path " + req.path) + (v + ["unknown path"],)
        sys_id = m.group(1)
        if req.method in ("POST", "PATCH"):
            if not req.headers.get("Content-Type", "").startswith("application/json"):
                v.append("Content-Type %r" % req.headers.get("Content-Type"))
            if not isinstance(req.json, dict):
                return err(400, "Exception while reading request",
                           "The payload is not valid JSON.") + (v + ["body not a JSON object"],)
            for k in req.json:
                if k not in WRITABLE:
                    v.append("unknown or read-only field %r" % k)
            for k in ("urgency", "impact"):
                if k in req.json and req.json[k] not in ("1", "2", "3"):
                    v.append("%s %r not 1..3" % (k, req.json[k]))
            if len(req.json.get("short_description", "")) > 160:
                v.append("short_description longer than 160")
            if len(req.json.get("correlation_id", "")) > 100:
                v.append("correlation_id longer than 100")
        if req.method == "GET" and sys_id is None:
            q = req.q("sysparm_query", "")
            terms = [t for t in q.split("^") if t]
            order = [t for t in terms if t.startswith("ORDERBY")]
            terms = [t for t in terms if not t.startswith("ORDERBY")]
            found = [r for r in incs.values() if self.match(r, terms, v)]
            for o in order:
                desc = o.startswith("ORDERBYDESC")
                f = o[len("ORDERBYDESC"):] if desc else o[len("ORDERBY"):]
                found.sort(key=lambda r: r.get(f, ""), reverse=desc)
            lim = int(req.q("sysparm_limit", "10000"))
            fields = [f for f in req.q("sysparm_fields", "").split(",") if f]
            return (200, "application/json",
                    json.dumps({"result": [self.view(r, fields) for r in found[:lim]]}), None, v)
        if req.method == "GET":
            if sys_id not in incs:
                return err(404, "No Record found",
                           "Record doesn't exist or ACL restricts the record retrieval") + (v,)
            fields = [f for f in req.q("sysparm_fields", "").split(",") if f]
            return (200, "application/json",
                    json.dumps({"result": self.view(incs[sys_id], fields)}), None, v)
        if req.method == "POST" and sys_id is None:
            if not req.json.get("short_description"):
                v.append("no short_description")
            rec = {k: str(val) for k, val in req.json.items() if k in WRITABLE}
            rec.update({"sys_id": uuid.uuid4().hex, "number": "INC%07d" % next(self.numbers),
                        "state": rec.get("state", "1"), "active": "true",
                        "sys_created_on": "2024-01-01 00:00:%06d" % next(self.clock),
                        "journal": []})
            if rec.pop("work_notes", ""):
                rec["journal"].append(req.json["work_notes"])
            incs[rec["sys_id"]] = rec
            return (201, "application/json", json.dumps({"result": self.view(rec, None)}),
                    {"Location": "https://x.service-now.com%s/%s" % (base, rec["sys_id"])}, v)
        if req.method == "PATCH" and sys_id is not None:
            if sys_id not in incs:
                return err(404, "No Record found",
                           "Record doesn't exist or ACL restricts the record retrieval") + (v,)
            rec = incs[sys_id]
            new = req.json
            if str(new.get("state", "")) == "6":
                miss = [n for k, n in (("close_code", "Resolution code"),
                                       ("close_notes", "Resolution notes"))
                        if not (new.get(k) or rec.get(k))]
                if miss:
                    return err(403, "Operation Failed",
                               "Data Policy Exception: The following fields are mandatory: "
                               + ", ".join(miss)) + (v + ["resolve without " + ", ".join(miss)],)
                if new.get("close_code") and new["close_code"] not in CLOSE_CODES:
                    v.append("close_code %r is not a choice" % new["close_code"])
            for k, val in new.items():
                if k == "work_notes":
                    if val:
                        rec["journal"].append(val)
                elif k in WRITABLE:
                    rec[k] = str(val)
            if rec.get("state") in ("7", "8"):
                rec["active"] = "false"
            return (200, "application/json", json.dumps({"result": self.view(rec, None)}), None, v)
        return err(405, "Method not Supported", "%s not allowed here" % req.method) + (
            v + ["method %s on %s" % (req.method, req.path)],)


if __name__ == "__main__":
    def args(ap):
        ap.add_argument("--user", default="")
        ap.add_argument("--password", default="")
        ap.add_argument("--token", default="")
    serve(ServiceNow(), "a stand-in for ServiceNow's Table API (incident)", args)
