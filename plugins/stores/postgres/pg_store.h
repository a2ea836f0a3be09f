/*
 * plugins/stores/postgres/pg_store.h - private to the PostgreSQL store
 * plugin (not installed): the store state shared by its files and the few
 * functions one file calls in another.
 *
 *   postgres.c   descriptor, options, lifecycle, the connection pool with
 *                reconnect and backoff, schema migrations
 *   pg_write.c   writing batches: events (COPY or pipelined prepared
 *                inserts) and their outbox entries in one transaction
 *   pg_events.c  the reading rfx_store_ops, key-value state, count,
 *                retention, the operations table
 *   pg_outbox.c  the outbox: update, delete, list
 *   pg_text.c    row text: labels/attrs as JSON, COPY escaping, UTF-8
 *   pg_spool.c   the disk spool used while the server is unreachable
 *
 * Everything declared here is PG_HIDDEN: the .so exports only
 * rfx_plugin_entry.
 */
#ifndef REFLEX_PG_STORE_H
#define REFLEX_PG_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <reflex/plugin.h>

#define PG_HIDDEN __attribute__((visibility("hidden")))

#define POOL_MAX 32
#define SCHEMA_NAME_MAX 63 /* PostgreSQL's identifier length */

/* Column list shared by get_event and query_events; pg_row_to_event()
 * reads the columns in this order. */
#define EVENT_COLUMNS                                                          \
	"p.id, p.occurred_ns, p.received_ns, p.source, p.kind, p.host, p.service, " \
	"p.check_name, p.severity, p.status, p.message, p.fingerprint, p.value, "   \
	"p.labels, p.attrs, p.count, p.last_ns"
enum {
	COL_ID, COL_OCCURRED, COL_RECEIVED, COL_SOURCE, COL_KIND, COL_HOST, COL_SERVICE,
	COL_CHECK, COL_SEVERITY, COL_STATUS, COL_MESSAGE, COL_FINGERPRINT, COL_VALUE,
	COL_LABELS, COL_ATTRS, COL_COUNT, COL_LAST, COL__COUNT
};

/* A growable byte buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
};

/* One pooled connection; `pg` is NULL while disconnected. */
struct conn {
	PGconn *pg;
};

struct pg_config {
	char *conninfo;
	char *schema;
	int64_t pool_size;
	int64_t statement_timeout_ms;
	int64_t connect_timeout_ms;
	int64_t copy_min_batch;
	uint64_t spool_max;
	int spool_sync;
	int64_t retention_ms;
	int64_t retention_batch;
};

enum { SPOOL_SYNC_BATCH = 0, SPOOL_SYNC_NONE = 1 };

struct spool; /* pg_spool.c */

struct store {
	rfx_instance *inst;
	const rfx_host *host;
	const struct pg_config *cfg;
	char schema_ident[2 * SCHEMA_NAME_MAX + 3]; /* quoted, for SQL text */

	/* pool_lock guards the pool arrays; pool_cond signals a returned
	 * connection. A connection taken out is used by one thread only. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct conn conns[POOL_MAX];
	struct conn *free_conns[POOL_MAX];
	int nconns, nfree;
	/* Reconnect backoff, store-wide so that a down server costs one
	 * connection attempt per backoff step, not one per pooled connection.
	 * Guarded by pool_lock. */
	int64_t next_try_ms, backoff_ms;

	/* write_lock serializes batch writes (the store thread and the spool
	 * drainer) and guards the buffers they reuse. */
	pthread_mutex_t write_lock;
	struct sbuf copybuf, jbuf, scratch[8];

	struct spool *spool; /* NULL when the spool is off */
	rfx_timer *retention_timer;
	rfx_metric *m_reconnects, *m_spooled, *m_drained, *m_retention_deleted;
	/* last warning that a batch with deliveries was refused while the
	 * server is down (pg_write.c, write lock held): at most one per 10 s */
	int64_t refused_log_ms;
};

/* ---- postgres.c ---- */

/* Takes a connection out of the pool (waiting up to the statement timeout
 * for one), connecting it first if needed. Returns NULL (logged) when no
 * connection could be had: the server is down or its backoff has not
 * elapsed. Hand it back with pg_conn_give(). */
PG_HIDDEN struct conn *pg_conn_take(struct store *s);
/* Returns a connection; with `broken` (or a connection libpq sees as bad)
 * the connection is closed and reconnected on its next use. */
PG_HIDDEN void pg_conn_give(struct store *s, struct conn *c, bool broken);
/* True when the last failure on c was the connection, not the statement
 * (the operation may be retried on a fresh connection). */
PG_HIDDEN bool pg_conn_lost(const struct conn *c);
/* Logs a failed result (or the connection error) naming the operation. */
PG_HIDDEN void pg_log_result(struct store *s, struct conn *c, const PGresult *r,
			     const char *what);
