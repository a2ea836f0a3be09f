/*
 * plugins/stores/sqlite/sqlite_events.c - the store operations of the SQLite
 * store: putting, getting and querying events, key-value state and the
 * event count. Writes go through the writer connection under writer_lock,
 * reads through a connection taken from the reader pool (see sqlite.c).
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_store.h"

#define QUERY_LIMIT_MAX 1000
#define TEXT_QUERY_MAX 1024 /* bytes of a text search */

static int bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

int sqlite_step_done(sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

/* Builds an event from a row in EVENT_COLUMNS order (plus the raw payload
 * at column raw_col when raw_col >= 0). 0, RFX_ENOMEM or RFX_EIO (corrupt
 * JSON in the row). */
static int row_to_event(struct store *s, sqlite3_stmt *st, int raw_col, rfx_event **out)
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
	int rc = RFX_ENOMEM;
	rfx_event *ev = h->event_new();

	if (!ev)
		goto out;
	snprintf(ev->id, sizeof ev->id, "%s", col_text(st, COL_ID) ? col_text(st, COL_ID) : "");
	ev->occurred_ns = sqlite3_column_int64(st, COL_OCCURRED);
	ev->received_ns = sqlite3_column_int64(st, COL_RECEIVED);
	ev->severity = sqlite3_column_int(st, COL_SEVERITY);
	ev->count = (uint64_t)sqlite3_column_int64(st, COL_COUNT);
	ev->last_ns = sqlite3_column_int64(st, COL_LAST);
	ev->status = sqlite3_column_int(st, COL_STATUS);
	if (sqlite3_column_type(st, COL_VALUE) != SQLITE_NULL) {
		ev->value = sqlite3_column_double(st, COL_VALUE);
		ev->has_value = true;
	}
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		const char *v = col_text(st, strs[i].col);
		if (v && h->event_set(ev, strs[i].field, v) != 0)
			goto out;
	}
	if (raw_col >= 0 && col_text(st, raw_col) &&
	    h->event_set(ev, RFX_F_RAW, col_text(st, raw_col)) != 0)
		goto out;

	rc = sqlite_json_read(s, ev, col_text(st, COL_LABELS), col_text(st, COL_ATTRS));
	if (rc != 0)
		goto out;
	*out = ev;
	ev = NULL;
out:
	if (ev)
		h->event_unref(ev);
	return rc;
}

/* ---- events --------------------------------------------------------------------- */

/* Binds and inserts one event; the writer lock is held. *inserted is false
 * when the store already held an event with this id (a preset id sent
 * again), which is then left as it was. */
static int insert_event(struct store *s, const rfx_event *ev, bool *inserted)
{
	sqlite3_stmt *st = s->ins_event;
	struct sbuf *b = &s->jbuf;
	size_t labels_end;
	int rc;

	if (ev->fold_into[0]) {
		/* a repeat: into its record's row; a record not (yet) there
		 * (older than this database) gets the event as a row after all */
		st = s->fold;
		bind_text(st, 1, ev->fold_into);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)ev->count);
		sqlite3_bind_int64(st, 3, ev->occurred_ns ? ev->occurred_ns : ev->received_ns);
		if (ev->has_value && isfinite(ev->value))
			sqlite3_bind_double(st, 4, ev->value);
		rc = sqlite_step_done(st);
		sqlite3_clear_bindings(st);
		if (rc != 0) {
			sqlite_log_db(s, s->wdb, "fold into processed_events");
			return RFX_EIO;
		}
		*inserted = false;
		if (sqlite3_changes(s->wdb) > 0)
			goto raw; /* the sender's bytes are kept all the same */
		st = s->ins_event;
	}

	/* labels then attrs in one buffer: both texts must stay put until the
	 * statement has run, and the buffer is reused for the whole batch */
	rc = sqlite_json_write(s, b, ev, &labels_end);
	if (rc != 0)
		return rc;

	bind_text(st, 1, ev->id);
	if (ev->occurred_ns)
		sqlite3_bind_int64(st, 2, ev->occurred_ns);
	sqlite3_bind_int64(st, 3, ev->received_ns);
	bind_text(st, 4, ev->str[RFX_F_SOURCE]);
	bind_text(st, 5, ev->str[RFX_F_KIND]);
	bind_text(st, 6, ev->str[RFX_F_HOST]);
	bind_text(st, 7, ev->str[RFX_F_SERVICE]);
	bind_text(st, 8, ev->str[RFX_F_CHECK]);
	sqlite3_bind_int(st, 9, ev->severity);
	sqlite3_bind_int(st, 10, ev->status);
	bind_text(st, 11, ev->str[RFX_F_MESSAGE]);
	bind_text(st, 12, ev->str[RFX_F_FINGERPRINT]);
	if (ev->has_value && isfinite(ev->value))
		sqlite3_bind_double(st, 13, ev->value);
	sqlite3_bind_text(st, 14, b->p, (int)labels_end, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, b->p + labels_end, (int)(b->len - labels_end), SQLITE_STATIC);
	rc = sqlite_step_done(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		sqlite_log_db(s, s->wdb, "insert into processed_events");
		return RFX_EIO;
	}
	*inserted = sqlite3_changes(s->wdb) > 0;
	if (!*inserted)
		return 0;
