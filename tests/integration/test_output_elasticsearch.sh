#!/bin/bash
# The elasticsearch output inside a running reflexd, against a stand-in for
# Elasticsearch's _bulk API (tests/receivers/elasticsearch_receiver.py) that
# checks the NDJSON exactly (create action + source pairs, trailing
# newline, application/x-ndjson, auth) and answers like Elasticsearch,
# item errors included: a document lands once in the index named from the
# event's day; an item 429 and a whole-request 429 (Retry-After) are
# retried; an answer lost after indexing is retried and its 409 counts as
# done; an item 400 and a 401 are dead letters with Elasticsearch's reason;
# the password never reaches the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/elasticsearch/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

PASS=S3cr3tPaSsWoRd
BASIC=$(printf 'reflex:%s' "$PASS" | base64)
APIKEY=VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==
start_receiver es "$SRCDIR/tests/receivers/elasticsearch_receiver.py" \
	--token "Basic $BASIC|ApiKey $APIKEY" || exit 1
ES="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: es
    plugin: elasticsearch
    url: $ES/
    username: reflex
    password: $PASS
    timeout: 1s
    match: 'labels.route == "basic"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 5 }
  - name: es-key
    plugin: elasticsearch
    url: $ES
    api_key: $APIKEY
    index: 'alerts-%Y.%m'
    match: 'labels.route == "key"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

BULK='.path == "/_bulk"'
send() { post /api/v1/events/webhook "$1" | cut -d' ' -f2- | jq -r '.ids[0]'; }
# event times within the normalizer's past tolerance (30 days), else it
# would take the receipt time
T=$(date -u -d '-1 day' +%Y-%m-%dT12:00:00Z)
DAY=reflex-$(date -u -d '-1 day' +%Y.%m.%d)
T2=$(date -u -d '-10 days' +%Y-%m-%dT23:30:00Z)
MONTH=alerts-$(date -u -d '-10 days' +%Y.%m)
ev() { # HOST [ROUTE] [TIME]
	jq -cn --arg h "$1" --arg r "${2:-basic}" --arg t "${3:-$T}" \
		'{host:$h, check:"disk", status:"firing", severity:"critical", time:$t,
		  message:"disk \"sda\" 97% full\nsecond line", labels:{route:$r}}'
}
docs() { curl -s "$ES/_docs"; }
deliveries() { get "/api/v1/deliveries?$1" | cut -d' ' -f2-; }
# actions N: the action lines of the N-th bulk request
nth() { jq -c "select($BULK)" "$RX_LOG" | sed -n "${1}p"; }

