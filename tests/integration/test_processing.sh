#!/bin/bash
# The processing stages end to end, through reflexd: normalize (a
# per-source severity map), enrich (inventory labels, an IP turned into the
# asset's name, unknown hosts marked), templates (syslog lines from the real
# `logger` fingerprinted by their message template), and noise (repeats
# stored but forwarded once, escalation forwarded, a silence made through
# the API that survives a restart, a maintenance window from the YAML).
# What is forwarded is read from the test output's own record.
. "$(dirname "$0")/lib.sh"

if ! command -v logger >/dev/null; then
	echo "FAIL: logger not installed: apt-get install bsdutils (scripts/deps.sh --test)"
	exit 1
fi
OUT=$TMP/delivered
echo ok >"$TMP/control"
UDP=$(free_port)
while [ "$UDP" = "$PORT" ]; do UDP=$(free_port); done
mkdir -p "$TMP/inv"
cat >"$TMP/inv/hosts.yaml" <<'YAML'
hosts:
  - name: db1
    aliases: [10.9.8.7]
    env: prod
    team: dba
    criticality: high
  - name: mx1
    env: prod
YAML
WSTART=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
WEND=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-processing
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook }
  - name: sys
    plugin: syslog
    listen: ["udp://127.0.0.1:$UDP"]
pipeline:
  normalize:
    sources:
      - match: hook
        severity_from: labels.prio
        severity_map: {p1: critical, p3: warning}
  enrich:
    inventory: [inv/hosts.yaml]
  noise:
    maintenance:
      - name: mail-move
        match: 'host == "mx1"'
        start: $WSTART
        end: $WEND
outputs:
  - { name: seen, plugin: flaky, path: $OUT, control: $TMP/control }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" | cut -d' ' -f2- | jq -r '.ids[0]'; }
event() { curl -s "$URL/api/v1/events/$1"; }
forwarded() { local n; n=$(grep -c "\"event\":\"$1\"" "$OUT" 2>/dev/null); echo "${n:-0}"; }
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
is_forwarded() { grep -q "\"event\":\"$1\"" "$OUT" 2>/dev/null; }

# --- normalize and enrich
ID=$(send '[{"host":"10.9.8.7","check":"disk","message":"90%","labels":{"prio":"p1"}}]')
E=$(event "$ID")
eq "normalize: the source's prio p1 maps to critical" critical "$(echo "$E" | jq -r .severity)"
eq "enrich: an alias IP becomes the asset's name" db1 "$(echo "$E" | jq -r .host)"
eq "enrich: the sent host is kept" 10.9.8.7 "$(echo "$E" | jq -r .attrs.enrich.host_reported)"
eq "enrich: env label" prod "$(echo "$E" | jq -r .labels.env)"
eq "enrich: team label" dba "$(echo "$E" | jq -r .labels.team)"
eq "enrich: known" known "$(echo "$E" | jq -r .labels.inventory)"
check "the first event is forwarded" wait_for 5 is_forwarded "$ID"
FIRST=$ID
U=$(send '[{"host":"nobody-knows","check":"disk","message":"x"}]')
eq "enrich: an unknown host is marked, not dropped" unknown "$(event "$U" | jq -r .labels.inventory)"

# --- dedup: a repeat is stored, folded into the first, not forwarded
before=$(curl -s "$URL/healthz" | jq .events)
R=$(send '[{"host":"db1","check":"disk","value":91,"labels":{"prio":"p1"}}]')
eq "dedup: the repeat is acknowledged with an id" 26 "${#R}"
E=$(event "$FIRST")
eq "dedup: the repeat updates the first record's count" 2 "$(echo "$E" | jq -r .count)"
check "dedup: ... and its last_seen" test "$(echo "$E" | jq -r .last_seen)" != null
eq "dedup: ... and its value" 91 "$(echo "$E" | jq -r .value)"
eq "dedup: ... keeping the first message" "90%" "$(echo "$E" | jq -r .message)"
eq "dedup: no row of its own" "$before" "$(curl -s "$URL/healthz" | jq .events)"
eq "dedup: its id resolves to the record it was folded into" "$FIRST" "$(event "$R" | jq -r .id)"
eq "dedup: its raw payload is kept" 1 \
	"$(sqlite3 "$TMP/var/reflex.db" "SELECT count(*) FROM raw_events WHERE id = '$R'")"
