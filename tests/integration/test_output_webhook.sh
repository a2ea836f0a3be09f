#!/bin/bash
# The webhook output inside a running reflexd, against a generic receiver
# (tests/receivers/webhook_receiver.py): the event's JSON with custom
# headers, an Idempotency-Key that stays the same across retries and an
# HMAC-SHA256 signature; a templated body with PUT; receiver errors (4xx
# not retried, 5xx and resets retried, delivered once) logged and counted
# with no secret in the log.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/webhook/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

start_receiver hooks "$SRCDIR/tests/receivers/webhook_receiver.py" || exit 1
RX="http://127.0.0.1:$RX_PORT"
HMAC_KEY=hMaCkEy-0123456789

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: json
    plugin: webhook
    url: "$RX/in/json?token=QuErYsEcReT"
    headers: { Authorization: "Bearer HeAdErSeCrEt", X-Team: ops }
    hmac_secret: $HMAC_KEY
    timeout: 1s
    match: 'labels.route == "json"'
  - name: tmpl
    plugin: webhook
    url: $RX/in/tmpl
    method: PUT
    body: '{"summary":"{{host}}: {{message}}","severity":"{{severity}}","team":"{{labels.team}}"}'
    match: 'labels.route == "tmpl"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

JSONP='(.path | startswith("/in/json"))'
TMPLP='.path == "/in/tmpl"'
send() { post /api/v1/events/webhook "$1" >/dev/null; }

send '{"host":"db1","check":"disk","severity":"critical","message":"97% full","labels":{"route":"json","team":"dba"}}'
check "the event is POSTed" rx_wait 1 "$JSONP"
req=$(rx_last "$JSONP")
eq "method POST" POST "$(jq -r .method <<<"$req")"
eq "Content-Type" application/json "$(jq -r '.headers["content-type"]' <<<"$req")"
eq "the body is the event's JSON" "db1 disk critical dba" "$(jq -r '.json | "\(.host) \(.check) \(.severity) \(.labels.team)"' <<<"$req")"
id=$(jq -r .json.id <<<"$req")
check "the event id is in the body" test ${#id} -eq 26
check "an Idempotency-Key is sent" test -n "$(jq -r '.headers["idempotency-key"] // empty' <<<"$req")"
eq "custom headers are sent" "ops|Bearer HeAdErSeCrEt" "$(jq -r '"\(.headers["x-team"])|\(.headers.authorization)"' <<<"$req")"
sig=$(jq -r '.headers["x-reflex-signature"]' <<<"$req")
want=$(jq -j .body <<<"$req" | /usr/bin/python3 -c 'import hmac,hashlib,sys; print("sha256=" + hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$HMAC_KEY")
eq "X-Reflex-Signature is HMAC-SHA256 of the body" "$want" "$sig"
eq "no violation" "[]" "$(jq -c .violations <<<"$req")"

send '{"host":"web\"1","check":"http","severity":"warning","message":"said \"no\"\nthen left","labels":{"route":"tmpl","team":"web"}}'
check "the templated body is sent" rx_wait 1 "$TMPLP"
req=$(rx_last "$TMPLP")
eq "method PUT" PUT "$(jq -r .method <<<"$req")"
eq "values are JSON-escaped in the template" 'web"1: said "no"
then left|warning|web' "$(jq -r '.json | "\(.summary)|\(.severity)|\(.team)"' <<<"$req")"

# --- errors
n=$(rx_count "$JSONP")
rx_script '[{"status": 400, "ctype": "application/json", "body": "{\"error\":\"schema mismatch\"}"}]'
send '{"host":"e1","check":"bad","labels":{"route":"json"}}'
check "400 answered" rx_wait $((n + 1)) "$JSONP"
sleep 1
eq "400 is permanent: not retried" $((n + 1)) "$(rx_count "$JSONP")"
check "the receiver's reason is logged" grep -q "HTTP 400: schema mismatch" "$TMP/reflexd.log"

for case in '503|[{"status": 503, "body": "busy"}]' 'reset|[{"reset": true}]' \
	'slow|[{"delay": 2.5}]' '429|[{"status": 429, "headers": {"Retry-After": "1"}}]'; do
	what=${case%%|*}
	n=$(rx_count "$JSONP")
	rx_script "${case#*|}"
	send "{\"host\":\"r-$what\",\"check\":\"transient\",\"labels\":{\"route\":\"json\"}}"
	check "$what: retried and delivered" rx_wait $((n + 2)) "$JSONP"
	sleep 0.5
	eq "$what: exactly two attempts" $((n + 2)) "$(rx_count "$JSONP")"
	eq "$what: the retry carries the same Idempotency-Key" 1 \
		"$(jq -r "select($JSONP and .json.host == \"r-$what\") | .headers[\"idempotency-key\"]" "$RX_LOG" | sort -u | wc -l)"
done

m=$(get /metrics)
contains "accepted requests counted" 'reflex_output_webhook_sent_total{instance="json"}' "$m"
contains "the permanent failure counted" 'reflex_output_webhook_failed_total{instance="json"} 1' "$m"
for s in QuErYsEcReT HeAdErSeCrEt "$HMAC_KEY"; do
	check "secret $s never reaches the log" bash -c "! grep -q -- '$s' '$TMP/reflexd.log'"
done
check "SIGTERM exits 0" stop_reflexd
finish
