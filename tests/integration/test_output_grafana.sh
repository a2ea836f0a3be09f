#!/bin/bash
# The grafana output inside a running reflexd, against a stand-in for
# Grafana's annotations API (tests/receivers/grafana_receiver.py) that
# checks requests as Grafana documents them: a firing event creates an
# annotation (POST, Bearer service-account token, epoch-ms time, tags,
# dashboardUID/panelId), an update patches its text, the resolution
# patches timeEnd (a region) and forgets it; 429 with Retry-After and 5xx
# are retried, 401/404 are dead letters with Grafana's message; the token
# never reaches the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/grafana/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

TOKEN=glsa_SeCrEtToKeN0123456789abcdef_0a1b2c3d
start_receiver grafana "$SRCDIR/tests/receivers/grafana_receiver.py" --token "$TOKEN" || exit 1
GF="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # updates of a firing fingerprint reach outputs
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: gf
    plugin: grafana
    url: $GF
    token: $TOKEN
    dashboard_uid: ops-overview
    panel_id: 4
    timeout: 1s
    delivery: { initial_backoff: 200ms, max_backoff: 400ms }
YAML
check "the configuration validates" "$REFLEXD" --check-config "$TMP/reflex.yaml"
start_reflexd "$TMP/reflex.yaml" || exit 1

POSTP='.method == "POST" and .path == "/api/annotations"'
PATCHP='.method == "PATCH"'
ALL='(.method == "POST" or .method == "PATCH")'
T0=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:00Z)
T1=$(date -u -d '-30 minutes' +%Y-%m-%dT%H:%M:00Z)
ms() { echo $(( $(date -u -d "$1" +%s) * 1000 )); }
send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST STATUS TIME [MESSAGE]
	jq -cn --arg h "$1" --arg s "$2" --arg t "$3" --arg m "${4:-disk almost full}" \
		'{host:$h, check:"disk", status:$s, severity:"critical", time:$t, message:$m}'
}
anns() { curl -s "$GF/api/annotations/_all"; }

# --- firing: a new annotation
send "$(ev db1 firing "$T0")"
check "the firing event creates an annotation" rx_wait 1 "$POSTP"
req=$(rx_last "$POSTP")
eq "Authorization: Bearer token" "Bearer $TOKEN" "$(jq -r .headers.authorization <<<"$req")"
eq "Content-Type JSON" application/json "$(jq -r '.headers["content-type"]' <<<"$req")"
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "time is the event's time in epoch ms" "$(ms "$T0")" "$(jq -r .json.time <<<"$req")"
eq "dashboardUID and panelId" "ops-overview 4" "$(jq -r '"\(.json.dashboardUID) \(.json.panelId)"' <<<"$req")"
eq "tags" '["reflex","critical","host:db1","check:disk"]' "$(jq -c .json.tags <<<"$req")"
eq "text" "[firing] critical: disk on db1
disk almost full" "$(jq -r .json.text <<<"$req")"
eq "no timeEnd on a firing annotation" null "$(jq -r .json.timeEnd <<<"$req")"

# --- an update patches the same annotation's text
send "$(ev db1 firing "$T0" "disk full now")"
check "the update is a PATCH" rx_wait 1 "$PATCHP"
req=$(rx_last "$PATCHP")
eq "... of annotation 1" /api/annotations/1 "$(jq -r .path <<<"$req")"
eq "... with the new text" "[firing] critical: disk on db1
disk full now" "$(jq -r .json.text <<<"$req")"
eq "... and no violation" "[]" "$(jq -c .violations <<<"$req")"
eq "no second annotation" 1 "$(rx_count "$POSTP")"

# --- the resolution: timeEnd, a region
send "$(ev db1 resolved "$T1" "back to normal")"
check "the resolution is a PATCH" rx_wait 2 "$PATCHP"
req=$(rx_last "$PATCHP")
eq "resolution: PATCH /api/annotations/1 with only timeEnd" "/api/annotations/1 {\"timeEnd\":$(ms "$T1")}" \
	"$(jq -c '"\(.path) \(.json | tojson)"' -r <<<"$req")"
