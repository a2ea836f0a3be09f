/*
 * plugins/stores/postgres/pg_events.c - the store operations of the
 * PostgreSQL store: putting, getting and querying events, key-value state,
 * the event count and retention passes.
 *
 * A batch is one transaction. Batches of copy_min_batch events or more go
 * through COPY into the connection's temporary staging table and then one
 * INSERT ... SELECT ... ON CONFLICT (id) DO NOTHING per target table;
 * smaller ones are prepared single-row INSERTs sent in libpq pipeline mode
 * (one implicit transaction, committed by the pipeline's Sync), which costs
 * one round trip instead of COPY's three. Both keep the first copy of an
 * event id, so a retried batch or a preset id seen again changes nothing.
 *
 * Every operation that fails because its connection broke is retried once
 * on a fresh connection: writes are idempotent, reads have no effect.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

#define QUERY_LIMIT_MAX 1000
#define TEXT_QUERY_MAX 1024 /* bytes of a text search */
#define PIPELINE_CHUNK 128  /* queries sent before their results are read */

static const char insert_from_stage[] =
	"INSERT INTO processed_events(id, occurred_ns, received_ns, source, kind, host, "
	"service, check_name, severity, status, message, fingerprint, value, labels, attrs) "
	"SELECT id, occurred_ns, received_ns, source, kind, host, service, check_name, "
	"severity, status, message, fingerprint, value, labels, attrs FROM stage ORDER BY ord "
	"ON CONFLICT (id) DO NOTHING; "
	"INSERT INTO raw_events(id, received_ns, source, payload) "
	"SELECT id, received_ns, source, raw FROM stage WHERE raw IS NOT NULL ORDER BY ord "
	"ON CONFLICT (id) DO NOTHING; "
	"COMMIT";

/* ---- running statements --------------------------------------------------------- */

/* Runs the prepared statement `name` (or, with name NULL, `sql`) and returns
 * its result when its status is `want`; NULL (logged) otherwise. Retries
 * once on a fresh connection when the connection broke. */
