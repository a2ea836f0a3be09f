/*
 * plugins/stores/postgres/pg_outbox.c - the outbox of the PostgreSQL
 * store: deliveries owed to outputs, one row each of the table `outbox`
 * (migration 2), added in the same transaction as their events
 * (pg_write.c) and changed or removed here as the core attempts them.
 * Semantics are those of the SQLite store (sqlite_outbox.c): an update of
 * an id not there is RFX_ENOENT, a delete ignores ids not there, a listing
 * is in id order with at most 1000 entries.
 *
 * Each operation is one statement, so one transaction, on a pooled
 * connection; retried once on a fresh connection when the connection
 * broke (pg_run), which is safe: an update sets absolute values and a
 * delete of what is gone deletes nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

#define OUTBOX_LIST_MAX 1000

int pg_outbox_update(void *state, const rfx_outbox_entry *e)
{
	struct store *s = state;
	char id[32], st[16], attempts[16], next[32];
	struct sbuf clean = {0};
	const char *v[5] = {id, st, attempts, next, NULL};
	PGresult *r;
	int rc = RFX_ENOMEM;

	if (!e || !e->id)
		return RFX_EINVAL;
	snprintf(id, sizeof id, "%" PRIu64, e->id);
	snprintf(st, sizeof st, "%d", e->state);
	snprintf(attempts, sizeof attempts, "%" PRIu32, e->attempts);
	snprintf(next, sizeof next, "%" PRId64, e->next_ns);
	/* a receiver's error text may be anything; the database takes UTF-8 */
	v[4] = pg_utf8_clean(&clean, e->last_error);
	if (!v[4])
		goto out;
	rc = RFX_EIO;
	r = pg_run(s, "ob_upd", NULL, 5, v, PGRES_COMMAND_OK, "update outbox");
	if (!r)
		goto out;
	rc = strcmp(PQcmdTuples(r), "0") == 0 ? RFX_ENOENT : 0;
	PQclear(r);
out:
	sbuf_free(&clean);
	return rc;
}

int pg_outbox_delete(void *state, const uint64_t *ids, size_t n)
{
	struct store *s = state;
	struct sbuf arr = {0};
	char num[24];
	const char *v[1];
	PGresult *r;
	int rc = RFX_ENOMEM;

	if (n == 0)
		return 0;
	if (!ids)
		return RFX_EINVAL;
	/* one statement for the whole batch: '{1,2,3}' as a bigint[] */
	if (sbuf_addc(&arr, '{') != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(num, sizeof num, "%s%" PRIu64, i ? "," : "", ids[i]);
		if (sbuf_add(&arr, num, (size_t)len) != 0)
			goto out;
	}
	if (sbuf_addc(&arr, '}') != 0)
		goto out;
	v[0] = arr.p;
	rc = RFX_EIO;
	r = pg_run(s, "ob_del", NULL, 1, v, PGRES_COMMAND_OK, "delete from outbox");
	if (!r)
		goto out;
	PQclear(r);
	rc = 0;
out:
	sbuf_free(&arr);
	return rc;
}

int pg_outbox_list(void *state, const rfx_outbox_query *q, rfx_outbox_entry **out, size_t *n)
{
	struct store *s = state;
	const char *params[4];
	char sql[512], after[32], st[16], lim[16];
	rfx_outbox_entry *v = NULL;
	PGresult *r = NULL;
	size_t limit, len, rows;
	int np = 0, rc = RFX_EINVAL;

	if (!q || !out || !n)
		return rc;
	*out = NULL;
	*n = 0;
	limit = q->limit == 0 || q->limit > OUTBOX_LIST_MAX ? OUTBOX_LIST_MAX : q->limit;
	snprintf(after, sizeof after, "%" PRIu64, q->after_id);
	snprintf(st, sizeof st, "%d", q->state);
	snprintf(lim, sizeof lim, "%zu", limit);
	/* filters that are not set are left out of the SQL (as in
	 * query_events), so the index on (state, output, id) serves both the
	 * deliverer's scan and the API's listing */
	params[np++] = after;
	len = (size_t)snprintf(sql, sizeof sql,
			       "SELECT id, output, event_id, state, attempts, created_ns, next_ns, "
			       "last_error FROM outbox WHERE id > $1");
	if (q->output) {
		params[np++] = q->output;
		len += (size_t)snprintf(sql + len, sizeof sql - len, " AND output = $%d", np);
	}
	if (q->state >= 0) {
		params[np++] = st;
		len += (size_t)snprintf(sql + len, sizeof sql - len, " AND state = $%d", np);
	}
	params[np++] = lim;
	snprintf(sql + len, sizeof sql - len, " ORDER BY id LIMIT $%d", np);

	rc = RFX_EIO;
	r = pg_run(s, NULL, sql, np, params, PGRES_TUPLES_OK, "list outbox");
	if (!r)
		goto out;
	rows = (size_t)PQntuples(r);
	rc = RFX_ENOMEM;
	/* at least one element: the caller free()s *out either way */
	if (!(v = calloc(rows ? rows : 1, sizeof *v)))
		goto out;
	for (size_t k = 0; k < rows; k++) {
		rfx_outbox_entry *e = &v[k];
		int row = (int)k;
		e->id = strtoull(PQgetvalue(r, row, 0), NULL, 10);
		snprintf(e->output, sizeof e->output, "%s", PQgetvalue(r, row, 1));
		snprintf(e->event_id, sizeof e->event_id, "%s", PQgetvalue(r, row, 2));
		e->state = atoi(PQgetvalue(r, row, 3));
		e->attempts = (uint32_t)strtoull(PQgetvalue(r, row, 4), NULL, 10);
		e->created_ns = strtoll(PQgetvalue(r, row, 5), NULL, 10);
		e->next_ns = strtoll(PQgetvalue(r, row, 6), NULL, 10);
		snprintf(e->last_error, sizeof e->last_error, "%s", PQgetvalue(r, row, 7));
	}
	*out = v;
	*n = rows;
	v = NULL;
	rc = 0;
out:
	PQclear(r);
	free(v);
	return rc;
}
