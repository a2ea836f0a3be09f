#!/bin/bash
# SIGHUP applies a configuration that validates and keeps the running one
# when the new file is invalid; SIGTERM stores what is queued and exits 0.
. "$(dirname "$0")/lib.sh"

conf() {
	cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
inputs:
  - { name: hook, plugin: webhook, path: $1 }
outputs:
  - { name: all, plugin: file, path: all.jsonl }
YAML
}
conf /one
start_reflexd "$TMP/reflex.yaml" || exit 1
r=$(post /one '{"check":"a"}'); eq "first path accepts" 202 "${r%% *}"

conf /two
kill -HUP "$RFX_PID"
for i in $(seq 50); do grep -q "reloaded" "$TMP/reflexd.log" && break; sleep 0.1; done
r=$(post /two '{"check":"b"}'); eq "after SIGHUP the new path accepts" 202 "${r%% *}"
r=$(post /one '{"check":"c"}'); eq "and the old path is gone" 404 "${r%% *}"

echo "inputs: [ { name: hook, plugin: webhok } ]" >"$TMP/reflex.yaml"
kill -HUP "$RFX_PID"
for i in $(seq 50); do grep -q "reload refused" "$TMP/reflexd.log" && break; sleep 0.1; done
check "an invalid file is refused" grep -q "reload refused" "$TMP/reflexd.log"
check "with its error position" grep -q "reflex.yaml:1:33: inputs\[0\] (webhok): no input plugin named 'webhok'; did you mean 'webhook'?" "$TMP/reflexd.log"
r=$(post /two '{"check":"d"}'); eq "the running configuration keeps working" 202 "${r%% *}"

body=$(jq -cn '[range(500) | {check: ("q" + (. | tostring))}]')
r=$(post /two "$body"); eq "a last batch is accepted" 202 "${r%% *}"
check "SIGTERM exits 0" stop_reflexd
eq "every event stored" 503 "$(sqlite3 "$TMP/var/reflex.db" 'select count(*) from processed_events')"
eq "every event delivered to the output before exit" 503 "$(wc -l <"$TMP/var/all.jsonl")"
finish