static PGresult *run(struct store *s, const char *name, const char *sql, int nparams,
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

/* ---- writing events ------------------------------------------------------------- */

/* The text of one event's columns, as both write paths send them. Numbers
 * live in `num`, strings are the event's own or cleaned copies in
 * s->scratch, labels/attrs are in s->jbuf. Write lock held. */
struct row {
	const char *v[17]; /* ord, then the 15 columns of ins_event, then raw */
	char num[6][32];
};

static int row_build(struct store *s, const rfx_event *ev, size_t ord, struct row *row)
{
	static const enum rfx_field text_fields[] = {RFX_F_SOURCE, RFX_F_KIND, RFX_F_HOST,
						      RFX_F_SERVICE, RFX_F_CHECK};
	size_t attrs_at;
	int rc = pg_json_write(s, &s->jbuf, ev, &attrs_at);
	const char *t;
	int k = 0;

	if (rc != 0)
		return rc;
	/* cleans field f into scratch buffer k, or leaves it NULL */
#define TEXT(f)                                                                        \
	((t = ev->str[f]) ? pg_utf8_clean(&s->scratch[k++], t) : (k++, (const char *)NULL))
	snprintf(row->num[0], sizeof row->num[0], "%zu", ord);
	row->v[0] = row->num[0];
	row->v[1] = ev->id;
	snprintf(row->num[1], sizeof row->num[1], "%" PRId64, ev->occurred_ns);
	row->v[2] = ev->occurred_ns ? row->num[1] : NULL;
	snprintf(row->num[2], sizeof row->num[2], "%" PRId64, ev->received_ns);
	row->v[3] = row->num[2];
	for (size_t i = 0; i < 5; i++) {
		row->v[4 + i] = TEXT(text_fields[i]);
		if (ev->str[text_fields[i]] && !row->v[4 + i])
			return RFX_ENOMEM;
	}
	snprintf(row->num[3], sizeof row->num[3], "%d", ev->severity);
	row->v[9] = row->num[3];
	snprintf(row->num[4], sizeof row->num[4], "%d", ev->status);
	row->v[10] = row->num[4];
	row->v[11] = TEXT(RFX_F_MESSAGE);
	row->v[12] = TEXT(RFX_F_FINGERPRINT);
	row->v[16] = TEXT(RFX_F_RAW);
	if ((ev->str[RFX_F_MESSAGE] && !row->v[11]) || (ev->str[RFX_F_FINGERPRINT] && !row->v[12]) ||
	    (ev->str[RFX_F_RAW] && !row->v[16]))
		return RFX_ENOMEM;
#undef TEXT
	snprintf(row->num[5], sizeof row->num[5], "%.17g", ev->value);
	row->v[13] = ev->has_value && isfinite(ev->value) ? row->num[5] : NULL;
	row->v[14] = s->jbuf.p;
	row->v[15] = s->jbuf.p + attrs_at;
	return 0;
}

/* Ends a failed write: rolls back what is open. */
static void write_abort(PGconn *pg)
{
	if (PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
}

int pg_copy_build(struct store *s, struct sbuf *b, rfx_event *const *events, size_t n)
{
	struct row row;
	int rc = 0;

	b->len = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = row_build(s, events[i], i, &row);
		for (int f = 0; f < 17 && rc == 0; f++) {
			const char *v = row.v[f];
			rc = pg_copy_field(b, v, v ? strlen(v) : 0);
			if (rc == 0)
				rc = sbuf_addc(b, f == 16 ? '\n' : '\t');
		}
	}
	return rc;
}

int pg_copy_write(struct store *s, struct conn *c, const char *text, size_t len)
{
	PGconn *pg = c->pg;
	PGresult *r = NULL;

	r = PQexec(pg, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	r = PQexec(pg, "COPY stage FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN)
		goto fail;
	PQclear(r);
	r = NULL;
	if (len > INT32_MAX || PQputCopyData(pg, text, (int)len) != 1 || PQputCopyEnd(pg, NULL) != 1)
		goto fail;
	r = PQgetResult(pg);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	while (r) {
		PQclear(r);
		r = PQgetResult(pg);
	}
	r = PQexec(pg, insert_from_stage);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	return 0;
fail:
	if (!pg_conn_lost(c))
		pg_log_result(s, c, r, "write events (COPY)");
	PQclear(r);
	/* drain what a failed COPY may have left */
	while (!pg_conn_lost(c) && (r = PQgetResult(pg)))
		PQclear(r);
	write_abort(pg);
	return RFX_EIO;
}

static int write_copy(struct store *s, struct conn *c, rfx_event *const *events, size_t n)
{
	int rc = pg_copy_build(s, &s->copybuf, events, n);

	return rc != 0 ? rc : pg_copy_write(s, c, s->copybuf.p, s->copybuf.len);
}

/* Reads the results of `pending` pipelined queries. RFX_EIO when one
 * failed (logged) or the connection broke. */
static int pipeline_read(struct store *s, struct conn *c, int pending, bool *failed)
{
	for (; pending > 0; pending--) {
		PGresult *r = PQgetResult(c->pg);
		if (!r)
			return RFX_EIO;
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK) {
			if (!*failed && st != PGRES_PIPELINE_ABORTED && !pg_conn_lost(c))
				pg_log_result(s, c, r, "write events (pipeline)");
			*failed = true;
		}
		PQclear(r);
		/* each query's results end with a NULL */
		if ((r = PQgetResult(c->pg)))
			PQclear(r);
		if (pg_conn_lost(c))
			return RFX_EIO;
	}
	return 0;
}

static int write_pipeline(struct store *s, struct conn *c, rfx_event *const *events, size_t n)
{
	PGconn *pg = c->pg;
	struct row row;
	PGresult *r;
	bool failed = false;
	int pending = 0, rc = 0;

	if (PQenterPipelineMode(pg) != 1)
		return RFX_EIO;
	for (size_t i = 0; i < n && !failed; i++) {
		rc = row_build(s, events[i], i, &row);
		if (rc != 0)
			break;
		if (PQsendQueryPrepared(pg, "ins_event", 15, row.v + 1, NULL, NULL, 0) != 1) {
			failed = true;
			break;
		}
		pending++;
		if (row.v[16]) {
			const char *raw[4] = {row.v[1], row.v[3], row.v[4], row.v[16]};
			if (PQsendQueryPrepared(pg, "ins_raw", 4, raw, NULL, NULL, 0) != 1) {
				failed = true;
				break;
			}
			pending++;
		}
		/* read back as we go: a server blocked writing results we do not
		 * read would stop reading our queries */
		if (pending >= PIPELINE_CHUNK) {
			if (PQsendFlushRequest(pg) != 1 || PQflush(pg) != 0 ||
			    pipeline_read(s, c, pending, &failed) != 0)
				return RFX_EIO; /* closed with the connection */
			pending = 0;
		}
	}
	/* Sync commits the implicit transaction, or rolls it back after an
	 * error. On an error before it (rc != 0), the pipeline is abandoned
	 * with the connection. */
	if (rc != 0 || pg_conn_lost(c) || PQpipelineSync(pg) != 1 ||
	    pipeline_read(s, c, pending, &failed) != 0) {
		return rc != 0 ? rc : RFX_EIO;
	}
	r = PQgetResult(pg);
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		failed = true;
	PQclear(r);
	if (PQexitPipelineMode(pg) != 1)
		failed = true;
	return failed ? RFX_EIO : 0;
}

int pg_write_events(struct store *s, rfx_event *const *events, size_t n, bool *down)
{
	int rc = RFX_EIO;

	*down = false;
	pthread_mutex_lock(&s->write_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct conn *c = pg_conn_take(s);
		if (!c) {
			*down = true;
			rc = RFX_EIO;
			break;
		}
		rc = (int64_t)n >= s->cfg->copy_min_batch ? write_copy(s, c, events, n)
							   : write_pipeline(s, c, events, n);
		bool lost = rc != 0 && pg_conn_lost(c);
		/* a pipeline abandoned after an error is closed with its connection */
		pg_conn_give(s, c, lost || (rc != 0 && PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF));
		if (rc == 0 || !lost)
			break;
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "connection lost while writing %zu events; retrying on a new one", n);
		*down = true;
	}
	if (s->copybuf.cap > 16u << 20) /* do not keep a huge buffer after a huge batch */
		sbuf_free(&s->copybuf);
	if (s->jbuf.cap > 1u << 20)
		sbuf_free(&s->jbuf);
	pthread_mutex_unlock(&s->write_lock);
	if (rc == 0)
		*down = false;
	return rc;
}

static int pg_put_events(void *state, rfx_event *const *events, size_t n)
{
	struct store *s = state;
	bool down = false;
	int rc;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!events[i] || !events[i]->id[0])
			return RFX_EINVAL;
	/* while older batches wait in the spool, newer ones queue behind them */
	if (s->spool && pg_spool_pending(s->spool))
		goto spool;
	rc = pg_write_events(s, events, n, &down);
	if (rc == 0 || !down || !s->spool)
		return rc;
spool:
	rc = pg_spool_append(s->spool, events, n);
	if (rc == 0) {
		s->host->metric_add(s->m_spooled, (double)n);
		return 0;
	}
	return RFX_EIO;
}