raw:;
	/* A folded repeat always leaves a raw row (its payload, or the event
	 * itself as JSON): that row is how its acknowledged id is found. */
	struct json_object *j = NULL;
	const char *payload = ev->str[RFX_F_RAW];
	if (!payload && ev->fold_into[0] && (j = s->host->event_to_json(ev)))
		payload = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	if (!payload) {
		json_object_put(j);
		return 0;
	}
	st = s->ins_raw;
	bind_text(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->received_ns);
	bind_text(st, 3, ev->str[RFX_F_SOURCE]);
	bind_text(st, 4, payload);
	bind_text(st, 5, *inserted ? NULL : ev->fold_into);
	rc = sqlite_step_done(st);
	json_object_put(j);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		sqlite_log_db(s, s->wdb, "insert into raw_events");
		return RFX_EIO;
	}
	return 0;
}

/* Events and outbox entries in one transaction. Entries come in the order
 * of their events (the pipeline routes each event in turn), so one pass
 * pairs them; an entry whose event was already stored gets id 0 and is not
 * added: a redelivered event is not delivered again. */
static int sqlite_put_batch(void *state, rfx_event *const *events, size_t n,
			    rfx_outbox_entry *entries, size_t m)
{
	struct store *s = state;
	int rc = 0;
	size_t j = 0;

	if (n == 0 && m == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!events[i] || !events[i]->id[0])
			return RFX_EINVAL;

	pthread_mutex_lock(&s->writer_lock);
	if (sqlite_step_done(s->begin) != 0) {
		sqlite_log_db(s, s->wdb, "begin");
		rc = RFX_EIO;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool inserted = false;
		rc = insert_event(s, events[i], &inserted);
		for (; rc == 0 && j < m && strcmp(entries[j].event_id, events[i]->id) == 0; j++) {
			entries[j].id = 0;
			if (inserted)
				rc = sqlite_outbox_insert(s, &entries[j]);
		}
	}
	/* entries for events not in this batch (a replay) */
	for (; rc == 0 && j < m; j++)
		rc = sqlite_outbox_insert(s, &entries[j]);
	if (rc == 0 && sqlite_step_done(s->commit) != 0) {
		sqlite_log_db(s, s->wdb, "commit");
		rc = RFX_EIO;
	}
	if (rc == 0)
		sqlite_restart_wal(s);
	if (rc != 0) {
		/* a failed COMMIT may leave the transaction open; a ROLLBACK
		 * without one is harmless */
		if (!sqlite3_get_autocommit(s->wdb))
			sqlite_step_done(s->rollback);
		if (rc != RFX_ENOMEM && rc != RFX_EINVAL)
			rc = RFX_EIO;
		for (size_t k = 0; k < m; k++)
			entries[k].id = 0;
	}
out:
	if (s->jbuf.cap > 1 << 20) {
		/* do not keep a huge buffer around after one outsized event */
		free(s->jbuf.p);
		s->jbuf = (struct sbuf){0};
	}
	pthread_mutex_unlock(&s->writer_lock);
	return rc;
}

static int sqlite_put_events(void *state, rfx_event *const *events, size_t n)
{
	return sqlite_put_batch(state, events, n, NULL, 0);
}

static int sqlite_get_event(void *state, const char *id, rfx_event **out)
{
	struct store *s = state;
	struct reader *r;
	int rc;

	if (!id || !out)
		return RFX_EINVAL;
	r = sqlite_reader_take(s);
	bind_text(r->get, 1, id);
	rc = sqlite3_step(r->get);
	if (rc == SQLITE_ROW) {
		rc = row_to_event(s, r->get, COL__COUNT, out);
	} else if (rc == SQLITE_DONE) {
		rc = RFX_ENOENT;
	} else {
		sqlite_log_db(s, r->db, "get_event");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->get);
	sqlite3_clear_bindings(r->get);
	sqlite_reader_give(s, r);
	return rc;
}

