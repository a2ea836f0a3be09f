#!/bin/bash
# End to end: a real Prometheus Alertmanager notifies reflex's webhook input
# (alertmanager format); reflex fans out to two outputs, each against a
# stand-in that checks requests as the vendor documents them:
#   pd    pagerduty, one delivery per event (tests/receivers/pagerduty_receiver.py)
#   chat  slack chat.postMessage, grouped by alertname into notices
#         (`grouping:`, docs/delivery.md)
#         (tests/receivers/slack_receiver.py)
# 1. three alerts of one alertname: PagerDuty gets one trigger per
#    Alertmanager fingerprint, Slack ONE message listing the three;
# 2. their resolution (endsAt now): one resolve per dedup_key, and the
#    resolution in the group's Slack thread, within Alertmanager's
#    group_interval + 3 s;
# 3. PagerDuty answers 503 for a while: in the end every trigger was
#    accepted exactly once per dedup_key;
# 4. reflexd is killed with SIGKILL while PagerDuty deliveries are pending
#    (receiver answering 503): after the restart and the receiver's
#    recovery they are delivered, exactly once.
# Needs curl, jq and prometheus-alertmanager (Debian package; fails without).
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/pagerduty/.libs:$BUILDDIR/plugins/outputs/slack/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

AM_BIN=$(command -v prometheus-alertmanager || command -v alertmanager || true)
AM_PID="" PD_PID="" SL_PID=""

am_stop() {
	local i
	[ -n "$AM_PID" ] || return 0
	kill -TERM "$AM_PID" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$AM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$AM_PID" 2>/dev/null
	wait "$AM_PID" 2>/dev/null
	AM_PID=""
}
on_exit() {
	local rc=$? p
	am_stop
	# E2E_KEEP=DIR keeps a copy of the run's files (logs, store) for a look
	[ -n "${E2E_KEEP:-}" ] && { rm -rf "$E2E_KEEP"; cp -r "$TMP" "$E2E_KEEP"; }
	for p in $PD_PID $SL_PID; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ "$FAILS" -ne 0 ]; then
		[ -f "$TMP/am.log" ] && { echo "---- alertmanager log ----"; tail -20 "$TMP/am.log"; }
		[ -f "$TMP/pd.jsonl" ] && { echo "---- pagerduty requests ----"; jq -c '[.path, .json.event_action, .json.dedup_key, (.action.status // 202), .violations]' "$TMP/pd.jsonl" | tail -40; }
		[ -f "$TMP/slack.jsonl" ] && { echo "---- slack requests ----"; jq -c '[.json.text, .json.thread_ts, .violations]' "$TMP/slack.jsonl" | tail -20; }
	fi
	cleanup
	exit $rc
}
trap on_exit EXIT

if [ -z "$AM_BIN" ]; then
	bad "prometheus-alertmanager is not installed: apt-get install -y prometheus-alertmanager"
	finish
	exit 1
fi

# ---------------------------------------------------------------- receivers
KEY=R0uT1nGkEy0123456789abcdefSeCrEt # 32 characters, like an integration key
SLTOKEN=xoxb-e2e-0123456789
start_receiver pd "$SRCDIR/tests/receivers/pagerduty_receiver.py" --token "$KEY" || exit 1
PD_PORT=$RX_PORT PD_LOG=$RX_LOG PD_PID=$RX_PID
start_receiver slack "$SRCDIR/tests/receivers/slack_receiver.py" --token "$SLTOKEN" || exit 1
SL_PORT=$RX_PORT SL_LOG=$RX_LOG SL_PID=$RX_PID
RX_PID="" # both are stopped by on_exit

