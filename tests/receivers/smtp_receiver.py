#!/usr/bin/python3
"""tests/receivers/smtp_receiver.py - an SMTP server (aiosmtpd, Debian
package python3-aiosmtpd) for the email output's failure tests: it keeps
accepted mail in a Maildir like aiosmtpd's Mailbox handler, optionally
requires AUTH PLAIN/LOGIN with --user/--password (over plain text on
loopback), and answers DATA as scripted by --answers, one code per message
in order, then 250: e.g. "451,250,550" answers the first message
"451 4.3.0 Try again later", accepts the second and refuses the third with
"550 5.7.1 Message refused". A RCPT TO address starting with "nobody@"
is refused with 550 5.1.1 like an unknown mailbox.

  smtp_receiver.py --maildir DIR --port-file FILE [--answers 451,250]
                   [--user U --password P] [--log FILE]

Every SMTP transaction (envelope, the answer given) is logged as a JSON
line in --log."""
import argparse
import asyncio
import warnings
import json
import mailbox
import os
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ANSWERS = {
    "451": "451 4.3.0 Try again later",
    "452": "452 4.2.2 Mailbox full",
    "421": "421 4.7.0 Service not available, closing transmission channel",
    "550": "550 5.7.1 Message refused",
    "552": "552 5.3.4 Message too big",
    "554": "554 5.7.1 Rejected by policy",
}


class Handler:
    def __init__(self, args):
        self.args = args
        self.answers = [a for a in (args.answers or "").split(",") if a]
        self.box = mailbox.Maildir(args.maildir, create=True)
        self.lock = threading.Lock()

    def log(self, entry):
        if self.args.log:
            with self.lock, open(self.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            code = self.answers.pop(0) if self.answers else "250"
        answer = ANSWERS.get(code, "250 OK: queued")
        if answer.startswith("250"):
            with self.lock:
                self.box.add(envelope.original_content or envelope.content)
        self.log({"time": time.time(), "from": envelope.mail_from, "to": envelope.rcpt_tos,
                  "answer": answer, "bytes": len(envelope.original_content or b""),
                  # the DATA as it came over the wire: lines must end with CRLF
                  "bare_lf": (envelope.original_content or b"").replace(b"\r\n", b"").count(b"\n"),
                  "max_line": max((len(x) for x in (envelope.original_content or b"").split(b"\r\n")), default=0),
                  "auth": bool(getattr(session, "authenticated", False))})
        return answer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--answers", default="")
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--log", default="")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # AUTH without TLS is the point on loopback

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        return AuthResult(success=ok, handled=False)

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    kw = {}
    if args.user:
        kw = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    ctl = Controller(Handler(args), hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        asyncio.run(asyncio.Event().wait())
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