/* "%" + text with \ % _ escaped + "%", for LIKE ... ESCAPE '\'. */
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

/* Parameter numbers of the query statement; a filter that is not set is
 * left out of the SQL, so its parameter is never referenced. */
enum {
	QP_HOST = 1, QP_SERVICE, QP_CHECK, QP_SOURCE, QP_FINGERPRINT, QP_STATUS, QP_SEVERITY,
	QP_SINCE, QP_UNTIL, QP_TEXT, QP_CURSOR, QP_LIMIT
};

static int sqlite_query_events(void *state, const rfx_event_query *q, rfx_event ***out,
			       size_t *n, char next_cursor[RFX_EVENT_ID_LEN + 1])
{
	struct store *s = state;
	struct reader *r = NULL;
	sqlite3_stmt *st = NULL;
	rfx_event **evs = NULL;
	char *pattern = NULL;
	char sql[1024];
	size_t len, got = 0;
	int status = -1, rc = RFX_EINVAL;

	*out = NULL;
	*n = 0;
	next_cursor[0] = '\0';
	if (q->limit < 1 || q->limit > QUERY_LIMIT_MAX)
		goto out;
	if (q->status && *q->status) {
		if (strcmp(q->status, "firing") == 0)
			status = 0;
		else if (strcmp(q->status, "resolved") == 0)
			status = 1;
		else
			goto out;
	}
	if (q->text && strlen(q->text) > TEXT_QUERY_MAX)
		goto out;

	len = (size_t)snprintf(sql, sizeof sql,
			       "SELECT " EVENT_COLUMNS " FROM processed_events p WHERE 1");
#define ADD_SQL(cond, text)                                                        \
	do {                                                                       \
		if (cond)                                                          \
			len += (size_t)snprintf(sql + len, sizeof sql - len, "%s", text); \
	} while (0)
	ADD_SQL(q->host, " AND p.host = ?1");
	ADD_SQL(q->service, " AND p.service = ?2");
	ADD_SQL(q->check, " AND p.check_name = ?3");
	ADD_SQL(q->source, " AND p.source = ?4");
	ADD_SQL(q->fingerprint, " AND p.fingerprint = ?5");
	ADD_SQL(status >= 0, " AND p.status = ?6");
	ADD_SQL(q->severity >= 0, " AND p.severity <= ?7");
	ADD_SQL(q->since_ns, " AND p.occurred_ns >= ?8");
	ADD_SQL(q->until_ns, " AND p.occurred_ns < ?9");
	ADD_SQL(q->text && *q->text,
		" AND (p.check_name LIKE ?10 ESCAPE '\\' OR p.message LIKE ?10 ESCAPE '\\'"
		" OR p.host LIKE ?10 ESCAPE '\\')");
	/* Order by seq, not id: every secondary index ends in the rowid, so
	 * host = ? ORDER BY seq DESC walks the index in order and stops after
	 * the page, where ORDER BY id would sort all of that host's events.
	 * seq is the order of storing, which follows the ids' order of
	 * receipt to within one batch. The cursor is still the last id. */
	ADD_SQL(q->cursor && *q->cursor,
		" AND p.seq < (SELECT seq FROM processed_events WHERE id = ?11)");
	ADD_SQL(1, " ORDER BY p.seq DESC LIMIT ?12");
#undef ADD_SQL

	rc = RFX_ENOMEM;
	if (q->text && *q->text && !(pattern = like_pattern(q->text)))
		goto out;
	evs = calloc(q->limit, sizeof *evs);
	if (!evs)
		goto out;

	r = sqlite_reader_take(s);
	rc = RFX_EIO;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite_log_db(s, r->db, "query_events");
		goto out;
	}
	bind_text(st, QP_HOST, q->host);
	bind_text(st, QP_SERVICE, q->service);
	bind_text(st, QP_CHECK, q->check);
	bind_text(st, QP_SOURCE, q->source);
	bind_text(st, QP_FINGERPRINT, q->fingerprint);
	sqlite3_bind_int(st, QP_STATUS, status);
	sqlite3_bind_int(st, QP_SEVERITY, q->severity);
	sqlite3_bind_int64(st, QP_SINCE, q->since_ns);
	sqlite3_bind_int64(st, QP_UNTIL, q->until_ns);
	bind_text(st, QP_TEXT, pattern);
	bind_text(st, QP_CURSOR, q->cursor);
	/* one row more than asked tells whether another page exists */
	sqlite3_bind_int64(st, QP_LIMIT, (int64_t)q->limit + 1);

	bool more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (got == q->limit) {
			more = true;
			break;
		}
		rc = row_to_event(s, st, -1, &evs[got]);
		if (rc != 0)
			goto out;
		got++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite_log_db(s, r->db, "query_events");
		rc = RFX_EIO;
		goto out;
	}
	if (more)
		snprintf(next_cursor, RFX_EVENT_ID_LEN + 1, "%s", evs[got - 1]->id);
	*out = evs;
	*n = got;
	evs = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (r)
		sqlite_reader_give(s, r);
	if (evs) {
		for (size_t i = 0; i < got; i++)
			s->host->event_unref(evs[i]);
		free(evs);
	}
	free(pattern);
	return rc;
}

