#!/bin/bash
# The delivery core, attempting 4 at a time (delivery.concurrency), against
# an output whose answers the test decides
# (tests/plugins/output_flaky.c, steered through a control file): retries
# with backoff, Retry-After, the retry budget and dead letters, the API
# (list, get, replay), the circuit breaker, a permanent failure, and
# pending deliveries surviving a kill -9 of reflexd. Every delivery is
# checked in the output's own record of attempts, with the delivery id it
# was given (the idempotency key).
. "$(dirname "$0")/lib.sh"

OUT=$TMP/delivered
CTL=$TMP/control
echo ok >"$CTL"
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-outbox
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: flaky
    plugin: flaky
    path: $OUT
    control: $CTL
    delivery:
      max_attempts: 4
      initial_backoff: 200ms
      max_backoff: 400ms
      breaker_failures: 6
      breaker_cooldown: 1s
      concurrency: 4
YAML
# concurrency needs a plugin that allows it (the file output does not)
cat >"$TMP/bad.yaml" <<YAML
agent: { data_dir: $TMP/var-bad, api: { listen: 127.0.0.1:$PORT } }
outputs:
  - { name: f, plugin: file, path: x.jsonl, delivery: { concurrency: 2 } }
YAML
out=$("$REFLEXD" --check-config "$TMP/bad.yaml" 2>&1)
contains "concurrency on a one-at-a-time plugin is a config error" \
	"outputs[0] (file).delivery: concurrency: plugin 'file' takes one delivery at a time" "$out"
start_reflexd "$TMP/reflex.yaml" || exit 1

# send HOST: posts one event, prints its id
send() {
	post /api/v1/events/webhook "[{\"host\":\"$1\",\"check\":\"c\",\"message\":\"m\"}]" |
		cut -d' ' -f2- | jq -r '.ids[0]'
}
# attempts ID: how many attempts the output saw for event ID
attempts() { grep -c "\"event\":\"$1\"" "$OUT.attempts" 2>/dev/null || echo 0; }
# delivered ID: how many times the output accepted event ID
delivered() { grep -c "\"event\":\"$1\"" "$OUT" 2>/dev/null || echo 0; }
# wait_for SECONDS CMD...: polls CMD every 100 ms
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
deliveries() { get "/api/v1/deliveries?$1" | cut -d' ' -f2-; }

# --- a first delivery that works
ID=$(send ok1)
check "a delivered event reaches the output" wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
eq "delivered exactly once" 1 "$(delivered "$ID")"
DID=$(grep "\"event\":\"$ID\"" "$OUT" | jq -r .delivery)
check "the output got a delivery id (idempotency key)" test "$DID" -gt 0
eq "first attempt is attempt 1" 1 "$(grep "\"event\":\"$ID\"" "$OUT" | jq -r .attempt)"
sleep 0.5 # the outbox is trimmed in batches (every 200 ms)
r=$(get "/api/v1/deliveries/$DID")
eq "a delivered entry leaves the outbox" 404 "${r%% *}"

# --- retries, then dead after max_attempts (4), with backoff between
echo retry >"$CTL"
ID=$(send retry1)
check "retried until the budget (4 attempts)" \
	wait_for 10 sh -c "[ \$(grep -c '\"event\":\"$ID\"' '$OUT.attempts') -ge 4 ]"
sleep 0.3
eq "no fifth attempt" 4 "$(attempts "$ID")"
DID=$(grep "\"event\":\"$ID\"" "$OUT.attempts" | head -1 | jq -r .delivery)
eq "every attempt has the same delivery id" 1 \
	"$(grep "\"event\":\"$ID\"" "$OUT.attempts" | jq -r .delivery | sort -u | wc -l)"
eq "attempts are numbered 1..4" "1 2 3 4" \
	"$(grep "\"event\":\"$ID\"" "$OUT.attempts" | jq -r .attempt | tr '\n' ' ' | sed 's/ $//')"
B=$(deliveries "state=dead")
eq "the API lists it as dead" "$DID" "$(echo "$B" | jq -r '.deliveries[0].id')"
eq "dead: event id" "$ID" "$(echo "$B" | jq -r '.deliveries[0].event_id')"
eq "dead: attempts" 4 "$(echo "$B" | jq -r '.deliveries[0].attempts')"
contains "dead: last error says why" "retry budget spent (4 attempts); last: receiver said 503" \
	"$(echo "$B" | jq -r '.deliveries[0].last_error')"
eq "nothing pending" 0 "$(deliveries "state=pending" | jq '.deliveries | length')"
r=$(curl -s "$URL/metrics")
contains "dead letters counted" 'reflex_output_dead_total{output="flaky"} 1' "$r"
contains "retries counted" 'reflex_output_retries_total{output="flaky"} 3' "$r"
check "the dead letter is logged with how to replay it" \
	grep -q "delivery $DID of event $ID is dead after 4 attempt(s).*POST /api/v1/deliveries/ID/retry" \
	"$TMP/reflexd.log"

