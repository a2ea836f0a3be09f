#!/bin/bash
# The email output inside a running reflexd, against real SMTP servers on
# loopback (aiosmtpd, Debian package python3-aiosmtpd): `python3 -m
# aiosmtpd` with its Mailbox handler writing a Maildir, and
# tests/receivers/smtp_receiver.py (AUTH, scripted 451/550 answers). The
# received messages are parsed with Python's email package: MIME structure
# (multipart/alternative, text/plain + text/html, UTF-8, quoted-printable),
# RFC 2047 subjects, Date, stable Message-IDs, and threading (In-Reply-To,
# References, "Re: ") of firing, update and resolution of one fingerprint.
# 451 is retried, 550 and a refused recipient or login are dead letters;
# the password never reaches the log.
. "$(dirname "$0")/lib.sh"
SMTPD_PID=""
FAILRX_PID=""
stop_smtp() {
	[ -n "$SMTPD_PID" ] && kill "$SMTPD_PID" 2>/dev/null && wait "$SMTPD_PID" 2>/dev/null
	[ -n "$FAILRX_PID" ] && kill "$FAILRX_PID" 2>/dev/null && wait "$FAILRX_PID" 2>/dev/null
}
trap 'stop_smtp; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/email/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
	echo "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
	exit 1
fi
# the Maildir server
SMTP_PORT=$(free_port)
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox \
	"$TMP/Maildir" >"$TMP/aiosmtpd.log" 2>&1 &
SMTPD_PID=$!
# the scripted one: AUTH required, DATA answered 451, 250, 550, then 250
SMTP_PASS='pA55-w0rd-SeCrEt'
/usr/bin/python3 "$SRCDIR/tests/receivers/smtp_receiver.py" --maildir "$TMP/Maildir2" \
	--port-file "$TMP/smtp2.port" --answers 451,250,550 --user alerts --password "$SMTP_PASS" \
	--log "$TMP/smtp2.jsonl" >"$TMP/smtp2.stderr" 2>&1 &
