#!/bin/bash
# The remedy ITSM plugin inside a running reflexd, against a stateful
# stand-in for the AR System REST API (tests/receivers/remedy_receiver.py)
# that checks auth and request formats as BMC documents them: a JWT from
# /api/jwt/login (form-encoded, special characters in the password), sent
# as AR-JWT; a firing event creates an incident through
# HPD:IncidentInterface_Create with Impact/Urgency from the severity,
# updates add work info, the resolution sets Resolved with a resolution
# and status reason, the next firing creates a new incident; an expired
# token is renewed once; 429/5xx/resets retried; a refused field (400) and
# a refused login (401) are dead letters with AR System's message; no
# secret in the log.
#
# Until the core wires `itsm:` instances, the plugin can be built as an
# output (-DRFX_TEST_AS_OUTPUT); the script uses whichever section the
# installed plugin's kind needs.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/receivers/receiver.sh"
trap 'stop_receiver; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/itsm/remedy/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"
SECTION=${REFLEX_ITSM_SECTION:-}
if [ -z "$SECTION" ]; then
	if "$REFLEXD" --describe itsm/remedy >/dev/null 2>&1; then SECTION=itsm; else SECTION=outputs; fi
fi

RUSER='Remedy Integration'
PASS='p@ss&w=rd %SeCrEt+1'
start_receiver remedy "$SRCDIR/tests/receivers/remedy_receiver.py" --user "$RUSER" --password "$PASS" || exit 1
RM="http://127.0.0.1:$RX_PORT"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
pipeline:
  noise: { enabled: false } # every update of a fingerprint reaches the plugin
inputs:
  - { name: hook, plugin: webhook }
