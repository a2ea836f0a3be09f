/*
 * plugins/stores/sqlite/sqlite.c - the embedded default store: events, raw
 * payloads and small key-value state in one SQLite database file (WAL mode).
 * This file owns the descriptor, options, lifecycle, connections, schema
 * migrations, the checkpointer and the reader pool; the store operations
 * are in sqlite_events.c, the JSON text of labels and attrs in
 * sqlite_json.c, the shared state in sqlite_store.h.
 *
 * Connections: one writer connection, used only by put_events, kv_put and
 * kv_del and guarded by `writer_lock`, and a pool of READER_POOL read-only
 * connections for get_event, query_events, kv_get and count_events. WAL lets
 * readers run concurrently with each other and with the writer, so HTTP
 * connection threads never wait behind a batch insert; each reader is used
 * by one thread at a time (taken from the pool under `pool_lock`).
 *
 * Table layout: processed_events is a rowid table (seq) with the ULID id
 * under a UNIQUE index. Measured with bench/store_bench, this beats a
 * WITHOUT ROWID table keyed by the text id by 15-20%: secondary index
 * entries carry an 8-byte rowid instead of the 26-byte id, so a commit
 * dirties fewer index pages. ULIDs grow with time, so "newest first" is a
 * backwards walk of the id index. There is no index on severity (8 values:
 * it cost a third of the insert rate and filters nothing well).
 * raw_events (large payloads, read only by id) is an ordinary rowid table.
 * Checkpoints run on a thread of their own (see struct store in
 * sqlite_store.h): letting the writer checkpoint every 1000 pages halved
 * the insert rate, since hot index pages were copied after nearly every
 * batch.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite_store.h"

/* The checkpointer copies the WAL back into the database once it holds this
 * many pages (or every second when it holds any). */
#define CKPT_PAGES 4096
/* Past this many WAL pages the writer restarts the WAL (see sqlite_restart_wal). */
#define WAL_RESTART_PAGES (4 * CKPT_PAGES)

/* ---- configuration -------------------------------------------------------- */

enum { SYNC_NORMAL = 0, SYNC_FULL = 1 };
static const char *const sync_values[] = {"normal", "full", NULL};

struct sqlite_config {
	char *path;
	int synchronous;
	int64_t busy_timeout_ms;
	uint64_t cache_size;
	uint64_t mmap_size;
};

static const rfx_option sqlite_options[] = {
	{"path", RFX_OPT_STRING, "reflex.db", 0, 0, 0, NULL,
	 "Database file. A relative path is relative to the agent's data directory "
	 "(agent.data_dir). The -wal and -shm files live next to it.",
	 offsetof(struct sqlite_config, path), NULL},
	{"synchronous", RFX_OPT_ENUM, "full", 0, 0, 0, sync_values,
	 "When a committed batch counts as durable. The database runs in WAL mode: "
	 "'full' syncs the WAL on every commit, so acknowledged events survive a "
	 "process crash and a power loss; 'normal' syncs only at checkpoints, which "
	 "is much faster for small batches and survives a process crash, but the "
	 "last transactions may be lost on a power loss or OS crash.",
	 offsetof(struct sqlite_config, synchronous), NULL},
	{"busy_timeout", RFX_OPT_DURATION, "5s", RFX_OPT_RANGE, 0, 3600000, NULL,
	 "How long a connection waits for a lock held by another process (e.g. a "
	 "backup or the sqlite3 shell) before the operation fails.",
	 offsetof(struct sqlite_config, busy_timeout_ms), NULL},
	{"cache_size", RFX_OPT_SIZE, "64MiB", RFX_OPT_RANGE, 1048576, 17179869184.0, NULL,
	 "Total page cache memory: half for the writer connection, the other half "
	 "shared by the 4 reader connections.",
	 offsetof(struct sqlite_config, cache_size), NULL},
	{"mmap_size", RFX_OPT_SIZE, "256MiB", RFX_OPT_RANGE, 0, 1099511627776.0, NULL,
	 "Bytes of the database file the reader connections (queries, API) access "
	 "through memory mapping instead of read calls; 0 disables it. Mapped pages "
	 "are shared through the OS page cache. The writer never maps: that made "
	 "batch inserts slower.",
	 offsetof(struct sqlite_config, mmap_size), NULL},
	RFX_OPTION_END,
};

