/*
 * plugins/stores/sqlite/sqlite_outbox.c - the outbox of the SQLite store:
 * deliveries owed to outputs, one row each, written in the same
 * transaction as their events (sqlite_put_batch) and changed or removed as
 * the core attempts them. Writes use the writer connection under
 * writer_lock; listing uses a pooled reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_store.h"

#define OUTBOX_LIST_MAX 1000

/* The writer lock is held and a transaction is open. */
int sqlite_outbox_insert(struct store *s, rfx_outbox_entry *e)
{
	sqlite3_stmt *st = s->ob_ins;

	sqlite3_bind_text(st, 1, e->output, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->event_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->state);
	sqlite3_bind_int64(st, 4, e->attempts);
	sqlite3_bind_int64(st, 5, e->created_ns);
	sqlite3_bind_int64(st, 6, e->next_ns);
	sqlite3_bind_text(st, 7, e->last_error, -1, SQLITE_STATIC);
	int rc = sqlite_step_done(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		sqlite_log_db(s, s->wdb, "insert into outbox");
		return RFX_EIO;
	}
	e->id = (uint64_t)sqlite3_last_insert_rowid(s->wdb);
	return 0;
}

/* Runs a bound statement in its own (implicit) transaction, durable on
 * return like every commit of this store. The writer lock is held: the
 * statements are shared, so binding and running happen under it. */
static int write_locked(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite_step_done(st);
	int changed = sqlite3_changes(s->wdb);

	sqlite3_clear_bindings(st);
	if (rc != 0) {
		sqlite_log_db(s, s->wdb, what);
		return RFX_EIO;
	}
	return changed > 0 ? 0 : RFX_ENOENT;
}

int sqlite_outbox_update(void *state, const rfx_outbox_entry *e)
{
	struct store *s = state;
	sqlite3_stmt *st = s->ob_upd;
	int rc;

	if (!e || !e->id)
		return RFX_EINVAL;
	pthread_mutex_lock(&s->writer_lock);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e->id);
	sqlite3_bind_int(st, 2, e->state);
	sqlite3_bind_int64(st, 3, e->attempts);
	sqlite3_bind_int64(st, 4, e->next_ns);
	sqlite3_bind_text(st, 5, e->last_error, -1, SQLITE_STATIC);
	rc = write_locked(s, st, "update outbox");
	pthread_mutex_unlock(&s->writer_lock);
	return rc;
}

int sqlite_outbox_delete(void *state, const uint64_t *ids, size_t n)
{
	struct store *s = state;
	int rc = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->writer_lock);
	if (sqlite_step_done(s->begin) != 0) {
		sqlite_log_db(s, s->wdb, "begin");
		rc = RFX_EIO;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_int64(s->ob_del, 1, (sqlite3_int64)ids[i]);
		rc = write_locked(s, s->ob_del, "delete from outbox");
		if (rc == RFX_ENOENT)
			rc = 0;
	}
	if (rc == 0 && sqlite_step_done(s->commit) != 0) {
		sqlite_log_db(s, s->wdb, "commit");
		rc = RFX_EIO;
	}
	if (rc != 0 && !sqlite3_get_autocommit(s->wdb))
		sqlite_step_done(s->rollback);
out:
	pthread_mutex_unlock(&s->writer_lock);
	return rc;
}

int sqlite_outbox_list(void *state, const rfx_outbox_query *q, rfx_outbox_entry **out,
		       size_t *n)
{
	struct store *s = state;
	struct reader *r;
	sqlite3_stmt *st = NULL;
	rfx_outbox_entry *v = NULL;
	size_t limit, k = 0;
	int rc = RFX_EIO;

	if (!q || !out || !n)
		return RFX_EINVAL;
	*out = NULL;
	*n = 0;
	limit = q->limit == 0 || q->limit > OUTBOX_LIST_MAX ? OUTBOX_LIST_MAX : q->limit;
	if (!(v = calloc(limit, sizeof(*v))))
		return RFX_ENOMEM;
	r = sqlite_reader_take(s);
	if (sqlite3_prepare_v2(r->db,
			       "SELECT id, output, event_id, state, attempts, created_ns, next_ns, "
			       "last_error FROM outbox WHERE id > ?1 AND (?2 IS NULL OR output = ?2) "
			       "AND (?3 < 0 OR state = ?3) ORDER BY id LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite_log_db(s, r->db, "list outbox");
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->after_id);
	if (q->output)
		sqlite3_bind_text(st, 2, q->output, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, q->state);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rfx_outbox_entry *e = &v[k++];
		e->id = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(e->output, sizeof e->output, "%s", col_text(st, 1) ? col_text(st, 1) : "");
		snprintf(e->event_id, sizeof e->event_id, "%s",
			 col_text(st, 2) ? col_text(st, 2) : "");
		e->state = sqlite3_column_int(st, 3);
		e->attempts = (uint32_t)sqlite3_column_int64(st, 4);
		e->created_ns = sqlite3_column_int64(st, 5);
		e->next_ns = sqlite3_column_int64(st, 6);
		snprintf(e->last_error, sizeof e->last_error, "%s",
			 col_text(st, 7) ? col_text(st, 7) : "");
	}
	if (rc != SQLITE_DONE) {
		sqlite_log_db(s, r->db, "list outbox");
		rc = RFX_EIO;
		goto out;
	}
	rc = 0;
	*out = v;
	*n = k;
	v = NULL;
out:
	sqlite3_finalize(st);
	sqlite_reader_give(s, r);
	free(v);
	return rc;
}