sleep 0.5
eq "dedup: the repeat is not forwarded" 0 "$(forwarded "$R")"
X=$(send '[{"host":"db1","check":"disk","message":"99%","severity":"emergency"}]')
check "dedup: an escalation is forwarded" wait_for 5 is_forwarded "$X"
Z=$(send '[{"host":"db1","check":"disk","status":"resolved","message":"ok"}]')
check "dedup: the resolution is forwarded" wait_for 5 is_forwarded "$Z"

# --- a silence through the API, kept across a restart
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
END=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
r=$(post /api/v1/silences "{\"matchers\":\"host == \\\"web9\\\"\",\"startsAt\":\"$NOW\",\"endsAt\":\"$END\",\"createdBy\":\"it\",\"comment\":\"test\"}")
eq "silence: created" 200 "${r%% *}"
SID=$(echo "${r#* }" | jq -r .silenceID)
S=$(send '[{"host":"web9","check":"http","message":"down"}]')
eq "silence: the event is stored, silenced by it" "$SID" "$(event "$S" | jq -r .attrs.noise.silenced_by)"
sleep 0.5
eq "silence: not forwarded" 0 "$(forwarded "$S")"
r=$(post /api/v1/silences '{"matchers":"host ==","endsAt":"2099-01-01T00:00:00Z","createdBy":"it","comment":"x"}')
eq "silence: a bad matcher is 400" 400 "${r%% *}"
contains "silence: the error names the field" "matchers:" "$r"

# --- a maintenance window from the YAML
M=$(send '[{"host":"mx1","check":"smtp","message":"queue"}]')
eq "maintenance: stored and marked" mail-move "$(event "$M" | jq -r .attrs.noise.maintenance)"
sleep 0.5
eq "maintenance: not forwarded" 0 "$(forwarded "$M")"
r=$(get /api/v1/maintenance)
eq "maintenance: listed as active" true "$(echo "${r#* }" | jq -r '.[] | select(.name == "mail-move") | .active')"

# --- templates: syslog lines fingerprinted by their message template
L=(logger -n 127.0.0.1 -P "$UDP" -d --rfc5424 -t sshd)
"${L[@]}" "Failed password for root from 10.0.0.1 port 22 ssh2"
"${L[@]}" "Failed password for bob from 10.0.0.2 port 2222 ssh2"
"${L[@]}" "Accepted publickey for alice from 10.0.0.3 port 22 ssh2"
fp() { curl -s "$URL/api/v1/events?q=$1&limit=1" | jq -r '.events[0].fingerprint // empty'; }
wait_for 5 sh -c "[ -n \"\$(curl -s '$URL/api/v1/events?q=alice&limit=1' | jq -r '.events[0].id // empty')\" ]"
F1=$(fp root)
F3=$(fp alice)
check "templates: the failed login got a template fingerprint ($F1)" test "${F1:0:1}" = t
eq "templates: the second failed login (same template) folded into it" 2 \
	"$(curl -s "$URL/api/v1/events?q=root&limit=1" | jq -r '.events[0].count')"
eq "templates: ... so it has no row of its own" 0 \
	"$(curl -s "$URL/api/v1/events?q=bob&limit=1" | jq '.events | length')"
check "templates: another template, another fingerprint ($F1 vs $F3)" test "$F1" != "$F3"
T=$(get /api/v1/templates | cut -d' ' -f2-)
eq "templates: the API counts the failed-login template twice" 2 \
	"$(echo "$T" | jq '[.templates[] | select(.template | startswith("Failed password for"))][0].count')"

# --- the silence survives a restart
check "reflexd stops cleanly" stop_reflexd
start_reflexd "$TMP/reflex.yaml" || exit 1
r=$(get "/api/v1/silences/$SID")
eq "silence: still there after a restart" active "$(echo "${r#* }" | jq -r .status.state)"
SIG=$(get "/api/v1/templates?stored=true" | cut -d' ' -f2-)
eq "templates: the signature store kept the failed-login template and its count" 2 \
	"$(echo "$SIG" | jq '[.signatures[] | select(.template | startswith("Failed password for"))] | map(.count) | add')"
S2=$(send '[{"host":"web9","check":"http","message":"down again"}]')
eq "silence: still applied after a restart" "$SID" "$(event "$S2" | jq -r .attrs.noise.silenced_by)"
r=$(curl -s -XDELETE -o /dev/null -w '%{http_code}' "$URL/api/v1/silences/$SID")
eq "silence: DELETE expires it" 200 "$r"
eq "silence: listed as expired" expired "$(get "/api/v1/silences/$SID" | cut -d' ' -f2- | jq -r .status.state)"

r=$(curl -s "$URL/metrics")
contains "suppressed events are counted" "reflex_events_suppressed_total" "$r"
check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
