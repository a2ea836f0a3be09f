#!/bin/bash
# The nagios output inside a running reflexd, against a real Nagios 4
# (Debian package nagios4-core) with an external command file: while
# Nagios is not running the FIFO has no reader and deliveries wait
# (RETRY); once it runs, firing, warning and resolved events become
# passive service check results (status.dat current_state 2, 1, 0 with the
# message as plugin output), and host results work too.
. "$(dirname "$0")/lib.sh"
NAGIOS_PID=""
stop_nagios() {
	[ -f "$TMP/ng/var/nagios.lock" ] && NAGIOS_PID=$(cat "$TMP/ng/var/nagios.lock" 2>/dev/null)
	[ -n "$NAGIOS_PID" ] && kill "$NAGIOS_PID" 2>/dev/null
	NAGIOS_PID=""
}
trap 'stop_nagios; cleanup' EXIT
export REFLEX_PLUGIN_PATH="$BUILDDIR/plugins/outputs/nagios/.libs${REFLEX_PLUGIN_PATH:+:$REFLEX_PLUGIN_PATH}"
NAGIOS=$(command -v nagios4 || echo /usr/sbin/nagios4)
if [ ! -x "$NAGIOS" ]; then
	echo "nagios4 is not installed (apt-get install nagios4-core)"
	exit 1
fi

NG=$TMP/ng
mkdir -p "$NG/var" "$NG/spool" "$NG/tmp"
cat >"$NG/nagios.cfg" <<CFG
log_file=$NG/var/nagios.log
cfg_file=$NG/objects.cfg
status_file=$NG/var/status.dat
status_update_interval=1
object_cache_file=$NG/var/objects.cache
precached_object_file=$NG/var/objects.precache
resource_file=$NG/resource.cfg
temp_file=$NG/var/nagios.tmp
temp_path=$NG/tmp
lock_file=$NG/var/nagios.lock
state_retention_file=$NG/var/retention.dat
retain_state_information=0
check_result_path=$NG/spool
check_result_reaper_frequency=1
command_file=$NG/var/nagios.cmd
query_socket=$NG/var/nagios.qh
check_external_commands=1
nagios_user=$(id -un)
nagios_group=$(id -gn)
accept_passive_service_checks=1
accept_passive_host_checks=1
passive_host_checks_are_soft=0
enable_notifications=0
execute_service_checks=0
execute_host_checks=0
log_passive_checks=1
CFG
: >"$NG/resource.cfg"
cat >"$NG/objects.cfg" <<'CFG'
define timeperiod {
	timeperiod_name always
	alias always
	sunday 00:00-24:00
	monday 00:00-24:00
	tuesday 00:00-24:00
	wednesday 00:00-24:00
	thursday 00:00-24:00
	friday 00:00-24:00
	saturday 00:00-24:00
}
define command {
	command_name check_passive
	command_line /bin/true
}
define contact {
	contact_name nobody
	host_notifications_enabled 0
	service_notifications_enabled 0
	host_notification_period always
	service_notification_period always
	host_notification_options n
	service_notification_options n
	host_notification_commands check_passive
	service_notification_commands check_passive
}
define host {
	host_name db1
	address 127.0.0.1
	check_command check_passive
	max_check_attempts 1
	check_period always
	active_checks_enabled 0
	passive_checks_enabled 1
	contacts nobody
	notification_period always
}
define host {
	host_name edge7
	address 127.0.0.1
	check_command check_passive
	max_check_attempts 1
	check_period always
	active_checks_enabled 0
	passive_checks_enabled 1
	contacts nobody
	notification_period always
}
define service {
	host_name db1
	service_description disk
	check_command check_passive
	max_check_attempts 1
	check_interval 5
	retry_interval 1
	check_period always
	active_checks_enabled 0
	passive_checks_enabled 1
	contacts nobody
	notification_period always
}
CFG
check "nagios4 -v accepts the test configuration" sh -c "'$NAGIOS' -v '$NG/nagios.cfg' >'$TMP/nagios-v.log' 2>&1"

cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  api: { listen: 127.0.0.1:$PORT }
store: { plugin: sqlite, path: reflex.db }
pipeline: { noise: { enabled: false } } # every state change reaches Nagios
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: nagios
    plugin: nagios
    command_file: $NG/var/nagios.cmd
    match: 'labels.route != "host"'
    delivery: { initial_backoff: 200ms, max_backoff: 500ms, max_attempts: 100 }
  - name: nagios-hosts
    plugin: nagios
    command_file: $NG/var/nagios.cmd
    mode: host
    output: '{{check}}: {{message}}'
    match: 'labels.route == "host"'
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1

