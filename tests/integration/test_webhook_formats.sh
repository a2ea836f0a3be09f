#!/bin/bash
# The webhook input's nagios, grafana and json `mapping` formats and its
# per-input authentication, end to end against a real reflexd: Nagios
# notifications as form and JSON posts (and through the command line shipped
# in etc/nagios/reflex.cfg, run for real with its macros substituted),
# Grafana firing/resolved payloads, a custom tool's JSON through a mapping,
# bearer/basic/hmac credentials good and bad, and init refusing incomplete
# auth sections.
. "$(dirname "$0")/lib.sh"

OPER=operator-token-0123456789abcdef
HOOKTOK=hook-bearer-token-0123456789
HMACKEY=hmac-shared-secret-42
cat >"$TMP/reflex.yaml" <<YAML
agent:
  name: it-webhook-formats
  data_dir: $TMP/var
  log: { level: info }
  api:
    listen: 127.0.0.1:$PORT
    tokens:
      - { token: $OPER, role: operator }
store: { plugin: sqlite, path: reflex.db }
# the decoders are under test, with like events counted: no dedup
pipeline: { noise: { enabled: false } }
inputs:
  - { name: ng, plugin: webhook, path: /hook/nagios, format: nagios }
  - name: ngs
    plugin: webhook
    path: /hook/nagios-mapped
    format: nagios
    severity_map: { UNKNOWN: error }
  - name: gf
    plugin: webhook
    path: /hook/grafana
    format: grafana
    severity_map: { page: critical }
  - name: mp
    plugin: webhook
    path: /hook/mapped
    severity_map: { P1: critical, P2: warning }
    mapping:
      host: /node/name
      service: /svc
      check: /rule/name
      message: /text
      severity: /level
      status: /active
      time: /ts
      value: /metrics/0/v
      labels.team: /owner
      labels.rule_id: /rule/id
      attrs.node: /node
  - { name: ab, plugin: webhook, path: /hook/bearer, auth: { type: bearer, token: $HOOKTOK } }
  - { name: bb, plugin: webhook, path: /hook/basic, auth: { type: basic, username: nagios, password: "s3cret:pw" } }
  - { name: hb, plugin: webhook, path: /hook/hmac, auth: { type: hmac, secret: $HMACKEY } }
  - { name: hg, plugin: webhook, path: /hook/hmac-gh, auth: { type: hmac, secret: $HMACKEY, header: X-Hub-Signature-256 } }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
A=(-H "Authorization: Bearer $OPER")
# postform PATH [curl args...]: a form post (curl's default Content-Type)
postform() {
	local path=$1
	shift
	curl -s -o "$TMP/resp" -w '%{http_code}' -XPOST "$@" "$URL$path"
	printf ' '
	cat "$TMP/resp"
}

# count SOURCE: how many events that input stored
count() { get "/api/v1/events?source=$1&limit=1000" "${A[@]}" | sed 's/^[0-9]* //' | jq '.events | length'; }
# ev ID: the stored event as JSON
ev() { get "/api/v1/events/$1" "${A[@]}" | sed 's/^[0-9]* //'; }
id0() { echo "${1#* }" | jq -r '.ids[0]'; }

# ---- nagios ---------------------------------------------------------------
r=$(postform /hook/nagios \
	--data-urlencode "NOTIFICATIONTYPE=PROBLEM" --data-urlencode "HOSTNAME=db1" \
	--data-urlencode "HOSTADDRESS=10.0.0.5" --data-urlencode "SERVICEDESC=Disk /var" \
	--data-urlencode "SERVICESTATE=CRITICAL" --data-urlencode "SERVICEOUTPUT=DISK CRITICAL - /var 97% & rising" \
	--data-urlencode "SERVICEPROBLEMID=4711" --data-urlencode "TIMET=1764300000" "${A[@]}")
