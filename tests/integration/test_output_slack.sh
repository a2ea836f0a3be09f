#!/bin/bash
# The slack output inside a running reflexd, against a stand-in for Slack
# (tests/receivers/slack_receiver.py) that checks requests as Slack
# documents them: chat.postMessage with a bot token (channel, Bearer auth,
# JSON with charset, Block Kit limits), threads kept per fingerprint, the
# incoming webhook mode, and Slack's error answers (ok:false in a 200,
# 429 with Retry-After, 5xx, a slow answer, a reset connection): each
# event reaches Slack once, errors are logged and counted, never crash the
# agent and never show the token or the webhook URL.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/slack/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"

TOKEN=xoxb-1111-2222-SeCrEtToKeN
HOOKPATH=/services/T0000/B0000/HoOkSeCrEt42
start_receiver slack "$SRCDIR/tests/receivers/slack_receiver.py" --token "$TOKEN" \
	--webhook-path "$HOOKPATH" || exit 1
SL="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: api
    plugin: slack
    url: $SL/api/chat.postMessage
    token: $TOKEN
    channel: C0TESTCHAN
    timeout: 1s
    link: 'https://reflex.example.com/events/{{id}}?a=1&b=2'
    match: 'labels.route == "api"'
  - name: incoming
    plugin: slack
    webhook_url: $SL$HOOKPATH
    match: 'labels.route == "hook"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

API='.path == "/api/chat.postMessage"'
HOOK='(.path | startswith("/services/"))'
send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST CHECK STATUS [MESSAGE] [ROUTE] [SEVERITY]
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg m "${4:-disk almost full}" --arg r "${5:-api}" \
		--arg v "${6:-critical}" \
		'{host:$h, check:$c, status:$s, severity:$v, message:$m, labels:{route:$r}}'
}

# --- chat.postMessage: the request as Slack documents it
send "$(ev db1 disk firing)"
check "the first event reaches chat.postMessage" rx_wait 1 "$API"
req=$(rx_last "$API")
eq "method POST" POST "$(jq -r .method <<<"$req")"
eq "Content-Type JSON with charset" "application/json; charset=utf-8" "$(jq -r '.headers["content-type"]' <<<"$req")"
eq "Authorization: Bearer token" "Bearer $TOKEN" "$(jq -r '.headers.authorization' <<<"$req")"
eq "channel" C0TESTCHAN "$(jq -r .json.channel <<<"$req")"
eq "no documented limit or field violated" "[]" "$(jq -c .violations <<<"$req")"
eq "a header block first, plain_text" "header plain_text" "$(jq -r '.json.blocks[0] | "\(.type) \(.text.type)"' <<<"$req")"
eq "the header says status, severity, check and host" "[firing] critical: disk on db1" "$(jq -r '.json.blocks[0].text.text' <<<"$req")"
contains "the text fallback carries the message" "disk almost full" "$(jq -r .json.text <<<"$req")"
contains "mrkdwn section with the host" "*Host:* db1" "$(jq -r '.json.blocks[1].text.text' <<<"$req")"
contains "the link is a Details link, & escaped for mrkdwn" "?a=1&amp;b=2|Details>" "$(jq -r '.json.blocks[-1].text.text' <<<"$req")"
eq "a new fingerprint starts a new message (no thread_ts)" null "$(jq -r .json.thread_ts <<<"$req")"
first_ts=1700000000.000001 # the receiver numbers the ts it issues from 1

# --- threading: the update and the resolution go under the first message
# (an update people hear of: the problem escalated; a plain repeat is
# folded into the first by the noise stage and not forwarded)
send "$(ev db1 disk firing "disk full now" api emergency)"
check "the update reaches Slack" rx_wait 2 "$API"
eq "the update is a reply in the thread of the first message" "$first_ts" "$(rx_last "$API" | jq -r .json.thread_ts)"
send "$(ev db1 disk resolved "back to normal")"
check "the resolution reaches Slack" rx_wait 3 "$API"
req=$(rx_last "$API")
eq "the resolution is in the thread too" "$first_ts" "$(jq -r .json.thread_ts <<<"$req")"
contains "the resolution says resolved" "[resolved]" "$(jq -r '.json.blocks[0].text.text' <<<"$req")"
send "$(ev db1 disk firing "again")"
check "a new firing after the resolution reaches Slack" rx_wait 4 "$API"
eq "after the resolution a new thread starts" null "$(rx_last "$API" | jq -r .json.thread_ts)"
send "$(ev web9 http firing)"
check "another fingerprint reaches Slack" rx_wait 5 "$API"
eq "another fingerprint gets its own message" null "$(rx_last "$API" | jq -r .json.thread_ts)"

