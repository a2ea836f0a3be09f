#!/bin/bash
# The PostgreSQL store against a real, throwaway PostgreSQL cluster (initdb
# and pg_ctl on a free port, unix socket in the temporary directory; run as
# user postgres when we are root):
#  1. the store contract suite (tests/unit/test_store) with the postgres
#     plugin, one schema per test;
#  2. reflexd end to end: events posted to a webhook input are in the
#     database (psql) and readable through the API;
#  3. faults: PostgreSQL is stopped while senders post and started again;
#     with the spool every acknowledged event ends up stored exactly once;
#     without it, posts are refused promptly instead of hanging; reflexd
#     killed with SIGKILL during a load (PostgreSQL up, and again with
#     acknowledged batches waiting in the spool): after a restart every
#     acknowledged id is stored exactly once (a row, or the raw row of a
#     repeat folded into one); a full spool refuses posts (503) and
#     loses nothing it acknowledged;
#  4. the outbox with an output whose answers the test decides
#     (tests/plugins/output_flaky.c): deliveries with the outbox ids, the
#     deliveries API, dead letters and replay, a RETRY'd delivery surviving
#     kill -9 of reflexd, and batches with deliveries refused (not spooled)
#     while PostgreSQL is down;
#  5. retention: events received longer ago than `retention` are deleted in
#     transactions of retention_batch, recent ones (whatever their `time`)
#     are kept.
# Run by hand (after `make check` built test_store and output_flaky):
#   REFLEX_BUILDDIR=/tmp/b REFLEX_PLUGIN_PATH=<dirs of the input plugins> \
#     tests/integration/test_store_postgres.sh
# REFLEX_PG_PLUGIN, REFLEX_TEST_STORE and REFLEX_FLAKY_PLUGIN override
# the store plugin, the contract suite and the test output.
# Fails when no PostgreSQL server is installed (scripts/deps.sh --test
# installs it): a skipped test must not pass for a tested one.
. "$(dirname "$0")/lib.sh"

PGB=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGB" ] || [ ! -x "$PGB/initdb" ]; then
	echo "FAIL: no PostgreSQL server (initdb): apt-get install postgresql (scripts/deps.sh --test)"
	exit 1
fi
PLUGIN=${REFLEX_PG_PLUGIN:-$BUILDDIR/plugins/stores/postgres/.libs/store_postgres.so}
TEST_STORE=${REFLEX_TEST_STORE:-$BUILDDIR/tests/unit/test_store}
FLAKY=${REFLEX_FLAKY_PLUGIN:-$BUILDDIR/tests/plugins/.libs/output_flaky.so}
[ -f "$PLUGIN" ] || { echo "no $PLUGIN: build the postgres store first"; exit 1; }
[ -f "$FLAKY" ] || { echo "no $FLAKY: build the test output first (make check)"; exit 1; }

# The server refuses to run as root: as root, run it as postgres.
as_pg() {
	if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else sh -c "$*"; fi
}
PGD=$TMP/pg
mkdir -p "$PGD"
chmod 755 "$TMP"
[ "$(id -u)" = 0 ] && chown postgres "$PGD"
PGPORT=$(free_port)
PSQL="psql -X -q -At -h 127.0.0.1 -p $PGPORT -U postgres -d reflex"

pg_start() { as_pg "$PGB/pg_ctl -D $PGD/data -w -l $PGD/pg.log -o '-p $PGPORT -k $PGD -c listen_addresses=127.0.0.1' start" >/dev/null; }
pg_stop() { as_pg "$PGB/pg_ctl -D $PGD/data -w -m fast stop" >/dev/null 2>&1; }
stop_all() {
	[ -f "$PGD/data/postmaster.pid" ] && pg_stop
	cleanup
}
trap stop_all EXIT

as_pg "$PGB/initdb -D $PGD/data -A trust -U postgres -E UTF8 --locale=C" >"$PGD/initdb.log" 2>&1 ||
	{ cat "$PGD/initdb.log"; exit 1; }
pg_start || { cat "$PGD/pg.log"; exit 1; }
psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c 'create database reflex' ||
	exit 1
CONNINFO="host=127.0.0.1 port=$PGPORT dbname=reflex user=postgres"

