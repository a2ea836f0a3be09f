/*
 * plugins/stores/postgres/postgres.c - the PostgreSQL store: events, raw
 * payloads, key-value state and the delivery outbox in one schema of a
 * PostgreSQL database, through libpq. This file owns the descriptor,
 * options, lifecycle, the connection pool (with reconnect and backoff),
 * the schema migrations and the retention timer; writing batches is in
 * pg_write.c, the other store operations in pg_events.c and pg_outbox.c,
 * the row text in pg_text.c, the disk spool in pg_spool.c, the shared
 * state in pg_store.h.
 *
 * Connections: a pool of pool_size identical connections, each with the
 * store's statements prepared and a temporary staging table for COPY.
 * Any thread takes one for the duration of an operation. A connection that
 * breaks is closed and reconnected on its next use; while the server stays
 * unreachable, connection attempts are spaced by a store-wide exponential
 * backoff (250 ms doubling to 10 s), and operations fail at once with
 * RFX_EIO in between, so the store thread never hangs on a dead server.
 * Every connection sets statement_timeout, and TCP keepalives plus
 * tcp_user_timeout bound the wait on a server that vanished without
 * closing its sockets.
 *
 * Time columns are bigint nanoseconds since the epoch, as in the event:
 * timestamptz holds microseconds, so an event would not read back as
 * written, and cursors and time filters compare plain integers. The view
 * events_readable shows them as timestamptz for people with psql.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_store.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
/* First key of the migration advisory lock ("RFX0"); the second is a hash
 * of the schema name, so agents on different schemas do not wait. */
#define MIGRATION_LOCK_KEY 0x52465830

/* ---- configuration -------------------------------------------------------- */

static const char *const spool_sync_values[] = {"batch", "none", NULL};

static const rfx_option pg_options[] = {
	{"conninfo", RFX_OPT_STRING, "", RFX_OPT_SECRET, 0, 0, NULL,
	 "libpq connection string, key=value or postgresql:// URI, e.g. "
	 "\"host=db.example.com port=5432 dbname=reflex user=reflex\". It may hold a "
	 "password, so it is never logged. What it leaves out comes from libpq's "
	 "environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGPASSFILE, "
	 "PGSSLMODE, ...) and defaults. Settings here override the store's defaults "
	 "for keepalives and tcp_user_timeout.",
	 offsetof(struct pg_config, conninfo), NULL},
	{"schema", RFX_OPT_STRING, "reflex", 0, 0, 0, NULL,
	 "Schema holding reflex's tables (created if missing): letters, digits and "
	 "underscores, at most 63. Two agents need two schemas (or two databases).",
	 offsetof(struct pg_config, schema), NULL},
	{"pool_size", RFX_OPT_INT, "4", RFX_OPT_RANGE, 1, POOL_MAX, NULL,
	 "Connections kept open: the store thread uses one per batch, API queries "
	 "and key-value calls the others.",
	 offsetof(struct pg_config, pool_size), NULL},
	{"statement_timeout", RFX_OPT_DURATION, "10s", RFX_OPT_RANGE, 100, 3600000, NULL,
	 "Longest a statement may run (PostgreSQL's statement_timeout) and longest "
	 "an operation waits for a free pooled connection. A batch that times out "
	 "is not acknowledged and is retried by the pipeline.",
	 offsetof(struct pg_config, statement_timeout_ms), NULL},
	{"connect_timeout", RFX_OPT_DURATION, "5s", RFX_OPT_RANGE, 1000, 300000, NULL,
	 "Longest a connection attempt may take (whole seconds, libpq's "
	 "connect_timeout).",
	 offsetof(struct pg_config, connect_timeout_ms), NULL},
	{"copy_min_batch", RFX_OPT_INT, "64", RFX_OPT_RANGE, 1, 1000000, NULL,
	 "Batches with at least this many events are written with COPY into a "
	 "staging table; smaller ones with pipelined prepared INSERTs, which need "
	 "fewer round trips for a few rows.",
	 offsetof(struct pg_config, copy_min_batch), NULL},
	{"spool_max", RFX_OPT_SIZE, "256MiB", RFX_OPT_RANGE, 0, 1099511627776.0, NULL,
	 "Bound of the disk spool (files under the instance's data directory) that "
	 "takes batches while PostgreSQL is unreachable; 0 turns the spool off. When "
	 "it is full, batches fail and inputs refuse new events (HTTP 503).",
	 offsetof(struct pg_config, spool_max), NULL},
	{"spool_sync", RFX_OPT_ENUM, "batch", 0, 0, 0, spool_sync_values,
	 "'batch': each spooled batch is fsync'ed before it counts as stored, so "
	 "acknowledged events survive a crash or power loss. 'none': no fsync; "
	 "spooled events survive a crash of reflex but not of the machine.",
	 offsetof(struct pg_config, spool_sync), NULL},
	{"retention", RFX_OPT_DURATION, "0", RFX_OPT_RANGE, 0, 3153600000000.0, NULL,
	 "Delete events (and their raw payloads) received longer ago than this (the "
	 "time in the event id, not the event's own `time`), e.g. \"30d\"; 0 keeps them "
	 "forever. Runs every minute (every quarter of the retention when that is "
	 "shorter) in transactions of retention_batch events. Outbox entries are kept.",
	 offsetof(struct pg_config, retention_ms), NULL},
	{"retention_batch", RFX_OPT_INT, "5000", RFX_OPT_RANGE, 100, 1000000, NULL,
	 "Events deleted per retention transaction; passes repeat until nothing is "
	 "left to delete, so short transactions never hold back the writer long.",
	 offsetof(struct pg_config, retention_batch), NULL},
	RFX_OPTION_END,
};