/* ---- reading events ------------------------------------------------------------- */

static int pg_get_event(void *state, const char *id, rfx_event **out)
{
	struct store *s = state;
	PGresult *r;
	int rc;

	if (!id || !out)
		return RFX_EINVAL;
	r = run(s, "get_event", NULL, 1, &id, PGRES_TUPLES_OK, "get_event");
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
	r = run(s, NULL, sql, np, params, PGRES_TUPLES_OK, "query_events");
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
	PGresult *r = run(s, "count", NULL, 0, NULL, PGRES_TUPLES_OK, "count_events");

	if (!r)
		return RFX_EIO;
	*n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

/* ---- retention ------------------------------------------------------------------ */

int64_t pg_retention_pass(struct store *s)
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	/* ULIDs start with their 48-bit millisecond time, so every id below
	 * the cutoff's prefix is older: the unique index on id finds them,
	 * no index on a time column is needed. */
	static const char sql[] =
		"WITH doomed AS (SELECT seq, id FROM processed_events WHERE id < $1 "
		"ORDER BY id LIMIT $2), "
		"raw AS (DELETE FROM raw_events WHERE id IN (SELECT id FROM doomed)) "
		"DELETE FROM processed_events WHERE seq IN (SELECT seq FROM doomed)";
	char cutoff[RFX_EVENT_ID_LEN + 1], batch[32];
	const char *params[2] = {cutoff, batch};
	int64_t ms = s->host->now_ns() / 1000000 - s->cfg->retention_ms, n;
	PGresult *r;

	if (ms <= 0)
		return 0;
	memset(cutoff, '0', RFX_EVENT_ID_LEN);
	cutoff[RFX_EVENT_ID_LEN] = '\0';
	for (int i = 9; i >= 0; i--, ms >>= 5)
		cutoff[i] = crockford[ms & 31];
	snprintf(batch, sizeof batch, "%" PRId64, s->cfg->retention_batch);
	r = run(s, NULL, sql, 2, params, PGRES_COMMAND_OK, "retention");
	if (!r)
		return RFX_EIO;
	n = strtoll(PQcmdTuples(r), NULL, 10);
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
	r = run(s, "kv_get", NULL, 2, params, PGRES_TUPLES_OK, "kv_get");
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
	r = run(s, "kv_put", NULL, 3, params, PGRES_COMMAND_OK, "kv_put");
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
	r = run(s, "kv_del", NULL, 2, params, PGRES_COMMAND_OK, "kv_del");
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
};
