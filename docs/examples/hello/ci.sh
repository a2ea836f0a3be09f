#!/bin/bash
# docs/examples/hello/ci.sh PREFIX - proves that a plugin built out of tree
# against an installed reflex works: builds docs/examples/hello with only
# the SDK found by pkg-config in PREFIX, loads it into PREFIX/bin/reflexd
# (--describe, --list-plugins, --check-config), runs the agent on a free
# loopback port with a temporary data directory, posts events to the webhook
# input and checks what the hello output wrote, what the API stored and that
# SIGTERM stops the agent with status 0.
#
# CI runs it after `../configure --prefix=$prefix && make install`.
# Prints "N passed, M failed"; exits non-zero on any failure. Needs bash,
# make, cc, pkg-config, curl and nm. Leaves nothing behind.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/bin/reflexd" ]; then
	echo "usage: $0 PREFIX   (PREFIX/bin/reflexd must exist: make install first)" >&2
	exit 64
fi
PREFIX=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "$0")" && pwd -P)
REFLEXD=$PREFIX/bin/reflexd
REFLEXCTL=$PREFIX/bin/reflexctl
# Installed plugins must be found through the compiled-in directory alone.
unset REFLEX_PLUGIN_PATH REFLEX_URL REFLEX_TOKEN

TMP=$(mktemp -d /tmp/reflex-hello.XXXXXX)
TMP=$(cd "$TMP" && pwd -P)
RFX_PID=""
PASSED=0
FAILED=0

cleanup() {
	if [ -n "$RFX_PID" ] && kill -0 "$RFX_PID" 2>/dev/null; then
		kill -KILL "$RFX_PID" 2>/dev/null || true
		wait "$RFX_PID" 2>/dev/null || true
	fi
	if [ "$FAILED" -ne 0 ] && [ -s "$TMP/reflexd.log" ]; then
		echo "---- reflexd log (last 40 lines) ----"
		tail -n 40 "$TMP/reflexd.log"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok: $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*"; }
summary() { echo "$PASSED passed, $FAILED failed"; }
# fatal DESCRIPTION: a failure the rest cannot run without
fatal() { bad "$*"; summary; exit 1; }
# eq DESCRIPTION EXPECTED ACTUAL
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
# has DESCRIPTION NEEDLE HAYSTACK
has() {
	case "$3" in
	*"$2"*) ok "$1" ;;
	*) bad "$1: '$2' not in:"; printf '%s\n' "$3" | sed 's/^/    /' ;;
	esac
}
# hasnt DESCRIPTION NEEDLE HAYSTACK
hasnt() {
	case "$3" in
	*"$2"*) bad "$1: '$2' unexpectedly in:"; printf '%s\n' "$3" | sed 's/^/    /' ;;
	*) ok "$1" ;;
	esac
}
# matches DESCRIPTION EXTENDED-REGEX TEXT (some line of TEXT matches)
matches() {
	# a here-string, not a pipe: grep -q quitting early would SIGPIPE the
	# writer and pipefail would turn the match into a failure
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else
		bad "$1: no line matches /$2/ in:"; printf '%s\n' "$3" | sed 's/^/    /'
	fi
}

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

# ---- the SDK through pkg-config ---------------------------------------------
pcdir=$(dirname "$(find "$PREFIX" -maxdepth 4 -path '*/pkgconfig/reflex.pc' -print -quit)")
[ -f "$pcdir/reflex.pc" ] || fatal "reflex.pc installed under $PREFIX"
export PKG_CONFIG_PATH=$pcdir
cflags=$(pkg-config --cflags reflex) || fatal "pkg-config --cflags reflex"
has "pkg-config --cflags reflex points at the prefix" "-I$PREFIX/include" "$cflags"
[ -f "$PREFIX/include/reflex/plugin.h" ] && [ -f "$PREFIX/include/reflex/event.h" ] &&
	ok "plugin.h and event.h installed" || bad "plugin.h and event.h installed"