PG_HIDDEN int64_t pg_mono_ms(void);

/* ---- pg_events.c ---- */

PG_HIDDEN extern const rfx_store_ops pg_store_ops;
/* Runs the prepared statement `name` (or, with name NULL, `sql`) on a
 * pooled connection and returns its result when its status is `want`;
 * NULL (logged) otherwise. Retries once on a fresh connection when the
 * connection broke, so only for reads and idempotent writes. */
PG_HIDDEN PGresult *pg_run(struct store *s, const char *name, const char *sql, int nparams,
			   const char *const *vals, ExecStatusType want, const char *what);
/* Deletes up to `batch` events older than the retention age, and up to
 * `batch` raw payloads as old (those of folded repeats have no event row);
 * returns the number of events deleted or a negative code. *more says
 * whether either reached the batch size (another pass may find more). */
PG_HIDDEN int64_t pg_retention_pass(struct store *s, bool *more);

/* ---- pg_write.c ---- */

PG_HIDDEN int pg_put_events(void *state, rfx_event *const *events, size_t n);
PG_HIDDEN int pg_put_batch(void *state, rfx_event *const *events, size_t n,
			   rfx_outbox_entry *entries, size_t m);
/* Writes the batch as COPY text rows of the staging table into b (emptied
 * first), folded repeats (ev->fold_into) included: the COPY statements
 * fold them. Write lock held. 0 or RFX_ENOMEM. */
PG_HIDDEN int pg_copy_build(struct store *s, struct sbuf *b, rfx_event *const *events,
			    size_t n);
/* One transaction: COPY text into the staging table, then into the event
 * tables. Takes the rows of pg_copy_build() and those of a spool written
 * before dedup folding (17 fields, no fold columns). 0 or RFX_EIO (logged
 * unless the connection was lost). */
PG_HIDDEN int pg_copy_write(struct store *s, struct conn *c, const char *text, size_t len);

/* ---- pg_outbox.c ---- */

PG_HIDDEN int pg_outbox_update(void *state, const rfx_outbox_entry *e);
PG_HIDDEN int pg_outbox_delete(void *state, const uint64_t *ids, size_t n);
PG_HIDDEN int pg_outbox_list(void *state, const rfx_outbox_query *q, rfx_outbox_entry **out,
			     size_t *n);

/* ---- pg_text.c ---- */

PG_HIDDEN int sbuf_reserve(struct sbuf *b, size_t more);
PG_HIDDEN int sbuf_add(struct sbuf *b, const char *p, size_t n);
PG_HIDDEN int sbuf_addc(struct sbuf *b, char c);
PG_HIDDEN void sbuf_free(struct sbuf *b);

/* Writes ev's labels, a NUL, then its attrs, a NUL, into b (emptied
 * first) as JSON text; the attrs start at *attrs_at. Invalid UTF-8 and
 * NUL characters become U+FFFD; attrs nested too deeply are replaced by an
 * object saying so (logged), not refused. 0 or RFX_ENOMEM. */
PG_HIDDEN int pg_json_write(struct store *s, struct sbuf *b, const rfx_event *ev,
			    size_t *attrs_at);
/* Sets ev's labels and attrs from their column texts (NULL allowed). */
PG_HIDDEN int pg_json_read(struct store *s, rfx_event *ev, const char *ltext,
			   const char *atext);
/* Appends v as one COPY text-format field (NULL as \N), with invalid UTF-8
 * replaced by U+FFFD. 0 or RFX_ENOMEM. */
PG_HIDDEN int pg_copy_field(struct sbuf *b, const char *v, size_t n);
/* A copy of v with invalid UTF-8 replaced, in b; returns v itself when it
 * is valid (the common case), b->p otherwise, NULL on ENOMEM. */
PG_HIDDEN const char *pg_utf8_clean(struct sbuf *b, const char *v);

/* ---- pg_spool.c ---- */

/* Opens (creating) the spool in dir; existing spooled batches are kept
 * for draining. NULL with err filled on failure. */
PG_HIDDEN struct spool *pg_spool_open(struct store *s, const char *dir, char *err,
				      size_t errlen);
PG_HIDDEN int pg_spool_start(struct spool *sp);
PG_HIDDEN void pg_spool_close(struct spool *sp);
/* Appends a batch durably. 0, RFX_EFULL (bound reached), RFX_EIO. */
PG_HIDDEN int pg_spool_append(struct spool *sp, rfx_event *const *events, size_t n);
/* True while spooled batches wait: new batches must then go to the spool
 * too, so events reach PostgreSQL in order. */
PG_HIDDEN bool pg_spool_pending(struct spool *sp);

#endif
