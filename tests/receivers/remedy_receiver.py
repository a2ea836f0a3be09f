#!/usr/bin/python3
"""tests/receivers/remedy_receiver.py - a stand-in for BMC Helix ITSM /
Remedy's AR System REST API, stateful: it issues JWTs and keeps the
incidents and their work info, so create, work info and resolution are
checked across requests. Requests are checked as BMC documents them and
answered like AR System (errors are a JSON list of {"messageType":"ERROR",
"messageText","messageAppendedText","messageNumber"}):

  POST /api/jwt/login   form-encoded username=&password= (--user, --password)
        -> 200 text/plain token; 401 ARERR 623 "Authentication failed"
  every other request: Authorization: AR-JWT <a token issued and not
        expired>, else 401 ARERR 623
  POST /api/arsys/v1/entry/HPD:IncidentInterface_Create[?fields=values(...)]
        values: z1D_Action CREATE; Description (<= 100) ; Impact
        "1-Extensive/Widespread".."4-Minor/Localized"; Urgency "1-Critical"..
        "4-Low"; Status; Reported Source; Service_Type; First_Name and
        Last_Name unless Service_Type is "Infrastructure Event". 400 ARERR 326
        (required field blank) / 306 (value outside the field's limits); with
        --require-company, Company is required too. 201 with Location, and
        the requested fields as {"values":{...}}
  GET  /api/arsys/v1/entry/HPD:IncidentInterface?q='Incident Number'="INC.."
        &fields=values(...) -> {"entries":[{"values":{...}}]}
  POST /api/arsys/v1/entry/HPD:WorkLog   values: Incident Number (existing),
        Work Log Type, Description (<= 100), Detailed Description, View
        Access, Secure Work Log -> 201
  PUT  /api/arsys/v1/entry/HPD:IncidentInterface/REQUEST_ID  values: Status
        (Resolved needs Resolution and Status_Reason) -> 204
  POST /_control/expire   expires every token issued (the next request 401s)
  GET  /_state -> {"incidents": {number: record}, "logins": n}"""
import itertools
import json
import re
import sys
import urllib.parse
import uuid

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from itsm_receiver_common import serve  # noqa: E402

IMPACT = ["1-Extensive/Widespread", "2-Significant/Large", "3-Moderate/Limited", "4-Minor/Localized"]
URGENCY = ["1-Critical", "2-High", "3-Medium", "4-Low"]
STATUS = ["New", "Assigned", "In Progress", "Pending", "Resolved", "Closed", "Cancelled"]
SOURCES = ["Direct Input", "Email", "External Escalation", "Fax", "Self-Service",
           "Systems Management", "Phone", "Voice Mail", "Walk In", "Web", "Other"]
SERVICE_TYPES = ["User Service Restoration", "User Service Request", "Infrastructure Event",
                 "Infrastructure Restoration"]
REASONS = ["Infrastructure Change Created", "Future Enhancement", "Customer Follow-Up Required",
           "No Further Action Required", "Temporary Corrective Action", "Automated Resolution Reported"]
CREATE_FIELDS = {"First_Name", "Last_Name", "Description", "Detailed_Decription", "Impact",
                 "Urgency", "Status", "Reported Source", "Service_Type", "z1D_Action", "Company",
                 "Assigned Support Company", "Assigned Support Organization", "Assigned Group",
                 "Login_ID", "Categorization Tier 1", "Product Categorization Tier 1"}
WORKLOG_TYPES = ["General Information", "Working Log", "Email System", "Phone Log", "Resolution Communications"]


def arerr(status, text, number, appended=None):
    m = {"messageType": "ERROR", "messageText": text, "messageNumber": number}
    if appended:
        m["messageAppendedText"] = appended
    return (status, "application/json", json.dumps([m]), None)


def fields_param(req):
    f = req.q("fields")
    if f is None:
        return None
    m = re.match(r"^values\((.*)\)$", f)
    return [x.strip() for x in m.group(1).split(",")] if m else []