FAILRX_PID=$!
for i in $(seq 1 100); do
	[ -s "$TMP/smtp2.port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break
	sleep 0.1
done
SMTP2_PORT=$(cat "$TMP/smtp2.port")

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # updates of a firing fingerprint reach outputs
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: mail
    plugin: email
    url: smtp://127.0.0.1:$SMTP_PORT
    use_ssl: try
    from: 'Reflex Alerts <reflex@alerts.example.com>'
    to: [ops@example.com, 'DBA Team <dba@example.com>']
    match: 'labels.route == "main"'
  - name: authed
    plugin: email
    url: smtp://127.0.0.1:$SMTP2_PORT
    use_ssl: none
    username: alerts
    password: $SMTP_PASS
    from: reflex@alerts.example.com
    to: [oncall@example.com]
    timeout: 2s
    match: 'labels.route == "auth"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms }
  - name: badrcpt
    plugin: email
    url: smtp://127.0.0.1:$SMTP2_PORT
    use_ssl: none
    username: alerts
    password: $SMTP_PASS
    from: reflex@alerts.example.com
    to: [nobody@example.com]
    match: 'labels.route == "badrcpt"'
  - name: badlogin
    plugin: email
    url: smtp://127.0.0.1:$SMTP2_PORT
    use_ssl: none
    username: alerts
    password: wrong-password
    from: reflex@alerts.example.com
    to: [oncall@example.com]
    match: 'labels.route == "badlogin"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" | cut -d' ' -f2- | jq -r '.ids[0]'; }
ev() { # HOST CHECK STATUS MESSAGE ROUTE
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg m "$4" --arg r "${5:-main}" \
		'{host:$h, check:$c, status:$s, severity:"critical", message:$m, labels:{route:$r}}'
}
# mail DIR EVENT_ID: the parsed message carrying X-Reflex-Event-Id, as JSON
cat >"$TMP/mail.py" <<'PY'
import email, email.policy, email.utils, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
for key in box.keys():
    raw = box.get_bytes(key)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    if m["X-Reflex-Event-Id"] != sys.argv[2]:
        continue
    parts = [{"type": p.get_content_type(), "charset": p.get_content_charset(),
              "cte": p["Content-Transfer-Encoding"], "content": p.get_content()}
             for p in m.iter_parts()] if m.is_multipart() else []
    raw_subject = email.message_from_bytes(raw)["Subject"]
    print(json.dumps({
        "type": m.get_content_type(), "subject": str(m["Subject"]), "raw_subject": raw_subject,
        "message_id": m["Message-ID"], "in_reply_to": m["In-Reply-To"],
        "references": m["References"], "from": m["From"], "to": m["To"],
        "date_ok": email.utils.parsedate_to_datetime(m["Date"]) is not None,
        "mime_version": m["MIME-Version"], "auto_submitted": m["Auto-Submitted"],
        "defects": len(m.defects) + sum(len(p.defects) for p in m.walk()),
        "max_line": max(len(l.rstrip(b"\r")) for l in raw.split(b"\n")),
        "parts": parts}))
    break
PY
mail() { /usr/bin/python3 "$TMP/mail.py" "$1" "$2"; }
wait_mail() { # DIR ID
	local i
	for i in $(seq 1 100); do
		[ -n "$(mail "$1" "$2")" ] && return 0
		sleep 0.1
	done
	return 1
}
deadmsg() { get "/api/v1/deliveries?state=dead" | cut -d' ' -f2- | jq -r ".deliveries[] | select(.event_id == \"$1\") | .last_error"; }

# --- firing: a new mail, MIME as it should be
SUBJ='[firing] critical: Festplatte fast voll – 97 % on db1'
ID1=$(send "$(ev db1 'Festplatte fast voll – 97 %' firing 'disk <sda> is 97% full
second line ünïcödé')")
check "the firing mail arrives" wait_mail "$TMP/Maildir" "$ID1"
M1=$(mail "$TMP/Maildir" "$ID1")
eq "multipart/alternative" multipart/alternative "$(jq -r .type <<<"$M1")"
eq "MIME-Version 1.0" 1.0 "$(jq -r .mime_version <<<"$M1")"
eq "parts: text/plain then text/html, UTF-8, quoted-printable" \
	"text/plain utf-8 quoted-printable|text/html utf-8 quoted-printable" \
	"$(jq -r '[.parts[] | "\(.type) \(.charset) \(.cte)"] | join("|")' <<<"$M1")"
eq "the parser found no defect" 0 "$(jq -r .defects <<<"$M1")"
eq "no line longer than 998 in the stored copy" true "$(jq '.max_line <= 998' <<<"$M1")"
eq "the non-ASCII subject decodes to the rendered one" "$SUBJ" "$(jq -r .subject <<<"$M1")"
contains "... and was sent RFC 2047 encoded" "=?UTF-8?B?" "$(jq -r .raw_subject <<<"$M1")"
eq "From" "Reflex Alerts <reflex@alerts.example.com>" "$(jq -r .from <<<"$M1")"
eq "To: both recipients" "ops@example.com, DBA Team <dba@example.com>" "$(jq -r .to <<<"$M1")"
eq "a valid Date" true "$(jq -r .date_ok <<<"$M1")"
eq "Auto-Submitted: auto-generated" auto-generated "$(jq -r .auto_submitted <<<"$M1")"
MID1=$(jq -r .message_id <<<"$M1")
check "Message-ID <reflex.DELIVERY.EVENT@from-domain> ($MID1)" \
	grep -Eq "^<reflex\.[0-9]+\.$ID1@alerts\.example\.com>$" <<<"$MID1"
eq "the first mail starts a thread" null "$(jq -r .in_reply_to <<<"$M1")"
contains "the text part has the message, decoded" "second line ünïcödé" "$(jq -r '.parts[0].content' <<<"$M1")"
contains "the HTML part escapes the message" "disk &lt;sda&gt; is 97% full" "$(jq -r '.parts[1].content' <<<"$M1")"
contains "the HTML part is a document" "<html>" "$(jq -r '.parts[1].content' <<<"$M1")"
env_to=$(grep -h '^X-RcptTo:' "$TMP"/Maildir/new/* | head -1)
contains "the envelope has both recipients" "ops@example.com, dba@example.com" "$env_to"

# --- the update and the resolution land in the same thread
ID2=$(send "$(ev db1 'Festplatte fast voll – 97 %' firing 'now 99%')")
check "the update arrives" wait_mail "$TMP/Maildir" "$ID2"
M2=$(mail "$TMP/Maildir" "$ID2")
eq "update: In-Reply-To the first" "$MID1" "$(jq -r .in_reply_to <<<"$M2")"
eq "update: References the first" "$MID1" "$(jq -r .references <<<"$M2")"
eq "update: Re: and the first subject" "Re: $SUBJ" "$(jq -r .subject <<<"$M2")"
check "update: a Message-ID of its own" test "$(jq -r .message_id <<<"$M2")" != "$MID1"
ID3=$(send "$(ev db1 'Festplatte fast voll – 97 %' resolved 'back to 60%')")
check "the resolution arrives" wait_mail "$TMP/Maildir" "$ID3"
M3=$(mail "$TMP/Maildir" "$ID3")
eq "resolution: in the thread" "$MID1 Re: $SUBJ" "$(jq -r '"\(.in_reply_to) \(.subject)"' <<<"$M3")"
contains "resolution: the body says resolved" "[resolved]" "$(jq -r '.parts[0].content' <<<"$M3")"
ID4=$(send "$(ev db1 'Festplatte fast voll – 97 %' firing 'again')")
check "a new firing after the resolution arrives" wait_mail "$TMP/Maildir" "$ID4"
eq "... and starts a new thread" null "$(mail "$TMP/Maildir" "$ID4" | jq -r .in_reply_to)"
ID5=$(send "$(ev web1 http firing 'HTTP 500')")
check "another fingerprint arrives" wait_mail "$TMP/Maildir" "$ID5"
M5=$(mail "$TMP/Maildir" "$ID5")
eq "another fingerprint: its own thread, plain ASCII subject kept as is" \
	"null [firing] critical: http on web1" "$(jq -r '"\(.in_reply_to) \(.raw_subject)"' <<<"$M5")"

# --- AUTH, and 451 (transient) retried until accepted
ID6=$(send "$(ev db2 disk firing 'via auth' auth)")
check "451 then 250: delivered" wait_mail "$TMP/Maildir2" "$ID6"
eq "two transactions, the first answered 451" "451 4.3.0 Try again later|250 OK: queued" \
	"$(jq -r .answer "$TMP/smtp2.jsonl" | head -2 | paste -sd'|')"
eq "on the wire: CRLF line ends only, lines within 78" "0 true" \
	"$(head -1 "$TMP/smtp2.jsonl" | jq -r '"\(.bare_lf) \(.max_line <= 78)"')"
eq "both authenticated" "true true" "$(jq -r .auth "$TMP/smtp2.jsonl" | head -2 | paste -sd' ')"
eq "one mail kept" 1 "$(ls "$TMP/Maildir2/new" | wc -l)"
check "the 451 was logged as retried" grep -q "SMTP 451 4.3.0 Try again later.*will retry" "$TMP/reflexd.log"

# --- 550: permanent, a dead letter with the server's reply
ID7=$(send "$(ev db3 disk firing 'refused' auth)")
for i in $(seq 1 50); do [ -n "$(deadmsg "$ID7")" ] && break; sleep 0.1; done
contains "550: a dead letter with the server's reply" "SMTP 550 5.7.1 Message refused" "$(deadmsg "$ID7")"
sleep 0.5
eq "550: not retried" 3 "$(wc -l <"$TMP/smtp2.jsonl")"

# --- a refused recipient and a refused login are permanent too
ID8=$(send "$(ev db4 disk firing 'x' badrcpt)")
for i in $(seq 1 50); do [ -n "$(deadmsg "$ID8")" ] && break; sleep 0.1; done
contains "RCPT 550: a dead letter naming the recipient" "550 5.1.1 <nobody@example.com>: Recipient address rejected" "$(deadmsg "$ID8")"
ID9=$(send "$(ev db5 disk firing 'x' badlogin)")
for i in $(seq 1 50); do [ -n "$(deadmsg "$ID9")" ] && break; sleep 0.1; done
contains "AUTH 535: a dead letter" "535" "$(deadmsg "$ID9")"

m=$(get /metrics)
contains "sent counted" 'reflex_output_email_sent_total{instance="mail"} 5' "$m"
contains "retries counted" 'reflex_output_email_retry_total{instance="authed"} 1' "$m"
check "the password never reaches the log" bash -c "! grep -q -- '$SMTP_PASS' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
