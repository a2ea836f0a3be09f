#!/bin/bash
# The file and stdout outputs inside a running reflexd: JSON lines, routing
# by match:, rotation by size with a bounded number of old files, and
# whole lines only.
. "$(dirname "$0")/lib.sh"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - { name: rot, plugin: file, path: rot.jsonl, max_size: 4KiB, max_files: 2 }
  - { name: crit, plugin: file, path: /$TMP/crit.jsonl, match: 'severity >= critical and labels.team == "db"' }
  - { name: out, plugin: stdout, match: 'host startswith "std"' }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

body=$(jq -cn '[range(60) | {host: ("h" + (. | tostring)), check: "rotation", message: ("line " + (. | tostring)), severity: "info"}]')
r=$(post /api/v1/events/webhook "$body"); eq "60 events accepted" 202 "${r%% *}"
r=$(post /api/v1/events/webhook '[{"host":"db1","check":"c","severity":"critical","labels":{"team":"db"}},{"host":"db2","check":"c","severity":"critical","labels":{"team":"web"}},{"host":"db3","check":"c","severity":"warning","labels":{"team":"db"}}]')
eq "3 routed events accepted" 202 "${r%% *}"
r=$(post /api/v1/events/webhook '{"host":"stdhost","check":"to-stdout","severity":"info"}')
eq "a stdout event accepted" 202 "${r%% *}"
check "SIGTERM delivers what is queued and exits 0" stop_reflexd

V="$TMP/var"
check "the current file exists" test -s "$V/rot.jsonl"
check "one rotated file" test -s "$V/rot.jsonl.1"
check "two rotated files" test -s "$V/rot.jsonl.2"
check "no third rotated file (max_files: 2)" test ! -e "$V/rot.jsonl.3"
for f in "$V/rot.jsonl" "$V/rot.jsonl.1" "$V/rot.jsonl.2"; do
	size=$(stat -c %s "$f")
	check "$(basename "$f") is within max_size ($size bytes)" test "$size" -le 4096
	check "$(basename "$f") holds whole JSON lines only" jq -e . "$f" >/dev/null
done
last=$(tail -1 "$V/rot.jsonl" | jq -r .host)
eq "the newest event is in the current file" stdhost "$last"
eq "the oldest kept file has older events" rotation "$(head -1 "$V/rot.jsonl.2" | jq -r .check)"
eq "match: routes by severity and label" db1 "$(jq -r .host "$TMP/crit.jsonl" | tr '\n' ' ' | sed 's/ $//')"
check "stdout got the matching event as a JSON line" grep -q '"host":"stdhost"' "$TMP/reflexd.log"
eq "stdout got nothing else" 1 "$(grep -c '"check":' "$TMP/reflexd.log")"
finish
