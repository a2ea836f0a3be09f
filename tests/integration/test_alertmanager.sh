#!/bin/bash
# The webhook input's alertmanager format end to end. Part 1 posts recorded
# Alertmanager webhook bodies (a firing group of two alerts, then its
# resolution, then bad bodies) with curl and reads every mapped field back
# through the API. Part 2 puts a real Prometheus Alertmanager in front of
# reflex: alerts posted to Alertmanager must arrive firing and then resolved,
# under Alertmanager's own fingerprints. Needs curl, jq, sqlite3 and
# prometheus-alertmanager (Debian package; the test fails without it).
. "$(dirname "$0")/lib.sh"

AM_BIN=$(command -v prometheus-alertmanager || command -v alertmanager || true)
AM_PID=""

# Stops Alertmanager (SIGTERM, then SIGKILL after 5 s) before lib.sh's
# cleanup stops reflexd and removes $TMP.
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
	local rc=$?
	am_stop
	if [ "$FAILS" -ne 0 ] && [ -f "$TMP/am.log" ]; then
		echo "---- alertmanager log ----"
		tail -30 "$TMP/am.log"
	fi
	cleanup
	exit $rc
}
trap on_exit EXIT

OPER=operator-token-0123456789abcdef
VIEWER=viewer-token-0123456789abcdef
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-alertmanager
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
    tokens:
      - { token: $OPER, role: operator }
      - { token: $VIEWER, role: viewer }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - name: am
    plugin: webhook
    path: /api/v1/events/webhook/alertmanager
    format: alertmanager
    severity_map: { p1: critical, ticket: notice, sev1: alert, none: debug }
  - name: am2
    plugin: webhook
    path: /api/v1/events/webhook/am2
    format: alertmanager
    host_label: node
    strip_port: false
    severity_label: level
    max_events: 2
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
H=/api/v1/events/webhook/alertmanager
O=(-H "Authorization: Bearer $OPER")
V=(-H "Authorization: Bearer $VIEWER")

# events FILTER: the JSON array of events matching a query string
events() { get "/api/v1/events?$1" "${V[@]}" | sed 's/^[0-9]* //' | jq -c '.events'; }
# raw ID: the stored raw payload of an event
raw() { sqlite3 "file:$TMP/var/reflex.db?mode=ro" "SELECT payload FROM raw_events WHERE id='$1'"; }

# ---------------------------------------------------------------- part 1
# A firing group as Alertmanager 0.25 sends it (from a recorded request),
# with one extra field a newer version might add.
GROUP='{"receiver":"reflex","status":"firing","groupLabels":{"alertname":"DiskFull"},
 "commonLabels":{"job":"node"},"commonAnnotations":{},"externalURL":"http://am.example:9093",
 "version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","truncatedAlerts":0,"futureField":{"x":1},
 "alerts":[
  {"status":"firing","labels":{"alertname":"DiskFull","instance":"db1:9100","job":"node",
    "severity":"critical","mountpoint":"/var"},
   "annotations":{"summary":"Disk /var 97% full","description":"only 3% left","runbook":"http://wiki/disk"},
   "startsAt":"2026-01-10T03:22:45.123456789Z","endsAt":"0001-01-01T00:00:00Z",
   "generatorURL":"http://prom:9090/graph?g0.expr=disk","fingerprint":"a1b2c3d4e5f60718"},
  {"status":"firing","labels":{"alertname":"DiskFull","instance":"[2001:db8::7]:9100","job":"node",
    "service":"kubelet","severity":"page"},
   "annotations":{"description":"kubelet disk full"},
   "startsAt":"2026-01-10T05:22:46+02:00","endsAt":"0001-01-01T00:00:00Z",
   "generatorURL":"http://prom:9090/graph?g0.expr=disk2","fingerprint":"0f0e0d0c0b0a0908"}]}'
RESOLVED=$(echo "$GROUP" | jq -c '.status = "resolved" | .alerts |= map(.status = "resolved" | .endsAt = "2026-01-10T04:00:00.5Z")')