eq "resolution: no violation" "[]" "$(jq -c .violations <<<"$req")"
eq "the annotation is a region from firing to resolution" "$(ms "$T0") $(ms "$T1")" \
	"$(anns | jq -r '."1" | "\(.time) \(.timeEnd)"')"

# --- after the resolution the next firing starts a new annotation
send "$(ev db1 firing "$T1" "again")"
check "a new firing after the resolution is a new annotation" rx_wait 2 "$POSTP"
send "$(ev web9 firing "$T1")"
check "another fingerprint gets its own annotation" rx_wait 3 "$POSTP"

# --- a resolution of something never annotated: a point annotation
send "$(ev lone1 resolved "$T1")"
check "a lone resolution is annotated" rx_wait 4 "$POSTP"
contains "... saying resolved" "[resolved]" "$(rx_last "$POSTP" | jq -r .json.text)"

# --- 429 with Retry-After and 503 are retried; the annotation made once
for case in \
	'HTTP 429 with Retry-After|[{"status": 429, "headers": {"Retry-After": "1"}, "json": {"message": "Too Many Requests"}}]' \
	'HTTP 503|[{"status": 503, "json": {"message": "Service unavailable"}}]' \
	'a reset connection|[{"reset": true}]'; do
	what=${case%%|*}
	n=$(rx_count "$ALL")
	rx_script "${case#*|}"
	send "$(ev "r$n" firing "$T1")"
	check "$what: retried" rx_wait $((n + 2)) "$ALL"
	sleep 0.5
	eq "$what: no third attempt" $((n + 2)) "$(rx_count "$ALL")"
done
t1=$(jq -c "select($ALL)" "$RX_LOG" | tail -6 | head -1 | jq .time)
t2=$(jq -c "select($ALL)" "$RX_LOG" | tail -5 | head -1 | jq .time)
check "the 429's retry waited for Retry-After" /usr/bin/python3 -c "import sys; sys.exit(0 if $t2 - $t1 >= 0.9 else 1)"

# --- 401 and a 404 on PATCH are dead letters with Grafana's message
n=$(rx_count "$ALL")
rx_script '[{"status": 401, "json": {"message": "invalid API key"}}]'
send "$(ev d1 firing "$T1")"
check "401: answered" rx_wait $((n + 1)) "$ALL"
sleep 0.8
eq "401: not retried" $((n + 1)) "$(rx_count "$ALL")"
dead=$(get "/api/v1/deliveries?state=dead" | cut -d' ' -f2-)
contains "401: a dead letter with Grafana's message" "HTTP 401: invalid API key" "$(jq -r '.deliveries[].last_error' <<<"$dead")"

n=$(rx_count "$ALL")
rx_script '[{"status": 404, "json": {"message": "Annotation not found"}}]'
send "$(ev web9 resolved "$T1")"
check "404: answered" rx_wait $((n + 1)) "$ALL"
sleep 0.8
eq "404: not retried" $((n + 1)) "$(rx_count "$ALL")"
dead=$(get "/api/v1/deliveries?state=dead" | cut -d' ' -f2-)
contains "404: a dead letter with Grafana's message" "HTTP 404: Annotation not found" "$(jq -r '.deliveries[].last_error' <<<"$dead")"
send "$(ev web9 firing "$T1")"
check "after a 404 the annotation id is forgotten: the next firing POSTs" \
	rx_wait 1 "$POSTP and .json.tags[2] == \"host:web9\" and .action == null and (.time > $(date +%s) - 5)"

eq "no request violated the documentation" 0 "$(rx_count '.violations != []')"
m=$(get /metrics)
contains "sent counted" 'reflex_output_grafana_sent_total{instance="gf"}' "$m"
contains "failures counted" 'reflex_output_grafana_failed_total{instance="gf"} 2' "$m"
check "the token never reaches the log" bash -c "! grep -q -- '$TOKEN' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
