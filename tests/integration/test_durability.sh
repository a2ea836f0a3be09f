#!/bin/bash
# Nothing acknowledged is lost: several concurrent senders POST batches and
# record every id reflexd acknowledged (HTTP 202); reflexd is killed with
# SIGKILL in the middle of the load; after a restart every acknowledged id
# must be in the store, exactly once.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
inputs:
  - { name: hook, plugin: webhook }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

sender() {
	local n=$1 i=0
	while [ -e "$TMP/go" ]; do
		i=$((i + 1))
		body="[{\"host\":\"s$n\",\"check\":\"c$i\",\"message\":\"a\"},{\"host\":\"s$n\",\"check\":\"c$i\",\"message\":\"b\"},{\"host\":\"s$n\",\"check\":\"c$i\",\"message\":\"c\"}]"
		out=$(curl -s -m 5 -w '\n%{http_code}' -XPOST -H 'Content-Type: application/json' \
			--data-binary "$body" "$URL/api/v1/events/webhook" 2>/dev/null) || continue
		code=${out##*$'\n'}
		if [ "$code" = 202 ]; then
			echo "${out%$'\n'*}" | jq -r '.ids[]' >>"$TMP/acked.$n"
		fi
	done
}
touch "$TMP/go"
for n in 1 2 3 4; do sender $n & done
sleep 2
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
sleep 0.5
rm -f "$TMP/go"
wait
cat "$TMP"/acked.* | sort >"$TMP/acked"
acked=$(wc -l <"$TMP/acked")
check "the senders got acknowledgements before the kill ($acked events)" test "$acked" -gt 100

start_reflexd "$TMP/reflex.yaml" || exit 1
check "the store has no duplicate ids" test -z "$(sqlite3 "$TMP/var/reflex.db" 'select id from processed_events group by id having count(*) > 1')"
# a repeat folded into its record by dedup is kept as its raw row
sqlite3 "$TMP/var/reflex.db" 'select id from processed_events union select id from raw_events' |
	sort >"$TMP/stored"
missing=$(comm -23 "$TMP/acked" "$TMP/stored" | wc -l)
eq "every acknowledged event survived kill -9" 0 "$missing"
id=$(head -1 "$TMP/acked")
r=$(get "/api/v1/events/$id")
eq "an acknowledged event is readable through the API after restart" 200 "${r%% *}"
check "SIGTERM stops cleanly" stop_reflexd
finish