/* ---- schema ----------------------------------------------------------------- */

/* migrations[i] brings the schema to version i + 1. Append only: a released
 * migration is never edited. Names are unqualified: search_path is the
 * store's schema. */
static const char *const migrations[] = {
	/* 1: events, key-value state, and the seed's tables in minimal form */
	"CREATE TABLE raw_events ("
	"  id text PRIMARY KEY,"
	"  received_ns bigint NOT NULL,"
	"  source text,"
	"  payload text NOT NULL);"
	/* seq is the order of storing, which queries and cursors follow (as in
	 * the SQLite store); labels are json, not jsonb, because jsonb reorders
	 * keys and labels keep their insertion order. */
	"CREATE TABLE processed_events ("
	"  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  id text NOT NULL UNIQUE,"
	"  occurred_ns bigint,"
	"  received_ns bigint NOT NULL,"
	"  source text,"
	"  kind text,"
	"  host text,"
	"  service text,"
	"  check_name text,"
	"  severity smallint NOT NULL,"
	"  status smallint NOT NULL,"
	"  message text,"
	"  fingerprint text,"
	"  value double precision,"
	"  labels json NOT NULL DEFAULT '{}',"
	"  attrs jsonb NOT NULL DEFAULT '{}');"
	"CREATE INDEX processed_events_host ON processed_events(host, seq);"
	"CREATE INDEX processed_events_fingerprint ON processed_events(fingerprint, seq);"
	"CREATE INDEX processed_events_occurred ON processed_events(occurred_ns);"
	"CREATE VIEW events_readable AS SELECT seq, id,"
	"  to_timestamp(occurred_ns / 1e9) AS occurred_at,"
	"  to_timestamp(received_ns / 1e9) AS received_at,"
	"  source, kind, host, service, check_name, severity, status, message,"
	"  fingerprint, value, labels, attrs FROM processed_events;"
	"CREATE TABLE kv ("
	"  ns text NOT NULL,"
	"  key text NOT NULL,"
	"  value text NOT NULL,"
	"  PRIMARY KEY (ns, key));"
	/* event_id/incident_id are not foreign keys: retention deletes events
	 * while incidents and decisions about them stay. */
	"CREATE TABLE event_correlations ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  event_id text NOT NULL,"
	"  incident_id text,"
	"  correlator text,"
	"  correlation_key text,"
	"  created_ns bigint NOT NULL);"
	"CREATE INDEX event_correlations_event ON event_correlations(event_id);"
	"CREATE INDEX event_correlations_incident ON event_correlations(incident_id);"
	"CREATE TABLE trigger_rules ("
	"  name text PRIMARY KEY,"
	"  enabled boolean NOT NULL DEFAULT true,"
	"  expr text NOT NULL,"
	"  definition jsonb NOT NULL DEFAULT '{}',"
	"  updated_ns bigint NOT NULL);"
	"CREATE TABLE response_templates ("
	"  name text PRIMARY KEY,"
	"  content_type text NOT NULL DEFAULT 'text/plain',"
	"  body text NOT NULL,"
	"  updated_ns bigint NOT NULL);"
	"CREATE TABLE action_definitions ("
	"  name text PRIMARY KEY,"
	"  plugin text NOT NULL,"
	"  config jsonb NOT NULL DEFAULT '{}',"
	"  side_effects boolean NOT NULL DEFAULT true,"
	"  enabled boolean NOT NULL DEFAULT true,"
	"  updated_ns bigint NOT NULL);"
	"CREATE TABLE decision_log ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  decided_ns bigint NOT NULL,"
	"  event_id text,"
	"  incident_id text,"
	"  rule text,"
	"  action text,"
	"  decision text NOT NULL,"
	"  reason text,"
	"  details jsonb NOT NULL DEFAULT '{}');"
	"CREATE INDEX decision_log_decided ON decision_log(decided_ns);"
	"CREATE TABLE incidents ("
	"  id text PRIMARY KEY,"
	"  fingerprint text,"
	"  title text,"
	"  severity smallint,"
	"  status text NOT NULL,"
	"  opened_ns bigint NOT NULL,"
	"  updated_ns bigint NOT NULL,"
	"  closed_ns bigint,"
	"  event_count bigint NOT NULL DEFAULT 0,"
	"  labels json NOT NULL DEFAULT '{}',"
	"  attrs jsonb NOT NULL DEFAULT '{}');"
	"CREATE INDEX incidents_fingerprint ON incidents(fingerprint);"
	"CREATE TABLE silences ("
	"  id text PRIMARY KEY,"
	"  matchers jsonb NOT NULL,"
	"  starts_ns bigint NOT NULL,"
	"  ends_ns bigint NOT NULL,"
	"  created_by text,"
	"  comment text);"
	"CREATE TABLE deliveries ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  incident_id text,"
	"  event_id text,"
	"  output text NOT NULL,"
	"  status text NOT NULL,"
	"  attempts integer NOT NULL DEFAULT 0,"
	"  last_error text,"
	"  created_ns bigint NOT NULL,"
	"  updated_ns bigint NOT NULL);",
	/* 2: the outbox, deliveries owed to outputs (as in the SQLite store).
	 * An identity column draws from a sequence, so an id is never given
	 * out twice, not even after its row is deleted: it is the receivers'
	 * idempotency key. The seed's `deliveries` table of migration 1 is
	 * left in place, unused: its shape (status text, no next attempt)
	 * does not fit, and a migration does not drop what a user may have
	 * looked at or filled. */
	"CREATE TABLE outbox ("
	"  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  output text NOT NULL,"
	"  event_id text NOT NULL,"
	"  state smallint NOT NULL DEFAULT 0,"
	"  attempts bigint NOT NULL DEFAULT 0,"
	"  created_ns bigint NOT NULL,"
	"  next_ns bigint NOT NULL,"
	"  last_error text NOT NULL DEFAULT '');"
	"CREATE INDEX outbox_state ON outbox(state, output, id);",
	/* 3: dedup records (as in the SQLite store): repeats the noise stage
	 * folds add to their first event's row instead of rows of their own.
	 * count 1 and last_ns NULL: no repeat yet. A folded repeat keeps its
	 * raw row, which names the record it went into. The view gains the
	 * two at its end, the only change CREATE OR REPLACE VIEW allows. */
	"ALTER TABLE processed_events ADD COLUMN count bigint NOT NULL DEFAULT 1,"
	"  ADD COLUMN last_ns bigint;"
	"ALTER TABLE raw_events ADD COLUMN folded_into text;"
	"CREATE OR REPLACE VIEW events_readable AS SELECT seq, id,"
	"  to_timestamp(occurred_ns / 1e9) AS occurred_at,"
	"  to_timestamp(received_ns / 1e9) AS received_at,"
	"  source, kind, host, service, check_name, severity, status, message,"
	"  fingerprint, value, labels, attrs, count,"
	"  to_timestamp(last_ns / 1e9) AS last_seen_at FROM processed_events;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Statements every connection prepares: name, text, number of params. */
static const struct {
	const char *name, *sql;
	int nparams;
} prepared[] = {
	{"ins_event",
	 "INSERT INTO processed_events(id, occurred_ns, received_ns, source, kind, host, "
	 "service, check_name, severity, status, message, fingerprint, value, labels, attrs) "
	 "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
	 "ON CONFLICT (id) DO NOTHING",
	 15},
	/* A repeat folded into its record's row ($16): greatest() keeps a
	 * retried batch from counting its repeats twice, coalesce() keeps the
	 * last value but the first message. When the record's row is not
	 * there (older than this schema) the repeat becomes a row of its own,
	 * so "INSERT 0 1" means inserted as with ins_event. The casts type the
	 * SELECT's parameters, which INSERT ... VALUES would infer. */
	{"fold_event",
	 "WITH f AS (UPDATE processed_events SET count = greatest(count, $17::bigint), "
	 "last_ns = greatest(coalesce(last_ns, 0), $18::bigint), "
	 "value = coalesce($13::double precision, value) WHERE id = $16 RETURNING 1) "
	 "INSERT INTO processed_events(id, occurred_ns, received_ns, source, kind, host, "
	 "service, check_name, severity, status, message, fingerprint, value, labels, attrs) "
	 "SELECT $1::text, $2::bigint, $3::bigint, $4::text, $5::text, $6::text, $7::text, "
	 "$8::text, $9::smallint, $10::smallint, $11::text, $12::text, $13::double precision, "
	 "$14::json, $15::jsonb WHERE NOT EXISTS (SELECT 1 FROM f) "
	 "ON CONFLICT (id) DO NOTHING",
	 18},
	{"ob_ins",
	 "INSERT INTO outbox(output, event_id, state, attempts, created_ns, next_ns, "
	 "last_error) VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	 7},
	{"ob_upd",
	 "UPDATE outbox SET state = $2, attempts = $3, next_ns = $4, last_error = $5 "
	 "WHERE id = $1",
	 5},
	{"ob_del", "DELETE FROM outbox WHERE id = ANY($1::bigint[])", 1},
	/* $5: the record a repeat was folded into, which is there exactly
	 * when fold_event (sent before) folded it rather than made a row */
	{"ins_raw",
	 "INSERT INTO raw_events(id, received_ns, source, payload, folded_into) "
	 "VALUES($1, $2, $3, $4, (SELECT id FROM processed_events WHERE id = $5)) "
	 "ON CONFLICT (id) DO NOTHING",
	 5},
	/* a folded repeat's id reads as its record */
	{"get_event",
	 "SELECT " EVENT_COLUMNS ", r.payload FROM processed_events p "
	 "LEFT JOIN raw_events r ON r.id = p.id WHERE p.id = coalesce("
	 "(SELECT folded_into FROM raw_events WHERE id = $1), $1)",
	 1},
	{"kv_get", "SELECT value FROM kv WHERE ns = $1 AND key = $2", 2},
	{"kv_put",
	 "INSERT INTO kv(ns, key, value) VALUES($1, $2, $3) "
	 "ON CONFLICT (ns, key) DO UPDATE SET value = EXCLUDED.value",
	 3},
	{"kv_del", "DELETE FROM kv WHERE ns = $1 AND key = $2", 2},
	{"count", "SELECT count(*) FROM processed_events", 0},
};

/* The staging table COPY writes into; ON COMMIT DELETE ROWS empties it
 * with every transaction. Column types match the targets: no casts. */
static const char stage_sql[] =
	"CREATE TEMP TABLE IF NOT EXISTS stage ("
	"  ord integer, id text, occurred_ns bigint, received_ns bigint, source text,"
	"  kind text, host text, service text, check_name text, severity smallint,"
	"  status smallint, message text, fingerprint text, value double precision,"
	"  labels json, attrs jsonb, raw text, fold_into text, count bigint, last_ns bigint)"
	"  ON COMMIT DELETE ROWS";

/* ---- helpers ---------------------------------------------------------------- */

int64_t pg_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies libpq's message without its trailing newline. */
static void copy_msg(char *dst, size_t len, const char *msg)
{
	snprintf(dst, len, "%s", msg ? msg : "unknown error");
	size_t n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

void pg_log_result(struct store *s, struct conn *c, const PGresult *r, const char *what)
{
	char msg[512];

	copy_msg(msg, sizeof msg,
		 r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
						 : (c && c->pg ? PQerrorMessage(c->pg) : NULL));
	s->host->log(s->inst, RFX_LOG_ERROR, "%s: %s", what, msg);
}

bool pg_conn_lost(const struct conn *c)
{
	return !c->pg || PQstatus(c->pg) != CONNECTION_OK;
}

/* Runs sql (no parameters, no rows wanted); 0 or RFX_EIO with err set. */
static int exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(pg, sql);
	int st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		copy_msg(err, errlen, PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
								 : PQerrorMessage(pg));
		rc = RFX_EIO;
	}
	PQclear(r);
	return rc;
}

/* Server notices ("schema already exists, skipping") go to the debug log,
 * not to stderr, where libpq would print them. */
static void notice_to_log(void *arg, const char *msg)
{
	struct store *s = arg;
	char m[256];

	copy_msg(m, sizeof m, msg);
	s->host->log(s->inst, RFX_LOG_DEBUG, "PostgreSQL: %s", m);
}

/* Opens one connection and sets the session up: timeouts, search_path,
 * and (with `full`) the staging table and prepared statements, which need
 * the migrated schema. NULL with err set. */
static PGconn *conn_open(struct store *s, bool full, char *err, size_t errlen)
{
	const struct pg_config *cfg = s->cfg;
	char ctimeout[32], utimeout[32], sql[256];
	PGconn *pg;
	/* the store's defaults first, then the user's conninfo (expanded from
	 * dbname), whose settings override them */
	const char *kw[] = {"connect_timeout", "keepalives", "keepalives_idle",
			    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
			    "application_name", "client_encoding", "dbname", NULL};
	const char *val[] = {ctimeout, "1", "10", "3", "3", utimeout, "reflex", "UTF8",
			     cfg->conninfo, NULL};

	snprintf(ctimeout, sizeof ctimeout, "%" PRId64, (cfg->connect_timeout_ms + 999) / 1000);
	snprintf(utimeout, sizeof utimeout, "%" PRId64, cfg->statement_timeout_ms + 5000);
	pg = PQconnectdbParams(kw, val, 1);
	if (!pg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		copy_msg(err, errlen, PQerrorMessage(pg));
		goto fail;
	}
	PQsetNoticeProcessor(pg, notice_to_log, s);
	/* jit off (PostgreSQL 11+): the staging table has no statistics, so
	 * the planner prices the batch statements high enough to JIT-compile
	 * them, which cost 600-700 ms per batch against ~50 ms to run them
	 * (bench/e2e_bench.sh); none of the store's statements gains from it. */
	snprintf(sql, sizeof sql, "SET statement_timeout = %" PRId64 "; SET search_path = %s%s",
		 cfg->statement_timeout_ms, s->schema_ident,
		 PQserverVersion(pg) >= 110000 ? "; SET jit = off" : "");
	if (exec_ok(pg, sql, err, errlen) != 0)
		goto fail;
	if (!full)
		return pg;
	if (exec_ok(pg, stage_sql, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof prepared / sizeof prepared[0]; i++) {
		PGresult *r = PQprepare(pg, prepared[i].name, prepared[i].sql, prepared[i].nparams,
					NULL);
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			snprintf(err, errlen, "prepare %s: %s", prepared[i].name,
				 PQresultErrorMessage(r));
		PQclear(r);
		if (!ok)
			goto fail;
	}
	return pg;
fail:
	PQfinish(pg);
	return NULL;
}

/* ---- pool ------------------------------------------------------------------- */

struct conn *pg_conn_take(struct store *s)
{
	struct timespec ts;
	struct conn *c;
	char err[512];
	int64_t now;
	bool try;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += s->cfg->statement_timeout_ms / 1000;
	ts.tv_nsec += (s->cfg->statement_timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->pool_lock);
	while (s->nfree == 0) {
		if (pthread_cond_timedwait(&s->pool_cond, &s->pool_lock, &ts) != 0 && s->nfree == 0) {
			pthread_mutex_unlock(&s->pool_lock);
			s->host->log(s->inst, RFX_LOG_ERROR,
				     "no free connection within statement_timeout (pool_size %d)",
				     s->nconns);
			return NULL;
		}
	}
	c = s->free_conns[--s->nfree];
	if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
		pthread_mutex_unlock(&s->pool_lock);
		return c;
	}
	now = pg_mono_ms();
	try = now >= s->next_try_ms;
	if (try) /* one attempt per backoff step, whichever thread makes it */
		s->next_try_ms = now + (s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS);
	pthread_mutex_unlock(&s->pool_lock);

	if (c->pg) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	if (try)
		c->pg = conn_open(s, true, err, sizeof err);
	pthread_mutex_lock(&s->pool_lock);
	if (c->pg) {
		s->backoff_ms = 0;
		s->next_try_ms = 0;
	} else if (try) {
		s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (s->backoff_ms > BACKOFF_MAX_MS)
			s->backoff_ms = BACKOFF_MAX_MS;
		s->next_try_ms = pg_mono_ms() + s->backoff_ms;
	}
	int64_t backoff = s->backoff_ms;
	pthread_mutex_unlock(&s->pool_lock);
	if (c->pg) {
		s->host->metric_add(s->m_reconnects, 1);
		s->host->log(s->inst, RFX_LOG_INFO, "connected to PostgreSQL");
		return c;
	}
	if (try)
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "cannot connect to PostgreSQL: %s; next attempt in %" PRId64 " ms", err,
			     backoff);
	pg_conn_give(s, c, false);
	return NULL;
}

