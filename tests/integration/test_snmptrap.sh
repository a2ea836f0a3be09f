#!/bin/bash
# The SNMP trap input end to end: reflexd listening on a free loopback UDP
# port, the real net-snmp `snmptrap`/`snmpinform` (Debian package `snmp`)
# as senders: v1, v2c, a v2c inform and a v3 authPriv (SHA/AES) trap and
# inform arrive in the store (checked through GET /api/v1/events); a wrong
# community and a wrong v3 password are rejected and counted, not stored;
# linkDown then linkUp give firing then resolved with one fingerprint; a
# configured rule renders its title; snmpinform exits 0 only after storing.
. "$(dirname "$0")/lib.sh"

for t in snmptrap snmpinform jq; do
	if ! command -v $t >/dev/null; then
		echo "FAIL: $t not installed: apt-get install snmp jq (scripts/deps.sh --test)"
		exit 1
	fi
done
TRAP=$(free_port)
while [ "$TRAP" = "$PORT" ]; do TRAP=$(free_port); done
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-snmptrap
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
store: { plugin: sqlite, path: reflex.db }
inputs:
  - name: traps
    plugin: snmptrap
    listen: ["udp://127.0.0.1:$TRAP"]
    communities: [public]
    engine_id: "0x80001f8880aabbccdd01"
    users:
      - name: ops
        auth_protocol: SHA
        auth_password: authpass123
        priv_protocol: AES
        priv_password: privpass123
        engine_id: "0x8000000001020304"
    traps:
      - oid: 1.3.6.1.4.1.8072.9999.0.1
        severity: critical
        title: "disk {{1.3.6.1.4.1.8072.9999.1}} full on {{host}}"
        fingerprint: [1.3.6.1.4.1.8072.9999.1]
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
A="127.0.0.1:$TRAP"
IFX=1.3.6.1.2.1.2.2.1.1

# wait_event JQFILTER: the first stored event matching the jq filter,
# polled for up to 5 s; '{}' when none
wait_event() {
	local i r
	for i in $(seq 1 50); do
		r=$(curl -s "$URL/api/v1/events?limit=100" | jq -c "[.events[] | select($1)][0] // empty")
		if [ -n "$r" ]; then
			echo "$r"
			return 0
		fi
		sleep 0.1
	done
	echo '{}'
}
count_events() {
	curl -s "$URL/api/v1/events?limit=1000" | jq "[.events[] | select($1)] | length"
}

# v2c linkDown on ifIndex 11, then linkUp on the same interface
snmptrap -v 2c -c public "$A" '' 1.3.6.1.6.3.1.1.5.3 $IFX.11 i 11
E=$(wait_event '.labels.ifIndex == "11" and .labels.trap == "linkDown"')
eq "v2c linkDown: kind" trap "$(echo "$E" | jq -r .kind)"
eq "v2c linkDown: firing" firing "$(echo "$E" | jq -r .status)"
eq "v2c linkDown: severity" warning "$(echo "$E" | jq -r .severity)"
eq "v2c linkDown: host is the sender" 127.0.0.1 "$(echo "$E" | jq -r .host)"
eq "v2c linkDown: version label" 2c "$(echo "$E" | jq -r .labels.snmp_version)"
eq "v2c linkDown: trap OID kept" 1.3.6.1.6.3.1.1.5.3 "$(echo "$E" | jq -r .attrs.trap_oid)"
eq "v2c linkDown: community kept" public "$(echo "$E" | jq -r .attrs.community)"
eq "v2c linkDown: varbind attr" "$IFX.11" "$(echo "$E" | jq -r '.attrs.varbinds[2].oid')"
eq "v2c linkDown: source is the instance" traps "$(echo "$E" | jq -r .source)"
FP_DOWN=$(echo "$E" | jq -r .fingerprint)

# the linkUp goes as an inform: snmpinform exits 0 once we answered,
# and we answer only after the store has it
if timeout 20 snmpinform -v 2c -c public -t 5 -r 1 "$A" '' 1.3.6.1.6.3.1.1.5.4 $IFX.11 i 11; then
	ok "v2c inform: snmpinform got its response (exit 0)"
else
	bad "v2c inform: snmpinform failed"
fi
eq "v2c inform: stored before the response" 1 \
	"$(count_events '.labels.ifIndex == "11" and .labels.trap == "linkUp"')"
E=$(wait_event '.labels.ifIndex == "11" and .labels.trap == "linkUp"')
eq "linkUp: resolved" resolved "$(echo "$E" | jq -r .status)"
eq "linkUp: inform pdu" inform "$(echo "$E" | jq -r .attrs.pdu)"
eq "linkDown and linkUp share the fingerprint" "$FP_DOWN" "$(echo "$E" | jq -r .fingerprint)"