eq "nagios form PROBLEM is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "nagios host" db1 "$(echo "$B" | jq -r .host)"
eq "nagios service" "Disk /var" "$(echo "$B" | jq -r .service)"
eq "nagios check is the service" "Disk /var" "$(echo "$B" | jq -r .check)"
eq "CRITICAL is critical" critical "$(echo "$B" | jq -r .severity)"
eq "PROBLEM is firing" firing "$(echo "$B" | jq -r .status)"
eq "output is the message (form-decoded)" "DISK CRITICAL - /var 97% & rising" "$(echo "$B" | jq -r .message)"
eq "fingerprint from host and service" "nagios:db1/Disk /var" "$(echo "$B" | jq -r .fingerprint)"
eq "TIMET is the time" 2025-11-28T03:20:00.000Z "$(echo "$B" | jq -r .time)"
eq "address in attrs" 10.0.0.5 "$(echo "$B" | jq -r .attrs.address)"
eq "problem id in attrs" 4711 "$(echo "$B" | jq -r .attrs.problem_id)"
eq "kind alert" alert "$(echo "$B" | jq -r .kind)"
FP1=$(echo "$B" | jq -r .fingerprint)

r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"RECOVERY","HOSTNAME":"db1","SERVICEDESC":"Disk /var","SERVICESTATE":"OK","SERVICEOUTPUT":"DISK OK","SERVICEPROBLEMID":"0","LASTSERVICEPROBLEMID":"4711"}' "${A[@]}")
eq "nagios JSON RECOVERY is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "RECOVERY is resolved" resolved "$(echo "$B" | jq -r .status)"
eq "OK is info" info "$(echo "$B" | jq -r .severity)"
eq "recovery has the problem's fingerprint" "$FP1" "$(echo "$B" | jq -r .fingerprint)"
eq "last problem id in attrs" 4711 "$(echo "$B" | jq -r .attrs.last_problem_id)"

r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"PROBLEM","HOSTNAME":"sw3","HOSTSTATE":"UNREACHABLE","HOSTOUTPUT":"PING CRITICAL","SERVICEDESC":""}' "${A[@]}")
eq "host notification is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "host notification has no service" null "$(echo "$B" | jq -r .service)"
eq "host notification check" host "$(echo "$B" | jq -r .check)"
eq "UNREACHABLE is error" error "$(echo "$B" | jq -r .severity)"
eq "host fingerprint" nagios:sw3 "$(echo "$B" | jq -r .fingerprint)"
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"PROBLEM","HOSTNAME":"sw3","HOSTSTATE":"DOWN"}' "${A[@]}")
eq "DOWN is critical" critical "$(ev "$(id0 "$r")" | jq -r .severity)"

r=$(postform /hook/nagios --data-binary 'NOTIFICATIONTYPE=ACKNOWLEDGEMENT&HOSTNAME=db1&SERVICEDESC=Disk+%2Fvar&SERVICESTATE=CRITICAL&NOTIFICATIONAUTHOR=alice&NOTIFICATIONCOMMENT=on+it' "${A[@]}")
eq "ACKNOWLEDGEMENT is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "ack stays firing" firing "$(echo "$B" | jq -r .status)"
eq "ack is flagged" true "$(echo "$B" | jq -r .attrs.acknowledged)"
eq "ack author" alice "$(echo "$B" | jq -r .attrs.author)"
eq "ack comment" "on it" "$(echo "$B" | jq -r .attrs.comment)"
eq "ack has the problem's fingerprint" "$FP1" "$(echo "$B" | jq -r .fingerprint)"

r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"FLAPPINGSTART","HOSTNAME":"db1","SERVICEDESC":"Disk /var","SERVICESTATE":"OK"}' "${A[@]}")
B=$(ev "$(id0 "$r")")
eq "FLAPPINGSTART is a firing flapping event" "flapping firing warning" "$(echo "$B" | jq -r '"\(.kind) \(.status) \(.severity)"')"
eq "flapping has its own fingerprint" "$FP1:flapping" "$(echo "$B" | jq -r .fingerprint)"
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"FLAPPINGSTOP","HOSTNAME":"db1","SERVICEDESC":"Disk /var","SERVICESTATE":"OK"}' "${A[@]}")
B=$(ev "$(id0 "$r")")
eq "FLAPPINGSTOP resolves the flapping" "flapping resolved $FP1:flapping" "$(echo "$B" | jq -r '"\(.kind) \(.status) \(.fingerprint)"')"
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"DOWNTIMESTART","HOSTNAME":"db1"}' "${A[@]}")
eq "DOWNTIMESTART" "downtime firing info nagios:db1:downtime" "$(ev "$(id0 "$r")" | jq -r '"\(.kind) \(.status) \(.severity) \(.fingerprint)"')"
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"DOWNTIMECANCELLED","HOSTNAME":"db1"}' "${A[@]}")
eq "DOWNTIMECANCELLED resolves it" "downtime resolved nagios:db1:downtime" "$(ev "$(id0 "$r")" | jq -r '"\(.kind) \(.status) \(.fingerprint)"')"

