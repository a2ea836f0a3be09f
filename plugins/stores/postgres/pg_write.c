/*
 * plugins/stores/postgres/pg_write.c - writing batches to the PostgreSQL
 * store: events, their raw payloads and their outbox entries, one
 * transaction per batch.
 *
 * Batches of copy_min_batch events or more go through COPY into the
 * connection's temporary staging table and then one INSERT ... SELECT ...
 * ON CONFLICT (id) DO NOTHING per target table; smaller ones are prepared
 * single-row INSERTs sent in libpq pipeline mode (one implicit
 * transaction, committed by the pipeline's Sync), which costs one round
 * trip instead of COPY's three. Both keep the first copy of an event id,
 * so a retried batch or a preset id seen again changes nothing.
 *
 * A repeat the noise stage folded (ev->fold_into set) adds to its record's
 * row instead of inserting one: count = greatest(count, ev->count),
 * last_ns = greatest(last_ns, its time), value = coalesce(its value,
 * value), the first message staying; its raw payload (the event as JSON
 * when it has none) is stored under its own id with the record's id in
 * folded_into, which get_event follows. greatest() makes a retried batch change nothing more. A record
 * whose row is not there (older than this schema) gets the repeat as a
 * row of its own. The pipelined path sends one statement per repeat that
 * does either (fold_event, postgres.c); the COPY path stages repeats with
 * their fold columns, leaves out of the row INSERT those whose record is
 * stored or staged, and updates the records with one UPDATE ... FROM the
 * staging table after it, per record the largest count and time and the
 * last value in batch order. A folded repeat is never "inserted" for the
 * outbox pairing below (it has no entries anyway).
 *
 * Outbox entries (put_batch) follow the semantics of the SQLite store:
 * entries come in the order of their events; an entry whose event was
 * inserted by this batch is added and gets the id the table's identity
 * column drew; an entry whose event was already stored (a preset id sent
 * again) gets id 0 and is not added, so a redelivered event is not
 * delivered twice; entries for events not in the batch (a replay) are
 * added. Which events were inserted comes from the server: the COPY path's
 * INSERT ... SELECT ... RETURNING id, the pipeline path's row count of each
 * single-row INSERT. The entries are then sent, pipelined, in the same
 * transaction: one more round trip.
 *
 * The disk spool (pg_spool.c) takes batches without deliveries while the
 * server is down. A batch with deliveries is refused instead (RFX_EIO):
 * the ids the core needs to track its deliveries come from the server's
 * sequence, and a spooled entry would have none until drained, long after
 * the core could have used it. Inputs that wait for the acknowledgement
 * (webhook: HTTP 503) make their senders retry; nothing acknowledged is
 * lost.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

#define PIPELINE_CHUNK 128 /* queries sent before their results are read */
#define REFUSED_LOG_MS 10000

/* Rows: every staged event but the repeats whose record is stored or is
 * a plain row of this batch (the statement's snapshot does not see the
 * rows it inserts itself, hence the second test). */
#define INSERT_EVENTS_FROM_STAGE                                                                   \
	"INSERT INTO processed_events(id, occurred_ns, received_ns, source, kind, host, "          \
	"service, check_name, severity, status, message, fingerprint, value, labels, attrs) "      \
	"SELECT id, occurred_ns, received_ns, source, kind, host, service, check_name, "           \
	"severity, status, message, fingerprint, value, labels, attrs FROM stage s "               \
	"WHERE s.fold_into IS NULL OR NOT (EXISTS (SELECT 1 FROM processed_events p "              \
	"WHERE p.id = s.fold_into) OR EXISTS (SELECT 1 FROM stage t WHERE t.id = s.fold_into "    \
	"AND t.fold_into IS NULL)) ORDER BY ord ON CONFLICT (id) DO NOTHING"
/* Records: after the rows, so a record stored by this batch is there.
 * One source row per record, as UPDATE ... FROM takes only one; a repeat
 * inserted as a row above has a record that is not there: no match. */
#define FOLD_FROM_STAGE                                                                            \
	"UPDATE processed_events p SET count = greatest(p.count, f.count), "                       \
	"last_ns = greatest(coalesce(p.last_ns, 0), f.last_ns), value = coalesce(f.value, p.value) " \
	"FROM (SELECT fold_into, max(count) AS count, max(last_ns) AS last_ns, "                   \
	"(array_agg(value ORDER BY ord DESC) FILTER (WHERE value IS NOT NULL))[1] AS value "       \
	"FROM stage WHERE fold_into IS NOT NULL GROUP BY fold_into) f WHERE p.id = f.fold_into"