# pd_script JSON: queue scripted answers of the PagerDuty stand-in
pd_script() { curl -sf -XPOST --data-binary "$1" "http://127.0.0.1:$PD_PORT/_control/script" >/dev/null; }
# pd_drain SCRIPTED BEFORE: use up what is left of a script of SCRIPTED
# answers posted when BEFORE requests had been scripted-answered, with
# requests to a path reflex never calls (each takes one scripted answer;
# one too many is harmless), then check the stand-in answers normally again
pd_drain() {
	local left
	left=$(($1 - ($(jq -c 'select(.action != null)' "$PD_LOG" | wc -l) - $2)))
	[ "$left" -gt 0 ] && curl -s -o /dev/null -XPOST "http://127.0.0.1:$PD_PORT/_drain?n=[1-$left]"
	curl -s -o /dev/null -XPOST "http://127.0.0.1:$PD_PORT/_drain?n=last"
	[ "$(jq -c 'select(.path == "/_drain?n=last") | .action' "$PD_LOG" | tail -1)" = null ]
}
# what each stand-in accepted: requests to the vendor path answered normally
PDOK='.path == "/v2/enqueue" and .action == null and (.violations | length) == 0'
SLOK='.path == "/api/chat.postMessage" and .action == null and (.violations | length) == 0'
pd_counts() { # ACTION KEYS...: prints the accepted count of each key, space-separated
	local a=$1 k out=""
	shift
	for k in "$@"; do
		out="$out $(jq -c --arg a "$a" --arg k "$k" "select($PDOK and .json.event_action == \$a and .json.dedup_key == \$k)" "$PD_LOG" | wc -l)"
	done
	echo "${out# }"
}
# wait_for SECONDS COMMAND...: polls the command every 0.1 s
wait_for() {
	local end i
	end=$(($(date +%s%N) + ${1%.*} * 1000000000))
	shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
count_ge() { [ "$(jq -c "select($2)" "$1" | wc -l)" -ge "$3" ]; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------- reflexd
H=/api/v1/events/webhook/alertmanager
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-e2e-am
  data_dir: $TMP/var
  log: { level: info }
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: am, plugin: webhook, path: $H, format: alertmanager }
outputs:
  - name: pd
    plugin: pagerduty
    url: http://127.0.0.1:$PD_PORT/v2/enqueue
    routing_key: $KEY
    timeout: 2s
    delivery: { initial_backoff: 100ms, max_backoff: 400ms, max_attempts: 1000,
                breaker_failures: 5, breaker_cooldown: 100ms }
  - name: chat
    plugin: slack
    url: http://127.0.0.1:$SL_PORT/api/chat.postMessage
    token: $SLTOKEN
    channel: C0E2E0001
    timeout: 2s
    grouping: { by: [alertname], wait: 1s, interval: 2s }
    delivery: { initial_backoff: 100ms, max_backoff: 400ms }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

# ---------------------------------------------------------------- alertmanager
AMPORT=$(free_port)
while [ "$AMPORT" = "$PORT" ]; do AMPORT=$(free_port); done
AMURL="http://127.0.0.1:$AMPORT"
GROUP_INTERVAL=2
cat >"$TMP/am.yml" <<YAML
global: { resolve_timeout: 1m }
route: { receiver: reflex, group_by: [alertname], group_wait: 1s, group_interval: ${GROUP_INTERVAL}s, repeat_interval: 1h }
receivers:
  - name: reflex
    webhook_configs:
      - url: "http://127.0.0.1:$PORT$H"
        send_resolved: true
YAML
"$AM_BIN" --config.file="$TMP/am.yml" --storage.path="$TMP/am" \
	--web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= >>"$TMP/am.log" 2>&1 &
AM_PID=$!
check "alertmanager becomes ready" wait_for 15 curl -sf -o /dev/null "$AMURL/-/ready"

# am_post NAME [ENDS-AT]: three alerts of alertname NAME (db1..db3) to Alertmanager
am_post() {
	local body
	body=$(jq -cn --arg n "$1" --arg s "$START" --arg e "${2:-}" '[range(1;4) | tostring as $i |
		{labels:{alertname:$n,instance:"db\($i):9100",job:"node",severity:"critical"},
		 annotations:{summary:"db\($i) is down"},startsAt:$s,generatorURL:"http://prom/g\($i)"}]
		| if $e != "" then map(.endsAt = $e) else . end')
	curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
		--data-binary "$body" "$AMURL/api/v2/alerts"
}
# am_fps NAME: Alertmanager's fingerprints of NAME's alerts, sorted, one line
am_fps() {
	curl -s "$AMURL/api/v2/alerts" | jq -r --arg n "$1" \
		'[.[] | select(.labels.alertname == $n) | .fingerprint] | sort | join(" ")'
}
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------- 1. firing
N1="E2eDown$$"
eq "alertmanager takes three alerts" 200 "$(am_post "$N1")"
FP1=$(am_fps "$N1")
check "alertmanager reports three fingerprints" test "$(echo "$FP1" | wc -w)" -eq 3
T_FIRE=$(now_ms)
check "pagerduty gets three triggers" wait_for 15 count_ge "$PD_LOG" "$PDOK and .json.event_action == \"trigger\"" 3
# both outputs have had time to send anything extra: the group's wait (1 s)
# and Alertmanager's group_interval have passed twice
sleep $((GROUP_INTERVAL + 2))
eq "one trigger per alertmanager fingerprint" "1 1 1" "$(pd_counts trigger $FP1)"
eq "no other trigger" 3 "$(jq -c "select($PDOK and .json.event_action == \"trigger\")" "$PD_LOG" | wc -l)"
eq "pagerduty saw no violation of its API" 0 "$(jq -c 'select((.violations | length) > 0)' "$PD_LOG" | wc -l)"
eq "trigger summaries from the annotations" "[critical] $N1 on db1: db1 is down|[critical] $N1 on db2: db2 is down|[critical] $N1 on db3: db3 is down" \
	"$(jq -r "select($PDOK and .json.event_action == \"trigger\") | .json.payload.summary" "$PD_LOG" | sort | paste -sd'|')"
eq "slack gets exactly one message for the group" 1 "$(jq -c "select($SLOK)" "$SL_LOG" | wc -l)"
MSG=$(jq -c "select($SLOK)" "$SL_LOG" | head -1)
eq "slack saw no violation of its API" "[]" "$(jq -c .violations <<<"$MSG")"
eq "the message starts the thread" null "$(jq -r .json.thread_ts <<<"$MSG")"
eq "it goes to the channel" C0E2E0001 "$(jq -r .json.channel <<<"$MSG")"
TXT=$(jq -r '[.json.text, (.json.blocks[]? | .text.text? // empty)] | join("\n")' <<<"$MSG")
contains "the message says 3 firing" "3 firing" "$TXT"
contains "it names the group" "$N1" "$TXT"
for h in db1 db2 db3; do contains "it lists $h" "on $h" "$TXT"; done
# the ts the stand-in answered: the first message it issued in this run
THREAD=1700000000.000001

# ---------------------------------------------------------------- 2. resolved
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
T0=$(now_ms)
eq "alertmanager takes the resolution" 200 "$(am_post "$N1" "$END")"
resolved_all() {
	[ "$(pd_counts resolve $FP1)" = "1 1 1" ] &&
		count_ge "$SL_LOG" "$SLOK and .json.thread_ts == \"$THREAD\" and (.json.text | test(\"resolved\"))" 1 &&
		[ "$(jq -r "select($SLOK and .json.thread_ts == \"$THREAD\") | .json.text" "$SL_LOG" | grep -o 'db[123]' | sort -u | wc -l)" -ge 3 ]
}
check "pagerduty and slack get the resolution" wait_for 15 resolved_all
T1=$(now_ms)
LIMIT=$(((GROUP_INTERVAL + 3) * 1000))
check "resolution delivered in $((T1 - T0)) ms (< ${LIMIT} ms: group_interval + 3 s)" test $((T1 - T0)) -lt $LIMIT
sleep 1.5
eq "one resolve per dedup_key" "1 1 1" "$(pd_counts resolve $FP1)"
eq "resolve carries no payload (as documented)" 0 \
	"$(jq -c "select($PDOK and .json.event_action == \"resolve\" and .json.payload != null)" "$PD_LOG" | wc -l)"
RES=$(jq -c "select($SLOK and .json.thread_ts != null)" "$SL_LOG")
check "slack's resolution is in the group's thread" test "$(jq -r .json.thread_ts <<<"$RES" | sort -u)" = "$THREAD"
eq "no new slack thread was started" 1 "$(jq -c "select($SLOK and .json.thread_ts == null)" "$SL_LOG" | wc -l)"
LASTRES=$(tail -1 <<<"$RES")
contains "the last slack message of the thread says none is firing" "[resolved] 0 firing" "$(jq -r .json.text <<<"$LASTRES")"
eq "the thread names each alert resolved" "db1 db2 db3" \
	"$(jq -r .json.text <<<"$RES" | grep -o '\[resolved\] [^ ]* on db[123]' | grep -o 'db[123]' | sort -u | paste -sd' ')"
# Alertmanager sends the three resolutions in one notification; reflex
# sends a resolution at once (docs/delivery.md), so when the deliverer
# takes them from its queue one by one they can make two notices
echo "note: slack resolution messages in the thread: $(wc -l <<<"$RES")"

# ---------------------------------------------------------------- 3. PD 503
N2="E2eFlaky$$"
pd_script "$(jq -cn '[range(8) | {status: 503, ctype: "application/json", body: "{\"status\":\"unavailable\"}"}]')"
eq "alertmanager takes three more alerts" 200 "$(am_post "$N2")"
FP2=$(am_fps "$N2")
check "pagerduty accepts all three in the end" wait_for 30 \
	count_ge "$PD_LOG" "$PDOK and .json.event_action == \"trigger\"" 6
sleep 1
eq "the 503s were answered" 8 "$(jq -c 'select(.path == "/v2/enqueue" and .action.status == 503)' "$PD_LOG" | wc -l)"
eq "each trigger accepted exactly once per dedup_key" "1 1 1" "$(pd_counts trigger $FP2)"
eq "the 503s were for the new dedup_keys only" "" \
	"$(jq -r 'select(.action.status == 503) | .json.dedup_key' "$PD_LOG" | sort -u | grep -v -x -F -f <(tr ' ' '\n' <<<"$FP2"))"
eq "nothing dead" '[]' "$(curl -s "$URL/api/v1/deliveries?state=dead" | jq -c '.deliveries')"

# ---------------------------------------------------------------- 4. kill -9
N3="E2eCrash$$"
BEFORE=$(jq -c 'select(.action != null)' "$PD_LOG" | wc -l)
pd_script "$(jq -cn '[range(200) | {status: 503}]')"
eq "alertmanager takes three alerts before the crash" 200 "$(am_post "$N3")"
FP3=$(am_fps "$N3")
check "pagerduty answers 503 to the new triggers" wait_for 15 count_ge "$PD_LOG" '.action.status == 503' "$((BEFORE + 3))"
pending_pd() { curl -s "$URL/api/v1/deliveries?state=pending&output=pd" | jq '.deliveries | length'; }
three_pending() { [ "$(pending_pd)" -ge 3 ]; }
check "three pagerduty deliveries are pending" wait_for 5 three_pending
check "slack has notified the new group" wait_for 10 count_ge "$SL_LOG" "$SLOK and (.json.text | contains(\"$N3\"))" 1
sleep 0.5 # the outbox forgets delivered entries every 200 ms
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
ok "reflexd killed with SIGKILL while three deliveries were pending"
eq "nothing of $N3 accepted before the crash" "0 0 0" "$(pd_counts trigger $FP3)"
start_reflexd "$TMP/reflex.yaml" || exit 1
ok "reflexd restarted on the same data"
check "deliveries still pending after the restart (receiver still 503)" wait_for 5 three_pending
check "the receiver recovers" pd_drain 200 "$BEFORE"
fp3_delivered() { [ "$(pd_counts trigger $FP3)" = "1 1 1" ]; }
T0=$(now_ms)
check "the pending triggers are delivered" wait_for 10 fp3_delivered
echo "note: delivered $(($(now_ms) - T0)) ms after the receiver recovered"
sleep 1
eq "exactly once per dedup_key after the restart" "1 1 1" "$(pd_counts trigger $FP3)"
eq "earlier triggers not sent again" "1 1 1 1 1 1" "$(pd_counts trigger $FP1 $FP2)"
eq "earlier resolves not sent again" "1 1 1" "$(pd_counts resolve $FP1)"
eq "nothing pending" 0 "$(pending_pd)"
eq "nothing dead" '[]' "$(curl -s "$URL/api/v1/deliveries?state=dead" | jq -c '.deliveries')"
S3=$(jq -c "select($SLOK and (.json.text | contains(\"$N3\")))" "$SL_LOG")
eq "slack told $N3's three alerts firing, each once" "db1 db2 db3" \
	"$(jq -r .json.text <<<"$S3" | grep -o '\[firing\] [^ ]*: [^ ]* on db[123]' | grep -o 'db[123]' | sort | paste -sd' ')"
eq "in one slack thread" 1 "$(jq -c "select(.json.thread_ts == null)" <<<"$S3" | wc -l)"
# one message is expected; a second one (the rest of the group, in the
# thread, after the restart) was seen in about 1 run of 8: see the report
echo "note: slack messages for $N3: $(wc -l <<<"$S3")"
check "no secret in the reflexd log" sh -c "! grep -q -e '$KEY' -e '$SLTOKEN' '$TMP/reflexd.log'"
check "alertmanager logged no failed notification" sh -c "! grep -q 'Notify for alerts failed' '$TMP/am.log'"

am_stop
check "SIGTERM stops reflexd cleanly with status 0" stop_reflexd
finish
