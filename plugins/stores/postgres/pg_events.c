/*
 * plugins/stores/postgres/pg_events.c - the reading store operations of
 * the PostgreSQL store: getting and querying events, key-value state, the
 * event count, retention passes, and the operations table (writing
 * batches is pg_write.c, the outbox pg_outbox.c).
 *
 * Every operation that fails because its connection broke is retried once
 * on a fresh connection (pg_run): the statements here are reads or
 * idempotent writes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

#define QUERY_LIMIT_MAX 1000
#define TEXT_QUERY_MAX 1024 /* bytes of a text search */

/* ---- running statements --------------------------------------------------------- */

PGresult *pg_run(struct store *s, const char *name, const char *sql, int nparams,
		 const char *const *vals, ExecStatusType want, const char *what)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct conn *c = pg_conn_take(s);
		if (!c)
			return NULL;
		PGresult *r = name ? PQexecPrepared(c->pg, name, nparams, vals, NULL, NULL, 0)
				   : PQexecParams(c->pg, sql, nparams, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(r) == want) {
			pg_conn_give(s, c, false);
			return r;
		}
		bool lost = pg_conn_lost(c);
		if (!lost || attempt == 1)
			pg_log_result(s, c, r, what);
		PQclear(r);
		pg_conn_give(s, c, lost);
		if (!lost)
			break;
	}
	return NULL;
}

static const char *cell(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Builds an event from row `row` of r in EVENT_COLUMNS order (plus the raw
 * payload at raw_col when raw_col >= 0). 0, RFX_ENOMEM or RFX_EIO. */
static int row_to_event(struct store *s, const PGresult *r, int row, int raw_col,
			rfx_event **out)
{
	static const struct {
		int col;
		enum rfx_field field;
	} strs[] = {
		{COL_SOURCE, RFX_F_SOURCE},   {COL_KIND, RFX_F_KIND},
		{COL_HOST, RFX_F_HOST},       {COL_SERVICE, RFX_F_SERVICE},
		{COL_CHECK, RFX_F_CHECK},     {COL_MESSAGE, RFX_F_MESSAGE},
		{COL_FINGERPRINT, RFX_F_FINGERPRINT},
	};
	const rfx_host *h = s->host;
	const char *v;
	int rc = RFX_ENOMEM;
	rfx_event *ev = h->event_new();

	if (!ev)
		goto out;
	snprintf(ev->id, sizeof ev->id, "%s", PQgetvalue(r, row, COL_ID));
	v = cell(r, row, COL_OCCURRED);
	ev->occurred_ns = v ? strtoll(v, NULL, 10) : 0;
	ev->received_ns = strtoll(PQgetvalue(r, row, COL_RECEIVED), NULL, 10);
	ev->severity = atoi(PQgetvalue(r, row, COL_SEVERITY));
	ev->status = atoi(PQgetvalue(r, row, COL_STATUS));
	ev->count = strtoull(PQgetvalue(r, row, COL_COUNT), NULL, 10);
	v = cell(r, row, COL_LAST);
	ev->last_ns = v ? strtoll(v, NULL, 10) : 0;
	if ((v = cell(r, row, COL_VALUE))) {
		ev->value = strtod(v, NULL);
		ev->has_value = true;
	}
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		v = cell(r, row, strs[i].col);
		if (v && h->event_set(ev, strs[i].field, v) != 0)
			goto out;
	}
	if (raw_col >= 0 && (v = cell(r, row, raw_col)) && h->event_set(ev, RFX_F_RAW, v) != 0)
		goto out;
	rc = pg_json_read(s, ev, cell(r, row, COL_LABELS), cell(r, row, COL_ATTRS));
	if (rc != 0)
		goto out;
	*out = ev;
	ev = NULL;
out:
	if (ev)
		h->event_unref(ev);
	return rc;
}

/* ---- reading events ------------------------------------------------------------- */

static int pg_get_event(void *state, const char *id, rfx_event **out)
{
	struct store *s = state;
	PGresult *r;
	int rc;

	if (!id || !out)
		return RFX_EINVAL;
	r = pg_run(s, "get_event", NULL, 1, &id, PGRES_TUPLES_OK, "get_event");
	if (!r)
		return RFX_EIO;
	rc = PQntuples(r) == 0 ? RFX_ENOENT : row_to_event(s, r, 0, COL__COUNT, out);
	PQclear(r);
	return rc;
}