/* ---- schema ----------------------------------------------------------------- */

/* migrations[i] brings the schema to version i + 1. Append only: a released
 * migration is never edited. */
static const char *const migrations[] = {
	/* 1: events and key-value state */
	"CREATE TABLE raw_events ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  received_ns INTEGER NOT NULL,"
	"  source TEXT,"
	"  payload TEXT NOT NULL);"
	"CREATE TABLE processed_events ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  occurred_ns INTEGER,"
	"  received_ns INTEGER NOT NULL,"
	"  source TEXT,"
	"  kind TEXT,"
	"  host TEXT,"
	"  service TEXT,"
	"  check_name TEXT,"
	"  severity INTEGER NOT NULL,"
	"  status INTEGER NOT NULL,"
	"  message TEXT,"
	"  fingerprint TEXT,"
	"  value REAL,"
	"  labels TEXT NOT NULL DEFAULT '{}',"
	"  attrs TEXT NOT NULL DEFAULT '{}'"
	");"
	"CREATE INDEX processed_events_host ON processed_events(host);"
	"CREATE INDEX processed_events_fingerprint ON processed_events(fingerprint);"

	"CREATE INDEX processed_events_occurred ON processed_events(occurred_ns);"
	"CREATE TABLE kv ("
	"  ns TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (ns, key)"
	") WITHOUT ROWID;",
	/* 2: the outbox (deliveries owed to outputs) */
	/* AUTOINCREMENT: an id is the receivers' idempotency key, never reused */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  output TEXT NOT NULL,"
	"  event_id TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_ns INTEGER NOT NULL,"
	"  next_ns INTEGER NOT NULL,"
	"  last_error TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX outbox_state ON outbox(state, output, id);",
	/* 3: dedup records: repeats folded into their first event's row; a
	 * repeat keeps its raw row, which says where it went */
	"ALTER TABLE processed_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE processed_events ADD COLUMN last_ns INTEGER;"
	"ALTER TABLE raw_events ADD COLUMN folded_into TEXT;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- helpers ---------------------------------------------------------------- */

void sqlite_log_db(struct store *s, sqlite3 *db, const char *what)
{
	s->host->log(s->inst, RFX_LOG_ERROR, "%s: %s (%s)", what, sqlite3_errmsg(db),
		     s->path);
}

static int prepare(struct store *s, sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		sqlite_log_db(s, db, "prepare");
		return RFX_EIO;
	}
	return 0;
}

/* ---- reader pool ------------------------------------------------------------ */

struct reader *sqlite_reader_take(struct store *s)
{
	pthread_mutex_lock(&s->pool_lock);
	while (s->nfree == 0)
		pthread_cond_wait(&s->pool_cond, &s->pool_lock);
	struct reader *r = s->free_readers[--s->nfree];
	pthread_mutex_unlock(&s->pool_lock);
	return r;
}

void sqlite_reader_give(struct store *s, struct reader *r)
{
	pthread_mutex_lock(&s->pool_lock);
	s->free_readers[s->nfree++] = r;
	pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
}

/* ---- opening ------------------------------------------------------------- */

static int exec_sql(struct store *s, sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		s->host->log(s->inst, RFX_LOG_ERROR, "%s: %s (%s)", sql,
			     msg ? msg : sqlite3_errmsg(db), s->path);
		sqlite3_free(msg);
		return RFX_EIO;
	}
	return 0;
}

/* Per-connection settings: cache_kib is the page cache of this connection,
 * mmap_bytes how much of the file it maps. */
static int configure_conn(struct store *s, sqlite3 *db, const struct sqlite_config *cfg,
			  uint64_t cache_kib, uint64_t mmap_bytes)
{
	char sql[160];
	s->busy_timeout_ms = (int)cfg->busy_timeout_ms;
	sqlite3_busy_timeout(db, (int)cfg->busy_timeout_ms);
	snprintf(sql, sizeof sql,
		 "PRAGMA cache_size=-%" PRIu64 "; PRAGMA mmap_size=%" PRIu64
		 "; PRAGMA foreign_keys=ON;",
		 cache_kib ? cache_kib : 1, mmap_bytes);
	return exec_sql(s, db, sql);
}