void pg_conn_give(struct store *s, struct conn *c, bool broken)
{
	if (c->pg && (broken || PQstatus(c->pg) != CONNECTION_OK ||
		      PQtransactionStatus(c->pg) != PQTRANS_IDLE)) {
		/* closed now, reconnected by the next pg_conn_take() */
		PQfinish(c->pg);
		c->pg = NULL;
	}
	pthread_mutex_lock(&s->pool_lock);
	s->free_conns[s->nfree++] = c;
	pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
}

/* ---- migrations ------------------------------------------------------------- */

/* Brings the schema to SCHEMA_VERSION in one transaction, under an advisory
 * lock keyed by the schema name, so two agents starting together apply each
 * migration once: the second waits, then finds the work done. Refuses a
 * schema written by a newer reflex. */
static int migrate(struct store *s, PGconn *pg, char *err, size_t errlen)
{
	const char *schema = s->cfg->schema;
	char sql[256], msg[400];
	PGresult *r = NULL;
	int version, rc = RFX_EIO;

	if (exec_ok(pg, "BEGIN", msg, sizeof msg) != 0)
		goto fail;
	r = PQexecParams(pg, "SELECT pg_advisory_xact_lock(" "1380341808" ", hashtext($1))", 1,
			 NULL, &schema, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		copy_msg(msg, sizeof msg, PQresultErrorMessage(r));
		goto fail;
	}
	PQclear(r);
	r = NULL;
	snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", s->schema_ident);
	if (exec_ok(pg, sql, msg, sizeof msg) != 0 ||
	    exec_ok(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			"version integer PRIMARY KEY, "
			"applied_at timestamptz NOT NULL DEFAULT now())",
		    msg, sizeof msg) != 0)
		goto fail;
	r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		copy_msg(msg, sizeof msg, PQresultErrorMessage(r));
		goto fail;
	}
	version = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	r = NULL;
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "schema %s has schema version %d but this reflex knows versions up to %d: "
			 "it was written by a newer reflex; upgrade reflex or use another schema",
			 schema, version, SCHEMA_VERSION);
		goto out;
	}
	for (int v = version + 1; v <= SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof sql, "INSERT INTO schema_migrations(version) VALUES(%d)", v);
		if (exec_ok(pg, migrations[v - 1], msg, sizeof msg) != 0 ||
		    exec_ok(pg, sql, msg, sizeof msg) != 0) {
			snprintf(err, errlen, "schema %s: migration to version %d failed: %s", schema,
				 v, msg);
			goto out;
		}
	}
	if (exec_ok(pg, "COMMIT", msg, sizeof msg) != 0)
		goto fail;
	if (version < SCHEMA_VERSION)
		s->host->log(s->inst, RFX_LOG_INFO, "schema %s migrated from version %d to %d",
			     schema, version, SCHEMA_VERSION);
	return 0;