r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"PROBLEM","HOSTNAME":"db1","SERVICEDESC":"x","SERVICESTATE":"UNKNOWN"}' "${A[@]}")
eq "UNKNOWN is warning by default" warning "$(ev "$(id0 "$r")" | jq -r .severity)"
r=$(post /hook/nagios-mapped '{"NOTIFICATIONTYPE":"PROBLEM","HOSTNAME":"db1","SERVICEDESC":"x","SERVICESTATE":"UNKNOWN"}' "${A[@]}")
eq "severity_map overrides UNKNOWN" error "$(ev "$(id0 "$r")" | jq -r .severity)"

N0=$(count ng)
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"PROBLEM","SERVICEDESC":"x","SERVICESTATE":"CRITICAL"}' "${A[@]}")
eq "missing HOSTNAME is 422" 422 "${r%% *}"
contains "422 names HOSTNAME" HOSTNAME "$r"
r=$(post /hook/nagios '{"NOTIFICATIONTYPE":"EXPLODED","HOSTNAME":"a"}' "${A[@]}")
contains "unknown NOTIFICATIONTYPE is 422 naming it" "NOTIFICATIONTYPE: unknown type 'EXPLODED'" "$r"
r=$(post /hook/nagios '{"HOSTNAME":"a","SERVICEDESC":"b","SERVICESTATE":"SORTOF"}' "${A[@]}")
contains "unknown SERVICESTATE is 422 naming it" "SERVICESTATE: unknown state 'SORTOF'" "$r"
r=$(post /hook/nagios '{"HOSTNAME":"a","TIMET":"yesterday"}' "${A[@]}")
contains "bad TIMET is 422" "TIMET: expected unix seconds" "$r"
r=$(postform /hook/nagios --data-binary 'HOSTNAME=a&x=%zz' "${A[@]}")
eq "bad form escape is 400" 400 "${r%% *}"
eq "rejected nagios posts stored nothing" "$N0" "$(count ng)"

# The shipped command line, run for real: macros substituted as Nagios would
# (sed), then executed by /bin/sh like Nagios does.
nagios_cmd() { # COMMAND_NAME: the command_line of that command in reflex.cfg
	awk -v want="$1" '
		/command_name/ { name = $2 }
		/command_line/ && name == want { sub(/^[ \t]*command_line[ \t]+/, ""); print; exit }
	' "$SRCDIR/etc/nagios/reflex.cfg"
}
CMD=$(nagios_cmd notify-service-by-reflex)
check "reflex.cfg has notify-service-by-reflex" test -n "$CMD"
CMD=$(printf '%s' "$CMD" | sed -e "s|\\\$USER11\\\$|$OPER|g" \
	-e "s|\\\$_CONTACTREFLEX_URL\\\$|$URL/hook/nagios|g" \
	-e 's|\$NOTIFICATIONTYPE\$|PROBLEM|g' -e 's|\$HOSTNAME\$|web7|g' \
	-e 's|\$HOSTADDRESS\$|192.0.2.7|g' -e 's|\$HOSTSTATE\$|UP|g' \
	-e 's|\$SERVICEDESC\$|HTTP|g' -e 's|\$SERVICESTATE\$|WARNING|g' \
	-e 's|\$SERVICEOUTPUT\$|HTTP WARNING: 2.5 s response time; 100% = slow|g' \
	-e 's|\$SERVICEPROBLEMID\$|99|g' -e 's|\$TIMET\$|1764300000|g' \
	-e 's|\$[A-Z_0-9]*\$||g')
