#!/usr/bin/python3
"""tests/receivers/jira_receiver.py - a stand-in for Jira Cloud's REST API
v3 (and the Service Management request endpoint), stateful: it keeps the
issues, comments and statuses, so find-or-create, comments and transitions
are checked across requests. Requests are checked as Atlassian documents
them and answered like Jira:

  auth   Basic base64(--email:--token), else 401 {"errorMessages":[...]}
  POST /rest/api/3/issue        fields: project.key (OPS or HELP), issuetype.name
         (Task, Bug, Story, Incident), summary (required, <= 255 characters, no
         newline), description in Atlassian Document Format (doc version 1,
         block nodes with non-empty text nodes), labels (strings, no spaces),
         priority.name (Highest..Lowest); 400 {"errorMessages":[],"errors":
         {"field":"message"}} otherwise; 201 {"id","key","self"}
  GET  /rest/api/3/search/jql?jql=labels = "L" AND statusCategory != Done
         [ORDER BY created DESC]&maxResults=&fields=  -> {"issues":[...],"isLast"}
  GET  /rest/api/3/search        410 Gone (removed by Atlassian in 2025)
  GET  /rest/api/3/issue/KEY?fields=status  -> the issue or 404
  POST /rest/api/3/issue/KEY/comment  {"body": ADF} -> 201
  GET  /rest/api/3/issue/KEY/transitions -> the transitions of the issue's
         workflow (OPS: To Do 11, In Progress 21, Done 31; HELP: Resolve this
         issue 761, Escalate 781)
  POST /rest/api/3/issue/KEY/transitions {"transition":{"id"}} -> 204, or
         400 for an id the workflow does not offer
  POST /rest/servicedeskapi/request {serviceDeskId "1", requestTypeId "10",
         requestFieldValues {summary, description (text), labels}} -> 201
         {"issueId","issueKey",...} in project HELP
  GET  /_state -> {"issues": {KEY: issue}}"""
import base64
import itertools
import json
import re
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from itsm_receiver_common import serve  # noqa: E402

STATUS = {"To Do": "new", "In Progress": "indeterminate", "Done": "done",
          "Waiting for support": "new", "Escalated": "indeterminate", "Resolved": "done"}
WORKFLOW = {
    "OPS": [("11", "To Do", "To Do"), ("21", "In Progress", "In Progress"), ("31", "Done", "Done")],
    "HELP": [("761", "Resolve this issue", "Resolved"), ("781", "Escalate", "Escalated")],
}
TYPES = {"Task", "Bug", "Story", "Incident"}
PRIORITIES = {"Highest", "High", "Medium", "Low", "Lowest"}
BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule",
          "panel", "table", "mediaSingle"}


def jerr(status, messages=(), errors=None):
    return (status, "application/json",
            json.dumps({"errorMessages": list(messages), "errors": errors or {}}), None)


def check_adf(doc, where, v):
    if not isinstance(doc, dict) or doc.get("type") != "doc" or doc.get("version") != 1:
        v.append("%s is not an ADF doc (type doc, version 1)" % where)
        return False
    content = doc.get("content")
    if not isinstance(content, list):
        v.append("%s: doc without content array" % where)
        return False
    for i, node in enumerate(content):
        if not isinstance(node, dict) or node.get("type") not in BLOCKS:
            v.append("%s: content[%d] is not a block node" % (where, i))
            return False
        for j, inl in enumerate(node.get("content", [])):
            if inl.get("type") == "text":
                t = inl.get("text")
                if not isinstance(t, str) or t == "":
                    v.append("%s: content[%d].content[%d] empty text node" % (where, i, j))
                    return False
    return True


def adf_text(doc):
    return "\n".join("".join(x.get("text", "") for x in n.get("content", []))
                     for n in doc.get("content", []))


