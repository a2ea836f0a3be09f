#!/bin/bash
# The email input end to end against a real dovecot of its own (temporary
# dir, free loopback ports, a self-signed certificate made here): IMAP
# plain, IMAP STARTTLS, IMAPS with after: move, POP3 plain, POP3S. Mails
# with multipart, quoted-printable, base64 and encoded-word headers are
# checked through GET /api/v1/events; then that IMAP mails got flagged or
# moved and POP3 mails deleted, that an untrusted certificate is refused,
# and that re-reading mails after a restart (as after a crash between
# "stored" and "flagged") stores nothing twice.
. "$(dirname "$0")/lib.sh"

for c in dovecot openssl jq curl; do
	if ! command -v "$c" >/dev/null; then
		echo "FAIL: $c not installed (dovecot-imapd dovecot-pop3d openssl jq curl)"
		exit 1
	fi
done
id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 ||
	{ echo "FAIL: users dovecot and dovenull missing (install dovecot-core)"; exit 1; }

D=$(mktemp -d /tmp/reflex-dovecot.XXXXXX)
chmod 755 "$D"
dovecot_stop() {
	[ -f "$D/dovecot.conf" ] && dovecot -c "$D/dovecot.conf" stop >/dev/null 2>&1
	sleep 0.2
	rm -rf "$D"
}
trap 'dovecot_stop; cleanup' EXIT

used="$PORT"
pick() {
	local p
	p=$(free_port)
	while case " $used " in *" $p "*) true ;; *) false ;; esac; do p=$(free_port); done
	used="$used $p"
	echo "$p"
}
IMAP=$(pick)
IMAPS=$(pick)
POP3=$(pick)
POP3S=$(pick)

# ---- the server ------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 ||
	{ echo "FAIL: openssl could not make a certificate"; exit 1; }
USERS="plain st mover popper pops untrusted"
mkdir -p "$D/run" "$D/state"
: >"$D/users"
for u in $USERS; do
	mkdir -p "$D/home/$u/Maildir/new" "$D/home/$u/Maildir/cur" "$D/home/$u/Maildir/tmp"
	echo "$u:{PLAIN}pw-$u" >>"$D/users"
done
cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$D/cert.pem
ssl_key = <$D/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
pop3_uidl_format = %g
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$D/home/%u
}
mail_location = maildir:$D/home/%u/Maildir
service imap-login {
  inet_listener imap {
    port = $IMAP
  }
  inet_listener imaps {
    port = $IMAPS
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3
  }
  inet_listener pop3s {
    port = $POP3S
    ssl = yes
  }
}
EOF

# mail USER NAME: writes stdin as a new mail NAME into USER's Maildir/new
mail() { cat >"$D/home/$1/Maildir/new/$2"; }

# multipart/alternative: Latin-1 quoted-printable text, HTML; encoded-word
# subject and sender
mail plain m1 <<'EOF'
From: =?ISO-8859-1?Q?J=F6rg_Monitor?= <mon@example.com>
To: ops@example.com
Subject: =?UTF-8?B?w4RyZ2VyOg==?= PROBLEM web01 CRITICAL
Message-ID: <m1@example.com>
Date: Mon, 02 Jun 2025 10:00:00 +0200
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="BB"

--BB
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Host: web01.example.com
Gr=FC=DFe: disk /var at 97%
--BB
Content-Type: text/html; charset=utf-8

<p>Host: web01.example.com</p>
--BB--
EOF
# a mail with no Subject, Date or Message-ID
mail plain m2 <<'EOF'
From: bare@example.com

bare-body-text RECOVERY
EOF
# larger than max_size (4KiB): truncated, not dropped
{
	printf 'From: big@example.com\nSubject: big-mail\nMessage-ID: <big@example.com>\n\n'
	for i in $(seq 1 200); do echo "bigline-$i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done
} | mail plain m3
mail st s1 <<'EOF'
From: st@example.com
Subject: starttls-mail
Message-ID: <s1@example.com>
Date: Tue, 03 Jun 2025 12:00:00 +0000