send() { post /api/v1/events/webhook "$1" | cut -d' ' -f2- | jq -r '.ids[0]'; }
ev() { # HOST CHECK STATUS SEVERITY MESSAGE [ROUTE]
	jq -cn --arg h "$1" --arg c "$2" --arg s "$3" --arg v "$4" --arg m "$5" --arg r "${6:-svc}" \
		'{host:$h, check:$c, status:$s, severity:$v, message:$m, labels:{route:$r}}'
}
# svc_field HOST SERVICE FIELD: a field of the servicestatus block in status.dat
svc_field() {
	awk -v h="$1" -v s="$2" -v f="$3" '
		/^servicestatus \{/ { inb = 1; hh = ""; ss = ""; delete kv; next }
		inb && /^\t}/ { if (hh == h && ss == s) print kv[f]; inb = 0; next }
		inb { line = $0; sub(/^\t/, "", line); k = line; sub(/=.*/, "", k); v = line; sub(/^[^=]*=/, "", v);
		      kv[k] = v; if (k == "host_name") hh = v; if (k == "service_description") ss = v }
	' "$NG/var/status.dat" 2>/dev/null
}
host_field() {
	awk -v h="$1" -v f="$2" '
		/^hoststatus \{/ { inb = 1; hh = ""; delete kv; next }
		inb && /^\t}/ { if (hh == h) print kv[f]; inb = 0; next }
		inb { line = $0; sub(/^\t/, "", line); k = line; sub(/=.*/, "", k); v = line; sub(/^[^=]*=/, "", v);
		      kv[k] = v; if (k == "host_name") hh = v }
	' "$NG/var/status.dat" 2>/dev/null
}
wait_state() { # HOST SERVICE STATE: up to 15 s
	local i
	for i in $(seq 1 150); do
		[ "$(svc_field "$1" "$2" current_state)" = "$3" ] &&
			[ "$(svc_field "$1" "$2" has_been_checked)" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

# --- Nagios not running: the FIFO does not exist / has no reader: RETRY
ID=$(send "$(ev db1 disk firing critical 'DISK CRITICAL - /var 97% used
/var: 97%; /home: 40%')")
pending() { get "/api/v1/deliveries?state=pending" | cut -d' ' -f2- | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error"; }
for i in $(seq 1 50); do [ -n "$(pending)" ] && break; sleep 0.1; done
contains "without Nagios the delivery waits (RETRY) and says why" "nagios.cmd" "$(pending)"
rm -f "$NG/var/nagios.cmd"
"$NAGIOS" -d "$NG/nagios.cfg" >"$TMP/nagios-d.log" 2>&1
for i in $(seq 1 100); do [ -p "$NG/var/nagios.cmd" ] && break; sleep 0.1; done
check "Nagios runs and made the command FIFO" test -p "$NG/var/nagios.cmd"

# --- the pending critical arrives once Nagios reads the FIFO
check "critical: status.dat shows current_state=2" wait_state db1 disk 2
eq "critical: the message is the plugin output" "DISK CRITICAL - /var 97% used" "$(svc_field db1 disk plugin_output)"
eq "critical: the rest is the long output" '/var: 97%; /home: 40%' "$(svc_field db1 disk long_plugin_output)"
check "Nagios logged the command line as written" \
	grep -q 'EXTERNAL COMMAND: PROCESS_SERVICE_CHECK_RESULT;db1;disk;2;DISK CRITICAL - /var 97% used\\n/var: 97%; /home: 40%$' "$NG/var/nagios.log"
check "... and a CRITICAL service alert" grep -q "SERVICE ALERT: db1;disk;CRITICAL;HARD;1;DISK CRITICAL" "$NG/var/nagios.log"
before=$(svc_field db1 disk last_check)

# --- warning, then resolved
send "$(ev db1 disk firing warning 'DISK WARNING - /var 85% used')" >/dev/null
check "warning: current_state=1" wait_state db1 disk 1
eq "warning: plugin output" "DISK WARNING - /var 85% used" "$(svc_field db1 disk plugin_output)"
send "$(ev db1 disk resolved info 'DISK OK - /var 60% used')" >/dev/null
check "resolved: current_state=0" wait_state db1 disk 0
eq "resolved: plugin output" "DISK OK - /var 60% used" "$(svc_field db1 disk plugin_output)"

# --- a host check result
send "$(ev edge7 ping firing critical 'no answer' host)" >/dev/null
for i in $(seq 1 150); do [ "$(host_field edge7 current_state)" = 1 ] && break; sleep 0.1; done
eq "host: a critical host result is DOWN (1)" 1 "$(host_field edge7 current_state)"
eq "host: plugin output from the template" "ping: no answer" "$(host_field edge7 plugin_output)"

# --- Nagios stops: the next delivery waits again, then arrives after a restart
stop_nagios
sleep 1
ID=$(send "$(ev db1 disk firing critical 'DISK CRITICAL - again')")
for i in $(seq 1 50); do [ -n "$(pending)" ] && break; sleep 0.1; done
contains "Nagios stopped: ENXIO (no reader) is a retry" "has no reader: is Nagios running?" "$(pending)"
rm -f "$NG/var/nagios.cmd"
"$NAGIOS" -d "$NG/nagios.cfg" >>"$TMP/nagios-d.log" 2>&1
check "after the restart the result arrives" wait_state db1 disk 2
eq "... with its output" "DISK CRITICAL - again" "$(svc_field db1 disk plugin_output)"

eq "nothing dead" 0 "$(get "/api/v1/deliveries?state=dead" | cut -d' ' -f2- | jq '.deliveries | length')"
contains "results counted" 'reflex_output_nagios_sent_total{instance="nagios"} 4' "$(get /metrics)"
check "SIGTERM exits 0" stop_reflexd
stop_nagios
finish