# --- one event, the request exactly as the Bulk API documents it
ID=$(send "$(ev db1)")
check "the event id is known" test ${#ID} -eq 26
check "a _bulk request arrives" rx_wait 1 "$BULK"
req=$(nth 1)
eq "POST" POST "$(jq -r .method <<<"$req")"
eq "Content-Type application/x-ndjson" application/x-ndjson "$(jq -r '.headers["content-type"]' <<<"$req")"
eq "basic auth" "Basic $BASIC" "$(jq -r .headers.authorization <<<"$req")"
eq "no violation of the NDJSON format" "[]" "$(jq -c .violations <<<"$req")"
body=$(jq -j .body <<<"$req"; echo x)
eq "the body ends with a newline" $'\nx' "${body: -2}"
eq "two lines: action and source" 2 "$(jq -j .body <<<"$req" | wc -l)"
eq "the action line: create into the event's day, _id = event id" \
	"{\"create\":{\"_index\":\"$DAY\",\"_id\":\"$ID\"}}" "$(jq -j .body <<<"$req" | head -1)"
src=$(jq -j .body <<<"$req" | sed -n 2p)
eq "the source is the event, with @timestamp" "db1 disk critical ${T%Z}.000Z $ID" \
	"$(jq -r '"\(.host) \(.check) \(.severity) \(."@timestamp") \(.id)"' <<<"$src")"
eq "a newline in the message stays escaped inside the source line" "disk \"sda\" 97% full
second line" "$(jq -r .message <<<"$src")"
eq "the document is in the index" db1 "$(docs | jq -r ".[\"$DAY/$ID\"].host")"

# --- an item rejected with 429 inside a 200: retried, indexed once
n=$(rx_count "$BULK")
curl -sf -XPOST --data-binary '[[429]]' "$ES/_control/items" >/dev/null
ID=$(send "$(ev db2)")
check "item 429: retried" rx_wait $((n + 2)) "$BULK"
eq "item 429: the retry carries the same _id" "$ID" "$(nth $((n + 2)) | jq -j .body | head -1 | jq -r .create._id)"
eq "item 429: indexed" db2 "$(docs | jq -r ".[\"$DAY/$ID\"].host")"
sleep 0.6
eq "item 429: no third attempt" $((n + 2)) "$(rx_count "$BULK")"

# --- the whole request refused with 429 and Retry-After: 1
n=$(rx_count "$BULK")
rx_script '[{"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"}, "status": 429}}]'
ID=$(send "$(ev db3)")
check "request 429: retried" rx_wait $((n + 2)) "$BULK"
t1=$(nth $((n + 1)) | jq .time)
t2=$(nth $((n + 2)) | jq .time)
check "request 429: the retry waited for Retry-After (1 s)" \
	/usr/bin/python3 -c "import sys; sys.exit(0 if $t2 - $t1 >= 0.9 else 1)"
eq "request 429: indexed" db3 "$(docs | jq -r ".[\"$DAY/$ID\"].host")"

# --- indexed, but the answer came too late: the retry meets 409 = done
n=$(rx_count "$BULK")
rx_script '[{"delay": 2}]'
ID=$(send "$(ev db4)")
check "lost answer: retried" rx_wait $((n + 2)) "$BULK"
sleep 0.5
eq "lost answer: the document is in the index once" db4 "$(docs | jq -r ".[\"$DAY/$ID\"].host")"
contains "lost answer: the retry met version_conflict (409), counted as a duplicate" \
	'reflex_output_elasticsearch_duplicates_total{instance="es"} 1' "$(get /metrics)"
eq "lost answer: no third attempt (409 counts as done)" $((n + 2)) "$(rx_count "$BULK")"
eq "lost answer: nothing dead" 0 "$(deliveries "state=dead" | jq "[.deliveries[] | select(.event_id == \"$ID\")] | length")"

# --- HTTP 503: retried
n=$(rx_count "$BULK")
rx_script '[{"status": 503, "json": {"error": {"type": "unavailable_shards_exception", "reason": "primary shard is not active"}, "status": 503}}]'
ID=$(send "$(ev db5)")
check "503: retried and indexed" rx_wait $((n + 2)) "$BULK"
eq "503: indexed" db5 "$(docs | jq -r ".[\"$DAY/$ID\"].host")"

# --- an item refused for good: a dead letter with Elasticsearch's reason
n=$(rx_count "$BULK")
curl -sf -XPOST --data-binary '[[400]]' "$ES/_control/items" >/dev/null
ID=$(send "$(ev db6)")
check "item 400: answered" rx_wait $((n + 1)) "$BULK"
sleep 0.8
eq "item 400: not retried" $((n + 1)) "$(rx_count "$BULK")"
err=$(deliveries "state=dead" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error")
contains "item 400: dead letter with the reason" "1 of 1 documents refused: HTTP 400 document_parsing_exception: [1:42] failed to parse field" "$err"

# --- a 401 for the whole request: dead, with the security_exception
n=$(rx_count "$BULK")
rx_script '[{"status": 401, "json": {"error": {"root_cause": [{"type": "security_exception", "reason": "unable to authenticate user [reflex] for REST request [/_bulk]"}], "type": "security_exception", "reason": "unable to authenticate user [reflex] for REST request [/_bulk]"}, "status": 401}}]'
ID=$(send "$(ev db7)")
check "401: answered" rx_wait $((n + 1)) "$BULK"
sleep 0.8
eq "401: not retried" $((n + 1)) "$(rx_count "$BULK")"
err=$(deliveries "state=dead" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error")
contains "401: dead letter with the reason" "HTTP 401 security_exception: unable to authenticate user [reflex]" "$err"

# --- the second instance: ApiKey auth and a monthly index
ID=$(send "$(ev k1 key "$T2")")
check "api key: delivered" rx_wait 1 "$BULK and .headers.authorization == \"ApiKey $APIKEY\""
req=$(rx_last "$BULK and .headers.authorization == \"ApiKey $APIKEY\"")
eq "api key: no violation" "[]" "$(jq -c .violations <<<"$req")"
eq "api key: index from the pattern and the event's month (UTC)" "$MONTH" \
	"$(jq -j .body <<<"$req" | head -1 | jq -r .create._index)"

# --- metrics, secrets, shutdown
m=$(get /metrics)
contains "documents counted" 'reflex_output_elasticsearch_documents_total{instance="es"} 4' "$m"
contains "the 409 after a lost answer counted as a duplicate" 'reflex_output_elasticsearch_duplicates_total{instance="es"} 1' "$m"
contains "failures counted" 'reflex_output_elasticsearch_failed_total{instance="es"} 2' "$m"
check "the password never reaches the log" bash -c "! grep -q -- '$PASS' '$TMP/reflexd.log'"
check "the basic credentials never reach the log" bash -c "! grep -q -- '$BASIC' '$TMP/reflexd.log'"
check "the api key never reaches the log" bash -c "! grep -q -- '$APIKEY' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
