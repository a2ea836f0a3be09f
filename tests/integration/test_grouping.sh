#!/bin/bash
# Grouping deliveries into notices, Alertmanager's way, through reflexd and
# the test output (tests/plugins/output_flaky.c records each notice): a new
# group waits grouping.wait, a change waits grouping.interval after the last
# notice, a resolution goes out at once, a group still firing is notified
# again after grouping.repeat, groups are apart by their grouping.by values, and
# a notice that fails is retried with all its deliveries kept in the outbox.
. "$(dirname "$0")/lib.sh"

OUT=$TMP/delivered
CTL=$TMP/control
echo ok >"$CTL"
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-grouping
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: grouped
    plugin: flaky
    path: $OUT
    control: $CTL
    grouping: { by: [alertname], wait: 1s, interval: 3s, repeat: 6s }
    delivery: { initial_backoff: 300ms, max_backoff: 600ms }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

alert() { # ALERTNAME HOST [STATUS]
	post /api/v1/events/webhook "[{\"host\":\"$2\",\"check\":\"$1\",\"status\":\"${3:-firing}\",\"labels\":{\"alertname\":\"$1\"}}]" >/dev/null
}
notices() { grep -c '"group"' "$OUT" 2>/dev/null || true; }
last() { grep '"group"' "$OUT" | tail -1; }
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
has_notices() { [ "$(notices)" -ge "$1" ]; }
ms() { date +%s%3N; }

# --- a new group gathers for grouping.wait (1 s), then one notice
t0=$(ms)
alert Disk h1
alert Disk h2
alert Disk h3
check "one notice for the new group" wait_for 5 has_notices 1
dt=$(( $(ms) - t0 ))
check "it waited grouping.wait (1 s; took $dt ms)" test "$dt" -ge 900
N=$(last)
eq "the notice has the group key" "alertname=Disk" "$(echo "$N" | jq -r .group)"
eq "... all three alerts" 3 "$(echo "$N" | jq '.events | length')"
eq "... sequence 1" 1 "$(echo "$N" | jq .sequence)"
sleep 0.5 # delivered entries leave the outbox in batches, every 200 ms
eq "nothing left in the outbox" 0 "$(get '/api/v1/deliveries?state=pending' | cut -d' ' -f2- | jq '.deliveries | length')"

# --- a change waits grouping.interval (3 s) after the last notice
t1=$(ms)
alert Disk h4
sleep 1
eq "no notice before grouping.interval" 1 "$(notices)"
check "the change is notified after grouping.interval" wait_for 5 has_notices 2
dt=$(( $(ms) - t1 ))
check "... about 3 s after the first notice (took $dt ms)" test "$dt" -ge 1500
N=$(last)
eq "... with all four alerts" 4 "$(echo "$N" | jq '.events | length')"
eq "... sequence 2" 2 "$(echo "$N" | jq .sequence)"

# --- a resolution goes out at once, firing alerts listed first
t2=$(ms)
alert Disk h2 resolved
check "a resolution is notified at once" wait_for 2 has_notices 3
dt=$(( $(ms) - t2 ))
check "... not held back by grouping.interval (took $dt ms)" test "$dt" -lt 1500
N=$(last)
eq "... firing first, the resolved one last" "firing firing firing resolved" \
	"$(echo "$N" | jq -r '[.events[].status] | join(" ")')"
eq "... nfiring" 3 "$(echo "$N" | jq .nfiring)"

# --- other alertname: its own group
alert Cpu h1
check "another group gets its own notice" wait_for 3 sh -c "grep -q 'alertname=Cpu' '$OUT'"
eq "... with its own sequence" 1 "$(grep 'alertname=Cpu' "$OUT" | tail -1 | jq .sequence)"

# --- a group still firing is notified again after grouping.repeat (6 s)
check "repeat_interval: the Disk group is notified again" \
	wait_for 9 sh -c "[ \$(grep -c 'alertname=Disk' '$OUT') -ge 4 ]"
N=$(grep 'alertname=Disk' "$OUT" | tail -1)
eq "... without the alert resolved before" "h1 h3 h4" \
	"$(echo "$N" | jq -r '[.events[].host] | sort | join(" ")')"

# --- a failing notice is retried; its deliveries wait in the outbox
echo retry >"$CTL"
alert Mem h9
check "the failing notice is attempted" wait_for 4 sh -c "grep -q 'alertname=Mem.*\"answer\":\"retry\"' '$OUT.attempts' 2>/dev/null || grep -q 'alertname=Mem' '$OUT.attempts' 2>/dev/null"
B=$(get '/api/v1/deliveries?state=pending' | cut -d' ' -f2-)
eq "its delivery is pending in the outbox" 1 "$(echo "$B" | jq '.deliveries | length')"
check "with the output's error" test "$(echo "$B" | jq -r '.deliveries[0].last_error')" != ""
echo ok >"$CTL"
check "the notice goes through once the output recovers" \
	wait_for 5 sh -c "grep -q 'alertname=Mem' '$OUT'"
sleep 0.5
eq "and the outbox is empty again" 0 "$(get '/api/v1/deliveries?state=pending' | cut -d' ' -f2- | jq '.deliveries | length')"

check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
