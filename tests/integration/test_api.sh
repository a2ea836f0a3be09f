#!/bin/bash
# The events API end to end: a real reflexd on a temporary data dir, driven
# with curl and reflexctl: valid, malformed, oversized, wrongly typed and
# unauthenticated requests; reading back with filters and pagination;
# routing to the file output by match:; metrics and OpenAPI.
. "$(dirname "$0")/lib.sh"

ADMIN=admin-token-0123456789abcdef
VIEWER=viewer-token-0123456789abcdef
OPER=operator-token-0123456789abcdef
export REFLEX_TEST_ADMIN=$ADMIN
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-api
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
    max_body: 64KiB
    tokens:
      - { token: "\${REFLEX_TEST_ADMIN}", role: admin }
      - { token: $VIEWER, role: viewer }
      - { token: $OPER, role: operator }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook, path: /api/v1/events/webhook }
outputs:
  - { name: log, plugin: file, path: events.jsonl, match: 'severity >= warning' }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
H="/api/v1/events/webhook"
A=(-H "Authorization: Bearer $ADMIN")

# --- authentication and roles
r=$(post $H '{"check":"c"}'); eq "no token is 401" 401 "${r%% *}"
contains "401 body is a JSON error" '"code":"unauthorized"' "$r"
r=$(post $H '{"check":"c"}' -H "Authorization: Bearer wrong-token-xxxxxxxxxx"); eq "unknown token is 401" 401 "${r%% *}"
r=$(post $H '{"check":"c"}' -H "Authorization: Bearer $VIEWER"); eq "viewer cannot post events (403)" 403 "${r%% *}"
r=$(get /api/v1/events -H "Authorization: Bearer $VIEWER"); eq "viewer can list events" 200 "${r%% *}"
r=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz"); eq "healthz needs no token" 200 "$r"