r=$(post $H "$GROUP" "${O[@]}")
eq "firing group is accepted (202)" 202 "${r%% *}"
eq "one event per alert" 2 "$(echo "${r#* }" | jq '.accepted')"
ID1=$(echo "${r#* }" | jq -r '.ids[0]')

E=$(events "fingerprint=a1b2c3d4e5f60718")
eq "alert 1 stored once" 1 "$(echo "$E" | jq length)"
E=$(echo "$E" | jq -c '.[0]')
eq "fingerprint is Alertmanager's" a1b2c3d4e5f60718 "$(echo "$E" | jq -r .fingerprint)"
eq "kind is alert" alert "$(echo "$E" | jq -r .kind)"
eq "source is the input" am "$(echo "$E" | jq -r .source)"
eq "status from the alert" firing "$(echo "$E" | jq -r .status)"
eq "host from instance without port" db1 "$(echo "$E" | jq -r .host)"
eq "service from job" node "$(echo "$E" | jq -r .service)"
eq "check is alertname" DiskFull "$(echo "$E" | jq -r .check)"
eq "message is the summary" "Disk /var 97% full" "$(echo "$E" | jq -r .message)"
eq "severity critical" critical "$(echo "$E" | jq -r .severity)"
eq "time is startsAt" 2026-01-10T03:22:45.123Z "$(echo "$E" | jq -r .time)"
eq "all labels kept" '{"alertname":"DiskFull","instance":"db1:9100","job":"node","mountpoint":"/var","severity":"critical"}' \
	"$(echo "$E" | jq -c '.labels | to_entries | sort_by(.key) | from_entries')"
eq "annotations in attrs" "http://wiki/disk" "$(echo "$E" | jq -r .attrs.annotations.runbook)"
eq "generatorURL in attrs" "http://prom:9090/graph?g0.expr=disk" "$(echo "$E" | jq -r .attrs.generatorURL)"
eq "startsAt in attrs as sent" 2026-01-10T03:22:45.123456789Z "$(echo "$E" | jq -r .attrs.startsAt)"
eq "no endsAt while firing" null "$(echo "$E" | jq -r .attrs.endsAt)"
eq "receiver in attrs" reflex "$(echo "$E" | jq -r .attrs.receiver)"
eq "groupKey in attrs" '{}:{alertname="DiskFull"}' "$(echo "$E" | jq -r .attrs.groupKey)"
eq "externalURL in attrs" http://am.example:9093 "$(echo "$E" | jq -r .attrs.externalURL)"
eq "group status in attrs" firing "$(echo "$E" | jq -r .attrs.alertmanager_status)"
eq "no severity_unmapped for a known severity" null "$(echo "$E" | jq -r .attrs.severity_unmapped)"
eq "raw payload is the alert element" a1b2c3d4e5f60718 "$(raw "$ID1" | jq -r .fingerprint)"
eq "raw payload keeps the labels" db1:9100 "$(raw "$ID1" | jq -r .labels.instance)"

E=$(events "fingerprint=0f0e0d0c0b0a0908" | jq -c '.[0]')
eq "IPv6 host without brackets and port" 2001:db8::7 "$(echo "$E" | jq -r .host)"
eq "service label wins over job" kubelet "$(echo "$E" | jq -r .service)"
eq "message falls back to description" "kubelet disk full" "$(echo "$E" | jq -r .message)"
eq "severity page is critical" critical "$(echo "$E" | jq -r .severity)"
eq "time offset is applied" 2026-01-10T03:22:46.000Z "$(echo "$E" | jq -r .time)"

r=$(post $H "$RESOLVED" "${O[@]}")
eq "resolved group is accepted (202)" 202 "${r%% *}"
E=$(events "fingerprint=a1b2c3d4e5f60718&status=resolved")
eq "resolution carries the same fingerprint" 1 "$(echo "$E" | jq length)"
eq "resolved time is endsAt" 2026-01-10T04:00:00.500Z "$(echo "$E" | jq -r '.[0].time')"
eq "endsAt in attrs" 2026-01-10T04:00:00.5Z "$(echo "$E" | jq -r '.[0].attrs.endsAt')"
eq "group status resolved in attrs" resolved "$(echo "$E" | jq -r '.[0].attrs.alertmanager_status')"
eq "both alerts resolved" 2 "$(events "check=DiskFull&status=resolved" | jq length)"

# severities: severity_map (keys in any case) extends and overrides the
# defaults (none: debug), reflex names and aliases
# pass, anything else is warning and recorded; no label is warning
sev_alert() { # FINGERPRINT SEVERITY-LABEL-JSON
	jq -cn --arg fp "$1" --argjson l "$2" '{version:"4",status:"firing",receiver:"r",alerts:[{status:"firing",
		labels:({alertname:"Sev",instance:"h"} + $l),annotations:{},startsAt:"2026-01-10T03:00:00Z",fingerprint:$fp}]}'
}
for c in "s1 p1 critical" "s2 ticket notice" "s3 SEV1 alert" "s4 crit critical" "s5 error error" \
	"s6 none debug" "s7 info info" "s8 major error" "s9 mystery warning"; do
	set -- $c
	r=$(post $H "$(sev_alert "$1" "{\"severity\":\"$2\"}")" "${O[@]}")
	eq "severity '$2' is accepted" 202 "${r%% *}"
	eq "severity '$2' becomes $3" "$3" "$(events "fingerprint=$1" | jq -r '.[0].severity')"
done
eq "an unmapped severity is recorded" mystery "$(events "fingerprint=s9" | jq -r '.[0].attrs.severity_unmapped')"
r=$(post $H "$(sev_alert s10 '{}')" "${O[@]}")
E=$(events "fingerprint=s10" | jq -c '.[0]')
eq "no severity label is warning" warning "$(echo "$E" | jq -r .severity)"
eq "message falls back to alertname" Sev "$(echo "$E" | jq -r .message)"
eq "no job, no service" null "$(echo "$E" | jq -r .service)"

# options of the second instance: host_label, strip_port: false, severity_label
B2='{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Opt",
 "node":"web9:8080","instance":"ignored:1","level":"error","severity":"critical"},"annotations":{},
 "startsAt":"2026-01-10T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"opt1"}]}'