# ---- 1. the contract suite ---------------------------------------------------
if [ -x "$TEST_STORE" ]; then
	REFLEX_STORE_PLUGIN=$PLUGIN \
		REFLEX_STORE_CONFIG=$(printf 'conninfo: "%s"\nschema: "%%s"\n' "$CONNINFO") \
		"$TEST_STORE" >"$TMP/test_store.log" 2>&1
	rc=$?
	grep -E "^ +(suites|tests|asserts) " "$TMP/test_store.log"
	[ $rc -ne 0 ] && grep -B2 -A3 "FAILED\|failed" "$TMP/test_store.log" | head -40
	eq "the store contract suite passes against PostgreSQL" 0 "$rc"
	eq "migrations are recorded: schema version 3, each applied once" "3|3" \
		"$($PSQL -c 'select max(version), count(*) from t14_reopen.schema_migrations')"
	# the suite cannot see raw_events through the store operations
	FOLD=$($PSQL -c "select nspname from pg_namespace where nspname like 't%\_fold\_batch'")
	eq "a folded batch keeps every raw payload: one row, three raw rows, two folded ($FOLD)" "1|3|2" \
		"$($PSQL -c "select (select count(*) from $FOLD.processed_events), (select count(*) from $FOLD.raw_events), (select count(folded_into) from $FOLD.raw_events)")"
	FOLD=$($PSQL -c "select nspname from pg_namespace where nspname like 't%\_fold\_read'")
	eq "a repeat without a payload keeps the event as JSON in raw_events ($FOLD)" "1|t" \
		"$($PSQL -c "select count(*), bool_and(payload::jsonb ? 'host') from $FOLD.raw_events where folded_into is not null")"
else
	bad "no test_store binary at $TEST_STORE"
fi

# ---- 2. reflexd end to end -------------------------------------------------------
write_config() { # SCHEMA SPOOL_MAX
	cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  plugin_dirs: [ "$(dirname "$PLUGIN")" ]
  api: { listen: 127.0.0.1:$PORT }
store:
  plugin: postgres
  conninfo: "$CONNINFO"
  schema: $1
  statement_timeout: 2s
  connect_timeout: 2s
  spool_max: $2
inputs:
  - { name: hook, plugin: webhook }
YAML
}
write_config e2e 64MiB
start_reflexd "$TMP/reflex.yaml" || exit 1
r=$(post /api/v1/events/webhook '[{"host":"e2e-host","check":"disk","severity":"critical","message":"disk full","labels":{"team":"db","env":"prod"}},{"host":"e2e-host","check":"load","message":"load high"}]')
eq "the webhook acknowledges two events" 202 "${r%% *}"
id=$(echo "${r#* }" | jq -r '.ids[0]')
eq "both events are in processed_events" 2 \
	"$($PSQL -c "select count(*) from e2e.processed_events where host = 'e2e-host'")"
eq "fields and labels are stored as columns" "disk|2|db" \
	"$($PSQL -c "select check_name, severity, labels->>'team' from e2e.processed_events where id = '$id'")"
eq "the raw payload is in raw_events" 1 \
	"$($PSQL -c "select count(*) from e2e.raw_events where id = '$id'")"
r=$(get "/api/v1/events/$id")
eq "the API reads the event back from PostgreSQL" 200 "${r%% *}"
contains "the API's copy has the label" '"team"' "$r"
# repeats (same host and check) are folded into the first event's row
r=$(post /api/v1/events/webhook '[{"host":"e2e-rep","check":"c","message":"first","value":1},{"host":"e2e-rep","check":"c","message":"second","value":2},{"host":"e2e-rep","check":"c","message":"third"}]')
eq "three repeats are acknowledged" 202 "${r%% *}"
ids=$(echo "${r#* }" | jq -r '.ids | join(",")')
first=${ids%%,*}
eq "they are one row: count 3, the first message, the last value" "$first|3|first|2" \
	"$($PSQL -c "select id, count, message, value from e2e.processed_events where host = 'e2e-rep'")"
eq "with the raw payload of each" 3 \
	"$($PSQL -c "select count(*) from e2e.raw_events where id in ('${ids//,/\',\'}')")"