static int open_conn(struct store *s, int flags, sqlite3 **db, char *err, size_t errlen)
{
	if (sqlite3_open_v2(s->path, db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", s->path,
			 *db ? sqlite3_errmsg(*db) : "out of memory");
		return RFX_EIO;
	}
	sqlite3_extended_result_codes(*db, 1);
	return 0;
}

/* Reads the schema version inside the current transaction. */
static int schema_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int rc = RFX_EIO;

	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Brings the schema to SCHEMA_VERSION, one transaction per migration. The
 * version is read inside each write transaction, so two agents starting on
 * the same file do not both apply a migration. Refuses a database written
 * by a newer reflex. */
static int migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = 0, rc = RFX_EIO;

	if (exec_sql(s, s->wdb, "CREATE TABLE IF NOT EXISTS schema_migrations ("
				"version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)") != 0) {
		snprintf(err, errlen, "%s: cannot create schema_migrations: %s", s->path,
			 sqlite3_errmsg(s->wdb));
		return RFX_EIO;
	}
	for (;;) {
		if (exec_sql(s, s->wdb, "BEGIN IMMEDIATE") != 0 ||
		    schema_version(s->wdb, &version) != 0) {
			snprintf(err, errlen, "%s: cannot read the schema version: %s", s->path,
				 sqlite3_errmsg(s->wdb));
			goto out;
		}
		if (version > SCHEMA_VERSION) {
			snprintf(err, errlen,
				 "%s has schema version %d but this reflex knows versions up to "
				 "%d: it was written by a newer reflex; upgrade reflex or use "
				 "another path",
				 s->path, version, SCHEMA_VERSION);
			goto out;
		}
		if (version == SCHEMA_VERSION)
			break;
		int v = version + 1;
		bool ok = exec_sql(s, s->wdb, migrations[v - 1]) == 0 &&
			  sqlite3_prepare_v2(s->wdb,
					     "INSERT INTO schema_migrations(version, applied_at) "
					     "VALUES(?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
					     -1, &st, NULL) == SQLITE_OK &&
			  sqlite3_bind_int(st, 1, v) == SQLITE_OK &&
			  sqlite3_step(st) == SQLITE_DONE;
		/* an unfinalized statement would keep COMMIT from running */
		sqlite3_finalize(st);
		st = NULL;
		if (!ok || exec_sql(s, s->wdb, "COMMIT") != 0) {
			snprintf(err, errlen, "%s: migration to schema version %d failed: %s",
				 s->path, v, sqlite3_errmsg(s->wdb));
			goto out;
		}
		s->host->log(s->inst, RFX_LOG_INFO, "%s: schema migrated to version %d", s->path, v);
	}
	if (exec_sql(s, s->wdb, "COMMIT") != 0) {
		snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->wdb));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (!sqlite3_get_autocommit(s->wdb))
		sqlite3_exec(s->wdb, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Runs in the writer's thread after each commit. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->ckpt_lock);
	s->wal_pages = pages;
	if (pages >= CKPT_PAGES)
		pthread_cond_signal(&s->ckpt_cond);
	pthread_mutex_unlock(&s->ckpt_lock);
	return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
	struct store *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->ckpt_lock);
	while (!s->ckpt_stop) {
		/* Keep the backlog small: a pass every 100 ms while there are
		 * frames, at once when the WAL is large. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (s->wal_pages < CKPT_PAGES || s->caught_up)
			pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &ts);
		if (s->ckpt_stop || s->wal_pages == 0)
			continue;
		pthread_mutex_unlock(&s->ckpt_lock);
		int log = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(s->cdb, "main", SQLITE_CHECKPOINT_PASSIVE, &log,
						   &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			s->host->log(s->inst, RFX_LOG_WARNING, "%s: checkpoint: %s", s->path,
				     sqlite3_errmsg(s->cdb));
		pthread_mutex_lock(&s->ckpt_lock);
		/* All copied: the writer may now restart the WAL cheaply. */
		if (rc == SQLITE_OK && done >= log)
			s->caught_up = true;
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

/* Under a steady load the WAL is never found fully copied and idle, so it
 * would grow without bound (gigabytes a minute). When it is past
 * WAL_RESTART_PAGES the writer, between two transactions, runs a RESTART
 * checkpoint: the checkpointer thread has already copied most frames, so
 * this copies the few committed since and starts the WAL over. Called with
 * the writer lock held. */
void sqlite_restart_wal(struct store *s)
{
	pthread_mutex_lock(&s->ckpt_lock);
	/* Only right after the checkpointer copied everything: then this
	 * RESTART copies just the frames of the last commit or two. Copying a
	 * backlog here stalled commits for 50-100 ms. */
	bool go = s->wal_pages >= WAL_RESTART_PAGES && s->caught_up;
	s->caught_up = false;
	pthread_mutex_unlock(&s->ckpt_lock);
	if (!go)
		return;
	/* Never wait here: while the checkpointer thread is copying, the
	 * busy handler would sleep in steps of up to 100 ms with the writer
	 * lock held, which showed as 100 ms acknowledgement spikes. Busy now
	 * means "again after the next commit". */
	int log = 0, done = 0;
	sqlite3_busy_timeout(s->wdb, 0);
	int rc = sqlite3_wal_checkpoint_v2(s->wdb, "main", SQLITE_CHECKPOINT_RESTART, &log, &done);
	sqlite3_busy_timeout(s->wdb, s->busy_timeout_ms);
	if (rc == SQLITE_OK) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->wal_pages = 0;
		pthread_mutex_unlock(&s->ckpt_lock);
	} else if (rc != SQLITE_BUSY) {
		sqlite_log_db(s, s->wdb, "checkpoint");
	}
}

