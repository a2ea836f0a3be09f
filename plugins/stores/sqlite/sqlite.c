/*
 * plugins/stores/sqlite/sqlite.c - the embedded default store: events, raw
 * payloads and small key-value state in one SQLite database file (WAL mode).
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
 * Checkpoints run on a thread of their own (see struct store): letting the
 * writer checkpoint every 1000 pages halved the insert rate, since hot index
 * pages were copied after nearly every batch.
 *
 * JSON: labels and attrs are written by a small serializer of our own
 * instead of json_object_to_json_string(), which caches its output inside
 * the json object and so writes to an event other threads may be reading.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include <reflex/plugin.h>

#define READER_POOL 4
/* The checkpointer copies the WAL back into the database once it holds this
 * many pages (or every second when it holds any). */
#define CKPT_PAGES 4096
/* Past this many WAL pages the writer restarts the WAL (see restart_wal). */
#define WAL_RESTART_PAGES (4 * CKPT_PAGES)
#define JSON_DEPTH_MAX 64   /* deeper attrs are refused, not truncated */
#define QUERY_LIMIT_MAX 1000
#define TEXT_QUERY_MAX 1024 /* bytes of a text search */

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
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Column list shared by get_event and query_events; row_to_event() reads
 * the columns in this order. */
#define EVENT_COLUMNS                                                          \
	"p.id, p.occurred_ns, p.received_ns, p.source, p.kind, p.host, p.service, " \
	"p.check_name, p.severity, p.status, p.message, p.fingerprint, p.value, "   \
	"p.labels, p.attrs"
enum {
	COL_ID, COL_OCCURRED, COL_RECEIVED, COL_SOURCE, COL_KIND, COL_HOST, COL_SERVICE,
	COL_CHECK, COL_SEVERITY, COL_STATUS, COL_MESSAGE, COL_FINGERPRINT, COL_VALUE,
	COL_LABELS, COL_ATTRS, COL__COUNT
};

/* ---- state ------------------------------------------------------------------ */

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

/* ---- JSON text ------------------------------------------------------------ */

static int sbuf_reserve(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1) {
		if (cap > SIZE_MAX / 2)
			return RFX_ENOMEM;
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p)
		return RFX_ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (sbuf_reserve(b, n) != 0)
		return RFX_ENOMEM;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sbuf_addc(struct sbuf *b, char c)
{
	return sbuf_add(b, &c, 1);
}

/* Appends s as a JSON string literal. Bytes >= 0x80 pass through: the text
 * stays UTF-8 as it came in. */
static int json_add_string(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (sbuf_addc(b, '"') != 0)
		return RFX_ENOMEM;
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 0;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			elen = 2;
		} else if (c == '\n') {
			memcpy(esc, "\\n", 2);
			elen = 2;
		} else if (c == '\r') {
			memcpy(esc, "\\r", 2);
			elen = 2;
		} else if (c == '\t') {
			memcpy(esc, "\\t", 2);
			elen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		} else {
			continue;
		}
		if (sbuf_add(b, s + start, i - start) != 0 || sbuf_add(b, esc, elen) != 0)
			return RFX_ENOMEM;
		start = i + 1;
	}
	if (sbuf_add(b, s + start, n - start) != 0 || sbuf_addc(b, '"') != 0)
		return RFX_ENOMEM;
	return 0;
}

/* Serializes a json-c value using read-only accessors only (see the file
 * comment). Non-finite doubles, which JSON cannot carry, become null. */
static int json_add_value(struct sbuf *b, struct json_object *o, int depth)
{
	char num[64];
	int rc = 0;

	if (depth > JSON_DEPTH_MAX)
		return RFX_EINVAL;
	switch (json_object_get_type(o)) {
	case json_type_null:
		return sbuf_add(b, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(o) ? sbuf_add(b, "true", 4)
						  : sbuf_add(b, "false", 5);
	case json_type_int: {
		int64_t v = json_object_get_int64(o);
		if (v == INT64_MAX)
			snprintf(num, sizeof num, "%" PRIu64, json_object_get_uint64(o));
		else
			snprintf(num, sizeof num, "%" PRId64, v);
		return sbuf_add(b, num, strlen(num));
	}
	case json_type_double: {
		double d = json_object_get_double(o);
		if (!isfinite(d))
			return sbuf_add(b, "null", 4);
		snprintf(num, sizeof num, "%.17g", d);
		/* keep it a double when read back */
		if (!strpbrk(num, ".eE"))
			strcat(num, ".0");
		return sbuf_add(b, num, strlen(num));
	}
	case json_type_string:
		return json_add_string(b, json_object_get_string(o),
				       (size_t)json_object_get_string_len(o));
	case json_type_array: {
		size_t n = json_object_array_length(o);
		if (sbuf_addc(b, '[') != 0)
			return RFX_ENOMEM;
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (i > 0 && sbuf_addc(b, ',') != 0)
				return RFX_ENOMEM;
			rc = json_add_value(b, json_object_array_get_idx(o, i), depth + 1);
		}
		return rc != 0 ? rc : sbuf_addc(b, ']');
	}
	case json_type_object: {
		bool first = true;
		if (sbuf_addc(b, '{') != 0)
			return RFX_ENOMEM;
		json_object_object_foreach(o, key, val) {
			if (!first && sbuf_addc(b, ',') != 0)
				return RFX_ENOMEM;
			first = false;
			rc = json_add_string(b, key, strlen(key));
			if (rc == 0)
				rc = sbuf_addc(b, ':');
			if (rc == 0)
				rc = json_add_value(b, val, depth + 1);
			if (rc != 0)
				return rc;
		}
		return sbuf_addc(b, '}');
	}
	}
	return RFX_EINVAL;
}