class Remedy:
    def __init__(self):
        self.state = {"incidents": {}, "logins": 0}
        self.tokens = set()
        self.nums = itertools.count(1)

    def configure(self, args):
        self.args = args

    def limits(self, vals, field, choices, v):
        if field in vals and vals[field] not in choices:
            v.append("%s %r not a choice" % (field, vals[field]))
            return arerr(400, "Value does not fall within the limits specified for the field.",
                         306, "HPD:Help Desk : " + field)
        return None

    def handle(self, req):
        v = []
        p = req.path
        if p == "/_control/expire":
            self.tokens.clear()
            return (200, "application/json", "{}", None, v)
        if p == "/api/jwt/login":
            if req.method != "POST":
                v.append("login with " + req.method)
            if req.headers.get("Content-Type", "") != "application/x-www-form-urlencoded":
                v.append("login Content-Type %r" % req.headers.get("Content-Type"))
            form = urllib.parse.parse_qs(req.text, keep_blank_values=True)
            if form.get("username") != [self.args.user] or form.get("password") != [self.args.password]:
                return arerr(401, "Authentication failed", 623, (form.get("username") or [""])[0]) + (
                    v + ([] if form.get("username") else ["no username field"]),)
            tok = "eyJ" + uuid.uuid4().hex + uuid.uuid4().hex
            self.tokens.add(tok)
            self.state["logins"] += 1
            return (200, "text/plain", tok, None, v)
        a = req.headers.get("Authorization", "")
        if not a.startswith("AR-JWT ") or a[7:] not in self.tokens:
            return arerr(401, "Authentication failed", 623) + (v + ([] if a.startswith("AR-JWT ")
                                                                  else ["no AR-JWT Authorization"]),)
        if req.method in ("POST", "PUT") and not req.headers.get("Content-Type", "").startswith("application/json"):
            v.append("Content-Type %r" % req.headers.get("Content-Type"))
        vals = (req.json or {}).get("values") if isinstance(req.json, dict) else None
        incs = self.state["incidents"]
        if p == "/api/arsys/v1/entry/HPD:IncidentInterface_Create" and req.method == "POST":
            if not isinstance(vals, dict):
                return arerr(400, "Invalid JSON: no values", 8790) + (v + ["no values object"],)
            for k in vals:
                if k not in CREATE_FIELDS:
                    v.append("unknown field %r" % k)
            if vals.get("z1D_Action") != "CREATE":
                v.append("z1D_Action is not CREATE")
            req_fields = ["Description", "Impact", "Urgency", "Status", "Reported Source", "Service_Type"]
            if vals.get("Service_Type") != "Infrastructure Event":
                req_fields += ["First_Name", "Last_Name"]
            if self.args.require_company:
                req_fields.append("Company")
            for k in req_fields:
                if not vals.get(k):
                    return arerr(400, "Required field cannot be blank.", 326, "HPD:Help Desk : " + k) + (
                        v + ["missing " + k],)
            for f, ch in (("Impact", IMPACT), ("Urgency", URGENCY), ("Status", STATUS),
                          ("Reported Source", SOURCES), ("Service_Type", SERVICE_TYPES)):
                e = self.limits(vals, f, ch, v)
                if e:
                    return e + (v,)
            if len(vals["Description"]) > 100:
                return arerr(400, "Value exceeds the maximum length of the field.", 306,
                             "Description") + (v + ["Description longer than 100"],)
            n = next(self.nums)
            num = "INC%012d" % n
            rec = {k: x for k, x in vals.items() if k != "z1D_Action"}
            rec.update({"Incident Number": num, "Request ID": "%s|%s" % (num, num),
                        "worklog": []})
            incs[num] = rec
            create_id = "%015d" % (500 + n)
            hdrs = {"Location": "https://itsm.example.com/api/arsys/v1/entry/HPD:IncidentInterface_Create/" + create_id}
            fl = fields_param(req)
            if fl is None:
                return (201, "application/json", "", hdrs, v)
            out = {"Incident Number": num, "Request ID": create_id}
            return (201, "application/json",
                    json.dumps({"values": {k: out.get(k) for k in fl}, "_links": {"self": [{"href": hdrs["Location"]}]}}),
                    hdrs, v)
        if p == "/api/arsys/v1/entry/HPD:IncidentInterface" and req.method == "GET":
            q = req.q("q", "")
            m = re.match(r"^'Incident Number'\s*=\s*\"([A-Z0-9]+)\"$", q)
            if not m:
                return arerr(400, "The qualification is not valid", 1587, q) + (v + ["q %r" % q],)
            fl = fields_param(req) or ["Request ID", "Incident Number", "Status"]
            found = [incs[m.group(1)]] if m.group(1) in incs else []
            return (200, "application/json", json.dumps({"entries": [
                {"values": {k: r.get(k) for k in fl}, "_links": {"self": [{"href": "x"}]}} for r in found],
                "_links": {"self": [{"href": "x"}]}}), None, v)
        if p == "/api/arsys/v1/entry/HPD:WorkLog" and req.method == "POST":
            if not isinstance(vals, dict):
                return arerr(400, "Invalid JSON: no values", 8790) + (v + ["no values object"],)
            num = vals.get("Incident Number")
            if num not in incs:
                return arerr(400, "The Incident Number is not valid.", 1000000173, str(num)) + (
                    v + ["unknown incident %r" % num],)
            for f, ch in (("Work Log Type", WORKLOG_TYPES), ("View Access", ["Internal", "Public"]),
                          ("Secure Work Log", ["Yes", "No"])):
                e = self.limits(vals, f, ch, v)
                if e:
                    return e + (v,)
            if not vals.get("Description") or len(vals["Description"]) > 100:
                v.append("work info Description missing or longer than 100")
            incs[num]["worklog"].append(vals.get("Detailed Description", ""))
            return (201, "application/json", "", {"Location": "https://itsm.example.com/api/arsys/v1/entry/HPD:WorkLog/WLG1"}, v)
        m = re.match(r"^/api/arsys/v1/entry/HPD:IncidentInterface/(.+)$", p)
        if m and req.method == "PUT":
            rid = m.group(1)
            rec = next((r for r in incs.values() if r["Request ID"] == rid), None)
            if rec is None:
                return arerr(404, "Entry does not exist in the form", 302, rid) + (v + ["unknown id %r" % rid],)
            if not isinstance(vals, dict):
                return arerr(400, "Invalid JSON: no values", 8790) + (v + ["no values object"],)
            e = self.limits(vals, "Status", STATUS, v) or self.limits(vals, "Status_Reason", REASONS, v)
            if e:
                return e + (v,)
            if vals.get("Status") == "Resolved" and not (vals.get("Resolution") and vals.get("Status_Reason")):
                return arerr(400, "The Resolution and Status Reason fields are required to "
                             "resolve an incident.", 1291053) + (v + ["resolve without resolution"],)
            rec.update(vals)
            return (204, "application/json", "", None, v)
        return arerr(404, "No route", 9999, "%s %s" % (req.method, p)) + (v + ["unknown path"],)


if __name__ == "__main__":
    def args(ap):
        ap.add_argument("--user", required=True)
        ap.add_argument("--password", required=True)
        ap.add_argument("--require-company", action="store_true")
    serve(Remedy(), "a stand-in for the AR System REST API (BMC Helix ITSM)", args)