static int sqlite_start(void *state)
{
	struct store *s = state;
	char err[256];

	if (open_conn(s, SQLITE_OPEN_READWRITE, &s->cdb, err, sizeof(err)) != 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "%s", err);
		return RFX_EIO;
	}
	sqlite3_busy_timeout(s->cdb, 1000);
	if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0)
		return RFX_ENOMEM;
	s->ckpt_running = true;
	return 0;
}

static void sqlite_stop(void *state)
{
	struct store *s = state;

	if (!s->ckpt_running)
		return;
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = true;
	pthread_cond_signal(&s->ckpt_cond);
	pthread_mutex_unlock(&s->ckpt_lock);
	pthread_join(s->ckpt_thread, NULL);
	s->ckpt_running = false;
}

static int open_writer(struct store *s, const struct sqlite_config *cfg, char *err,
		       size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = open_conn(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->wdb, err, errlen);
	if (rc != 0)
		return rc;

	rc = RFX_EIO;
	/* The writer maps nothing: with mmap on, batch inserts ran 1.5-1.8x
	 * slower in bench/store_bench (more WAL frames and checkpoints). */
	if (configure_conn(s, s->wdb, cfg, cfg->cache_size / 2 / 1024, 0) != 0) {
		snprintf(err, errlen, "%s: cannot configure the connection: %s", s->path,
			 sqlite3_errmsg(s->wdb));
		goto out;
	}
	/* 8 KiB pages, for a new database only (an existing one keeps its
	 * size): measured with store_bench, synchronous=full, 200,000 events,
	 * against 4 KiB: the same at batch 100, +16% at 1000, +27% at 5000
	 * rows/s; 16 KiB was no better. Must come before WAL mode is set. */
	if (exec_sql(s, s->wdb, "PRAGMA page_size=8192") != 0) {
		snprintf(err, errlen, "%s: cannot set the page size: %s", s->path,
			 sqlite3_errmsg(s->wdb));
		goto out;
	}
	/* journal_mode answers with the mode it got: a file system without
	 * shared memory support stays in rollback mode, which we refuse since
	 * readers would then block the writer. */
	if (sqlite3_prepare_v2(s->wdb, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: cannot set WAL mode: %s", s->path,
			 sqlite3_errmsg(s->wdb));
		goto out;
	}
	if (strcmp(col_text(st, 0) ? col_text(st, 0) : "", "wal") != 0) {
		snprintf(err, errlen, "%s: the database cannot use WAL mode (got '%s'); "
			 "put it on a local file system",
			 s->path, col_text(st, 0) ? col_text(st, 0) : "");
		goto out;
	}
	/* a statement left open would keep the migrations from committing */
	sqlite3_finalize(st);
	st = NULL;
	if (exec_sql(s, s->wdb, cfg->synchronous == SYNC_FULL ? "PRAGMA synchronous=FULL"
							      : "PRAGMA synchronous=NORMAL") != 0) {
		snprintf(err, errlen, "%s: cannot set synchronous: %s", s->path,
			 sqlite3_errmsg(s->wdb));
		goto out;
	}
	/* replaces SQLite's automatic checkpoint (see struct store in
	 * sqlite_store.h) */
	sqlite3_wal_hook(s->wdb, wal_hook, s);
	rc = migrate(s, err, errlen);
	if (rc != 0)
		goto out;
	rc = prepare(s, s->wdb,
		     "INSERT OR IGNORE INTO processed_events(id, occurred_ns, received_ns, source, "
		     "kind, host, service, check_name, severity, status, message, fingerprint, "
		     "value, labels, attrs) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		     "?12, ?13, ?14, ?15)",
		     &s->ins_event);
	if (rc == 0)
		rc = prepare(s, s->wdb,
			     "INSERT OR IGNORE INTO raw_events(id, received_ns, source, payload, "
			     "folded_into) VALUES(?1, ?2, ?3, ?4, ?5)",
			     &s->ins_raw);
	if (rc == 0)
		rc = prepare(s, s->wdb,
			     /* not an upsert: configure accepts SQLite 3.22 */
			     "INSERT OR REPLACE INTO kv(ns, key, value) VALUES(?1, ?2, ?3)",
			     &s->kv_put);
	if (rc == 0)
		rc = prepare(s, s->wdb, "DELETE FROM kv WHERE ns = ?1 AND key = ?2", &s->kv_del);
	if (rc == 0)
		rc = prepare(s, s->wdb,
			     "INSERT INTO outbox(output, event_id, state, attempts, created_ns, "
			     "next_ns, last_error) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			     &s->ob_ins);
	if (rc == 0)
		rc = prepare(s, s->wdb,
			     "UPDATE outbox SET state = ?2, attempts = ?3, next_ns = ?4, "
			     "last_error = ?5 WHERE id = ?1",
			     &s->ob_upd);
	if (rc == 0)
		rc = prepare(s, s->wdb, "DELETE FROM outbox WHERE id = ?1", &s->ob_del);
	if (rc == 0)
		/* max(): a batch tried again must not count its repeats twice */
		rc = prepare(s, s->wdb,
			     "UPDATE processed_events SET count = max(count, ?2), "
			     "last_ns = max(coalesce(last_ns, 0), ?3), value = coalesce(?4, value) "
			     "WHERE id = ?1",
			     &s->fold);
	if (rc == 0)
		rc = prepare(s, s->wdb, "BEGIN IMMEDIATE", &s->begin);
	if (rc == 0)
		rc = prepare(s, s->wdb, "COMMIT", &s->commit);
	if (rc == 0)
		rc = prepare(s, s->wdb, "ROLLBACK", &s->rollback);
	if (rc != 0)
		snprintf(err, errlen, "%s: cannot prepare statements: %s", s->path,
			 sqlite3_errmsg(s->wdb));
out:
	sqlite3_finalize(st);
	return rc;
}