check "shipped service command posts to reflex" sh -c "$CMD >$TMP/cmd.out"
B=$(get "/api/v1/events?source=ng&host=web7" "${A[@]}" | sed 's/^[0-9]* //' | jq '.events[0]')
eq "shipped command: event stored" "web7 HTTP warning firing" "$(echo "$B" | jq -r '"\(.host) \(.service) \(.severity) \(.status)"')"
eq "shipped command: output intact" "HTTP WARNING: 2.5 s response time; 100% = slow" "$(echo "$B" | jq -r .message)"
eq "shipped command: address" 192.0.2.7 "$(echo "$B" | jq -r .attrs.address)"
CMD=$(nagios_cmd notify-host-by-reflex | sed -e "s|\\\$USER11\\\$|$OPER|g" \
	-e "s|\\\$_CONTACTREFLEX_URL\\\$|$URL/hook/nagios|g" \
	-e 's|\$NOTIFICATIONTYPE\$|RECOVERY|g' -e 's|\$HOSTNAME\$|web8|g' \
	-e 's|\$HOSTSTATE\$|UP|g' -e 's|\$HOSTOUTPUT\$|PING OK|g' -e 's|\$[A-Z_0-9]*\$||g')
check "shipped host command posts to reflex" sh -c "$CMD >$TMP/cmd.out"
B=$(get "/api/v1/events?source=ng&host=web8" "${A[@]}" | sed 's/^[0-9]* //' | jq '.events[0]')
eq "shipped host command: resolved host event" "host resolved nagios:web8" "$(echo "$B" | jq -r '"\(.check) \(.status) \(.fingerprint)"')"
CMD=$(nagios_cmd notify-host-by-reflex | sed -e 's|\$USER11\$|wrong-token-xxxxxxxxxxxx|g' \
	-e "s|\\\$_CONTACTREFLEX_URL\\\$|$URL/hook/nagios|g" -e 's|\$HOSTNAME\$|web9|g' -e 's|\$[A-Z_0-9]*\$||g')
check "shipped command fails (non-zero) on 401" bash -c "! sh -c '$CMD' 2>/dev/null"

# ---- grafana --------------------------------------------------------------
GF='{"receiver":"reflex","status":"firing","orgId":1,"alerts":[
 {"status":"firing","labels":{"alertname":"High memory usage","instance":"db1:9100","severity":"page","team":"blue"},
  "annotations":{"summary":"memory 95% on db1","runbook_url":"https://runbooks/mem"},
  "startsAt":"2025-11-28T03:00:00.5+01:00","endsAt":"0001-01-01T00:00:00Z",
  "generatorURL":"https://grafana/alerting/grafana/abc/view","fingerprint":"c6eadffa33fcdf37",
  "silenceURL":"https://grafana/alerting/silence/new?matchers=alertname%3DHigh","dashboardURL":"","panelURL":"",
  "values":{"B":95.2}},
 {"status":"firing","labels":{"alertname":"Disk","host":"fs2","severity":"ticket"},"annotations":{},
  "startsAt":"2025-11-28T03:01:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"bc97ff14869b13e3",
  "values":{"A":1,"B":2},"valueString":"[ var=A value=1 ]"}],
 "groupLabels":{"alertname":"High memory usage"},"commonLabels":{"team":"blue"},"commonAnnotations":{},
 "externalURL":"https://grafana/","version":"1","groupKey":"{}:{alertname=\"High memory usage\"}",
 "truncatedAlerts":0,"title":"[FIRING:2]","state":"alerting","message":"..."}'