fail:
	snprintf(err, errlen, "schema %s: cannot migrate: %s", schema, msg);
out:
	PQclear(r);
	if (PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	return rc;
}

/* ---- retention ----------------------------------------------------------------- */

static void retention_tick(void *arg)
{
	struct store *s = arg;
	int64_t total = 0, n;
	int passes = 0;

	/* small transactions until a pass finds fewer than a batch; bounded
	 * per tick so a huge backlog does not hold the timer thread */
	while (passes < 100) {
		bool more = false;
		n = pg_retention_pass(s, &more);
		if (n < 0 || (n == 0 && !more))
			break;
		passes++;
		total += n;
		if (!more)
			break;
	}
	if (total > 0) {
		s->host->metric_add(s->m_retention_deleted, (double)total);
		s->host->log(s->inst, RFX_LOG_INFO,
			     "retention deleted %" PRId64 " events in %d transactions", total, passes);
	}
}

/* Every minute; a retention of a few minutes or less is checked every
 * quarter of it (at least every second), so it holds to within a quarter. */
static int64_t retention_interval_ms(int64_t retention_ms)
{
	int64_t ms = retention_ms / 4;

	return ms < 1000 ? 1000 : ms > 60000 ? 60000 : ms;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static int pg_start(void *state)
{
	struct store *s = state;

	if (s->spool && pg_spool_start(s->spool) != 0)
		return RFX_EIO;
	if (s->cfg->retention_ms > 0) {
		s->retention_timer = s->host->timer_add(
			s->inst, retention_interval_ms(s->cfg->retention_ms), retention_tick, s);
		if (!s->retention_timer)
			return RFX_ENOMEM;
	}
	return 0;
}

static void pg_stop(void *state)
{
	struct store *s = state;

	if (s->retention_timer) {
		s->host->timer_cancel(s->retention_timer);
		s->retention_timer = NULL;
	}
	if (s->spool) {
		pg_spool_close(s->spool);
		s->spool = NULL;
	}
}

static void pg_destroy(void *state)
{
	struct store *s = state;

	if (!s)
		return;
	pg_stop(s);
	for (int i = 0; i < s->nconns; i++)
		PQfinish(s->conns[i].pg);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->write_lock);
	pthread_cond_destroy(&s->pool_cond);
	sbuf_free(&s->copybuf);
	sbuf_free(&s->jbuf);
	for (size_t i = 0; i < sizeof s->scratch / sizeof s->scratch[0]; i++)
		sbuf_free(&s->scratch[i]);
	free(s);
}