static int open_reader(struct store *s, struct reader *r, const struct sqlite_config *cfg,
		       char *err, size_t errlen)
{
	int rc = open_conn(s, SQLITE_OPEN_READONLY, &r->db, err, errlen);
	if (rc != 0)
		return rc;
	rc = configure_conn(s, r->db, cfg, cfg->cache_size / 2 / READER_POOL / 1024,
			    cfg->mmap_size);
	if (rc == 0)
		rc = prepare(s, r->db,
			     "SELECT " EVENT_COLUMNS ", r.payload FROM processed_events p "
			     "LEFT JOIN raw_events r ON r.id = p.id WHERE p.id = coalesce("
			     "(SELECT folded_into FROM raw_events WHERE id = ?1), ?1)",
			     &r->get);
	if (rc == 0)
		rc = prepare(s, r->db, "SELECT value FROM kv WHERE ns = ?1 AND key = ?2",
			     &r->kv_get);
	if (rc == 0)
		rc = prepare(s, r->db, "SELECT count(*) FROM processed_events", &r->count);
	if (rc != 0)
		snprintf(err, errlen, "%s: cannot set up a reader connection: %s", s->path,
			 sqlite3_errmsg(r->db));
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void sqlite_destroy(void *state)
{
	struct store *s = state;

	if (!s)
		return;
	sqlite_stop(s);
	sqlite3_close_v2(s->cdb);
	for (int i = 0; i < READER_POOL; i++) {
		struct reader *r = &s->readers[i];
		sqlite3_finalize(r->get);
		sqlite3_finalize(r->kv_get);
		sqlite3_finalize(r->count);
		sqlite3_close_v2(r->db);
	}
	sqlite3_finalize(s->ins_event);
	sqlite3_finalize(s->ins_raw);
	sqlite3_finalize(s->kv_put);
	sqlite3_finalize(s->kv_del);
	sqlite3_finalize(s->ob_ins);
	sqlite3_finalize(s->ob_upd);
	sqlite3_finalize(s->ob_del);
	sqlite3_finalize(s->fold);
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	/* closing the last connection checkpoints the WAL into the database */
	sqlite3_close_v2(s->wdb);
	pthread_mutex_destroy(&s->writer_lock);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_cond);
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_cond_destroy(&s->ckpt_cond);
	free(s->jbuf.p);
	free(s->path);
	free(s);
}