/* After the records: a repeat's record is there exactly when it was
 * folded into it rather than stored as a row. */
#define INSERT_RAW_FROM_STAGE                                                                      \
	"INSERT INTO raw_events(id, received_ns, source, payload, folded_into) "                   \
	"SELECT s.id, s.received_ns, s.source, s.raw, p.id FROM stage s "                          \
	"LEFT JOIN processed_events p ON p.id = s.fold_into WHERE s.raw IS NOT NULL "              \
	"ORDER BY s.ord ON CONFLICT (id) DO NOTHING"

/* without deliveries: everything in one round trip */
static const char insert_from_stage[] =
    INSERT_EVENTS_FROM_STAGE "; " FOLD_FROM_STAGE "; " INSERT_RAW_FROM_STAGE "; COMMIT";

/* COPY of the rows pg_copy_build() writes (ROW_FIELDS fields), and of those
 * a spool written before dedup folding holds (OLD_ROW_FIELDS: no fold
 * columns), which may wait on disk across an upgrade. */
#define ROW_FIELDS 20
#define OLD_ROW_FIELDS 17
static const char copy_rows[] = "COPY stage(ord, id, occurred_ns, received_ns, source, kind, "
				"host, service, check_name, severity, status, message, "
				"fingerprint, value, labels, attrs, fold_into, count, last_ns, "
				"raw) FROM STDIN";
static const char copy_old_rows[] = "COPY stage(ord, id, occurred_ns, received_ns, source, "
				    "kind, host, service, check_name, severity, status, message, "
				    "fingerprint, value, labels, attrs, raw) FROM STDIN";

/* ---- writing events ------------------------------------------------------------- */

/* The text of one event's columns, as both write paths send them. Numbers
 * live in `num`, strings are the event's own or cleaned copies in
 * s->scratch, labels/attrs are in s->jbuf. Write lock held. */
struct row {
	/* ord, the 15 columns of ins_event, the 3 fold columns (fold_event's
	 * $16-$18, NULL unless folded), raw: ROW_FIELDS in COPY order */
	const char *v[ROW_FIELDS];
	char num[8][32];
};

/* A folded repeat always leaves a raw row, since that row is how its
 * acknowledged id is found: without a payload, the event as JSON, in the
 * scratch buffer a payload would have used. 0 or RFX_ENOMEM. */
static int raw_as_json(struct store *s, const rfx_event *ev, struct row *row)
{
	struct sbuf *b = &s->scratch[7];
	struct json_object *j = s->host->event_to_json(ev);
	const char *text, *clean;
	int rc = RFX_ENOMEM;

	if (!j)
		return rc;
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	clean = text ? pg_utf8_clean(b, text) : NULL;
	if (clean && clean == text) { /* valid as it is: copy it out of j */
		b->len = 0;
		if (sbuf_add(b, text, strlen(text)) != 0)
			clean = NULL;
		else
			clean = b->p;
	}
	if (clean) {
		row->v[19] = clean;
		rc = 0;
	}
	json_object_put(j);
	return rc;
}

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
#define TEXT(f) ((t = ev->str[f]) ? pg_utf8_clean(&s->scratch[k++], t) : (k++, (const char *)NULL))
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
	row->v[19] = TEXT(RFX_F_RAW);
	if ((ev->str[RFX_F_MESSAGE] && !row->v[11]) ||
	    (ev->str[RFX_F_FINGERPRINT] && !row->v[12]) || (ev->str[RFX_F_RAW] && !row->v[19]))
		return RFX_ENOMEM;