static bool schema_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SCHEMA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return !(name[0] >= '0' && name[0] <= '9');
}

static int pg_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct pg_config *cfg = config;
	struct store *s = NULL;
	PGconn *pg = NULL;
	char msg[512];
	int rc = RFX_EINVAL;

	if (!cfg->schema || !schema_name_ok(cfg->schema)) {
		snprintf(err, errlen, "schema: '%s' is not a plain name (letters, digits, "
			 "underscores, not starting with a digit, at most %d)",
			 cfg->schema ? cfg->schema : "", SCHEMA_NAME_MAX);
		goto fail;
	}
	if (!PQisthreadsafe()) {
		snprintf(err, errlen, "libpq was built without thread support");
		goto fail;
	}
	rc = RFX_ENOMEM;
	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->inst = inst;
	s->host = host;
	s->cfg = cfg;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);
	/* plain names only (checked above), quoted so that case is kept */
	snprintf(s->schema_ident, sizeof s->schema_ident, "\"%s\"", cfg->schema);
	s->m_reconnects = host->counter(inst, "connects", "Connections opened to PostgreSQL");
	s->m_spooled = host->counter(inst, "spooled_events",
				     "Events written to the disk spool while PostgreSQL was down");
	s->m_drained = host->counter(inst, "drained_events",
				     "Spooled events written through to PostgreSQL");
	s->m_retention_deleted = host->counter(inst, "retention_deleted_events",
					       "Events deleted by retention");

	/* The first connection migrates; its session is not yet set up for
	 * the store's statements, which need the tables. */
	rc = RFX_EIO;
	pg = conn_open(s, false, msg, sizeof msg);
	if (!pg) {
		snprintf(err, errlen, "cannot connect to PostgreSQL: %s", msg);
		goto fail;
	}
	rc = migrate(s, pg, err, errlen);
	PQfinish(pg);
	if (rc != 0)
		goto fail;
	s->nconns = (int)cfg->pool_size;
	for (int i = 0; i < s->nconns; i++) {
		s->conns[i].pg = conn_open(s, true, msg, sizeof msg);
		if (!s->conns[i].pg) {
			rc = RFX_EIO;
			snprintf(err, errlen, "cannot set up a connection: %s", msg);
			goto fail;
		}
		s->free_conns[s->nfree++] = &s->conns[i];
	}
	if (cfg->spool_max > 0) {
		const char *dir = host->data_dir(inst);
		s->spool = pg_spool_open(s, dir ? dir : ".", err, errlen);
		if (!s->spool) {
			rc = RFX_EIO;
			goto fail;
		}
	}
	host->log(inst, RFX_LOG_INFO, "PostgreSQL store ready: schema %s, %d connections",
		  cfg->schema, s->nconns);
	*state = s;
	return 0;
fail:
	host->log(inst, RFX_LOG_ERROR, "%s", err);
	pg_destroy(s);
	return rc;
}

/* ---- descriptor --------------------------------------------------------------- */

static const rfx_plugin pg_plugin = {
	RFX_PLUGIN_ABI,
	.name = "postgres",
	.version = "1.1.0",
	.description = "PostgreSQL store: events, raw payloads, state and the delivery "
		       "outbox in a schema of a PostgreSQL database (libpq; COPY batches, "
		       "connection pool, reconnect with backoff, disk spool while the "
		       "server is down).",
	.kind = RFX_KIND_STORE,
	.caps = RFX_CAP_DURABLE_ACK | RFX_CAP_THREADS,
	.options = pg_options,
	.config_size = sizeof(struct pg_config),
	.init = pg_init,
	.start = pg_start,
	.stop = pg_stop,
	.destroy = pg_destroy,
	.store = &pg_store_ops,
};

RFX_PLUGIN_DEFINE(pg_plugin)