static int sqlite_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		       char *err, size_t errlen)
{
	const struct sqlite_config *cfg = config;
	struct store *s = NULL;
	int rc = RFX_EINVAL;

	if (!cfg->path || !*cfg->path) {
		snprintf(err, errlen, "path: must not be empty");
		goto fail;
	}
	if (!sqlite3_threadsafe()) {
		snprintf(err, errlen, "the SQLite library was built without thread support");
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
	pthread_mutex_init(&s->writer_lock, NULL);
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_cond, NULL);
	if (cfg->path[0] == '/') {
		s->path = strdup(cfg->path);
	} else {
		const char *dir = host->data_dir(inst);
		size_t len;
		if (!dir)
			dir = ".";
		len = strlen(dir) + strlen(cfg->path) + 2;
		s->path = malloc(len);
		if (s->path)
			snprintf(s->path, len, "%s/%s", dir, cfg->path);
	}
	if (!s->path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (strlen(s->path) >= PATH_MAX) {
		rc = RFX_EINVAL;
		snprintf(err, errlen, "path: longer than %d bytes", PATH_MAX - 1);
		goto fail;
	}
	/* The writer goes first: it creates the file and the schema that the
	 * read-only connections prepare their statements against. */
	rc = open_writer(s, cfg, err, errlen);
	if (rc != 0)
		goto fail;
	for (int i = 0; i < READER_POOL; i++) {
		rc = open_reader(s, &s->readers[i], cfg, err, errlen);
		if (rc != 0)
			goto fail;
		s->free_readers[s->nfree++] = &s->readers[i];
	}
	host->log(inst, RFX_LOG_INFO, "%s: open (WAL, synchronous=%s)", s->path,
		  sync_values[cfg->synchronous == SYNC_FULL ? SYNC_FULL : SYNC_NORMAL]);
	*state = s;
	return 0;
fail:
	host->log(inst, RFX_LOG_ERROR, "%s", err);
	sqlite_destroy(s);
	return rc;
}

/* ---- descriptor --------------------------------------------------------------- */

static const rfx_plugin sqlite_plugin = {
	RFX_PLUGIN_ABI,
	.name = "sqlite",
	.version = "1.0.0",
	.description = "Embedded store: events, raw payloads and state in one SQLite "
		       "database file (WAL mode, one write transaction per batch).",
	.kind = RFX_KIND_STORE,
	.caps = RFX_CAP_DURABLE_ACK,
	.options = sqlite_options,
	.config_size = sizeof(struct sqlite_config),
	.init = sqlite_init,
	.start = sqlite_start,
	.stop = sqlite_stop,
	.destroy = sqlite_destroy,
	.store = &sqlite_store_ops,
};

RFX_PLUGIN_DEFINE(sqlite_plugin)