class Jira:
    def __init__(self):
        self.state = {"issues": {}}
        self.ids = itertools.count(10001)
        self.nums = {"OPS": itertools.count(1), "HELP": itertools.count(1)}
        self.order = itertools.count(1)

    def configure(self, args):
        self.args = args
        self.base = "https://example.atlassian.net"

    def view(self, iss):
        return {"id": iss["id"], "key": iss["key"], "self": "%s/rest/api/3/issue/%s" % (self.base, iss["id"]),
                "fields": {"status": {"name": iss["status"], "statusCategory": {
                    "key": STATUS[iss["status"]], "name": STATUS[iss["status"]]}},
                    "summary": iss["summary"], "labels": iss["labels"]}}

    def new_issue(self, project, itype, summary, description, labels, priority):
        key = "%s-%d" % (project, next(self.nums[project]))
        iss = {"id": str(next(self.ids)), "key": key, "project": project, "issuetype": itype,
               "summary": summary, "description": description, "labels": labels,
               "priority": priority, "status": "To Do" if project == "OPS" else "Waiting for support",
               "comments": [], "created": next(self.order)}
        self.state["issues"][key] = iss
        return iss

    def handle(self, req):
        v = []
        want = base64.b64encode(("%s:%s" % (self.args.email, self.args.token)).encode()).decode()
        if req.headers.get("Authorization", "") != "Basic " + want:
            return jerr(401, ["You are not authenticated. Authentication required to perform "
                              "this operation."]) + (v + ["bad or missing Authorization"],)
        if "application/json" not in req.headers.get("Accept", ""):
            v.append("Accept is not application/json")
        if req.method == "POST" and not req.headers.get("Content-Type", "").startswith("application/json"):
            v.append("Content-Type %r" % req.headers.get("Content-Type"))
            return (415, "application/json", "{}", None, v)
        issues = self.state["issues"]
        p = req.path
        if p == "/rest/api/3/search":
            return jerr(410, ["The requested API has been removed. Please migrate to the "
                              "/rest/api/3/search/jql API."]) + (v + ["removed search API"],)
        if p == "/rest/api/3/search/jql" and req.method == "GET":
            jql = req.q("jql", "")
            m = re.match(r'^labels\s*=\s*"([^"]+)"\s+AND\s+statusCategory\s*!=\s*Done'
                         r'(\s+ORDER BY created DESC)?$', jql)
            if not m:
                return jerr(400, ["Error in the JQL Query: %s" % jql]) + (v + ["JQL %r" % jql],)
            found = [i for i in issues.values()
                     if m.group(1) in i["labels"] and STATUS[i["status"]] != "done"]
            found.sort(key=lambda i: i["created"], reverse=bool(m.group(2)))
            n = int(req.q("maxResults", "50"))
            return (200, "application/json",
                    json.dumps({"issues": [self.view(i) for i in found[:n]], "isLast": True}), None, v)
        if p == "/rest/api/3/issue" and req.method == "POST":
            f = (req.json or {}).get("fields")
            if not isinstance(f, dict):
                return jerr(400, ["No fields"]) + (v + ["no fields object"],)
            errs = {}
            proj = (f.get("project") or {}).get("key")
            if proj not in WORKFLOW:
                errs["project"] = "valid project is required"
            if (f.get("issuetype") or {}).get("name") not in TYPES:
                errs["issuetype"] = "Specify an issue type"
            s = f.get("summary")
            if not isinstance(s, str) or not s:
                errs["summary"] = "You must specify a summary of the issue."
            elif "\n" in s or "\r" in s:
                errs["summary"] = "The summary is invalid because it contains newline characters."
            elif len(s) > 255:
                errs["summary"] = "Summary must be less than 255 characters."
            if "description" in f and not check_adf(f["description"], "description", v):
                errs["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            labels = f.get("labels", [])
            for lb in labels:
                if not isinstance(lb, str) or " " in lb or not lb:
                    errs["labels"] = "The label '%s' contains spaces which is invalid." % lb
            pr = f.get("priority")
            if pr is not None and (pr or {}).get("name") not in PRIORITIES:
                errs["priority"] = "Specify the Priority (name) in the string format"
            for k in f:
                if k not in ("project", "issuetype", "summary", "description", "labels", "priority"):
                    v.append("unexpected field %r" % k)
            if errs:
                return jerr(400, [], errs) + (v + ["create: %s" % errs],)
            iss = self.new_issue(proj, f["issuetype"]["name"], s, f.get("description"), labels,
                                 (pr or {}).get("name"))
            return (201, "application/json",
                    json.dumps({"id": iss["id"], "key": iss["key"],
                                "self": "%s/rest/api/3/issue/%s" % (self.base, iss["id"])}), None, v)
        if p == "/rest/servicedeskapi/request" and req.method == "POST":
            b = req.json or {}
            if b.get("serviceDeskId") != "1" or b.get("requestTypeId") != "10":
                return jerr(400, ["The request type you are trying to use does not exist or "
                                  "is not available."]) + (v + ["unknown desk/request type"],)
            rf = b.get("requestFieldValues") or {}
            if not isinstance(rf.get("summary"), str) or not rf["summary"] or "\n" in rf["summary"]:
                return jerr(400, [], {"summary": "You must specify a summary"}) + (v + ["summary"],)
            if "description" in rf and not isinstance(rf["description"], str):
                v.append("request description must be text")
            iss = self.new_issue("HELP", "Service Request", rf["summary"], rf.get("description"),
                                 rf.get("labels", []), None)
            return (201, "application/json", json.dumps({
                "issueId": iss["id"], "issueKey": iss["key"], "requestTypeId": "10",
                "serviceDeskId": "1", "currentStatus": {"status": iss["status"]}}), None, v)
        m = re.match(r"^/rest/api/3/issue/([A-Z][A-Z0-9_]*-\d+)(/comment|/transitions)?$", p)
        if not m:
            return jerr(404, ["No route for %s %s" % (req.method, p)]) + (v + ["unknown path"],)
        key, sub = m.group(1), m.group(2)
        if key not in issues:
            return jerr(404, ["Issue does not exist or you do not have permission to see it."]) + (v,)
        iss = issues[key]
        if sub is None and req.method == "GET":
            return (200, "application/json", json.dumps(self.view(iss)), None, v)
        if sub == "/comment" and req.method == "POST":
            body = (req.json or {}).get("body")
            if not check_adf(body, "comment body", v):
                return jerr(400, [], {"comment": "Comment body can not be empty!"}) + (v,)
            iss["comments"].append(adf_text(body))
            return (201, "application/json", json.dumps({"id": str(len(iss["comments"])), "body": body}),
                    None, v)
        if sub == "/transitions":
            flow = WORKFLOW[iss["project"]]
            if req.method == "GET":
                ts = [{"id": i, "name": n, "to": {"name": to, "statusCategory": {"key": STATUS[to]}}}
                      for i, n, to in flow if to != iss["status"]]
                return (200, "application/json", json.dumps({"transitions": ts}), None, v)
            if req.method == "POST":
                tid = ((req.json or {}).get("transition") or {}).get("id")
                for i, n, to in flow:
                    if i == tid and to != iss["status"]:
                        iss["status"] = to
                        return (204, "application/json", "", None, v)
                return jerr(400, ["Transition id '%s' is not valid for this issue." % tid]) + (
                    v + ["bad transition %r" % tid],)
        return jerr(405, ["Method not allowed"]) + (v + ["method %s %s" % (req.method, p)],)


if __name__ == "__main__":
    def args(ap):
        ap.add_argument("--email", required=True)
        ap.add_argument("--token", required=True)
    serve(Jira(), "a stand-in for Jira Cloud REST v3", args)