/* ---- helpers ---------------------------------------------------------------- */

static void log_db(struct store *s, sqlite3 *db, const char *what)
{
	s->host->log(s->inst, RFX_LOG_ERROR, "%s: %s (%s)", what, sqlite3_errmsg(db),
		     s->path);
}

static int bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

static int prepare(struct store *s, sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		log_db(s, db, "prepare");
		return RFX_EIO;
	}
	return 0;
}

/* Runs a statement that returns no rows we need, then resets it. */
static int step_done(sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : rc;
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
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
	struct json_object *labels = NULL, *attrs = NULL;
	int rc = RFX_ENOMEM;
	rfx_event *ev = h->event_new();

	if (!ev)
		goto out;
	snprintf(ev->id, sizeof ev->id, "%s", col_text(st, COL_ID) ? col_text(st, COL_ID) : "");
	ev->occurred_ns = sqlite3_column_int64(st, COL_OCCURRED);
	ev->received_ns = sqlite3_column_int64(st, COL_RECEIVED);
	ev->severity = sqlite3_column_int(st, COL_SEVERITY);
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

	rc = RFX_EIO;
	const char *ltext = col_text(st, COL_LABELS);
	if (ltext && strcmp(ltext, "{}") != 0) {
		labels = json_tokener_parse(ltext);
		if (!labels || !json_object_is_type(labels, json_type_object)) {
			h->log(s->inst, RFX_LOG_ERROR, "event %s: labels are not a JSON object",
			       ev->id);
			goto out;
		}
		json_object_object_foreach(labels, key, val) {
			int lrc = h->event_label_set(ev, key, json_object_get_string(val));
			if (lrc != 0) {
				rc = lrc == RFX_ENOMEM ? RFX_ENOMEM : RFX_EIO;
				goto out;
			}
		}
	}
	const char *atext = col_text(st, COL_ATTRS);
	if (atext && strcmp(atext, "{}") != 0) {
		attrs = json_tokener_parse(atext);
		if (!attrs || !json_object_is_type(attrs, json_type_object)) {
			h->log(s->inst, RFX_LOG_ERROR, "event %s: attrs are not a JSON object",
			       ev->id);
			goto out;
		}
		json_object_put(ev->attrs);
		ev->attrs = attrs;
		attrs = NULL;
	}
	*out = ev;
	ev = NULL;
	rc = 0;
out:
	json_object_put(labels);
	json_object_put(attrs);
	if (ev)
		h->event_unref(ev);
	return rc;
}

static struct reader *reader_take(struct store *s)
{
	pthread_mutex_lock(&s->pool_lock);
	while (s->nfree == 0)
		pthread_cond_wait(&s->pool_cond, &s->pool_lock);
	struct reader *r = s->free_readers[--s->nfree];
	pthread_mutex_unlock(&s->pool_lock);
	return r;
}

static void reader_give(struct store *s, struct reader *r)
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
	/* replaces SQLite's automatic checkpoint (see struct store) */
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
			     "INSERT OR IGNORE INTO raw_events(id, received_ns, source, payload) "
			     "VALUES(?1, ?2, ?3, ?4)",
			     &s->ins_raw);
	if (rc == 0)
		rc = prepare(s, s->wdb,
			     /* not an upsert: configure accepts SQLite 3.22 */
			     "INSERT OR REPLACE INTO kv(ns, key, value) VALUES(?1, ?2, ?3)",
			     &s->kv_put);
	if (rc == 0)
		rc = prepare(s, s->wdb, "DELETE FROM kv WHERE ns = ?1 AND key = ?2", &s->kv_del);
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
			     "LEFT JOIN raw_events r ON r.id = p.id WHERE p.id = ?1",
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

/* ---- events --------------------------------------------------------------------- */