r=$(post /api/v1/events/webhook/am2 "$B2" "${O[@]}")
eq "second instance accepts" 202 "${r%% *}"
E=$(events "fingerprint=opt1" | jq -c '.[0]')
eq "host_label picks the label" web9:8080 "$(echo "$E" | jq -r .host)"
eq "severity_label picks the label" error "$(echo "$E" | jq -r .severity)"
eq "source is the second input" am2 "$(echo "$E" | jq -r .source)"
three=$(echo "$B2" | jq -c '.alerts = [.alerts[0], .alerts[0], .alerts[0]]')
r=$(post /api/v1/events/webhook/am2 "$three" "${O[@]}")
eq "more alerts than max_events is 413" 413 "${r%% *}"
contains "413 says why" too_many_events "$r"

# bad bodies: 422 naming the field, and nothing of the request is kept
bad_case() { # DESCRIPTION JQ-EDIT EXPECTED-TEXT
	local body r
	body=$(echo "$GROUP" | jq -c "$2")
	r=$(post $H "$body" "${O[@]}")
	eq "$1 is 422" 422 "${r%% *}"
	contains "$1 names the field" "$3" "$r"
}
before=$(events "limit=1000" | jq length)
bad_case "version 3" '.version = "3"' 'version: this input reads Alertmanager webhook version \"4\"'
bad_case "no version" 'del(.version)' 'version:'
bad_case "alerts not an array" '.alerts = {}' 'alerts: expected an array'
bad_case "missing alertname" 'del(.alerts[1].labels.alertname)' 'alerts[1].labels.alertname: missing'
bad_case "bad startsAt" '.alerts[1].startsAt = "yesterday"' "alerts[1].startsAt: expected an RFC 3339 time"
bad_case "impossible date" '.alerts[0].startsAt = "2026-02-30T00:00:00Z"' "alerts[0].startsAt"
bad_case "bad endsAt" '.alerts[1].endsAt = 17' "alerts[1].endsAt"
bad_case "missing fingerprint" 'del(.alerts[0].fingerprint)' "alerts[0].fingerprint"
bad_case "unknown status" '.alerts[1].status = "pending"' "alerts[1].status: expected \\\"firing\\\" or \\\"resolved\\\", got 'pending'"
bad_case "label not a string" '.alerts[0].labels.x = 5' "alerts[0].labels.x: expected a string"
bad_case "65 labels" '.alerts[1].labels += ([range(60)] | map({key: "l\(.)", value: "v"}) | from_entries)' \
	"alerts[1].labels: 65 labels; an event carries at most 64"
bad_case "annotation not a string" '.alerts[0].annotations.summary = []' "alerts[0].annotations.summary"
bad_case "empty alerts" '.alerts = []' "alerts: the array is empty"
r=$(post $H '[{"check":"x"}]' "${O[@]}")
eq "a generic event array is 422" 422 "${r%% *}"
contains "and says what is expected" "expected an Alertmanager webhook object" "$r"
eq "rejected requests stored nothing" "$before" "$(events "limit=1000" | jq length)"

# ---------------------------------------------------------------- part 2
if [ -z "$AM_BIN" ]; then
	bad "prometheus-alertmanager is not installed: apt-get install -y prometheus-alertmanager"
	finish
	exit 1
fi
AMPORT=$(free_port)
while [ "$AMPORT" = "$PORT" ]; do AMPORT=$(free_port); done
AMURL="http://127.0.0.1:$AMPORT"
cat >"$TMP/am.yml" <<YAML
route: { receiver: reflex, group_by: [alertname], group_wait: 1s, group_interval: 2s, repeat_interval: 1h }
receivers:
  - name: reflex
    webhook_configs:
      - url: "http://127.0.0.1:$PORT$H"
        send_resolved: true
        http_config: { authorization: { type: Bearer, credentials: $OPER } }