#undef TEXT
	snprintf(row->num[5], sizeof row->num[5], "%.17g", ev->value);
	row->v[13] = ev->has_value && isfinite(ev->value) ? row->num[5] : NULL;
	row->v[14] = s->jbuf.p;
	row->v[15] = s->jbuf.p + attrs_at;
	row->v[16] = row->v[17] = row->v[18] = NULL;
	if (ev->fold_into[0]) {
		row->v[16] = ev->fold_into; /* an id: ASCII, nothing to clean */
		snprintf(row->num[6], sizeof row->num[6], "%" PRIu64,
			 ev->count > INT64_MAX ? (uint64_t)INT64_MAX : ev->count);
		row->v[17] = row->num[6];
		snprintf(row->num[7], sizeof row->num[7], "%" PRId64,
			 ev->occurred_ns ? ev->occurred_ns : ev->received_ns);
		row->v[18] = row->num[7];
		if (!row->v[19])
			return raw_as_json(s, ev, row);
	}
	return 0;
}

/* Ends a failed write: rolls back what is open. */
static void write_abort(PGconn *pg)
{
	if (PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
}

/* ---- the pipeline ----------------------------------------------------------------- */

/* What the result of a pipelined query means. */
enum slot_kind { SLOT_EVENT, SLOT_RAW, SLOT_ENTRY };

struct slot {
	enum slot_kind kind;
	size_t index; /* of the event (SLOT_EVENT) or the entry (SLOT_ENTRY) */
};

/* Queries sent on one connection in pipeline mode, whose results are read
 * in chunks: a server blocked writing results we do not read would stop
 * reading our queries. */
struct pipe {
	struct store *s;
	struct conn *c;
	struct slot slots[PIPELINE_CHUNK];
	int pending;
	bool failed;	/* a query failed: the rest are aborted until Sync */
	bool *inserted; /* per event: did this batch insert it (or NULL) */
	rfx_outbox_entry *entries;
};

/* Reads the results of the pending queries. RFX_EIO when the connection
 * broke; a failed query only sets p->failed (logged). */
static int pipe_read(struct pipe *p)
{
	PGconn *pg = p->c->pg;

	for (int k = 0; k < p->pending; k++) {
		const struct slot *sl = &p->slots[k];
		PGresult *r = PQgetResult(pg);
		if (!r)
			return RFX_EIO;
		ExecStatusType st = PQresultStatus(r);
		ExecStatusType want = sl->kind == SLOT_ENTRY ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
		if (st != want || (sl->kind == SLOT_ENTRY && PQntuples(r) != 1)) {
			if (!p->failed && st != PGRES_PIPELINE_ABORTED && !pg_conn_lost(p->c))
				pg_log_result(p->s, p->c, r, "write events (pipeline)");
			p->failed = true;
		} else if (sl->kind == SLOT_EVENT && p->inserted) {
			/* "INSERT 0 1", or "INSERT 0 0" when the id was there */
			p->inserted[sl->index] = strcmp(PQcmdTuples(r), "1") == 0;
		} else if (sl->kind == SLOT_ENTRY) {
			p->entries[sl->index].id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		}
		PQclear(r);
		/* each query's results end with a NULL */
		if ((r = PQgetResult(pg)))
			PQclear(r);
		if (pg_conn_lost(p->c))
			return RFX_EIO;
	}
	p->pending = 0;
	return 0;
}

/* Asks the server for the results so far and reads them. */
static int pipe_flush(struct pipe *p)
{
	if (p->pending == 0)
		return 0;
	if (PQsendFlushRequest(p->c->pg) != 1 || PQflush(p->c->pg) != 0)
		return RFX_EIO;
	return pipe_read(p);
}

static int pipe_send(struct pipe *p, const char *stmt, int nparams, const char *const *vals,
		     enum slot_kind kind, size_t index)
{
	if (p->pending == PIPELINE_CHUNK && pipe_flush(p) != 0)
		return RFX_EIO;
	if (PQsendQueryPrepared(p->c->pg, stmt, nparams, vals, NULL, NULL, 0) != 1)
		return RFX_EIO;
	p->slots[p->pending++] = (struct slot){kind, index};
	return 0;
}

/* Sends Sync (which commits the implicit transaction, or rolls it back
 * after an error; inside BEGIN it only ends the pipeline's part), reads
 * everything and leaves pipeline mode. RFX_EIO when a query failed or the
 * connection broke; a pipeline abandoned on error is closed with its
 * connection (pg_write_batch). */
static int pipe_sync(struct pipe *p)
{
	PGconn *pg = p->c->pg;
	PGresult *r;

	if (pg_conn_lost(p->c) || PQpipelineSync(pg) != 1 || pipe_read(p) != 0)
		return RFX_EIO;
	r = PQgetResult(pg);
	if (PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		p->failed = true;
	PQclear(r);
	if (PQexitPipelineMode(pg) != 1)
		p->failed = true;
	return p->failed ? RFX_EIO : 0;
}

/* Sends one outbox entry's INSERT ... RETURNING id. */
static int send_entry(struct pipe *p, size_t j)
{
	struct store *s = p->s;
	const rfx_outbox_entry *e = &p->entries[j];
	char state[16], attempts[16], created[32], next[32];
	const char *v[7];

	snprintf(state, sizeof state, "%d", e->state);
	snprintf(attempts, sizeof attempts, "%" PRIu32, e->attempts);
	snprintf(created, sizeof created, "%" PRId64, e->created_ns);
	snprintf(next, sizeof next, "%" PRId64, e->next_ns);
	/* the row's scratch buffers are free again: PQsendQueryPrepared copied
	 * the last row's values into its output buffer */
	v[0] = pg_utf8_clean(&s->scratch[0], e->output);
	v[1] = pg_utf8_clean(&s->scratch[1], e->event_id);
	v[2] = state;
	v[3] = attempts;
	v[4] = created;
	v[5] = next;
	v[6] = pg_utf8_clean(&s->scratch[2], e->last_error);
	if (!v[0] || !v[1] || !v[6])
		return RFX_ENOMEM;
	return pipe_send(p, "ob_ins", 7, v, SLOT_ENTRY, j);
}

/* Sends the entries to add, pairing them with their events in one pass as
 * the SQLite store does: entries of an event not inserted by this batch
 * keep id 0; entries left after the last event's (a replay) are added. */
static int send_entries(struct pipe *p, rfx_event *const *events, size_t n, size_t m)
{
	size_t j = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		for (; rc == 0 && j < m && strcmp(p->entries[j].event_id, events[i]->id) == 0; j++)
			if (p->inserted[i])
				rc = send_entry(p, j);
	for (; rc == 0 && j < m; j++)
		rc = send_entry(p, j);
	return rc;
}

/* ---- COPY ----------------------------------------------------------------------- */

int pg_copy_build(struct store *s, struct sbuf *b, rfx_event *const *events, size_t n)
{
	struct row row;
	int rc = 0;

	b->len = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = row_build(s, events[i], i, &row);
		for (int f = 0; f < ROW_FIELDS && rc == 0; f++) {
			const char *v = row.v[f];
			rc = pg_copy_field(b, v, v ? strlen(v) : 0);
			if (rc == 0)
				rc = sbuf_addc(b, f == ROW_FIELDS - 1 ? '\n' : '\t');
		}
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets inserted[i] for the events whose ids r (RETURNING id) holds. An id
 * twice in the batch was inserted from its first row (ORDER BY ord), so
 * only its first event counts. 0 or RFX_ENOMEM. */
static int mark_inserted(const PGresult *r, rfx_event *const *events, size_t n, bool *inserted)
{
	size_t rows = (size_t)PQntuples(r);
	const char **ids = malloc((rows + 1) * sizeof *ids);
	bool *claimed = calloc(rows + 1, sizeof *claimed);
	int rc = RFX_ENOMEM;

	if (!ids || !claimed)
		goto out;
	for (size_t k = 0; k < rows; k++)
		ids[k] = PQgetvalue(r, (int)k, 0);
	qsort(ids, rows, sizeof *ids, cmp_str);
	for (size_t i = 0; i < n; i++) {
		const char *key = events[i]->id;
		const char **hit = rows ? bsearch(&key, ids, rows, sizeof *ids, cmp_str) : NULL;
		inserted[i] = hit && !claimed[hit - ids];
		if (hit)
			claimed[hit - ids] = true;
	}
	rc = 0;
out:
	free(ids);
	free(claimed);
	return rc;
}

/* Fields in the first row of COPY text: escaping leaves no tab inside a
 * field. */
static int copy_fields(const char *text, size_t len)
{
	int n = 1;

	for (size_t i = 0; i < len && text[i] != '\n'; i++)
		n += text[i] == '\t';
	return n;
}

/* One transaction: COPY text into the staging table, then into the event
 * tables, and (with m > 0) the outbox entries of the events inserted. */
static int copy_write_batch(struct store *s, struct conn *c, const char *text, size_t len,
			    rfx_event *const *events, size_t n, rfx_outbox_entry *entries, size_t m,
			    bool *inserted)
{
	PGconn *pg = c->pg;
	PGresult *r = NULL;
	struct pipe p = {.s = s, .c = c, .inserted = inserted, .entries = entries};
	int rc = RFX_EIO;

	r = PQexec(pg, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	r = PQexec(pg, copy_fields(text, len) == OLD_ROW_FIELDS ? copy_old_rows : copy_rows);
	if (PQresultStatus(r) != PGRES_COPY_IN)
		goto fail;
	PQclear(r);
	r = NULL;
	if (len > INT32_MAX || PQputCopyData(pg, text, (int)len) != 1 ||
	    PQputCopyEnd(pg, NULL) != 1) {
		if (!pg_conn_lost(c))
			pg_log_result(s, c, NULL, "write events (COPY)");
		goto fail;
	}
	r = PQgetResult(pg);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	while (r) {
		PQclear(r);
		r = PQgetResult(pg);
	}
	if (m == 0) {
		r = PQexec(pg, insert_from_stage);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			goto fail;
		PQclear(r);
		return 0;
	}
	r = PQexec(pg, INSERT_EVENTS_FROM_STAGE " RETURNING id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto fail;
	rc = mark_inserted(r, events, n, inserted);
	PQclear(r);
	r = NULL;
	if (rc != 0)
		goto fail;
	rc = RFX_EIO;
	r = PQexec(pg, FOLD_FROM_STAGE "; " INSERT_RAW_FROM_STAGE);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	r = NULL;
	if (PQenterPipelineMode(pg) != 1)
		goto fail;
	rc = send_entries(&p, events, n, m);
	if (rc != 0)
		goto fail;
	rc = RFX_EIO;
	if (pipe_sync(&p) != 0)
		goto fail;
	r = PQexec(pg, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		goto fail;
	PQclear(r);
	return 0;
fail:
	if (r && !pg_conn_lost(c))
		pg_log_result(s, c, r, "write events (COPY)");
	PQclear(r);
	/* a failed pipelined entry was logged by pipe_read; a pipeline
	 * abandoned on error goes with its connection (the caller closes
	 * it); otherwise drain what a failed COPY may have left */
	if (PQpipelineStatus(pg) == PQ_PIPELINE_OFF) {
		while (!pg_conn_lost(c) && (r = PQgetResult(pg)))
			PQclear(r);
		write_abort(pg);
	}
	return rc;
}

int pg_copy_write(struct store *s, struct conn *c, const char *text, size_t len)
{
	return copy_write_batch(s, c, text, len, NULL, 0, NULL, 0, NULL);
}

static int write_copy(struct store *s, struct conn *c, rfx_event *const *events, size_t n,
		      rfx_outbox_entry *entries, size_t m, bool *inserted)
{
	int rc = pg_copy_build(s, &s->copybuf, events, n);

	return rc != 0 ? rc
		       : copy_write_batch(s, c, s->copybuf.p, s->copybuf.len, events, n, entries, m,
					  inserted);
}

/* ---- pipelined INSERTs -------------------------------------------------------------- */

static int write_pipeline(struct store *s, struct conn *c, rfx_event *const *events, size_t n,
			  rfx_outbox_entry *entries, size_t m, bool *inserted)
{
	struct pipe p = {.s = s, .c = c, .inserted = inserted, .entries = entries};
	struct row row;
	int rc = 0;

	if (PQenterPipelineMode(c->pg) != 1)
		return RFX_EIO;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = row_build(s, events[i], i, &row);
		if (rc == 0 && row.v[16])
			rc = pipe_send(&p, "fold_event", 18, row.v + 1, SLOT_EVENT, i);
		else if (rc == 0)
			rc = pipe_send(&p, "ins_event", 15, row.v + 1, SLOT_EVENT, i);
		if (rc == 0 && row.v[19]) {
			const char *raw[5] = {row.v[1], row.v[3], row.v[4], row.v[19], row.v[16]};
			rc = pipe_send(&p, "ins_raw", 5, raw, SLOT_RAW, i);
		}
	}
	/* the entries depend on which events were inserted: read that first,
	 * still inside the pipeline's implicit transaction */
	if (rc == 0 && m > 0) {
		rc = pipe_flush(&p);
		if (rc == 0 && !p.failed)
			rc = send_entries(&p, events, n, m);
	}
	/* On an error before Sync (rc != 0) the pipeline is abandoned with the
	 * connection, which rolls the transaction back. */
	return rc != 0 ? rc : pipe_sync(&p);
}

/* ---- batches ------------------------------------------------------------------------ */

/* Writes the batch in one transaction, bypassing the spool; fills the
 * entries' ids. 0, RFX_EIO (statement failed; *down says whether because
 * the server could not be reached), RFX_ENOMEM, RFX_EINVAL. */
static int write_batch(struct store *s, rfx_event *const *events, size_t n,
		       rfx_outbox_entry *entries, size_t m, bool *down)
{
	bool *inserted = NULL;
	int rc = RFX_ENOMEM;

	*down = false;
	if (m > 0 && !(inserted = calloc(n + 1, sizeof *inserted)))
		return rc;
	pthread_mutex_lock(&s->write_lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct conn *c = pg_conn_take(s);
		if (!c) {
			*down = true;
			rc = RFX_EIO;
			break;
		}
		for (size_t j = 0; j < m; j++)
			entries[j].id = 0;
		if (inserted)
			memset(inserted, 0, (n + 1) * sizeof *inserted);
		rc = (int64_t)n >= s->cfg->copy_min_batch
			 ? write_copy(s, c, events, n, entries, m, inserted)
			 : write_pipeline(s, c, events, n, entries, m, inserted);
		bool lost = rc != 0 && pg_conn_lost(c);
		/* a pipeline abandoned after an error is closed with its connection */
		pg_conn_give(s, c, lost || (rc != 0 && PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF));
		if (rc == 0 || !lost)
			break;
		/* Retried on a new connection. Had the lost one committed
		 * (the connection broke after COMMIT reached the server), the
		 * retry finds the events stored and gives their entries id 0:
		 * they wait in the outbox until the next start. */
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "connection lost while writing %zu events; retrying on a new one", n);
		*down = true;
	}
	if (rc != 0)
		for (size_t j = 0; j < m; j++)
			entries[j].id = 0;
	if (s->copybuf.cap > 16u << 20) /* do not keep a huge buffer after a huge batch */
		sbuf_free(&s->copybuf);
	if (s->jbuf.cap > 1u << 20)
		sbuf_free(&s->jbuf);
	pthread_mutex_unlock(&s->write_lock);
	free(inserted);
	if (rc == 0)
		*down = false;
	return rc;
}

int pg_put_events(void *state, rfx_event *const *events, size_t n)
{
	return pg_put_batch(state, events, n, NULL, 0);
}

int pg_put_batch(void *state, rfx_event *const *events, size_t n, rfx_outbox_entry *entries,
		 size_t m)
{
	struct store *s = state;
	bool down = false;
	int rc;

	if (n == 0 && m == 0)
		return 0;
	if (m > 0 && !entries)
		return RFX_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!events[i] || !events[i]->id[0])
			return RFX_EINVAL;
	if (m > 0) {
		/* Never spooled (see the top of this file). Written even while
		 * older batches wait in the spool: the spool holds no
		 * deliveries, so only the storing order (seq) of those events
		 * and these differs. */
		rc = write_batch(s, events, n, entries, m, &down);
		if (rc != 0 && down) {
			int64_t now = pg_mono_ms();
			pthread_mutex_lock(&s->write_lock);
			bool say = now - s->refused_log_ms >= REFUSED_LOG_MS || !s->refused_log_ms;
			if (say)
				s->refused_log_ms = now;
			pthread_mutex_unlock(&s->write_lock);
			if (say)
				s->host->log(
				    s->inst, RFX_LOG_WARNING,
				    "PostgreSQL is unreachable: a batch with %zu deliveries is "
				    "refused, not spooled (delivery ids come from the server); "
				    "inputs that wait for acknowledgement tell their senders "
				    "to retry",
				    m);
		}
		return rc == 0 || rc == RFX_ENOMEM || rc == RFX_EINVAL ? rc : RFX_EIO;
	}
	/* while older batches wait in the spool, newer ones queue behind them */
	if (s->spool && pg_spool_pending(s->spool))
		goto spool;
	rc = write_batch(s, events, n, NULL, 0, &down);
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