r=$(post /hook/grafana "$GF" "${A[@]}")
eq "grafana firing payload is accepted" 202 "${r%% *}"
eq "one event per alert" 2 "$(echo "${r#* }" | jq '.ids | length')"
B=$(ev "$(id0 "$r")")
eq "grafana host from instance, port stripped" db1 "$(echo "$B" | jq -r .host)"
eq "grafana check is alertname" "High memory usage" "$(echo "$B" | jq -r .check)"
eq "grafana severity via severity_map" critical "$(echo "$B" | jq -r .severity)"
eq "grafana fingerprint is the alert's" c6eadffa33fcdf37 "$(echo "$B" | jq -r .fingerprint)"
eq "grafana summary is the message" "memory 95% on db1" "$(echo "$B" | jq -r .message)"
eq "grafana startsAt is the time" 2025-11-28T02:00:00.500Z "$(echo "$B" | jq -r .time)"
eq "grafana labels kept" blue "$(echo "$B" | jq -r .labels.team)"
eq "grafana single value is the value" 95.2 "$(echo "$B" | jq -r .value)"
eq "grafana values in attrs" 95.2 "$(echo "$B" | jq -r .attrs.values.B)"
eq "grafana URLs in attrs" https://grafana/alerting/grafana/abc/view "$(echo "$B" | jq -r .attrs.generator_url)"
eq "grafana silence URL unescaped" "https://grafana/alerting/silence/new?matchers=alertname%3DHigh" "$(echo "$B" | jq -r .attrs.silence_url)"
eq "grafana annotations in attrs" https://runbooks/mem "$(echo "$B" | jq -r .attrs.annotations.runbook_url)"
eq "grafana receiver in attrs" reflex "$(echo "$B" | jq -r .attrs.receiver)"
B=$(ev "$(echo "${r#* }" | jq -r '.ids[1]')")
eq "grafana host from labels.host" fs2 "$(echo "$B" | jq -r .host)"
eq "grafana unknown severity label: warning, kept in attrs" "warning ticket" "$(echo "$B" | jq -r '"\(.severity) \(.attrs.unknown_severity)"')"
eq "grafana valueString as message" "[ var=A value=1 ]" "$(echo "$B" | jq -r .message)"
eq "grafana two values: no single value" null "$(echo "$B" | jq -r .value)"

GR=$(echo "$GF" | jq -c '.status="resolved" | .alerts=[.alerts[0] | .status="resolved" | .endsAt="2025-11-28T02:30:00Z"]')
r=$(post /hook/grafana "$GR" "${A[@]}")
eq "grafana resolved payload is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "grafana resolved status" resolved "$(echo "$B" | jq -r .status)"
eq "grafana resolved keeps the fingerprint" c6eadffa33fcdf37 "$(echo "$B" | jq -r .fingerprint)"
eq "grafana resolved time is endsAt" 2025-11-28T02:30:00.000Z "$(echo "$B" | jq -r .time)"

N0=$(count gf)
r=$(post /hook/grafana "$(echo "$GF" | jq -c '.alerts[1].startsAt="yesterday"')" "${A[@]}")
eq "grafana bad startsAt is 422" 422 "${r%% *}"
contains "422 names alerts[1].startsAt" "alerts[1].startsAt" "$r"
r=$(post /hook/grafana "$(echo "$GF" | jq -c '.alerts[0].labels.team=7')" "${A[@]}")
contains "grafana non-string label is 422" "alerts[0].labels.team: expected a string" "$r"
r=$(post /hook/grafana '{"receiver":"x","alerts":[]}' "${A[@]}")
eq "grafana empty alerts is 422" 422 "${r%% *}"
eq "rejected grafana posts stored nothing (all or nothing)" "$N0" "$(count gf)"
r=$(postform /hook/grafana --data-binary 'a=b' "${A[@]}")
eq "grafana takes no forms (415)" 415 "${r%% *}"

# ---- json mapping ---------------------------------------------------------
M='[{"node":{"name":"k8s-3","zone":"b"},"svc":"kubelet","rule":{"name":"NodeNotReady","id":42},"text":"node not ready","level":"P1","active":1,"ts":1764300000.25,"metrics":[{"v":3}],"owner":"infra","extra":"ignored"},
    {"node":{"name":"k8s-3"},"rule":{"name":"NodeNotReady"},"level":"critical","active":"0","ts":"2025-11-28T04:00:00Z"}]'
r=$(post /hook/mapped "$M" "${A[@]}")
eq "mapped batch is accepted" 202 "${r%% *}"
B=$(ev "$(id0 "$r")")
eq "mapped fields" "k8s-3 kubelet NodeNotReady node not ready" "$(echo "$B" | jq -r '"\(.host) \(.service) \(.check) \(.message)"')"
eq "mapped number time (unix seconds)" 2025-11-28T03:20:00.250Z "$(echo "$B" | jq -r .time)"
eq "mapped status 1 is firing" firing "$(echo "$B" | jq -r .status)"
eq "mapped value" 3 "$(echo "$B" | jq -r .value)"
eq "mapped labels (number as text)" "infra 42" "$(echo "$B" | jq -r '"\(.labels.team) \(.labels.rule_id)"')"
eq "mapped attrs.node is the subtree" b "$(echo "$B" | jq -r .attrs.node.zone)"
eq "unmapped fields are not copied" null "$(echo "$B" | jq -r .attrs.extra)"
B=$(ev "$(echo "${r#* }" | jq -r '.ids[1]')")
eq "mapped status \"0\" is resolved, RFC 3339 time" "resolved 2025-11-28T04:00:00.000Z critical" "$(echo "$B" | jq -r '"\(.status) \(.time) \(.severity)"')"
eq "missing pointers leave fields unset" "null null" "$(echo "$B" | jq -r '"\(.service) \(.value)"')"
N0=$(count mp)
r=$(post /hook/mapped '{"node":{"name":"a"},"rule":{"name":"r"},"level":"sorta"}' "${A[@]}")
contains "mapped unknown severity: 422 naming field and pointer" "severity (mapped from '/level')" "$r"
r=$(post /hook/mapped '[{"rule":{"name":"r"}},{"rule":{"name":"r"},"active":"maybe"}]' "${A[@]}")
contains "mapped bad status: 422 naming element, field and pointer" "events[1]: status (mapped from '/active')" "$r"
r=$(post /hook/mapped '{"rule":{"name":"r"},"metrics":[{"v":"lots"}]}' "${A[@]}")
contains "mapped non-numeric value: 422" "value (mapped from '/metrics/0/v')" "$r"
r=$(post /hook/mapped '{"rule":{"name":"r"},"ts":"noon"}' "${A[@]}")
contains "mapped bad time: 422 with the pointer" "(mapped from '/ts')" "$r"
r=$(post /hook/mapped '{"rule":{"name":{"x":1}}}' "${A[@]}")
contains "mapped object for a text field: 422" "check (mapped from '/rule/name'): expected a string" "$r"
eq "rejected mapped posts stored nothing" "$N0" "$(count mp)"

# ---- auth -----------------------------------------------------------------
E='{"check":"auth","message":"m"}'
r=$(post /hook/bearer "$E" -H "Authorization: Bearer $HOOKTOK")
eq "bearer: the input's token is accepted" 202 "${r%% *}"
r=$(post /hook/bearer "$E" -H "Authorization: bearer $HOOKTOK")
eq "bearer: the scheme is case-insensitive" 202 "${r%% *}"
r=$(post /hook/bearer "$E" "${A[@]}")
eq "bearer: the API's operator token is not this input's" 401 "${r%% *}"
r=$(post /hook/bearer "$E" -H "Authorization: Bearer ${HOOKTOK}x")
eq "bearer: a longer token is 401" 401 "${r%% *}"
r=$(post /hook/bearer "$E")
eq "bearer: no token is 401" 401 "${r%% *}"
contains "bearer: 401 says what is missing" "missing 'Authorization: Bearer TOKEN'" "$r"
h=$(curl -s -D - -o /dev/null -XPOST -H 'Content-Type: application/json' -d "$E" "$URL/hook/bearer")
contains "bearer: 401 carries WWW-Authenticate" 'WWW-Authenticate: Bearer realm="reflex"' "$h"
eq "bearer: only the good requests were stored" 2 "$(count ab)"

r=$(post /hook/basic "$E" -u 'nagios:s3cret:pw')
eq "basic: right user and password (with a colon) are accepted" 202 "${r%% *}"
r=$(post /hook/basic "$E" -u 'nagios:s3cret')
eq "basic: wrong password is 401" 401 "${r%% *}"
r=$(post /hook/basic "$E" -u 'nagio:s3cret:pw')
eq "basic: wrong user is 401" 401 "${r%% *}"
r=$(post /hook/basic "$E" -H 'Authorization: Basic !!!notbase64')
eq "basic: malformed base64 is 401" 401 "${r%% *}"
r=$(post /hook/basic "$E" -H "Authorization: Basic $(printf 'nagios:s3cret:pw' | base64 | tr -d '=')")
eq "basic: unpadded base64 is accepted" 202 "${r%% *}"
r=$(post /hook/basic "$E" "${A[@]}")
eq "basic: a bearer token is 401" 401 "${r%% *}"
eq "basic: only the good requests were stored" 2 "$(count bb)"
h=$(curl -s -D - -o /dev/null -XPOST -H 'Content-Type: application/json' -d "$E" "$URL/hook/basic")
contains "basic: 401 carries the Basic challenge" 'WWW-Authenticate: Basic realm="reflex"' "$h"

sig() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$HMACKEY" | awk '{print $NF}'; }
S=$(sig "$E")
r=$(post /hook/hmac "$E" -H "X-Reflex-Signature: $S")
eq "hmac: a correct signature is accepted" 202 "${r%% *}"
r=$(post /hook/hmac "$E" -H "X-Reflex-Signature: sha256=$(echo "$S" | tr a-f A-F)")
eq "hmac: sha256= prefix and uppercase hex are accepted" 202 "${r%% *}"
r=$(post /hook/hmac "$E " -H "X-Reflex-Signature: $S")
eq "hmac: a changed body is 401" 401 "${r%% *}"
contains "hmac: 401 says the signature does not match" "does not match the body" "$r"
r=$(post /hook/hmac "$E" -H "X-Reflex-Signature: ${S%?}")
eq "hmac: a truncated signature is 401" 401 "${r%% *}"
r=$(post /hook/hmac "$E")
eq "hmac: no signature is 401" 401 "${r%% *}"
contains "hmac: 401 names the header" "X-Reflex-Signature" "$r"
h=$(curl -s -D - -o /dev/null -XPOST -H 'Content-Type: application/json' -d "$E" "$URL/hook/hmac")
check "hmac: 401 carries no challenge (hmac has no standard one)" test -z "$(echo "$h" | grep -i '^WWW-Authenticate')"
r=$(post /hook/hmac "{bad json" -H "X-Reflex-Signature: $S")
eq "hmac: auth is checked before the body is parsed" 401 "${r%% *}"
r=$(post /hook/hmac-gh "$E" -H "X-Hub-Signature-256: sha256=$S")
eq "hmac: a configured header (GitHub style) works" 202 "${r%% *}"
eq "hmac: only the good requests were stored" 2 "$(count hb)"

stop_reflexd || true

# ---- init refuses incomplete auth ----------------------------------------
refuse() { # DESCRIPTION AUTH_YAML EXPECTED_MESSAGE
	cat >"$TMP/bad.yaml" <<YAML
agent:
  name: it-bad-auth
  data_dir: $TMP/var-bad
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
# the decoders are under test, with like events counted: no dedup
pipeline: { noise: { enabled: false } }
inputs:
  - { name: h, plugin: webhook, path: /hook/x, auth: $2 }
YAML
	local out rc=0
	"$REFLEXD" --check-config "$TMP/bad.yaml" >/dev/null 2>&1
	out=$(timeout 10 "$REFLEXD" -c "$TMP/bad.yaml" 2>&1) || rc=$?
	check "$1: reflexd exits non-zero" test "$rc" -ne 0
	contains "$1: the message says why" "$3" "$out"
}
refuse "bearer without token" "{ type: bearer }" "auth: type bearer needs 'token'"
refuse "basic without password" "{ type: basic, username: u }" "auth: type basic needs both 'username' and 'password'"
refuse "hmac without secret" "{ type: hmac }" "auth: type hmac needs 'secret'"
cat >"$TMP/bad.yaml" <<YAML
agent: { name: it-bad-map, data_dir: $TMP/var-bad, api: { listen: 127.0.0.1:$PORT } }
store: { plugin: sqlite, path: reflex.db }
# the decoders are under test, with like events counted: no dedup
pipeline: { noise: { enabled: false } }
inputs:
  - { name: h, plugin: webhook, path: /hook/x, mapping: { hots: /a } }
YAML
out=$(timeout 10 "$REFLEXD" -c "$TMP/bad.yaml" 2>&1); rc=$?
check "unknown mapping field: reflexd exits non-zero" test "$rc" -ne 0
contains "unknown mapping field is named" "mapping.hots: unknown event field" "$out"
cat >"$TMP/bad.yaml" <<YAML
agent: { name: it-bad-map, data_dir: $TMP/var-bad, api: { listen: 127.0.0.1:$PORT } }
store: { plugin: sqlite, path: reflex.db }
# the decoders are under test, with like events counted: no dedup
pipeline: { noise: { enabled: false } }
inputs:
  - { name: h, plugin: webhook, path: /hook/x, format: nagios, severity_map: { UNKNOWN: bad } }
YAML
out=$(timeout 10 "$REFLEXD" -c "$TMP/bad.yaml" 2>&1); rc=$?
contains "a severity_map target that is no severity is refused" "severity_map.UNKNOWN: 'bad' is not a reflex severity" "$out"

finish