starttls-body
EOF
# HTML only, base64
mail mover v1 <<'EOF'
From: mover@example.com
Subject: moved-mail
Message-ID: <v1@example.com>
Date: Tue, 03 Jun 2025 12:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PGh0bWw+PGJvZHk+PGI+aHRtbC1vbmx5PC9iPiAmYW1wOyBtb3ZlZDwvYm9keT48L2h0bWw+Cg==
EOF
cat >"$D/p1" <<'EOF'
From: pop@example.com
Subject: =?utf-8?q?pop3-mail_f=C3=BCr_db02?=
Message-ID: <p1@example.com>
Date: Wed, 04 Jun 2025 08:30:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=XY

--XY
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SG9zdDogZGIwMgpzdGF0dXMgY3JpdGljYWwK
--XY
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=a.bin

AAAA
--XY--
EOF
cp "$D/p1" "$D/home/popper/Maildir/new/p1"
mail pops q1 <<'EOF'
From: pops@example.com
Subject: pop3s-mail
Message-ID: <q1@example.com>
Date: Wed, 04 Jun 2025 09:00:00 +0000

pop3s-body
EOF
mail untrusted u1 <<'EOF'
From: u@example.com
Subject: untrusted-mail

never read
EOF
chown -R dovecot:dovecot "$D/home"
dovecot -c "$D/dovecot.conf" || { echo "FAIL: dovecot did not start"; exit 1; }
for i in $(seq 1 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$POP3S") 2>/dev/null && break
	sleep 0.1
done

# ---- the agent ---------------------------------------------------------------
export MAIL_PW_POPS=pw-pops
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-email
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
store: { plugin: sqlite, path: reflex.db }
inputs:
  - name: imap_plain
    plugin: email
    url: imap://127.0.0.1:$IMAP/INBOX
    username: plain
    password: pw-plain
    poll_interval: 1s
    max_size: 4KiB
    rules:
      - { field: body, regex: 'Host: (?<host>\S+)', set: host }
      - { field: subject, regex: '(CRITICAL|WARNING)', set: severity }
      - { field: body, regex: 'RECOVERY', set: status, value: resolved }
      - { field: from, regex: 'mon@', set: service, value: monitor }
  - name: imap_starttls
    plugin: email
    url: imap://localhost:$IMAP
    starttls: true
    tls_ca_file: $D/cert.pem
    username: st
    password: pw-st
    poll_interval: 1s
  - name: imaps_move
    plugin: email
    url: imaps://localhost:$IMAPS/INBOX
    tls_ca_file: $D/cert.pem
    username: mover
    password: pw-mover
    after: move
    move_to: Processed
    poll_interval: 1s
  - name: pop_plain
    plugin: email
    url: pop3://127.0.0.1:$POP3
    username: popper
    password: pw-popper
    poll_interval: 1s
    rules:
      - { field: body, regex: 'Host: (\w+)', set: host }
      - { field: body, regex: 'status (\w+)', set: severity }
  - name: pop3s
    plugin: email
    url: pop3s://127.0.0.1:$POP3S
    tls_ca_file: $D/cert.pem
    username: pops
    password: \${MAIL_PW_POPS}
    poll_interval: 1s
  - name: untrusted
    plugin: email
    url: imaps://localhost:$IMAPS
    username: untrusted
    password: pw-untrusted
    poll_interval: 1s
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

# wait_event Q: the first event matching text Q, polled for up to 15 s
wait_event() {
	local i r
	for i in $(seq 1 150); do
		r=$(curl -s "$URL/api/v1/events?q=$1")
		if [ "$(echo "$r" | jq '.events | length')" -gt 0 ] 2>/dev/null; then
			echo "$r" | jq -c '.events[0]'
			return 0
		fi
		sleep 0.1
	done
	echo '{}'
}
# count SOURCE: events stored from one input instance
count() { curl -s "$URL/api/v1/events?source=$1&limit=1000" | jq '.events | length'; }
# until_true SECONDS COMMAND...: polls a condition
until_true() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

E=$(wait_event web01.example.com)
eq "imap: encoded-word subject is the check" "Ärger: PROBLEM web01 CRITICAL" "$(echo "$E" | jq -r .check)"
eq "imap: host from a named-group rule" web01.example.com "$(echo "$E" | jq -r .host)"
eq "imap: severity from a rule" critical "$(echo "$E" | jq -r .severity)"
eq "imap: service from a fixed-value rule" monitor "$(echo "$E" | jq -r .service)"
eq "imap: kind" mail "$(echo "$E" | jq -r .kind)"
eq "imap: source" imap_plain "$(echo "$E" | jq -r .source)"
contains "imap: QP Latin-1 text/plain preferred over html" "Grüße: disk /var at 97%" "$(echo "$E" | jq -r .message)"
eq "imap: encoded-word From" "Jörg Monitor <mon@example.com>" "$(echo "$E" | jq -r .attrs.from)"
eq "imap: message-id attr" m1@example.com "$(echo "$E" | jq -r .attrs.message_id)"
eq "imap: mailbox attr" INBOX "$(echo "$E" | jq -r .attrs.mailbox)"
check "imap: uid and uidvalidity attrs" test "$(echo "$E" | jq -r '.attrs.uid > 0 and .attrs.uidvalidity > 0')" = true
eq "imap: time is the Date header" "2025-06-02T08:00:00.000Z" "$(echo "$E" | jq -r .time)"
ID1=$(echo "$E" | jq -r .id)

E=$(wait_event bare-body-text)
eq "missing headers: check says so" "(no subject)" "$(echo "$E" | jq -r .check)"
eq "missing headers: host is the sender" bare@example.com "$(echo "$E" | jq -r .host)"
eq "status from a rule" resolved "$(echo "$E" | jq -r .status)"
eq "default severity" warning "$(echo "$E" | jq -r .severity)"

E=$(wait_event big-mail)
eq "oversized mail: truncated flag" true "$(echo "$E" | jq -r .attrs.truncated)"
contains "oversized mail: start kept" "bigline-1 " "$(echo "$E" | jq -r .message)"
check "oversized mail: cut below max_size" test "$(echo "$E" | jq -r .message | wc -c)" -le 4096

E=$(wait_event starttls-mail)
eq "imap starttls: body" starttls-body "$(echo "$E" | jq -r .message)"
eq "imap starttls: source" imap_starttls "$(echo "$E" | jq -r .source)"

E=$(wait_event moved-mail)
eq "imaps: base64 html-only body stripped of tags" "html-only & moved" "$(echo "$E" | jq -r .message)"
eq "imaps: body format attr" html "$(echo "$E" | jq -r .attrs.body_format)"

E=$(wait_event db02)
eq "pop3: encoded-word subject" "pop3-mail für db02" "$(echo "$E" | jq -r .check)"
eq "pop3: host from first capture group" db02 "$(echo "$E" | jq -r .host)"
eq "pop3: severity from a rule" critical "$(echo "$E" | jq -r .severity)"
eq "pop3: base64 part, attachment skipped" "Host: db02
status critical" "$(echo "$E" | jq -r .message)"
eq "pop3: uidl attr" p1 "$(echo "$E" | jq -r .attrs.uidl)"
eq "pop3: protocol attr" pop3 "$(echo "$E" | jq -r .attrs.protocol)"
POPID=$(echo "$E" | jq -r .id)

E=$(wait_event pop3s-mail)
eq "pop3s: body (password from \${ENV})" pop3s-body "$(echo "$E" | jq -r .message)"

# ---- what happened to the mails -----------------------------------------------
maildir_count() { find "$D/home/$1/Maildir/new" "$D/home/$1/Maildir/cur" -type f | wc -l; }
flagged() { # every mail of USER carries \Seen and a keyword (maildir flag letters)
	local f n=0
	for f in "$D/home/$1/Maildir/cur"/*; do
		case "$f" in *:2,*S*) ;; *) return 1 ;; esac
		case "${f##*:2,}" in *[a-z]*) n=$((n + 1)) ;; *) return 1 ;; esac
	done
	[ "$n" -eq "$2" ]
}
check "imap: mails flagged \\Seen + keyword after storing" until_true 10 flagged plain 3
check "imap: keyword is reflex_done" grep -qx '0 reflex_done' "$D/home/plain/Maildir/dovecot-keywords"
check "imap starttls: mail flagged" until_true 10 flagged st 1
moved() { [ "$(maildir_count mover)" -eq 0 ] && [ "$(find "$D/home/mover/Maildir/.Processed" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)" -eq 1 ]; }
check "imaps: mail moved to Processed" until_true 10 moved
popgone() { [ "$(maildir_count "$1")" -eq 0 ]; }
check "pop3: mail deleted after storing" until_true 10 popgone popper
check "pop3s: mail deleted after storing" until_true 10 popgone pops

# ---- TLS verification ------------------------------------------------------------
check "untrusted certificate is refused" until_true 10 grep -q "TLS certificate not trusted" "$TMP/reflexd.log"
eq "untrusted: nothing read" 0 "$(count untrusted)"
eq "untrusted: mail still unread" 1 "$(maildir_count untrusted)"

r=$(curl -s "$URL/metrics")
contains "metrics exported" 'reflex_input_email_mails_total{instance="imap_plain"}' "$r"
grep -q 'pw-plain' "$TMP/reflexd.log" && bad "password appears in the log" || ok "password never logged"

# ---- exactly once across a restart -------------------------------------------------
N_PLAIN=$(count imap_plain)
N_POP=$(count pop_plain)
eq "imap: three mails stored" 3 "$N_PLAIN"
eq "pop3: one mail stored" 1 "$N_POP"
check "reflexd stops cleanly (exit 0)" stop_reflexd

# As if reflexd had died between "durable" and "flagged"/"deleted": the
# IMAP mails lose their flags (same UIDs), the POP3 mail comes back with
# the same UIDL.
for f in "$D/home/plain/Maildir/cur"/*; do mv "$f" "${f%%:2,*}:2,"; done
cp "$D/p1" "$D/home/popper/Maildir/new/p1"
chown -R dovecot:dovecot "$D/home"
check "imap: flags removed for the re-read" test "$(find "$D/home/plain/Maildir/cur" -name '*:2,' | wc -l)" -eq 3
start_reflexd "$TMP/reflex.yaml" || exit 1
check "imap: re-read mails flagged again" until_true 15 flagged plain 3
check "pop3: re-read mail deleted again" until_true 15 popgone popper
# processed_total counts mails flagged/deleted since this start: the
# re-read really happened, and the store kept one copy.
metric() { curl -s "$URL/metrics" | awk -v k="reflex_input_email_processed_total{instance=\"$1\"}" '$1 == k {print $2}'; }
check "imap: all three mails were read again" until_true 10 test "$(metric imap_plain)" = 3
check "pop3: the mail was read again" until_true 10 test "$(metric pop_plain)" = 1
eq "imap: restart stored nothing twice" "$N_PLAIN" "$(count imap_plain)"
eq "pop3: restart stored nothing twice" "$N_POP" "$(count pop_plain)"
eq "imap: the event id is the same" "$ID1" "$(wait_event web01.example.com | jq -r .id)"
eq "pop3: the event id is the same" "$POPID" "$(wait_event db02 | jq -r .id)"

# a new mail after the restart arrives (IMAP IDLE wakes up for it)
mail plain m4 <<'EOF'
From: late@example.com
Subject: late-mail WARNING

after restart
EOF
chown -R dovecot:dovecot "$D/home"
E=$(wait_event late-mail)
eq "new mail after restart" warning "$(echo "$E" | jq -r .severity)"
eq "imap: four mails now" 4 "$(count imap_plain)"

check "reflexd stops cleanly again (exit 0)" stop_reflexd
finish