/* Binds and inserts one event; the writer lock is held. */
static int insert_event(struct store *s, const rfx_event *ev)
{
	sqlite3_stmt *st = s->ins_event;
	struct sbuf *b = &s->jbuf;
	size_t labels_end;
	int rc;

	/* labels then attrs in one buffer: both texts must stay put until the
	 * statement has run, and the buffer is reused for the whole batch */
	b->len = 0;
	rc = sbuf_addc(b, '{');
	for (size_t i = 0; i < ev->nlabels && rc == 0; i++) {
		const struct rfx_label *l = &ev->labels[i];
		if (i > 0)
			rc = sbuf_addc(b, ',');
		if (rc == 0)
			rc = json_add_string(b, l->key, strlen(l->key));
		if (rc == 0)
			rc = sbuf_addc(b, ':');
		if (rc == 0)
			rc = json_add_string(b, l->value ? l->value : "",
					     l->value ? strlen(l->value) : 0);
	}
	if (rc == 0)
		rc = sbuf_addc(b, '}');
	labels_end = b->len;
	if (rc == 0)
		rc = ev->attrs ? json_add_value(b, ev->attrs, 0) : sbuf_add(b, "{}", 2);
	if (rc == RFX_EINVAL) {
		/* One event's attrs must not fail the whole batch (and every
		 * sender in it): keep the event, say what was left out. */
		s->host->log(s->inst, RFX_LOG_WARNING, "event %s: attrs nested deeper than 64 "
			     "levels were not stored", ev->id);
		b->len = labels_end;
		rc = sbuf_add(b, "{\"_reflex_error\":\"attrs nested too deeply\"}", 43);
	}
	if (rc != 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "event %s: cannot serialize %s", ev->id,
			     rc == RFX_EINVAL ? "attrs (nested too deeply)" : "labels/attrs");
		return rc;
	}

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
	rc = step_done(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		log_db(s, s->wdb, "insert into processed_events");
		return RFX_EIO;
	}
	if (!ev->str[RFX_F_RAW])
		return 0;
	st = s->ins_raw;
	bind_text(st, 1, ev->id);
	sqlite3_bind_int64(st, 2, ev->received_ns);
	bind_text(st, 3, ev->str[RFX_F_SOURCE]);
	bind_text(st, 4, ev->str[RFX_F_RAW]);
	rc = step_done(st);
	sqlite3_clear_bindings(st);
	if (rc != 0) {
		log_db(s, s->wdb, "insert into raw_events");
		return RFX_EIO;
	}
	return 0;
}

/* Under a steady load the WAL is never found fully copied and idle, so it
 * would grow without bound (gigabytes a minute). When it is past
 * WAL_RESTART_PAGES the writer, between two transactions, runs a RESTART
 * checkpoint: the checkpointer thread has already copied most frames, so
 * this copies the few committed since and starts the WAL over. Called with
 * the writer lock held. */
static void restart_wal(struct store *s)
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
		log_db(s, s->wdb, "checkpoint");
	}
}

static int sqlite_put_events(void *state, rfx_event *const *events, size_t n)
{
	struct store *s = state;
	int rc = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!events[i] || !events[i]->id[0])
			return RFX_EINVAL;

	pthread_mutex_lock(&s->writer_lock);
	if (step_done(s->begin) != 0) {
		log_db(s, s->wdb, "begin");
		rc = RFX_EIO;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = insert_event(s, events[i]);
	if (rc == 0 && step_done(s->commit) != 0) {
		log_db(s, s->wdb, "commit");
		rc = RFX_EIO;
	}
	if (rc == 0)
		restart_wal(s);
	if (rc != 0) {
		/* a failed COMMIT may leave the transaction open; a ROLLBACK
		 * without one is harmless */
		if (!sqlite3_get_autocommit(s->wdb))
			step_done(s->rollback);
		if (rc != RFX_ENOMEM && rc != RFX_EINVAL)
			rc = RFX_EIO;
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

static int sqlite_get_event(void *state, const char *id, rfx_event **out)
{
	struct store *s = state;
	struct reader *r;
	int rc;

	if (!id || !out)
		return RFX_EINVAL;
	r = reader_take(s);
	bind_text(r->get, 1, id);
	rc = sqlite3_step(r->get);
	if (rc == SQLITE_ROW) {
		rc = row_to_event(s, r->get, COL__COUNT, out);
	} else if (rc == SQLITE_DONE) {
		rc = RFX_ENOENT;
	} else {
		log_db(s, r->db, "get_event");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->get);
	sqlite3_clear_bindings(r->get);
	reader_give(s, r);
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

	r = reader_take(s);
	rc = RFX_EIO;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_db(s, r->db, "query_events");
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
		log_db(s, r->db, "query_events");
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
		reader_give(s, r);
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
	struct reader *r = reader_take(s);
	int rc = 0;

	if (sqlite3_step(r->count) == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(r->count, 0);
	} else {
		log_db(s, r->db, "count_events");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->count);
	reader_give(s, r);
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
	r = reader_take(s);
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
		log_db(s, r->db, "kv_get");
		rc = RFX_EIO;
	}
	sqlite3_reset(r->kv_get);
	sqlite3_clear_bindings(r->kv_get);
	reader_give(s, r);
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
	if (step_done(st) != 0) {
		log_db(s, s->wdb, what);
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

/* ---- descriptor --------------------------------------------------------------- */

static const rfx_store_ops sqlite_store_ops = {
	.size = sizeof(rfx_store_ops),
	.put_events = sqlite_put_events,
	.get_event = sqlite_get_event,
	.query_events = sqlite_query_events,
	.kv_get = sqlite_kv_get,
	.kv_put = sqlite_kv_put,
	.kv_del = sqlite_kv_del,
	.count_events = sqlite_count_events,
};

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