# --- replay through the API
echo ok >"$CTL"
r=$(post "/api/v1/deliveries/$DID/retry" "")
eq "replay is accepted" 202 "${r%% *}"
eq "replayed entry is pending again" pending "$(echo "${r#* }" | jq -r .state)"
check "the replayed delivery arrives" wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
eq "with the same delivery id" "$DID" "$(grep "\"event\":\"$ID\"" "$OUT" | jq -r .delivery)"
sleep 0.5
r=$(get "/api/v1/deliveries/$DID")
eq "and then leaves the outbox" 404 "${r%% *}"
r=$(post "/api/v1/deliveries/$DID/retry" "")
eq "replaying a delivered entry is 404" 404 "${r%% *}"
r=$(post "/api/v1/deliveries/abc/retry" "")
eq "a bad id is 400" 400 "${r%% *}"
r=$(get "/api/v1/deliveries?state=sideways")
eq "a bad state is 400" 400 "${r%% *}"

# --- a permanent failure is dead at once, without retries
echo fail >"$CTL"
ID=$(send fail1)
wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT.attempts'"
sleep 0.6
eq "FAIL: one attempt only" 1 "$(attempts "$ID")"
B=$(deliveries "state=dead")
contains "FAIL: the receiver's error is the last error" "receiver said 400: bad payload" \
	"$(echo "$B" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error")"

# --- Retry-After is honoured over the backoff
echo "retry-after 1500" >"$CTL"
ID=$(send ra1)
wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT.attempts'"
sleep 0.2
B=$(deliveries "state=pending")
NEXT=$(echo "$B" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .next_attempt")
CREATED=$(echo "$B" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .created")
gap=$(( $(date -d "$NEXT" +%s%3N) - $(date -d "$CREATED" +%s%3N) ))
check "the next attempt waits for Retry-After (1500 ms; got $gap ms)" test "$gap" -ge 1400 -a "$gap" -le 2500
sleep 1
eq "no second attempt before Retry-After" 1 "$(attempts "$ID")"
echo ok >"$CTL"
check "... and the attempt after it is made" wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"

# --- kill -9 with a delivery pending: it resumes after the restart
sleep 0.5 # delivered entries leave the outbox in batches, every 200 ms
echo "retry-after 3000" >"$CTL"
ID=$(send pending1)
saved() { deliveries "state=pending" | jq -e ".deliveries[] | select(.event_id == \"$ID\" and .attempts == 1)" >/dev/null; }
check "the failed attempt is saved in the outbox" wait_for 5 saved
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
echo ok >"$CTL"
start_reflexd "$TMP/reflex.yaml" || exit 1
check "the pending delivery resumes after kill -9 (log)" \
	wait_for 5 grep -q "1 pending deliveries from the outbox resume" "$TMP/reflexd.log"
B=$(deliveries "state=pending")
P=$(echo "$B" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .id")
check "it is still pending, with its schedule" test -n "$P"
r=$(post "/api/v1/deliveries/$P/retry" "")
eq "replaying a pending entry is 409" 409 "${r%% *}"
check "it is delivered when due, after the restart" \
	wait_for 8 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
eq "... once" 1 "$(delivered "$ID")"
eq "... as attempt 2 of the same delivery" "2 $P" \
	"$(grep "\"event\":\"$ID\"" "$OUT" | jq -r '"\(.attempt) \(.delivery)"')"

# --- the circuit breaker: 6 consecutive failures open it for 1 s
echo retry >"$CTL"
for i in 1 2 3 4 5 6; do send "cb$i" >/dev/null; done
check "the breaker opens (logged)" wait_for 5 grep -q "circuit open after 6 consecutive failed attempts" "$TMP/reflexd.log"
r=$(curl -s "$URL/metrics")
contains "the breaker is open in the metrics" 'reflex_output_circuit_open{output="flaky"} 1' "$r"
before=$(wc -l <"$OUT.attempts")
sleep 0.7
after=$(wc -l <"$OUT.attempts")
eq "no attempts while open" "$before" "$after"
echo ok >"$CTL"
check "after the cooldown a trial succeeds and closes it" wait_for 6 grep -q "circuit closed" "$TMP/reflexd.log"
check "the paused deliveries are made" wait_for 10 sh -c "[ \$(grep -c '\"host\":\"cb' '$OUT') -ge 6 ]"
r=$(curl -s "$URL/metrics")
contains "closed in the metrics" 'reflex_output_circuit_open{output="flaky"} 0' "$r"

check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