/* "%" + text with \ % _ escaped + "%", for ILIKE ... ESCAPE '\'. */
static char *like_pattern(const char *text)
{
	size_t n = strlen(text);
	char *p = malloc(2 * n + 3), *o = p;

	if (!p)
		return NULL;
	*o++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\\' || text[i] == '%' || text[i] == '_')
			*o++ = '\\';
		*o++ = text[i];
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

static int pg_query_events(void *state, const rfx_event_query *q, rfx_event ***out, size_t *n,
			   char next_cursor[RFX_EVENT_ID_LEN + 1])
{
	struct store *s = state;
	const char *params[12];
	char sql[1400], sev[16], since[32], until[32], *pattern = NULL;
	const char *status = NULL;
	rfx_event **evs = NULL;
	PGresult *r = NULL;
	size_t len, got = 0;
	int np = 0, rc = RFX_EINVAL;

	*out = NULL;
	*n = 0;
	next_cursor[0] = '\0';
	if (q->limit < 1 || q->limit > QUERY_LIMIT_MAX)
		goto out;
	if (q->status && *q->status) {
		if (strcmp(q->status, "firing") == 0)
			status = "0";
		else if (strcmp(q->status, "resolved") == 0)
			status = "1";
		else
			goto out;
	}
	if (q->text && strlen(q->text) > TEXT_QUERY_MAX)
		goto out;
	rc = RFX_ENOMEM;
	if (q->text && *q->text && !(pattern = like_pattern(q->text)))
		goto out;
	snprintf(sev, sizeof sev, "%d", q->severity);
	snprintf(since, sizeof since, "%" PRId64, q->since_ns);
	snprintf(until, sizeof until, "%" PRId64, q->until_ns);

	/* Filters that are not set are left out of the SQL; their parameters
	 * do not exist (PostgreSQL could not type an unused one). */
	len = (size_t)snprintf(sql, sizeof sql,
			       "SELECT " EVENT_COLUMNS " FROM processed_events p WHERE true");
#define FILTER(cond, fmt, val)                                                          \
	do {                                                                            \
		if (cond) {                                                             \
			params[np++] = (val);                                           \
			len += (size_t)snprintf(sql + len, sizeof sql - len, fmt, np);  \
		}                                                                       \
	} while (0)
	FILTER(q->host, " AND p.host = $%d", q->host);
	FILTER(q->service, " AND p.service = $%d", q->service);
	FILTER(q->check, " AND p.check_name = $%d", q->check);
	FILTER(q->source, " AND p.source = $%d", q->source);
	FILTER(q->fingerprint, " AND p.fingerprint = $%d", q->fingerprint);
	FILTER(status, " AND p.status = $%d", status);
	FILTER(q->severity >= 0, " AND p.severity <= $%d", sev);
	FILTER(q->since_ns, " AND p.occurred_ns >= $%d", since);
	FILTER(q->until_ns, " AND p.occurred_ns < $%d", until);
	if (pattern) {
		params[np++] = pattern;
		len += (size_t)snprintf(sql + len, sizeof sql - len,
					" AND (p.check_name ILIKE $%d ESCAPE '\\' OR p.message ILIKE "
					"$%d ESCAPE '\\' OR p.host ILIKE $%d ESCAPE '\\')",
					np, np, np);
	}
	/* storing order, as in the SQLite store; the cursor is the last id */
	FILTER(q->cursor && *q->cursor,
	       " AND p.seq < (SELECT seq FROM processed_events WHERE id = $%d)", q->cursor);
#undef FILTER
	/* one row more than asked tells whether another page exists */
	snprintf(sql + len, sizeof sql - len, " ORDER BY p.seq DESC LIMIT %zu", q->limit + 1);

	evs = calloc(q->limit, sizeof *evs);
	if (!evs)
		goto out;
	rc = RFX_EIO;
	r = pg_run(s, NULL, sql, np, params, PGRES_TUPLES_OK, "query_events");
	if (!r)
		goto out;
	size_t rows = (size_t)PQntuples(r);
	for (got = 0; got < rows && got < q->limit; got++) {
		rc = row_to_event(s, r, (int)got, -1, &evs[got]);
		if (rc != 0)
			goto out;
	}
	if (rows > q->limit)
		snprintf(next_cursor, RFX_EVENT_ID_LEN + 1, "%s", evs[got - 1]->id);
	*out = evs;
	*n = got;
	evs = NULL;
	rc = 0;
out:
	PQclear(r);
	if (evs) {
		for (size_t i = 0; i < got; i++)
			s->host->event_unref(evs[i]);
		free(evs);
	}
	free(pattern);
	return rc;
}

static int pg_count_events(void *state, uint64_t *n)
{
	struct store *s = state;
	PGresult *r = pg_run(s, "count", NULL, 0, NULL, PGRES_TUPLES_OK, "count_events");

	if (!r)
		return RFX_EIO;
	*n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

/* ---- retention ------------------------------------------------------------------ */

int64_t pg_retention_pass(struct store *s, bool *more)
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	/* ULIDs start with their 48-bit millisecond time, so every id below
	 * the cutoff's prefix is older: the unique indexes on id find them,
	 * no index on a time column is needed. Raw payloads go by their own
	 * id, not with their event's row: a folded repeat's payload has no
	 * row of its own. */
	static const char sql[] =
		"WITH doomed AS (SELECT seq FROM processed_events WHERE id < $1 "
		"ORDER BY id LIMIT $2), "
		"raw AS (DELETE FROM raw_events WHERE id IN (SELECT id FROM raw_events "
		"WHERE id < $1 ORDER BY id LIMIT $2) RETURNING 1), "
		"ev AS (DELETE FROM processed_events WHERE seq IN (SELECT seq FROM doomed) "
		"RETURNING 1) "
		"SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM raw)";
	char cutoff[RFX_EVENT_ID_LEN + 1], batch[32];
	const char *params[2] = {cutoff, batch};
	int64_t ms = s->host->now_ns() / 1000000 - s->cfg->retention_ms, n;
	PGresult *r;

	*more = false;
	if (ms <= 0)
		return 0;
	memset(cutoff, '0', RFX_EVENT_ID_LEN);
	cutoff[RFX_EVENT_ID_LEN] = '\0';
	for (int i = 9; i >= 0; i--, ms >>= 5)
		cutoff[i] = crockford[ms & 31];
	snprintf(batch, sizeof batch, "%" PRId64, s->cfg->retention_batch);
	r = pg_run(s, NULL, sql, 2, params, PGRES_TUPLES_OK, "retention");
	if (!r)
		return RFX_EIO;
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*more = n >= s->cfg->retention_batch ||
		strtoll(PQgetvalue(r, 0, 1), NULL, 10) >= s->cfg->retention_batch;
	PQclear(r);
	return n;
}

/* ---- key-value state ------------------------------------------------------------ */

static int pg_kv_get(void *state, const char *ns, const char *key, char **value)
{
	struct store *s = state;
	const char *params[2] = {ns, key};
	PGresult *r;
	int rc = RFX_ENOENT;

	if (!ns || !key || !value)
		return RFX_EINVAL;
	r = pg_run(s, "kv_get", NULL, 2, params, PGRES_TUPLES_OK, "kv_get");
	if (!r)
		return RFX_EIO;
	if (PQntuples(r) > 0) {
		*value = strdup(PQgetvalue(r, 0, 0));
		rc = *value ? 0 : RFX_ENOMEM;
	}
	PQclear(r);
	return rc;
}

static int pg_kv_put(void *state, const char *ns, const char *key, const char *value)
{
	struct store *s = state;
	const char *params[3] = {ns, key, value};
	PGresult *r;

	if (!ns || !key || !value)
		return RFX_EINVAL;
	r = pg_run(s, "kv_put", NULL, 3, params, PGRES_COMMAND_OK, "kv_put");
	if (!r)
		return RFX_EIO;
	PQclear(r);
	return 0;
}

/* Deleting a key that does not exist is not an error. */
static int pg_kv_del(void *state, const char *ns, const char *key)
{
	struct store *s = state;
	const char *params[2] = {ns, key};
	PGresult *r;

	if (!ns || !key)
		return RFX_EINVAL;
	r = pg_run(s, "kv_del", NULL, 2, params, PGRES_COMMAND_OK, "kv_del");
	if (!r)
		return RFX_EIO;
	PQclear(r);
	return 0;
}

/* ---- operations table ------------------------------------------------------------ */

const rfx_store_ops pg_store_ops = {
	.size = sizeof(rfx_store_ops),
	.put_events = pg_put_events,
	.get_event = pg_get_event,
	.query_events = pg_query_events,
	.kv_get = pg_kv_get,
	.kv_put = pg_kv_put,
	.kv_del = pg_kv_del,
	.count_events = pg_count_events,
	.put_batch = pg_put_batch,
	.outbox_update = pg_outbox_update,
	.outbox_delete = pg_outbox_delete,
	.outbox_list = pg_outbox_list,
};
