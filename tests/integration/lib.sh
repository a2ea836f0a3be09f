# tests/integration/lib.sh - shared helpers for the integration scripts:
# a temporary data dir, a free loopback port, starting/stopping reflexd and
# small assertion helpers that count what they check.
set -u
BUILDDIR=${REFLEX_BUILDDIR:-$(pwd)}
SRCDIR=${REFLEX_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
REFLEXD="$BUILDDIR/reflexd"
REFLEXCTL="$BUILDDIR/reflexctl"
TMP=$(mktemp -d /tmp/reflex-it.XXXXXX)
RFX_PID=""
CHECKS=0
FAILS=0

cleanup() {
	if [ -n "$RFX_PID" ] && kill -0 "$RFX_PID" 2>/dev/null; then
		kill -9 "$RFX_PID" 2>/dev/null
		wait "$RFX_PID" 2>/dev/null
	fi
	if [ "$FAILS" -ne 0 ] && [ -f "$TMP/reflexd.log" ]; then
		echo "---- reflexd log ----"
		tail -50 "$TMP/reflexd.log"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); echo "ok: $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# eq DESCRIPTION EXPECTED ACTUAL
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
# contains DESCRIPTION NEEDLE HAYSTACK
contains() {
	case "$3" in *"$2"*) ok "$1" ;; *) bad "$1: '$2' not in: $3" ;; esac
}
finish() {
	echo "$CHECKS checks, $FAILS failed"
	echo "$((CHECKS - FAILS)) passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

# Ports below the kernel's ephemeral range (32768-60999 on Debian), so
# no outgoing connection can take the port between the check and the bind.
free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

# start_reflexd CONFIG: starts the agent and waits for /healthz. When
# another process took the chosen port in the meantime, it moves the config
# to a new free port (PORT and URL follow) and tries again.
start_reflexd() {
	local i attempt
	for attempt in 1 2 3; do
		local mark
		mark=0
		[ -f "$TMP/reflexd.log" ] && mark=$(wc -l <"$TMP/reflexd.log")
		"$REFLEXD" -c "$1" >>"$TMP/reflexd.log" 2>&1 &
		RFX_PID=$!
		for i in $(seq 1 100); do
			if curl -sf "$URL/healthz" >/dev/null 2>&1 && kill -0 "$RFX_PID" 2>/dev/null; then
				return 0
			fi
			if ! kill -0 "$RFX_PID" 2>/dev/null; then
				if tail -n +"$((mark + 1))" "$TMP/reflexd.log" | grep -q "Address already in use"; then
					local old=$PORT
					PORT=$(free_port)
					URL="http://127.0.0.1:$PORT"
					sed -i "s/127\.0\.0\.1:$old/127.0.0.1:$PORT/g" "$1"
					echo "port $old was taken; retrying on $PORT"
					continue 2
				fi
				echo "reflexd exited during start:"
				cat "$TMP/reflexd.log"
				return 1
			fi
			sleep 0.1
		done
		echo "reflexd did not become healthy in 10 s"
		return 1
	done
	echo "reflexd could not get a free port"
	return 1
}

# stop_reflexd: SIGTERM and wait; returns reflexd's exit status
stop_reflexd() {
	local rc=0
	kill -TERM "$RFX_PID"
	wait "$RFX_PID" || rc=$?
	RFX_PID=""
	return $rc
}

# post PATH BODY [curl args...]: prints "STATUS BODY"
post() {
	local path=$1 body=$2
	shift 2
	curl -s -o "$TMP/resp" -w '%{http_code}' -XPOST -H 'Content-Type: application/json' \
		"$@" --data-binary "$body" "$URL$path"
	printf ' '
	cat "$TMP/resp"
}

# get PATH [curl args...]: prints "STATUS BODY"
get() {
	local path=$1
	shift
	curl -s -o "$TMP/resp" -w '%{http_code}' "$@" "$URL$path"
	printf ' '
	cat "$TMP/resp"
}