# --- valid events
r=$(post $H '{"host":"db1","service":"postgres","check":"disk","severity":"critical","status":"firing","message":"disk 97% full","labels":{"team":"dba"},"attrs":{"fs":{"mount":"/var"}},"time":"2026-01-01T03:22:45Z","value":97}' -H "Authorization: Bearer $OPER")
eq "operator posts one event (202)" 202 "${r%% *}"
ID1=$(echo "${r#* }" | jq -r '.ids[0]')
eq "one id returned" 26 "${#ID1}"
r=$(post $H '[{"host":"web1","check":"http","severity":"info","message":"ok"},{"host":"web2","check":"http","severity":"warning","message":"slow"},{"host":"web3","check":"http","severity":"error","status":"resolved","message":"down"}]' "${A[@]}")
eq "a batch of 3 is accepted" 202 "${r%% *}"
eq "3 ids returned" 3 "$(echo "${r#* }" | jq '.ids | length')"
eq "accepted count" 3 "$(echo "${r#* }" | jq '.accepted')"

# --- read back
r=$(get "/api/v1/events/$ID1" "${A[@]}")
eq "get by id is 200" 200 "${r%% *}"
B=${r#* }
eq "host round-trips" db1 "$(echo "$B" | jq -r .host)"
eq "service round-trips" postgres "$(echo "$B" | jq -r .service)"
eq "check round-trips" disk "$(echo "$B" | jq -r .check)"
eq "severity round-trips" critical "$(echo "$B" | jq -r .severity)"
eq "label round-trips" dba "$(echo "$B" | jq -r .labels.team)"
eq "attrs round-trip" /var "$(echo "$B" | jq -r .attrs.fs.mount)"
eq "time round-trips" 2026-01-01T03:22:45.000Z "$(echo "$B" | jq -r .time)"
eq "value round-trips" 97 "$(echo "$B" | jq -r .value)"
eq "source is the input instance" hook "$(echo "$B" | jq -r .source)"
check "received time is set" test "$(echo "$B" | jq -r .received)" != null
check "fingerprint is set" test "$(echo "$B" | jq -r .fingerprint | wc -c)" -gt 8
r=$(get "/api/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV" "${A[@]}"); eq "unknown id is 404" 404 "${r%% *}"
r=$(get "/api/v1/events/not-an-id" "${A[@]}"); eq "malformed id is 400" 400 "${r%% *}"

r=$(get "/api/v1/events?host=web2" "${A[@]}")
eq "filter by host" web2 "$(echo "${r#* }" | jq -r '.events[0].host')"
eq "filter by host gives one" 1 "$(echo "${r#* }" | jq '.events | length')"
r=$(get "/api/v1/events?severity=warning" "${A[@]}")
eq "severity=warning means warning or worse" "db1 web2 web3" "$(echo "${r#* }" | jq -r '[.events[].host] | sort | join(" ")')"
r=$(get "/api/v1/events?status=resolved" "${A[@]}")
eq "filter by status" web3 "$(echo "${r#* }" | jq -r '.events[0].host')"
r=$(get "/api/v1/events?q=97%25" "${A[@]}")
eq "text search" db1 "$(echo "${r#* }" | jq -r '.events[0].host')"
r=$(get "/api/v1/events?since=2026-01-01T03:00:00Z&until=2026-01-01T04:00:00Z" "${A[@]}")
eq "since/until on the event time" db1 "$(echo "${r#* }" | jq -r '[.events[].host] | join(" ")')"
r=$(get "/api/v1/events?severity=hgih" "${A[@]}")
eq "bad filter is 400" 400 "${r%% *}"
contains "bad filter names the parameter" "severity" "$r"

# pagination: 250 more events, pages of 100, no duplicates or gaps
body=$(jq -cn '[range(250) | {host: ("page" + (. | tostring)), check: "p", severity: "debug"}]')
r=$(post $H "$body" "${A[@]}"); eq "250 events accepted" 202 "${r%% *}"
cursor=""; seen=0; pages=0
: >"$TMP/pages"
while :; do
	r=$(get "/api/v1/events?service=&limit=100${cursor:+&cursor=$cursor}&check=p" "${A[@]}")
	if [ "${r%% *}" != 200 ]; then r=$(get "/api/v1/events?limit=100${cursor:+&cursor=$cursor}&check=p" "${A[@]}"); fi
	echo "${r#* }" | jq -r '.events[].host' >>"$TMP/pages"
	pages=$((pages + 1))
	cursor=$(echo "${r#* }" | jq -r '.next_cursor // empty')
	[ -n "$cursor" ] || break
	[ $pages -lt 10 ] || break
done
eq "250 events in 3 pages" 3 "$pages"
eq "every event exactly once" 250 "$(sort -u "$TMP/pages" | wc -l)"
eq "no duplicates" 250 "$(wc -l <"$TMP/pages")"
eq "newest first" page249 "$(head -1 "$TMP/pages")"

# --- bad input
r=$(post $H '{"host": "x", ' "${A[@]}"); eq "malformed JSON is 400" 400 "${r%% *}"
contains "malformed JSON error code" '"code":"invalid_json"' "$r"
r=$(post $H '{"check":"c","severity":9}' "${A[@]}"); eq "out-of-range severity is 422" 422 "${r%% *}"
contains "422 names the field" "severity: 9 is out of range 0-7" "$r"
r=$(post $H '[{"check":"c"},{"check":"c","host":5}]' "${A[@]}"); eq "wrong type in a batch is 422" 422 "${r%% *}"
contains "422 names the element and field" "events[1]: host: expected a string" "$r"
r=$(post $H '{"check":"c","hots":"x"}' "${A[@]}"); contains "unknown field suggests" "did you mean 'host'" "$r"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
r=$(post $H "{\"check\":\"$big\"}" "${A[@]}"); eq "oversized body is 413" 413 "${r%% *}"
r=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: text/plain' "${A[@]}" --data 'x' "$URL$H")
eq "wrong content type is 415" 415 "$r"
r=$(get /api/v1/nothing "${A[@]}"); eq "unknown path is 404" 404 "${r%% *}"
r=$(curl -s -o /dev/null -w '%{http_code}' -XDELETE "${A[@]}" "$URL/api/v1/events"); eq "wrong method is 405" 405 "$r"
total=$(get "/api/v1/events?limit=1000" "${A[@]}" | sed 's/^[0-9]* //' | jq '.events | length')
eq "rejected requests stored nothing" 254 "$total"

# --- reflexctl
out=$("$REFLEXCTL" --url "$URL" --token "$VIEWER" -o json events show "$ID1")
eq "reflexctl events show" db1 "$(echo "$out" | jq -r .host)"
out=$("$REFLEXCTL" --url "$URL" --token "$VIEWER" -o json events list --host web2)
eq "reflexctl events list --host" web2 "$(echo "$out" | jq -r '.events[0].host')"
out=$("$REFLEXCTL" --url "$URL" --token "$VIEWER" events list --severity error)
contains "reflexctl table lists db1" "db1" "$out"
contains "reflexctl table lists web3" "web3" "$out"
check "reflexctl table has a header" grep -q "SEVERITY" <<<"$out"
out=$("$REFLEXCTL" --url "$URL" health); contains "reflexctl health" "ok" "$out"
"$REFLEXCTL" --url "$URL" events list >/dev/null 2>"$TMP/err"; rc=$?
eq "reflexctl without a token fails" 1 "$rc"
"$REFLEXCTL" --url "http://127.0.0.1:1" health >/dev/null 2>&1; rc=$?
eq "reflexctl on a dead server exits 2" 2 "$rc"

# --- routing, metrics, openapi
sleep 0.5
eq "file output got only warning-or-worse events" "db1 web2 web3" "$(jq -r .host "$TMP/var/events.jsonl" | sort | tr '\n' ' ' | sed 's/ $//')"
m=$(curl -s "${A[@]}" "$URL/metrics")
contains "metrics count events in per input" 'reflex_events_in_total{input="hook"} 254' "$m"
contains "metrics count events out per output" 'reflex_events_out_total{output="log"} 3' "$m"
contains "metrics show queue depth" 'reflex_queue_depth{queue="ingress"}' "$m"
contains "metrics show store latency" 'reflex_store_batch_seconds_count' "$m"
r=$(get /api/v1/openapi.json); eq "openapi is served" 200 "${r%% *}"
eq "openapi parses" 3 "$(echo "${r#* }" | jq -r '.openapi' | cut -c1)"
eq "openapi describes the deliveries, silences, maintenance and templates routes" \
	"/api/v1/deliveries /api/v1/deliveries/{id}/retry /api/v1/maintenance /api/v1/silences/{id} /api/v1/templates" \
	"$(echo "${r#* }" | jq -r '[.paths | keys[] | select(. == "/api/v1/deliveries" or . == "/api/v1/deliveries/{id}/retry" or . == "/api/v1/maintenance" or . == "/api/v1/silences/{id}" or . == "/api/v1/templates")] | join(" ")')"

check "SIGTERM stops cleanly with status 0" stop_reflexd
finish