plugindir=$(pkg-config --variable=plugindir reflex)
case "$plugindir" in
"$PREFIX"/*/reflex) ok "pkg-config plugindir is inside the prefix ($plugindir)" ;;
*) bad "pkg-config plugindir is inside the prefix: got '$plugindir'" ;;
esac
version=$("$REFLEXD" --version)
has "pkg-config version matches reflexd --version" "reflexd $(pkg-config --modversion reflex) " "$version"

# ---- build out of tree ------------------------------------------------------
mkdir "$TMP/build" "$TMP/plugins" "$TMP/var"
cp "$HERE/hello.c" "$HERE/Makefile" "$TMP/build/"
if make -s -C "$TMP/build" CFLAGS="-O2 -g -Werror" >"$TMP/build.log" 2>&1; then
	ok "hello builds warning-free with only the installed SDK"
else
	cat "$TMP/build.log"
	fatal "hello builds warning-free with only the installed SDK"
fi
so=$TMP/build/output_hello.so
eq "output_hello.so exports exactly rfx_plugin_entry" "rfx_plugin_entry" \
	"$(nm -D --defined-only "$so" | awk '{ print $3 }' | tr '\n' ' ' | sed 's/ $//')"
cp "$so" "$TMP/plugins/output_hello.so"
HELLO=$TMP/plugins/output_hello.so

# ---- loading: --describe and --list-plugins ---------------------------------
out=$("$REFLEXD" --describe "$HELLO" 2>&1) || bad "reflexd --describe $HELLO exits 0"
has "--describe names the plugin" "output plugin hello 1.0.0" "$out"
has "--describe shows the file" "file: $HELLO" "$out"
has "--describe shows path as required" "path (string, required)" "$out"
matches "--describe shows prefix and its default" "^ +default: hello$" "$out"
has "--describe shows min_severity's values" \
	"values: emergency, alert, critical, error, warning, notice, info, debug" "$out"

out=$(REFLEX_PLUGIN_PATH=$TMP/plugins "$REFLEXD" --describe output/hello 2>&1) ||
	bad "--describe output/hello via REFLEX_PLUGIN_PATH exits 0"
has "--describe output/hello finds it through REFLEX_PLUGIN_PATH" "file: $HELLO" "$out"

rc=0
out=$(REFLEX_PLUGIN_PATH=$TMP/plugins "$REFLEXD" --list-plugins 2>&1) || rc=$?
eq "--list-plugins with REFLEX_PLUGIN_PATH exits 0 (nothing refused)" 0 "$rc"
matches "--list-plugins lists hello" "^output +hello +1\.0\.0 " "$out"
for p in input:webhook output:file output:stdout store:sqlite; do
	matches "--list-plugins lists the installed ${p#*:}" "^${p%:*} +${p#*:} " "$out"
done
hasnt "--list-plugins refuses nothing" "REFUSED" "$out"

rc=0
out=$("$REFLEXD" --list-plugins 2>&1) || rc=$?
eq "--list-plugins without REFLEX_PLUGIN_PATH exits 0" 0 "$rc"
for p in input:webhook output:file output:stdout store:sqlite; do
	matches "installed ${p#*:} is found in the compiled-in dir" "^${p%:*} +${p#*:} " "$out"
done
hasnt "hello is not found without REFLEX_PLUGIN_PATH" " hello " "$out"
out=$("$REFLEXD" --describe input/webhook 2>&1) || bad "--describe input/webhook exits 0"
has "installed webhook loads from PREFIX's plugin dir" "file: $plugindir/input_webhook.so" "$out"

# ---- the configuration ------------------------------------------------------
PORT=$(free_port) || fatal "a free loopback port"
URL=http://127.0.0.1:$PORT
export HELLO_DATA_DIR=$TMP/var HELLO_PLUGIN_DIR=$TMP/plugins HELLO_PORT=$PORT
CONF=$TMP/reflex.yaml
cp "$HERE/reflex.yaml" "$CONF"
out=$("$REFLEXD" --check-config "$CONF" 2>&1) || bad "--check-config of reflex.yaml exits 0"
has "--check-config accepts the example" \
	"configuration is valid (1 input, 1 output, store sqlite)" "$out"

sed 's/^    prefix: hi/    prefx: hi/' "$CONF" >"$TMP/typo.yaml"
line=$(grep -n 'prefx:' "$TMP/typo.yaml" | cut -d: -f1)
rc=0
out=$("$REFLEXD" --check-config "$TMP/typo.yaml" 2>&1) || rc=$?
eq "--check-config refuses a misspelt hello option" 1 "$rc"
has "the typo is reported at file:line:column with a suggestion" \
	"$TMP/typo.yaml:$line:5: outputs[0] (hello): unknown key 'prefx'; did you mean 'prefix'?" "$out"

sed '/^    path: hello.log/d' "$CONF" >"$TMP/nopath.yaml"
rc=0
out=$("$REFLEXD" --check-config "$TMP/nopath.yaml" 2>&1) || rc=$?
eq "--check-config refuses a missing required option" 1 "$rc"
has "the missing key is named" "outputs[0] (hello): missing required key 'path'" "$out"

sed 's/^    min_severity: warning/    min_severity: warnng/' "$CONF" >"$TMP/enum.yaml"
rc=0
out=$("$REFLEXD" --check-config "$TMP/enum.yaml" 2>&1) || rc=$?
eq "--check-config refuses an unknown enum value" 1 "$rc"
has "the enum error lists the values and suggests one" \
	"'min_severity': expected one of emergency, alert, critical, error, warning, notice, info, debug, got 'warnng'; did you mean 'warning'?" \
	"$out"

# ---- running it ---------------------------------------------------------------
"$REFLEXD" -c "$CONF" >>"$TMP/reflexd.log" 2>&1 &
RFX_PID=$!
healthy=no
for _ in $(seq 1 100); do
	if curl -sf --max-time 2 "$URL/healthz" >/dev/null 2>&1; then
		healthy=yes
		break
	fi
	kill -0 "$RFX_PID" 2>/dev/null || break
	sleep 0.1
done
[ "$healthy" = yes ] || fatal "reflexd -c starts and answers /healthz on $URL"
ok "reflexd -c starts and answers /healthz"

# post BODY: prints "STATUS BODY"
post() {
	curl -s --max-time 20 -o "$TMP/resp" -w '%{http_code}' -X POST \
		-H 'Content-Type: application/json' --data-binary "$1" \
		"$URL/api/v1/events/webhook" || true
	printf ' '
	cat "$TMP/resp" 2>/dev/null || true
}
r=$(post '{"host":"db1","check":"disk","severity":"critical","message":"disk 97% full"}')
eq "a critical event is accepted (202)" 202 "${r%% *}"
ID1=$(printf '%s' "$r" | grep -o '"ids":\["[0-9A-Z]*"' | grep -o '[0-9A-Z]\{26\}' || true)
r=$(post '{"host":"web1","check":"http","severity":"debug","message":"trace"}')
eq "a debug event is accepted (202)" 202 "${r%% *}"
ID2=$(printf '%s' "$r" | grep -o '"ids":\["[0-9A-Z]*"' | grep -o '[0-9A-Z]\{26\}' || true)
eq "both answers carry an event id" "26 26" "${#ID1} ${#ID2}"

# Delivery to outputs follows durability asynchronously: wait for hello's
# counters to show both events handled.
metric_lines='reflex_output_hello_lines_total{instance="greet"} 1'
metric_skipped='reflex_output_hello_skipped_total{instance="greet"} 1'
metrics=""
for _ in $(seq 1 100); do
	metrics=$(curl -s --max-time 2 "$URL/metrics" || true)
	case "$metrics" in *"$metric_lines"*"$metric_skipped"* | *"$metric_skipped"*"$metric_lines"*) break ;; esac
	sleep 0.1
done
has "hello counted one line written (/metrics)" "$metric_lines" "$metrics"
has "hello counted one event skipped (/metrics)" "$metric_skipped" "$metrics"

rc=0
out=$("$REFLEXCTL" --url "$URL" events list 2>&1) || rc=$?
eq "reflexctl events list exits 0" 0 "$rc"
has "reflexctl events list shows the critical event" "$ID1" "$out"
has "reflexctl events list shows the debug event" "$ID2" "$out"
matches "the critical event is listed with its severity, host and check" \
	"^$ID1 .* critical .* db1 .* disk " "$out"

kill -TERM "$RFX_PID"
rc=0
wait "$RFX_PID" || rc=$?
RFX_PID=""
eq "SIGTERM stops reflexd with status 0" 0 "$rc"

printf 'hi db1 disk critical\n' >"$TMP/expected"
if cmp -s "$TMP/expected" "$TMP/var/hello.log"; then
	ok "hello.log holds exactly 'hi db1 disk critical'"
else
	bad "hello.log holds exactly 'hi db1 disk critical'; it holds:"
	sed 's/^/    /' "$TMP/var/hello.log" 2>/dev/null || echo "    (no file)"
fi
log=$(cat "$TMP/reflexd.log")
has "hello logs through host->log with its instance prefix" \
	"output:hello:greet" "$log"
has "hello's startup line names its file" \
	"appending events at least as severe as warning to $TMP/var/hello.log" "$log"
hasnt "no event was reported undelivered" "not delivered" "$log"

# ---- init() refusing what the schema cannot check ---------------------------
sed 's|^    path: hello.log|    path: ../outside.log|' "$CONF" >"$TMP/escape.yaml"
rc=0
out=$(timeout 30 "$REFLEXD" -c "$TMP/escape.yaml" 2>&1) || rc=$?
eq "reflexd -c exits 1 when hello's init() refuses its config" 1 "$rc"
has "the init error is shown with the instance's position" \
	"$TMP/escape.yaml:$(grep -n '^  - name: greet' "$TMP/escape.yaml" | cut -d: -f1):5: outputs[0] (hello): cannot start: path: '../outside.log' must be a relative path inside the data directory" \
	"$out"
[ ! -e "$TMP/outside.log" ] && ok "nothing was written outside the data directory" ||
	bad "nothing was written outside the data directory"

summary
[ "$FAILED" -eq 0 ]
