/*
 * plugins/stores/sqlite/sqlite_store.h - private to the SQLite store plugin
 * (not installed): the store state shared by its files and the few functions
 * one file calls in another.
 *
 *   sqlite.c         descriptor, options, lifecycle, connections, migrations,
 *                    the checkpointer and the reader pool
 *   sqlite_events.c  the rfx_store_ops: events, key-value state, count
 *   sqlite_json.c    labels and attrs as JSON column text, both directions
 *
 * Everything declared here is SQLITE_HIDDEN: the .so exports only
 * rfx_plugin_entry.
 */
#ifndef REFLEX_SQLITE_STORE_H
#define REFLEX_SQLITE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include <reflex/plugin.h>

#define SQLITE_HIDDEN __attribute__((visibility("hidden")))

#define READER_POOL 4

/* Column list shared by get_event and query_events; row_to_event() reads
 * the columns in this order. */
#define EVENT_COLUMNS                                                          \
	"p.id, p.occurred_ns, p.received_ns, p.source, p.kind, p.host, p.service, " \
	"p.check_name, p.severity, p.status, p.message, p.fingerprint, p.value, "   \
	"p.labels, p.attrs, p.count, p.last_ns"
enum {
	COL_ID, COL_OCCURRED, COL_RECEIVED, COL_SOURCE, COL_KIND, COL_HOST, COL_SERVICE,
	COL_CHECK, COL_SEVERITY, COL_STATUS, COL_MESSAGE, COL_FINGERPRINT, COL_VALUE,
	COL_LABELS, COL_ATTRS, COL_COUNT, COL_LAST, COL__COUNT
};

struct reader {
	sqlite3 *db;
	sqlite3_stmt *get;   /* one event by id, with its raw payload */
	sqlite3_stmt *kv_get;
	sqlite3_stmt *count;
};

/* A growable byte buffer for JSON text. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct store {
	rfx_instance *inst;
	const rfx_host *host;
	char *path;

	/* writer_lock guards the writer connection, its statements and jbuf. */
	pthread_mutex_t writer_lock;
	sqlite3 *wdb;
	sqlite3_stmt *ins_event, *ins_raw, *kv_put, *kv_del;
	sqlite3_stmt *ob_ins, *ob_upd, *ob_del; /* the outbox (sqlite_outbox.c) */
	sqlite3_stmt *fold;                     /* a repeat into its dedup record */
	sqlite3_stmt *begin, *commit, *rollback;
	struct sbuf jbuf;

	/* pool_lock guards free_readers/nfree; pool_cond signals a return. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct reader readers[READER_POOL];
	struct reader *free_readers[READER_POOL];
	int nfree;

	/* The writer never checkpoints: a thread of its own does, on its own
	 * connection, with PASSIVE checkpoints that do not block commits. So a
	 * checkpoint neither stalls acknowledgements nor shares the store
	 * thread's core. ckpt_lock guards wal_pages and ckpt_stop. */
	sqlite3 *cdb;
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	int wal_pages;     /* frames in the WAL after the last commit */
	bool caught_up;    /* the checkpointer's last pass copied every frame */
	bool ckpt_stop;
	int busy_timeout_ms; /* of the writer, restored after restart_wal */
};

static inline const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/* ---- sqlite.c ---- */

/* Logs the last error of db, naming the operation and the database file. */
SQLITE_HIDDEN void sqlite_log_db(struct store *s, sqlite3 *db, const char *what);

/* Takes a reader connection out of the pool, waiting for one if all are in
 * use; the caller is its only user until it hands it back with
 * sqlite_reader_give(). */
SQLITE_HIDDEN struct reader *sqlite_reader_take(struct store *s);
SQLITE_HIDDEN void sqlite_reader_give(struct store *s, struct reader *r);

/* Restarts the WAL when it has grown long and the checkpointer has caught
 * up. Call with the writer lock held, between transactions. */
SQLITE_HIDDEN void sqlite_restart_wal(struct store *s);

/* ---- sqlite_events.c ---- */

SQLITE_HIDDEN extern const rfx_store_ops sqlite_store_ops;

/* Runs a statement that returns no rows we need, then resets it. */
SQLITE_HIDDEN int sqlite_step_done(sqlite3_stmt *st);

/* ---- sqlite_outbox.c ---- */

/* Inserts one outbox entry in the open transaction and sets e->id. */
SQLITE_HIDDEN int sqlite_outbox_insert(struct store *s, rfx_outbox_entry *e);
SQLITE_HIDDEN int sqlite_outbox_update(void *state, const rfx_outbox_entry *e);
SQLITE_HIDDEN int sqlite_outbox_delete(void *state, const uint64_t *ids, size_t n);
SQLITE_HIDDEN int sqlite_outbox_list(void *state, const rfx_outbox_query *q,
				     rfx_outbox_entry **out, size_t *n);

/* ---- sqlite_json.c ---- */

/* Writes ev's labels and then its attrs into b (emptied first) as two JSON
 * objects back to back; the attrs start at *labels_end. Attrs nested too
 * deeply are replaced by an object saying so, not refused. 0 or RFX_ENOMEM
 * (logged). b stays owned by the caller. */
SQLITE_HIDDEN int sqlite_json_write(struct store *s, struct sbuf *b, const rfx_event *ev,
				    size_t *labels_end);

/* Sets ev's labels and attrs from the JSON column texts ltext and atext
 * (either may be NULL). 0, RFX_ENOMEM or RFX_EIO (corrupt JSON, logged). */
SQLITE_HIDDEN int sqlite_json_read(struct store *s, rfx_event *ev, const char *ltext,
				   const char *atext);

#endif
