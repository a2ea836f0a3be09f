# tests/receivers/receiver.sh - starting a stand-in receiver from an
# integration script (source it after tests/integration/lib.sh):
#   start_receiver NAME SCRIPT [args...]   sets RX_PORT, RX_LOG, RX_PID
#   rx_script JSON                         queues scripted answers
#   rx_count [JQ-FILTER]                   requests recorded (matching)
#   rx_wait N [JQ-FILTER]                  waits up to 15 s for N of them
RX_PID=""
start_receiver() {
	local name=$1 script=$2 i
	shift 2
	RX_LOG="$TMP/$name.jsonl"
	: >"$RX_LOG"
	rm -f "$TMP/$name.port"
	/usr/bin/python3 "$script" --log "$RX_LOG" --port-file "$TMP/$name.port" "$@" \
		>>"$TMP/$name.stderr" 2>&1 &
	RX_PID=$!
	for i in $(seq 1 100); do
		if [ -s "$TMP/$name.port" ]; then
			RX_PORT=$(cat "$TMP/$name.port")
			return 0
		fi
		sleep 0.05
	done
	echo "receiver $name did not start:"
	cat "$TMP/$name.stderr"
	return 1
}
stop_receiver() {
	[ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null && wait "$RX_PID" 2>/dev/null
	RX_PID=""
}
rx_script() {
	curl -sf -XPOST --data-binary "$1" "http://127.0.0.1:$RX_PORT/_control/script" >/dev/null
}
rx_count() {
	jq -c "select(${1:-true})" "$RX_LOG" | wc -l
}
rx_wait() {
	local n=$1 f=${2:-true} i
	for i in $(seq 1 150); do
		[ "$(rx_count "$f")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
# the last recorded request matching the filter, as one JSON line
rx_last() {
	jq -c "select(${1:-true})" "$RX_LOG" | tail -1
}