$SECTION:
  - name: remedy
    plugin: remedy
    url: $RM
    user: $RUSER
    password: "$PASS"
    first_name: Allen
    last_name: Allbrook
    fields: { Company: Calbro Services, Assigned Group: Service Desk }
    timeout: 1s
    match: 'labels.route == "ok"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
  - name: badlogin
    plugin: remedy
    url: $RM/
    user: $RUSER
    password: wrong-password-XyZ
    match: 'labels.route == "badlogin"'
    delivery: { initial_backoff: 200ms, max_backoff: 400ms, max_attempts: 4 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" >/dev/null; }
ev() { # HOST CHECK STATUS MESSAGE ROUTE SEVERITY FINGERPRINT
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg m "$4" --arg r "$5" --arg v "$6" --arg f "$7" \
		'{host:$h, check:$c, status:$s, severity:$v, message:$m, labels:{route:$r}, fingerprint:$f}'
}
state() { curl -sf "$RM/_state"; }
inc() { state | jq -c ".incidents[\"$1\"]"; }
FROMRX='(.headers["user-agent"] // "" | startswith("reflex"))'
LOGIN="$FROMRX and .path == \"/api/jwt/login\""
CREATE="$FROMRX and .path == \"/api/arsys/v1/entry/HPD:IncidentInterface_Create\""
WORKLOG="$FROMRX and .path == \"/api/arsys/v1/entry/HPD:WorkLog\""
PUTS="$FROMRX and .method == \"PUT\""
wait_for() { local t=$1 i; shift; for i in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
status_is() { [ "$(inc "$1" | jq -r .Status)" = "$2" ]; }
INC1=INC000000000001

# --- login, then a firing event creates an incident
send "$(ev db1 tablespace firing "USERS 97% full" ok critical fp-r1)"
check "the firing event creates an incident" rx_wait 1 "$CREATE"
req=$(rx_last "$LOGIN")
eq "login is form-encoded" application/x-www-form-urlencoded "$(jq -r '.headers["content-type"]' <<<"$req")"
eq "the login violates nothing (user and password decoded as sent)" "[] 200" "$(jq -c .violations <<<"$req") $(jq -r .status <<<"$req")"
req=$(rx_last "$CREATE")
check "the token is sent as AR-JWT" test "$(jq -r '.headers.authorization | startswith("AR-JWT eyJ")' <<<"$req")" = true
eq "the create asks for the Incident Number" "values(Incident Number,Request ID)" "$(jq -r '.query.fields[0]' <<<"$req")"
eq "no documented rule violated" "[]" "$(jq -c .violations <<<"$req")"
eq "z1D_Action CREATE" CREATE "$(jq -r '.json.values.z1D_Action' <<<"$req")"
eq "critical: Impact 2, Urgency 2" "2-Significant/Large|2-High" "$(jq -r '.json.values | "\(.Impact)|\(.Urgency)"' <<<"$req")"
eq "status, source, service type" "Assigned|Systems Management|Infrastructure Event" \
	"$(jq -r '.json.values | "\(.Status)|\(.["Reported Source"])|\(.Service_Type)"' <<<"$req")"
eq "customer and extra fields" "Allen Allbrook|Calbro Services|Service Desk" \
	"$(jq -r '.json.values | "\(.First_Name) \(.Last_Name)|\(.Company)|\(.["Assigned Group"])"' <<<"$req")"
eq "Description (the summary)" "[critical] tablespace on db1" "$(jq -r '.json.values.Description' <<<"$req")"
contains "Detailed_Decription carries the message" "USERS 97% full" "$(jq -r '.json.values.Detailed_Decription' <<<"$req")"
check "the incident exists" wait_for 5 status_is $INC1 Assigned

# --- an update adds work info
send "$(ev db1 tablespace firing "USERS 99% full" ok critical fp-r1)"
check "the update adds work info" rx_wait 1 "$WORKLOG"
req=$(rx_last "$WORKLOG")
eq "for the incident" $INC1 "$(jq -r '.json.values["Incident Number"]' <<<"$req")"
eq "no violation" "[]" "$(jq -c .violations <<<"$req")"
g=$(jq -c "select($FROMRX and .method == \"GET\")" "$RX_LOG" | tail -1)
eq "the incident is read back by Incident Number first" "'Incident Number'=\"$INC1\"" "$(jq -r '.query.q[0]' <<<"$g")"
check "the work info is kept" wait_for 5 sh -c "curl -sf '$RM/_state' | jq -e '.incidents[\"$INC1\"].worklog[0] | contains(\"USERS 99% full\")' >/dev/null"
eq "one login so far" 1 "$(state | jq .logins)"

# --- the resolution sets it Resolved
send "$(ev db1 tablespace resolved "USERS 60%" ok critical fp-r1)"
check "the resolution PUTs the incident" rx_wait 1 "$PUTS"
req=$(rx_last "$PUTS")
eq "PUT to the HPD:IncidentInterface entry of its Request ID" "/api/arsys/v1/entry/HPD:IncidentInterface/$INC1|$INC1" "$(jq -r .path <<<"$req")"
eq "Status and Status_Reason" "Resolved|No Further Action Required" "$(jq -r '.json.values | "\(.Status)|\(.Status_Reason)"' <<<"$req")"
contains "a Resolution" "Resolved by reflex" "$(jq -r '.json.values.Resolution' <<<"$req")"
check "the incident is Resolved" wait_for 5 status_is $INC1 Resolved

# --- the next firing opens a new incident; emergency maps to 1/1
send "$(ev db1 tablespace firing "full again" ok emergency fp-r1)"
check "a new firing creates a new incident" rx_wait 2 "$CREATE"
eq "emergency: Impact 1, Urgency 1" "1-Extensive/Widespread|1-Critical" "$(rx_last "$CREATE" | jq -r '.json.values | "\(.Impact)|\(.Urgency)"')"
check "INC000000000002 exists" wait_for 5 status_is INC000000000002 Assigned

# --- an expired token: one new login, the request goes through
curl -sf -XPOST "$RM/_control/expire" >/dev/null
nw=$(rx_count "$WORKLOG")
send "$(ev db1 tablespace firing "still full" ok emergency fp-r1)"
check "after the token expired the work info still arrives" rx_wait $((nw + 1)) "$WORKLOG"
eq "after one new login" 2 "$(state | jq .logins)"
eq "one request was refused with 401 first" 1 "$(rx_count "$FROMRX and .status == 401")"

# --- transient failures: retried, then one incident
for case in \
	'HTTP 429 with Retry-After|[{"status": 429, "headers": {"Retry-After": "1"}, "ctype": "application/json", "body": "[{\"messageType\":\"ERROR\",\"messageText\":\"Too many requests\",\"messageNumber\":9093}]"}]' \
	'HTTP 500|[{"status": 500, "ctype": "application/json", "body": "[{\"messageType\":\"ERROR\",\"messageText\":\"Internal error\",\"messageNumber\":552}]"}]' \
	'a reset connection|[{"reset": true}]' \
	'an answer slower than timeout|[{"delay": 2.5}]'; do
	what=${case%%|*}
	h="h$RANDOM$RANDOM"
	n=$(state | jq '.incidents | length')
	rx_script "${case#*|}"
	send "$(ev "$h" transient firing "x" ok error "fp-$h")"
	check "$what: retried, then the incident is created" rx_wait 1 "$CREATE and .json.values.Description == \"[error] transient on $h\" and .action == null"
	sleep 0.3
	eq "$what: exactly one incident" 1 "$(state | jq "[.incidents[] | select(.Description == \"[error] transient on $h\")] | length")"
done
check "the 429 is logged with AR System's message" grep -q "create incident: HTTP 429: Too many requests (ARERR 9093) (will retry)" "$TMP/reflexd.log"

# --- a refused value and a refused login: dead letters
rx_script '[{"status": 400, "ctype": "application/json", "body": "[{\"messageType\":\"ERROR\",\"messageText\":\"Required field cannot be blank.\",\"messageAppendedText\":\"HPD:Help Desk : Product Categorization Tier 1\",\"messageNumber\":326}]"}]'
send "$(ev bad1 disk firing "x" ok critical fp-bad1)"
check "a 400 is a dead letter with AR System's message" wait_for 10 sh -c \
	"curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error == \"create incident: HTTP 400: Required field cannot be blank.: HPD:Help Desk : Product Categorization Tier 1 (ARERR 326)\")] | length == 1' >/dev/null"
send "$(ev bad2 disk firing "x" badlogin critical fp-bad2)"
check "a refused login is a dead letter" wait_for 10 sh -c \
	"curl -s '$URL/api/v1/deliveries?state=dead' | jq -e '[.deliveries[] | select(.last_error | startswith(\"login: HTTP 401: Authentication failed\"))] | length == 1' >/dev/null"
contains "saying what to check" "(check user and password)" "$(get '/api/v1/deliveries?state=dead')"

# --- counted, no violation, no secret in the log
m=$(get /metrics)
kindp=$([ "$SECTION" = itsm ] && echo itsm || echo output)
contains "created incidents counted" "reflex_${kindp}_remedy_created_total{instance=\"remedy\"}" "$m"
contains "resolved incidents counted" "reflex_${kindp}_remedy_resolved_total{instance=\"remedy\"} 1" "$m"
contains "logins counted" "reflex_${kindp}_remedy_logins_total{instance=\"remedy\"} 2" "$m"
eq "no request from reflex violated the documented rules" 0 "$(rx_count "$FROMRX and (.violations | length) > 0")"
check "the password never reaches the log" bash -c "! grep -qF -- '$PASS' '$TMP/reflexd.log'"
check "the wrong password never reaches the log" bash -c "! grep -q -- 'wrong-password-XyZ' '$TMP/reflexd.log'"
check "no token reaches the log" bash -c "! grep -q 'eyJ' '$TMP/reflexd.log'"
check "SIGTERM exits 0" stop_reflexd
finish
