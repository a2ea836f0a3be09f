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
#     without it, posts are refused promptly instead of hanging.
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
[ -f "$PLUGIN" ] || { echo "no $PLUGIN: build the postgres store first"; exit 1; }

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
	eq "migrations are recorded: schema version 1, applied once" "1|1" \
		"$($PSQL -c 'select max(version), count(*) from t14_reopen.schema_migrations')"
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
eq "schema e2e has the seed's tables" 12 \
	"$($PSQL -c "select count(*) from information_schema.tables where table_schema = 'e2e' and table_type = 'BASE TABLE'")"
check "SIGTERM stops cleanly" stop_reflexd

# ---- 3. faults -----------------------------------------------------------------------
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

# 3a: with the spool, acknowledged events survive an outage, exactly once
rm -f "$TMP"/acked.* "$TMP"/codes.*
write_config fault 64MiB
start_reflexd "$TMP/reflex.yaml" || exit 1
touch "$TMP/go"
SENDERS=""
for n in 1 2 3; do
	sender $n &
	SENDERS="$SENDERS $!"
done
sleep 2
pg_stop
sleep 3
acked_down=$(cat "$TMP"/acked.* 2>/dev/null | wc -l)
pg_start || { cat "$PGD/pg.log"; exit 1; }
sleep 2
rm -f "$TMP/go"
wait $SENDERS # not reflexd, which is a child too
cat "$TMP"/acked.* | sort >"$TMP/acked"
acked=$(wc -l <"$TMP/acked")
check "senders got acknowledgements across the outage ($acked events)" test "$acked" -gt 50
spooled=$(curl -s "$URL/metrics" | awk '/^reflex_store_postgres_spooled_events[{ ]/ {print int($NF)}')
check "batches were spooled while PostgreSQL was down (${spooled:-no metric} events)" \
	test "${spooled:-0}" -gt 0
# the drainer writes the spool through: wait until every acked id is there
for i in $(seq 1 100); do
	$PSQL -c "select id from fault.processed_events" 2>/dev/null | sort >"$TMP/stored"
	[ -z "$(comm -23 "$TMP/acked" "$TMP/stored")" ] && break
	sleep 0.2
done
eq "every acknowledged event is in PostgreSQL" 0 "$(comm -23 "$TMP/acked" "$TMP/stored" | wc -l)"
eq "no event is stored twice" "" \
	"$($PSQL -c 'select id from fault.processed_events group by id having count(*) > 1')"
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
finish