r=$(get "/api/v1/events/$first")
eq "the API shows the count" 3 "$(echo "${r#* }" | jq -r .count)"
check "and when the last repeat came" test "$(echo "${r#* }" | jq -r .last_seen)" != null
r=$(get "/api/v1/events/${ids##*,}")
eq "a repeat's own id reads as its record" "$first 3" "$(echo "${r#* }" | jq -r '"\(.id) \(.count)"')"
eq "schema e2e has the seed's tables and the outbox" 13 \
	"$($PSQL -c "select count(*) from information_schema.tables where table_schema = 'e2e' and table_type = 'BASE TABLE'")"
check "SIGTERM stops cleanly" stop_reflexd

# ---- 3. faults -----------------------------------------------------------------------
# wait_for SECONDS COMMAND...: until the command succeeds
wait_for() {
	local t=$1 i
	shift
	for i in $(seq 1 $((t * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
sender() {
	local n=$1 i=0 out code
	while [ -e "$TMP/go" ]; do
		i=$((i + 1))
		out=$(curl -s -m 20 -w '\n%{http_code}' -XPOST -H 'Content-Type: application/json' \
			--data-binary "[{\"host\":\"f$n\",\"check\":\"c$i\",\"message\":\"a\"},{\"host\":\"f$n\",\"check\":\"c$i\",\"message\":\"b\"}]" \
			"$URL/api/v1/events/webhook" 2>/dev/null) || continue
		code=${out##*$'\n'}
		echo "$code" >>"$TMP/codes.$n"
		[ "$code" = 202 ] && echo "${out%$'\n'*}" | jq -r '.ids[]' >>"$TMP/acked.$n"
	done
}

# start_senders N: N concurrent senders; stop_senders: ends them and sorts
# every acknowledged id into $TMP/acked
start_senders() {
	rm -f "$TMP"/acked.* "$TMP"/codes.*
	touch "$TMP/go"
	SENDERS=""
	for n in $(seq 1 "$1"); do
		sender "$n" &
		SENDERS="$SENDERS $!"
	done
}
stop_senders() {
	rm -f "$TMP/go"
	wait $SENDERS # not reflexd, which is a child too
	cat "$TMP"/acked.* 2>/dev/null | sort >"$TMP/acked"
}
acked_now() { cat "$TMP"/acked.* 2>/dev/null | wc -l; }
# exactly_once SCHEMA WHAT: every id in $TMP/acked is stored exactly once,
# as a row of processed_events or as the raw row of a repeat folded into
# one (both tables have unique ids; an id that is both is stored twice).
# Waits up to 30 s for the spool to be written through.
exactly_once() {
	local s=$1 i
	for i in $(seq 1 150); do
		$PSQL -c "select id from $s.processed_events union all select id from $s.raw_events where folded_into is not null" \
			2>/dev/null | sort >"$TMP/stored"
		[ -z "$(comm -23 "$TMP/acked" "$TMP/stored")" ] && break
		sleep 0.2
	done
	eq "$2: every acknowledged event is in PostgreSQL" 0 \
		"$(comm -23 "$TMP/acked" "$TMP/stored" | wc -l)"
	eq "$2: no event is both a row and a folded repeat" "" "$(uniq -d "$TMP/stored" | head -3)"
	eq "$2: every raw payload belongs to a stored event" 0 \
		"$($PSQL -c "select count(*) from $s.raw_events r where folded_into is null and not exists (select 1 from $s.processed_events p where p.id = r.id)")"
}

# 3a: with the spool, acknowledged events survive an outage, exactly once
write_config fault 64MiB
start_reflexd "$TMP/reflex.yaml" || exit 1
start_senders 3
sleep 2
pg_stop
acked_stop=$(acked_now)
sleep 3
acked_down=$(acked_now)
check "senders kept posting and got acknowledgements while PostgreSQL was down ($acked_stop before, $acked_down after 3 s down)" \
	test "$acked_down" -gt "$acked_stop"
pg_start || { cat "$PGD/pg.log"; exit 1; }
sleep 2
stop_senders
acked=$(wc -l <"$TMP/acked")
check "senders got acknowledgements across the outage ($acked events)" test "$acked" -gt 50
spooled=$(curl -s "$URL/metrics" | awk '/^reflex_store_postgres_spooled_events[{ ]/ {print int($NF)}')
check "batches were spooled while PostgreSQL was down (${spooled:-no metric} events)" \
	test "${spooled:-0}" -gt 0
# the drainer writes the spool through: wait until every acked id is there,
# as a row or as a repeat folded into one (its raw payload has its id)
for i in $(seq 1 100); do
	$PSQL -c "select id from fault.processed_events union select id from fault.raw_events" \
		2>/dev/null | sort >"$TMP/stored"
	[ -z "$(comm -23 "$TMP/acked" "$TMP/stored")" ] && break
	sleep 0.2
done
eq "every acknowledged event is in PostgreSQL" 0 "$(comm -23 "$TMP/acked" "$TMP/stored" | wc -l)"
eq "no event is stored twice" "" \
	"$($PSQL -c 'select id from fault.processed_events group by id having count(*) > 1')"
# each post is two events of one host and check: the second is a repeat
check "repeats were folded, not stored as rows ($($PSQL -c 'select count(*) from fault.processed_events where count = 2') rows with count 2)" \
	test "$($PSQL -c 'select count(*) from fault.processed_events where count = 2')" -gt 0
spooldir=$(find "$TMP/var" -type d -name pg_spool | head -1)
check "the spool directory exists ($spooldir)" test -n "$spooldir"
eq "the spool directory is empty again" 0 "$(ls "$spooldir" 2>/dev/null | grep -c copy)"
check "SIGTERM stops cleanly" stop_reflexd
echo "($acked_down events were acknowledged before PostgreSQL came back)"

# 3b: without the spool, a post during an outage is refused, not hung
write_config nospool 0
start_reflexd "$TMP/reflex.yaml" || exit 1
pg_stop
t0=$(date +%s)
r=$(post /api/v1/events/webhook '[{"host":"down","check":"c"}]' -m 60)
t1=$(date +%s)
check "a post while PostgreSQL is down is refused (got ${r%% *})" test "${r%% *}" != 202
check "the refusal comes within 30 s (took $((t1 - t0)) s)" test $((t1 - t0)) -le 30
pg_start || exit 1
sleep 1
r=$(post /api/v1/events/webhook '[{"host":"back","check":"c"}]')
eq "after PostgreSQL is back, posts are acknowledged again" 202 "${r%% *}"
eq "and stored" 1 "$($PSQL -c "select count(*) from nospool.processed_events where host = 'back'")"
check "SIGTERM stops cleanly" stop_reflexd

# 3c: kill -9 of reflexd during a load (PostgreSQL up)
write_config kill9 64MiB
start_reflexd "$TMP/reflex.yaml" || exit 1
start_senders 4
sleep 3
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
sleep 0.5
stop_senders
acked=$(wc -l <"$TMP/acked")
check "kill -9: the senders got acknowledgements before the kill ($acked events)" test "$acked" -gt 50
start_reflexd "$TMP/reflex.yaml" || exit 1
exactly_once kill9 "kill -9"
check "kill -9: repeats were folded ($($PSQL -c 'select count(*) from kill9.raw_events where folded_into is not null') folded)" \
	test "$($PSQL -c 'select count(*) from kill9.raw_events where folded_into is not null')" -gt 0
r=$(get "/api/v1/events/$(head -1 "$TMP/acked")")
eq "kill -9: an acknowledged event is readable through the API after the restart" 200 "${r%% *}"
check "SIGTERM stops cleanly" stop_reflexd

# 3d: kill -9 while acknowledged batches wait in the spool: PostgreSQL is
# stopped during the load, reflexd killed, PostgreSQL started, reflexd
# restarted; it writes the old spool files through first
write_config kill9spool 64MiB
start_reflexd "$TMP/reflex.yaml" || exit 1
start_senders 3
sleep 1
pg_stop
acked_stop=$(acked_now)
sleep 3
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
sleep 0.5
stop_senders
acked=$(wc -l <"$TMP/acked")
spooldir=$(find "$TMP/var" -type d -name pg_spool | head -1)
files=$(ls "$spooldir" 2>/dev/null | grep -c '\.copy$')
check "kill -9 while spooling: batches were acknowledged from the spool ($acked_stop acked before the stop, $acked in all, $files spool files left)" \
	test "$acked" -gt "$acked_stop" -a "$files" -gt 0
pg_start || { cat "$PGD/pg.log"; exit 1; }
start_reflexd "$TMP/reflex.yaml" || exit 1
exactly_once kill9spool "kill -9 while spooling"
check "kill -9 while spooling: the spool drains" \
	test "$(ls "$spooldir" 2>/dev/null | grep -c '\.copy$')" = 0
check "SIGTERM stops cleanly" stop_reflexd

# 3e: a full spool: posts are refused with 503 at the input, and what was
# acknowledged before is stored once PostgreSQL is back
write_config spoolfull 64KiB
start_reflexd "$TMP/reflex.yaml" || exit 1
pg_stop
rm -f "$TMP"/acked.*
posts=0 code=202 resp=""
while [ "$posts" -lt 500 ] && [ "$code" = 202 ]; do
	posts=$((posts + 1))
	body=$(for e in 1 2 3 4 5 6 7 8 9 10; do printf '{"host":"sf","check":"c%d-%d","message":"m"},' "$posts" "$e"; done)
	out=$(curl -s -m 60 -w '\n%{http_code}' -XPOST -H 'Content-Type: application/json' \
		--data-binary "[${body%,}]" "$URL/api/v1/events/webhook")
	code=${out##*$'\n'}
	resp=${out%$'\n'*}
	[ "$code" = 202 ] && echo "$resp" | jq -r '.ids[]' >>"$TMP/acked.1"
done
sort "$TMP/acked.1" >"$TMP/acked"
acked=$(wc -l <"$TMP/acked")
eq "spool full: after $((posts - 1)) acknowledged posts ($acked events) a post is refused with 503" 503 "$code"
eq "spool full: the refusal says the store cannot take events" "store_unavailable" \
	"$(echo "$resp" | jq -r .error.code)"
check "spool full: the log names the full spool and its bound" \
	grep -q "is full (spool_max 65536 bytes): batch of .* refused until PostgreSQL is back" "$TMP/reflexd.log"
spooldir=$(find "$TMP/var" -type d -name pg_spool | head -1)
used=$(cat "$spooldir"/*.copy 2>/dev/null | wc -c)
check "spool full: the spool holds at most spool_max ($used bytes)" test "$used" -le 65536 -a "$used" -gt 0
# (a smaller batch may still fit in what is left)
body=$(for e in 1 2 3 4 5 6 7 8 9 10; do printf '{"host":"sf","check":"late-%d","message":"m"},' "$e"; done)
r=$(post /api/v1/events/webhook "[${body%,}]" -m 60)
eq "spool full: a later post of the same size is refused too" 503 "${r%% *}"
pg_start || { cat "$PGD/pg.log"; exit 1; }
exactly_once spoolfull "spool full"
eq "spool full: no refused event was stored" 0 \
	"$($PSQL -c "select count(*) from spoolfull.processed_events where check_name like 'late-%' or check_name like 'c$posts-%'")"
check "spool full: posts are acknowledged again once it drained" wait_for 10 sh -c \
	"curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' --data-binary '[{\"host\":\"sf\",\"check\":\"after\"}]' '$URL/api/v1/events/webhook' | grep -q 202"
check "SIGTERM stops cleanly" stop_reflexd

# ---- 4. the outbox -------------------------------------------------------------------
OUT=$TMP/delivered
CTL=$TMP/control
echo ok >"$CTL"
cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  plugin_dirs: [ "$(dirname "$PLUGIN")", "$(dirname "$FLAKY")" ]
  api: { listen: 127.0.0.1:$PORT }
store:
  plugin: postgres
  conninfo: "$CONNINFO"
  schema: ob
  statement_timeout: 2s
  connect_timeout: 2s
inputs:
  - { name: hook, plugin: webhook }
outputs:
  - name: flaky
    plugin: flaky
    path: $OUT
    control: $CTL
    match: 'severity >= error'
    delivery: { max_attempts: 3, initial_backoff: 200ms, max_backoff: 400ms, breaker_failures: 0 }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
# send HOST [SEVERITY]: posts one event, prints its id
send() {
	post /api/v1/events/webhook "[{\"host\":\"$1\",\"check\":\"c\",\"severity\":\"${2:-critical}\"}]" |
		cut -d' ' -f2- | jq -r '.ids[0]'
}
delivered() { grep -c "\"event\":\"$1\"" "$OUT" 2>/dev/null || echo 0; }
outbox() { $PSQL -c "select $1 from ob.outbox where event_id = '$2'"; }

ID=$(send ob1)
check "a delivery reaches the output" wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
DID=$(grep "\"event\":\"$ID\"" "$OUT" | jq -r .delivery)
check "with a delivery id from the outbox ($DID)" test "$DID" -gt 0
check "the delivered entry leaves ob.outbox" wait_for 3 sh -c "[ -z \"\$($PSQL -c \"select id from ob.outbox where event_id = '$ID'\")\" ]"
r=$(get "/api/v1/deliveries/$DID")
eq "GET /api/v1/deliveries/ID of a delivered entry is 404" 404 "${r%% *}"
ID=$(send quiet info)
sleep 0.5
eq "an event no output matches has no outbox entry" "" "$(outbox id "$ID")"

# a dead letter, listed and replayed through the API
echo fail >"$CTL"
ID=$(send ob-dead)
check "a refused delivery is dead in ob.outbox (state 1)" wait_for 5 sh -c "[ \"\$($PSQL -c \"select state from ob.outbox where event_id = '$ID'\")\" = 1 ]"
r=$(get "/api/v1/deliveries?state=dead&output=flaky")
eq "GET /api/v1/deliveries works on postgres" 200 "${r%% *}"
DID=$(echo "${r#* }" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .id")
eq "the API lists the dead entry with its ob.outbox id" "$(outbox id "$ID")" "$DID"
contains "with the output's error" "receiver said 400" \
	"$(echo "${r#* }" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .last_error")"
echo ok >"$CTL"
r=$(post "/api/v1/deliveries/$DID/retry" "")
eq "replaying it is accepted" 202 "${r%% *}"
check "the replayed delivery arrives" wait_for 5 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"

# kill -9 with a RETRY'd delivery pending: it resumes after the restart
echo "retry-after 3000" >"$CTL"
ID=$(send ob-pending)
check "the failed attempt is saved in ob.outbox (attempts 1, pending)" \
	wait_for 5 sh -c "[ \"\$($PSQL -c \"select attempts, state from ob.outbox where event_id = '$ID'\")\" = '1|0' ]"
PID_OB=$(outbox id "$ID")
r=$(get "/api/v1/deliveries?state=pending")
eq "the API lists it as pending" "$PID_OB" \
	"$(echo "${r#* }" | jq -r ".deliveries[] | select(.event_id == \"$ID\") | .id")"
kill -9 "$RFX_PID"
wait "$RFX_PID" 2>/dev/null
RFX_PID=""
echo ok >"$CTL"
start_reflexd "$TMP/reflex.yaml" || exit 1
check "it is delivered after the restart" wait_for 8 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
eq "once, as attempt 2 of the same delivery" "1 2 $PID_OB" \
	"$(delivered "$ID") $(grep "\"event\":\"$ID\"" "$OUT" | jq -r '"\(.attempt) \(.delivery)"')"
check "and then leaves ob.outbox" wait_for 3 sh -c "[ -z \"\$($PSQL -c \"select id from ob.outbox where event_id = '$ID'\")\" ]"
ID2=$(send ob-after)
check "new deliveries continue after the restart" wait_for 5 sh -c "grep -q '\"event\":\"$ID2\"' '$OUT'"
check "outbox ids are not reused: the new one is larger" \
	test "$(grep "\"event\":\"$ID2\"" "$OUT" | jq -r .delivery)" -gt "$PID_OB"

# PostgreSQL down: a batch with deliveries is refused (not spooled); one
# without is spooled and acknowledged
pg_stop
r=$(post /api/v1/events/webhook '[{"host":"ob-down","check":"c","severity":"info"}]' -m 60)
eq "down: an event no output takes is spooled and acknowledged" 202 "${r%% *}"
QUIET=$(echo "${r#* }" | jq -r '.ids[0]')
# (another host and check: the noise filter would hold back a repeat)
r=$(post /api/v1/events/webhook '[{"host":"ob-down-crit","check":"c2","severity":"critical"}]' -m 60)
check "down: an event with a delivery is refused (got ${r%% *})" test "${r%% *}" = 503
check "the refusal is logged with the reason" \
	grep -q "batch with 1 deliveries is refused, not spooled" "$TMP/reflexd.log"
pg_start || exit 1
check "the spooled event reaches PostgreSQL" wait_for 10 sh -c "[ \"\$($PSQL -c \"select count(*) from ob.processed_events where id = '$QUIET'\")\" = 1 ]"
ID=$(send ob-back)
check "after PostgreSQL is back, deliveries flow again" wait_for 8 sh -c "grep -q '\"event\":\"$ID\"' '$OUT'"
eq "no delivery of the refused event was made" 0 \
	"$(grep -c '"host":"ob-down-crit"' "$OUT" 2>/dev/null || true)"
check "SIGTERM stops cleanly" stop_reflexd

# ---- 5. retention ----------------------------------------------------------------------
cat >"$TMP/reflex.yaml" <<YAML
agent:
  data_dir: $TMP/var
  plugin_dirs: [ "$(dirname "$PLUGIN")" ]
  api: { listen: 127.0.0.1:$PORT }
store:
  plugin: postgres
  conninfo: "$CONNINFO"
  schema: ret
  retention: 4s
  retention_batch: 100
inputs:
  - { name: hook, plugin: webhook }
YAML
start_reflexd "$TMP/reflex.yaml" || exit 1
# 250 events, received now: old once 4 s have passed; and 5 repeats, whose
# raw payloads have no row of their own
body=$(for i in $(seq 1 250) 1 2 3 4 5; do printf '{"host":"old","check":"c%d"},' "$i"; done)
r=$(post /api/v1/events/webhook "[${body%,}]")
eq "250 events to age" 202 "${r%% *}"
eq "(their repeats are folded: 250 rows, 255 raw payloads)" "250|255" \
	"$($PSQL -c "select (select count(*) from ret.processed_events), (select count(*) from ret.raw_events)")"
sleep 3
# received later; two of them say they happened years ago
r=$(post /api/v1/events/webhook '[{"host":"new","check":"a","time":"2010-01-01T00:00:00Z"},{"host":"new","check":"b","time":"1999-12-31T23:59:59Z"},{"host":"new","check":"c"}]')
eq "3 recent events (two with an old time)" 202 "${r%% *}"
ret_count() { $PSQL -c "select count(*) from ret.processed_events where host = '$1'"; }
check "the old events are deleted" wait_for 10 sh -c "[ \"\$($PSQL -c \"select count(*) from ret.processed_events where host = 'old'\")\" = 0 ]"
# (a repeat's id is its own, a little younger than its record's: a tick later)
check "and their raw payloads, those of folded repeats too" wait_for 5 sh -c "[ \"\$($PSQL -c \"select count(*) from ret.raw_events r where not exists (select 1 from ret.processed_events p where p.id = r.id)\")\" = 0 ]"
eq "the recent ones are kept, whatever their time" 3 "$(ret_count new)"
# "retention deleted N events in K transactions", per timer tick
gone=$(sed -n 's/.*retention deleted \([0-9]*\) events in \([0-9]*\) transactions.*/\1 \2/p' \
	"$TMP/reflexd.log" | awk '{n += $1; k += $2} END {print n + 0, k + 0}')
eq "all 250 deleted in transactions of at most retention_batch (100): 3 or more" \
	"250 ok" "${gone% *} $([ "${gone#* }" -ge 3 ] && echo ok || echo "only ${gone#* }")"
r=$(curl -s "$URL/metrics")
contains "counted in the metrics" "retention_deleted_events" "$r"
sleep 5
eq "the recent ones go too once they are older than retention" 0 "$(ret_count new)"
check "SIGTERM stops cleanly" stop_reflexd
finish