static int sqlite_count_events(void *state, uint64_t *n)
{
	struct store *s = state;
	struct reader *r = sqlite_reader_take(s);
	int rc = 0;

	if (sqlite3_step(r->count) == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(r->count, 0);
	} else {
		sqlite_log_db(s, r->db, "count_events");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->count);
	sqlite_reader_give(s, r);
	return rc;
}

/* ---- key-value state ---------------------------------------------------------- */

static int sqlite_kv_get(void *state, const char *ns, const char *key, char **value)
{
	struct store *s = state;
	struct reader *r;
	int rc;

	if (!ns || !key || !value)
		return RFX_EINVAL;
	r = sqlite_reader_take(s);
	bind_text(r->kv_get, 1, ns);
	bind_text(r->kv_get, 2, key);
	rc = sqlite3_step(r->kv_get);
	if (rc == SQLITE_ROW) {
		const char *v = col_text(r->kv_get, 0);
		*value = strdup(v ? v : "");
		rc = *value ? 0 : RFX_ENOMEM;
	} else if (rc == SQLITE_DONE) {
		rc = RFX_ENOENT;
	} else {
		sqlite_log_db(s, r->db, "kv_get");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->kv_get);
	sqlite3_clear_bindings(r->kv_get);
	sqlite_reader_give(s, r);
	return rc;
}

/* Runs a kv statement with ns, key (and value) bound, in its own
 * transaction. */
static int kv_write(struct store *s, sqlite3_stmt *st, const char *ns, const char *key,
		    const char *value, const char *what)
{
	int rc = 0;

	pthread_mutex_lock(&s->writer_lock);
	bind_text(st, 1, ns);
	bind_text(st, 2, key);
	if (value)
		bind_text(st, 3, value);
	if (sqlite_step_done(st) != 0) {
		sqlite_log_db(s, s->wdb, what);
		rc = RFX_EIO;
	}
	sqlite3_clear_bindings(st);
	pthread_mutex_unlock(&s->writer_lock);
	return rc;
}

static int sqlite_kv_put(void *state, const char *ns, const char *key, const char *value)
{
	struct store *s = state;

	if (!ns || !key || !value)
		return RFX_EINVAL;
	return kv_write(s, s->kv_put, ns, key, value, "kv_put");
}

/* Deleting a key that does not exist is not an error. */
static int sqlite_kv_del(void *state, const char *ns, const char *key)
{
	struct store *s = state;

	if (!ns || !key)
		return RFX_EINVAL;
	return kv_write(s, s->kv_del, ns, key, NULL, "kv_del");
}

/* ---- operations table ------------------------------------------------------ */

/* The descriptor in sqlite.c points at this table. */
const rfx_store_ops sqlite_store_ops = {
	.size = sizeof(rfx_store_ops),
	.put_events = sqlite_put_events,
	.get_event = sqlite_get_event,
	.query_events = sqlite_query_events,
	.kv_get = sqlite_kv_get,
	.kv_put = sqlite_kv_put,
	.kv_del = sqlite_kv_del,
	.count_events = sqlite_count_events,
	.put_batch = sqlite_put_batch,
	.outbox_update = sqlite_outbox_update,
	.outbox_delete = sqlite_outbox_delete,
	.outbox_list = sqlite_outbox_list,
};