# --- Slack's limits: a 50,000-character message is cut to fit
big=$(head -c 50000 /dev/zero | tr '\0' 'x')
send "$(ev big1 huge firing "$big")"
check "a huge message is delivered" rx_wait 6 "$API"
req=$(rx_last "$API")
eq "a huge message violates no limit" "[]" "$(jq -c .violations <<<"$req")"
check "text within 40,000 characters" test "$(jq -r '.json.text | length' <<<"$req")" -le 40000
check "at most 50 blocks" test "$(jq -r '.json.blocks | length' <<<"$req")" -le 50
check "every section within 3,000 characters" test "$(jq '[.json.blocks[] | select(.type == "section") | .text.text | length] | max' <<<"$req")" -le 3000

# --- errors, as Slack answers them
n=$(rx_count "$API")
rx_script '[{"json": {"ok": false, "error": "channel_not_found"}}]'
send "$(ev e1 notfound firing)"
check "channel_not_found: one request" rx_wait $((n + 1)) "$API"
sleep 1
eq "channel_not_found is permanent: not retried" $((n + 1)) "$(rx_count "$API")"
check "channel_not_found is logged" grep -q "channel_not_found" "$TMP/reflexd.log"

n=$(rx_count "$API")
rx_script '[{"json": {"ok": false, "error": "invalid_auth"}}]'
send "$(ev e2 badauth firing)"
check "invalid_auth: one request" rx_wait $((n + 1)) "$API"
sleep 1
eq "invalid_auth is permanent: not retried" $((n + 1)) "$(rx_count "$API")"

for case in \
	'ratelimited in a 200|[{"json": {"ok": false, "error": "ratelimited"}}]' \
	'HTTP 429 with Retry-After|[{"status": 429, "headers": {"Retry-After": "1"}, "body": "ratelimited"}]' \
	'HTTP 503|[{"status": 503, "body": "unavailable"}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	n=$(rx_count "$API")
	ok0=$(rx_count "$API and .action == null")
	rx_script "${case#*|}"
	send "$(ev "retry-$n" transient firing)"
	check "$what: retried and then delivered" rx_wait $((n + 2)) "$API"
	sleep 0.5
	eq "$what: delivered exactly once after one failure" $((ok0 + 1)) "$(rx_count "$API and .action == null")"
	eq "$what: no further attempt" $((n + 2)) "$(rx_count "$API")"
done
check "transient failures are logged as retried" grep -q "will retry" "$TMP/reflexd.log"

# --- incoming webhook mode
send "$(ev hk1 disk firing "via webhook" hook)"
check "the incoming webhook gets the event" rx_wait 1 "$HOOK"
req=$(rx_last "$HOOK")
eq "webhook: POST to the webhook path" "POST $HOOKPATH" "$(jq -r '"\(.method) \(.path)"' <<<"$req")"
eq "webhook: no violation" "[]" "$(jq -c .violations <<<"$req")"
eq "webhook: no Authorization header" null "$(jq -r .headers.authorization <<<"$req")"
eq "webhook: no channel field" null "$(jq -r .json.channel <<<"$req")"
contains "webhook: text fallback" "via webhook" "$(jq -r .json.text <<<"$req")"
send "$(ev hk1 disk firing "second" hook emergency)"
check "webhook: the update arrives" rx_wait 2 "$HOOK"
eq "webhook: cannot thread" null "$(rx_last "$HOOK" | jq -r .json.thread_ts)"
rx_script '[{"status": 404, "body": "channel_not_found"}]'
send "$(ev hk2 disk firing "gone" hook)"
check "webhook: 404 answered" rx_wait 3 "$HOOK"
sleep 1
eq "webhook: 404 channel_not_found is not retried" 3 "$(rx_count "$HOOK")"
check "webhook: the reason is logged" grep -q "HTTP 404: channel_not_found" "$TMP/reflexd.log"

# --- counted, never a secret in the log, and the agent is fine
m=$(get /metrics)
contains "sent messages counted" 'reflex_output_slack_sent_total{instance="api"}' "$m"
contains "permanent failures counted" 'reflex_output_slack_failed_total{instance="api"} 2' "$m"
check "the token never reaches the log" bash -c "! grep -q -- '$TOKEN' '$TMP/reflexd.log'"
check "the webhook secret never reaches the log" bash -c "! grep -q 'HoOkSeCrEt42' '$TMP/reflexd.log'"
eq "every request carried a known token or none" 0 "$(rx_count '(.headers.authorization // "Bearer '"$TOKEN"'") != "Bearer '"$TOKEN"'"')"
check "SIGTERM exits 0" stop_reflexd
finish