# v1 generic linkDown with an agent address: RFC 3584 trap OID
snmptrap -v 1 -c public "$A" 1.3.6.1.4.1.8072 192.0.2.5 2 0 '' $IFX.12 i 12
E=$(wait_event '.labels.ifIndex == "12"')
eq "v1: trap OID per RFC 3584" 1.3.6.1.6.3.1.1.5.3 "$(echo "$E" | jq -r .labels.trap_oid)"
eq "v1: host is the agent address" 192.0.2.5 "$(echo "$E" | jq -r .host)"
eq "v1: enterprise kept" 1.3.6.1.4.1.8072 "$(echo "$E" | jq -r .attrs.enterprise)"
eq "v1: version" 1 "$(echo "$E" | jq -r .attrs.version)"

# a configured rule: severity, title template, fingerprint
snmptrap -v 2c -c public "$A" '' 1.3.6.1.4.1.8072.9999.0.1 1.3.6.1.4.1.8072.9999.1.0 s sda1
E=$(wait_event '.attrs.trap_oid == "1.3.6.1.4.1.8072.9999.0.1"')
eq "rule: title rendered" "disk sda1 full on 127.0.0.1" "$(echo "$E" | jq -r .check)"
eq "rule: severity" critical "$(echo "$E" | jq -r .severity)"

# v3 authPriv trap (the sender's engine id is configured for the user)
snmptrap -v 3 -u ops -l authPriv -a SHA -A authpass123 -x AES -X privpass123 \
	-e 0x8000000001020304 "$A" '' 1.3.6.1.6.3.1.1.5.3 $IFX.13 i 13
E=$(wait_event '.labels.ifIndex == "13"')
eq "v3 trap: stored with its user" ops "$(echo "$E" | jq -r .attrs.user)"
eq "v3 trap: security level" authPriv "$(echo "$E" | jq -r .attrs.security_level)"
eq "v3 trap: version" 3 "$(echo "$E" | jq -r .labels.snmp_version)"

# v3 authPriv inform (our engine id, discovered by the sender)
if timeout 20 snmpinform -v 3 -u ops -l authPriv -a SHA -A authpass123 -x AES -X privpass123 \
	-t 5 -r 1 "$A" '' 1.3.6.1.6.3.1.1.5.4 $IFX.14 i 14; then
	ok "v3 inform: snmpinform got its response (exit 0)"
else
	bad "v3 inform: snmpinform failed"
fi
eq "v3 inform: stored" 1 "$(count_events '.labels.ifIndex == "14"')"

# rejected: a wrong community, a wrong v3 password, an unknown v3 user
snmptrap -v 2c -c wrong "$A" '' 1.3.6.1.6.3.1.1.5.3 $IFX.21 i 21
snmptrap -v 3 -u ops -l authPriv -a SHA -A wrongpass123 -x AES -X privpass123 \
	-e 0x8000000001020304 "$A" '' 1.3.6.1.6.3.1.1.5.3 $IFX.22 i 22
snmptrap -v 3 -u nobody -l authPriv -a SHA -A authpass123 -x AES -X privpass123 \
	-e 0x8000000001020304 "$A" '' 1.3.6.1.6.3.1.1.5.3 $IFX.23 i 23
# a trap sent after them, to know they were processed
snmptrap -v 2c -c public "$A" '' 1.3.6.1.6.3.1.1.5.1 $IFX.24 i 24
wait_event '.labels.ifIndex == "24"' >/dev/null
eq "wrong community: not stored" 0 "$(count_events '.labels.ifIndex == "21"')"
eq "wrong v3 password: not stored" 0 "$(count_events '.labels.ifIndex == "22"')"
eq "unknown v3 user: not stored" 0 "$(count_events '.labels.ifIndex == "23"')"
r=$(curl -s "$URL/metrics")
REJ=$(echo "$r" | grep '^reflex_input_snmptrap_rejected_total{instance="traps"}' | awk '{print $2}')
check "rejections counted (3, got '$REJ')" test "${REJ:-0}" = 3
contains "informs counted" 'reflex_input_snmptrap_informs_total{instance="traps"} 2' "$r"
check "rejections logged" grep -q "community not accepted" "$TMP/reflexd.log"
check "no MIB warnings in the log" test "$(grep -c 'Cannot find module' "$TMP/reflexd.log")" = 0

check "reflexd stops cleanly (exit 0)" stop_reflexd
finish