YAML
"$AM_BIN" --config.file="$TMP/am.yml" --storage.path="$TMP/am" \
	--web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= >>"$TMP/am.log" 2>&1 &
AM_PID=$!
DEADLINE=$((SECONDS + 30)) # every wait of part 2 together
until curl -sf "$AMURL/-/ready" >/dev/null 2>&1; do
	if ! kill -0 "$AM_PID" 2>/dev/null || [ $SECONDS -ge $DEADLINE ]; then
		bad "alertmanager did not become ready"
		finish
		exit 1
	fi
	sleep 0.2
done
ok "alertmanager $("$AM_BIN" --version 2>&1 | head -1 | awk '{print $3}') is ready"

NAME="AmIt$$"
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
am_alerts() { # [ENDS-AT]
	jq -cn --arg n "$NAME" --arg s "$START" --arg e "${1:-}" '[
	 {labels:{alertname:$n,instance:"db7:9100",job:"node",severity:"warning"},
	  annotations:{summary:"db7 is slow"},startsAt:$s,generatorURL:"http://prom/g1"},
	 {labels:{alertname:$n,instance:"db8:9100",job:"node",severity:"critical"},
	  annotations:{summary:"db8 is down"},startsAt:$s,generatorURL:"http://prom/g2"}]
	 | if $e != "" then map(.endsAt = $e) else . end'
}
# wait_events FILTER COUNT: polls until COUNT events match, within DEADLINE
wait_events() {
	while [ $SECONDS -lt $DEADLINE ]; do
		[ "$(events "$1" | jq length)" -ge "$2" ] && return 0
		sleep 0.3
	done
	return 1
}

r=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
	--data-binary "$(am_alerts)" "$AMURL/api/v2/alerts")
eq "alertmanager takes the alerts" 200 "$r"
AMFP=$(curl -s "$AMURL/api/v2/alerts" | jq -r --arg n "$NAME" '[.[] | select(.labels.alertname == $n) | .fingerprint] | sort | join(" ")')
check "alertmanager reports two fingerprints" test "$(echo "$AMFP" | wc -w)" -eq 2
check "reflex receives the firing alerts" wait_events "check=$NAME&status=firing" 2
E=$(events "check=$NAME&status=firing")
eq "firing events carry alertmanager's fingerprints" "$AMFP" "$(echo "$E" | jq -r '[.[].fingerprint] | sort | join(" ")')"
eq "hosts from instance" "db7 db8" "$(echo "$E" | jq -r '[.[].host] | sort | join(" ")')"
eq "severities" "critical warning" "$(echo "$E" | jq -r '[.[].severity] | sort | join(" ")')"
eq "messages from summary" "db7 is slow|db8 is down" "$(echo "$E" | jq -r '[.[].message] | sort | join("|")')"
eq "receiver recorded" "reflex reflex" "$(echo "$E" | jq -r '[.[].attrs.receiver] | join(" ")')"
eq "time is startsAt" "$START" "$(echo "$E" | jq -r '.[0].time | sub("\\.000Z$"; "Z")')"
eq "firing alerts have no endsAt" "null" "$(echo "$E" | jq -c '[.[].attrs.endsAt] | unique | .[0]')"
contains "groupKey names the group" "$NAME" "$(echo "$E" | jq -r '.[0].attrs.groupKey')"
contains "externalURL is alertmanager's" ":$AMPORT" "$(echo "$E" | jq -r '.[0].attrs.externalURL')"

END=$(date -u +%Y-%m-%dT%H:%M:%SZ)
r=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
	--data-binary "$(am_alerts "$END")" "$AMURL/api/v2/alerts")
eq "alertmanager takes the resolution" 200 "$r"
check "reflex receives the resolved alerts" wait_events "check=$NAME&status=resolved" 2
E=$(events "check=$NAME&status=resolved")
eq "resolved events carry the same fingerprints" "$AMFP" "$(echo "$E" | jq -r '[.[].fingerprint] | sort | join(" ")')"
eq "resolved time is endsAt" "$END" "$(echo "$E" | jq -r '.[0].time | sub("\\.000Z$"; "Z")')"
eq "endsAt recorded" "$END" "$(echo "$E" | jq -r '.[0].attrs.endsAt')"
check "alertmanager logged no failed notification" sh -c "! grep -q 'Notify for alerts failed' '$TMP/am.log'"

am_stop
check "SIGTERM stops reflexd cleanly with status 0" stop_reflexd
finish
