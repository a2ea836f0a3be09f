/*
 * reflex/plugin.h - the plugin ABI.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * RFX_PLUGIN_ENTRY_SYMBOL ("rfx_plugin_entry"), a function returning a
 * pointer to a static rfx_plugin descriptor. The descriptor says what the
 * plugin is (name, kind, record types), which options it takes (a schema the
 * core validates YAML against and fills a config struct from) and its
 * callbacks. Core services reach the plugin only through the rfx_host table
 * handed to init(); a plugin never links against core internals.
 *
 * Versioning: a plugin built against ABI major M minor m loads into a core
 * with the same major M and a minor >= m. Structs only grow at their end;
 * `size` fields let either side see which members the other one knows.
 *
 * Ownership:
 *  - the descriptor and option table are static data of the plugin;
 *  - the config struct (config_size bytes) is allocated, filled and freed by
 *    the core; strings, lists and maps in it belong to the core and stay valid
 *    until after destroy() returns: the plugin borrows them;
 *  - `state` is allocated by the plugin in init() and freed in destroy();
 *  - records handed to handle() are borrowed for the call (take a reference
 *    with host->event_ref to keep an event longer);
 *  - events passed to host->emit belong to the core from then on, whatever
 *    emit returns;
 *  - strings returned by the host (kv_get) are owned by the caller and
 *    freed with free(); json-c objects it returns (event_to_json) are owned
 *    by the caller and released with json_object_put().
 *
 * Threads: init/start/stop/destroy run on the main thread. handle() of one
 * instance runs on one thread at a time. Inputs run their own threads (start
 * creates them, stop joins them) or serve HTTP routes, whose handlers run on
 * the HTTP server's connection threads, concurrently.
 */
#ifndef REFLEX_PLUGIN_H
#define REFLEX_PLUGIN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <reflex/event.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RFX_ABI_MAJOR 1
#define RFX_ABI_MINOR 3 /* 1.1: rfx_http_response.www_authenticate;
                          1.2: RFX_OPT_SECTION_LIST, preset event ids;
                          1.3: rfx_record.delivery, rfx_notice, outbox store ops */

#define RFX_PLUGIN_ENTRY_SYMBOL "rfx_plugin_entry"

/* Results of handle() and of most host calls. The core owns retries: a
 * plugin returns RETRY and the core schedules the next attempt. */
typedef enum rfx_result {
	RFX_OK = 0,
	RFX_RETRY = 1, /* transient failure: try again later */
	RFX_DROP = 2,  /* not for me: declined, counted, not an error */
	RFX_FAIL = 3,  /* permanent failure: counted and logged */
} rfx_result;

/* Negative status codes of host calls. */
enum {
	RFX_EINVAL = -1,  /* bad argument */
	RFX_ENOMEM = -2,
	RFX_EFULL = -3,   /* queue full: tell the sender to back off */
	RFX_ENOENT = -4,  /* not found */
	RFX_EIO = -5,     /* store or I/O failure */
	RFX_ETIMEDOUT = -6,
	RFX_ESTOPPED = -7, /* the agent is shutting down */
};

typedef enum rfx_kind {
	RFX_KIND_INPUT = 1,
	RFX_KIND_FILTER,
	RFX_KIND_CORRELATOR,
	RFX_KIND_ANALYZER,
	RFX_KIND_ACTION,
	RFX_KIND_OUTPUT,
	RFX_KIND_ITSM,
	RFX_KIND_STORE,
} rfx_kind;

/* Capabilities. */
#define RFX_CAP_SIDE_EFFECTS (1u << 0) /* acts on the world (actions) */
#define RFX_CAP_HTTP (1u << 1)         /* registers HTTP routes */
#define RFX_CAP_THREADS (1u << 2)      /* runs threads of its own */
#define RFX_CAP_DURABLE_ACK (1u << 3)  /* acknowledges only durable events */
#define RFX_CAP_CONCURRENT (1u << 4)   /* ABI 1.3: handle() may run on several
                                          threads at once for one instance
                                          (outputs: delivery.concurrency) */

/* ---- option schema ------------------------------------------------------ */

typedef enum rfx_opt_type {
	RFX_OPT_STRING = 1, /* char *            */
	RFX_OPT_INT,        /* int64_t           */
	RFX_OPT_BOOL,       /* bool              */
	RFX_OPT_DOUBLE,     /* double            */
	RFX_OPT_DURATION,   /* int64_t, milliseconds; "250ms", "30s", "5m", "2h", "1d" */
	RFX_OPT_SIZE,       /* uint64_t, bytes; "512", "64KiB", "64MiB", "1GB" */
	RFX_OPT_ENUM,       /* int, index into enum_values */
	RFX_OPT_LIST,       /* struct rfx_strlist, a sequence of scalars */
	RFX_OPT_MAP,        /* struct rfx_strmap, a mapping of scalars */
	RFX_OPT_SECTION,    /* nested mapping validated against `sub`; the
	                       nested struct lives at `offset` */
	RFX_OPT_SECTION_LIST, /* ABI 1.2: struct rfx_seclist, a sequence of
	                         mappings, each validated against `sub`, which
	                         ends with RFX_OPTION_END_SIZE(element type) */
} rfx_opt_type;

#define RFX_OPT_REQUIRED (1u << 0)
#define RFX_OPT_SECRET (1u << 1)   /* never logged or printed */
#define RFX_OPT_RANGE (1u << 2)    /* min/max apply (int, double, duration, size) */

struct rfx_strlist {
	size_t n;
	char **v;
};

struct rfx_strmap {
	size_t n;
	char **keys;
	char **values;
};

/* RFX_OPT_SECTION_LIST: n elements of the element struct, one after the
 * other (cast v to the element type). The core allocates and frees it. */
struct rfx_seclist {
	size_t n;
	void *v;
};

typedef struct rfx_option {
	const char *name;
	rfx_opt_type type;
	const char *default_value; /* in YAML scalar syntax; NULL = none */
	unsigned flags;            /* RFX_OPT_* */
	double min, max;           /* with RFX_OPT_RANGE; durations in ms, sizes in bytes */
	const char *const *enum_values; /* NULL-terminated, for RFX_OPT_ENUM */
	const char *description;
	size_t offset;                  /* offsetof(config struct, member) */
	const struct rfx_option *sub;   /* RFX_OPT_SECTION: nested schema */
} rfx_option;

/* An option table ends with an entry whose name is NULL. */
#define RFX_OPTION_END { NULL, 0, NULL, 0, 0, 0, NULL, NULL, 0, NULL }
/* Ends the `sub` table of an RFX_OPT_SECTION_LIST: the terminator's offset
 * carries the size of one element. */
#define RFX_OPTION_END_SIZE(type) { NULL, 0, NULL, 0, 0, 0, NULL, NULL, sizeof(type), NULL }

/* ---- HTTP routes -------------------------------------------------------- */

typedef enum rfx_role {
	RFX_ROLE_NONE = 0, /* no token needed */
	RFX_ROLE_VIEWER = 1,
	RFX_ROLE_OPERATOR = 2,
	RFX_ROLE_ADMIN = 3,
} rfx_role;

typedef struct rfx_http_request rfx_http_request;

typedef struct rfx_http_response {
	int status;               /* HTTP status; 200 by default */
	char *body;               /* malloc'd; the core frees it */
	size_t body_len;
	const char *content_type; /* static string; default application/json */
	int retry_after;          /* seconds; > 0 adds a Retry-After header */
	/* ABI 1.1: the challenge of a 401 (static string), e.g. "Basic
	 * realm=\"x\""; NULL gives the API's Bearer challenge, "" none. */
	const char *www_authenticate;
} rfx_http_response;

/* Runs on an HTTP connection thread; may block (e.g. on host->ack_wait). */
typedef void (*rfx_http_handler)(void *arg, const rfx_http_request *req,
				 rfx_http_response *resp);

/* ---- host table --------------------------------------------------------- */

typedef struct rfx_instance rfx_instance; /* opaque: one configured instance */
typedef struct rfx_ack rfx_ack;           /* opaque: durability receipt */
typedef struct rfx_timer rfx_timer;
typedef struct rfx_metric rfx_metric;

enum rfx_log_level {
	RFX_LOG_ERROR = 0,
	RFX_LOG_WARNING = 1,
	RFX_LOG_INFO = 2,
	RFX_LOG_DEBUG = 3,
};

typedef struct rfx_host {
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size; /* sizeof(rfx_host) of the core */

	/* Logging, prefixed with kind:plugin:instance and rate-limited. */
	void (*log)(rfx_instance *inst, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Hands n events to the pipeline; they belong to the core afterwards,
	 * whatever the result. emit assigns each event its id, source and
	 * receipt time before queueing it: hold a reference (event_ref) across
	 * the call to read ev->id afterwards. ABI 1.2: an id the plugin preset
	 * to a valid ULID (26 Crockford base32 characters, first 0-7) is kept,
	 * and the store ignores an event whose id it already holds: a source
	 * that may deliver the same thing twice derives the id from its own
	 * identity and is stored exactly once. With `ack` non-NULL the ack is
	 * signalled once every event is durable (or failed). Returns 0,
	 * RFX_EFULL when the ingress queue stayed full for the configured block
	 * time (nothing of this call was queued), or RFX_ESTOPPED. */
	int (*emit)(rfx_instance *inst, rfx_event **events, size_t n, rfx_ack *ack);

	rfx_ack *(*ack_new)(void);
	/* Waits until all events of the emits that used this ack are durable:
	 * 0, RFX_EIO (store failure), RFX_ETIMEDOUT. */
	int (*ack_wait)(rfx_ack *ack, int64_t timeout_ms);
	void (*ack_free)(rfx_ack *ack);

	/* Event helpers (see event.h for ownership). */
	rfx_event *(*event_new)(void);
	rfx_event *(*event_ref)(rfx_event *ev);
	void (*event_unref)(rfx_event *ev);
	/* Copies value; NULL clears. 0 or RFX_EINVAL/RFX_ENOMEM. */
	int (*event_set)(rfx_event *ev, enum rfx_field field, const char *value);
	/* Sets or replaces one label (copies both). RFX_EFULL past RFX_LABELS_MAX. */
	int (*event_label_set)(rfx_event *ev, const char *key, const char *value);
	const char *(*event_label_get)(const rfx_event *ev, const char *key);
	/* Parses the generic JSON event form (docs/events.md). On error returns
	 * NULL and writes a message naming the offending field into err. */
	rfx_event *(*event_from_json)(struct json_object *obj, char *err, size_t errlen);
	/* JSON of the event as the API returns it; new json-c reference. */
	struct json_object *(*event_to_json)(const rfx_event *ev);
	int (*severity_parse)(const char *name); /* 0-7 or -1 */
	const char *(*severity_name)(int sev);
	int64_t (*now_ns)(void);                 /* CLOCK_REALTIME in ns */

	/* Timers: cb runs on the core's timer thread every interval_ms until
	 * cancelled (cancel waits for a running callback to finish). */
	rfx_timer *(*timer_add)(rfx_instance *inst, int64_t interval_ms,
				void (*cb)(void *arg), void *arg);
	void (*timer_cancel)(rfx_timer *t);

	/* Metrics, exported at /metrics as reflex_<kind>_<plugin>_<name> with
	 * an instance="NAME" label. name: [a-z0-9_]+. Counters only go up;
	 * gauges are set. NULL for a bad name. */
	rfx_metric *(*counter)(rfx_instance *inst, const char *name, const char *help);
	rfx_metric *(*gauge)(rfx_instance *inst, const char *name, const char *help);
	void (*metric_add)(rfx_metric *m, double v);
	void (*metric_set)(rfx_metric *m, double v);

	/* HTTP routes on the core's API server. `path` is exact; callable from
	 * init() only. Requests need a token with at least min_role when the
	 * API has tokens. 0, RFX_EINVAL (duplicate route). */
	int (*http_route)(rfx_instance *inst, const char *method, const char *path,
			  rfx_role min_role, rfx_http_handler fn, void *arg);
	const char *(*http_header)(const rfx_http_request *req, const char *name);
	const char *(*http_query)(const rfx_http_request *req, const char *name);
	const char *(*http_body)(const rfx_http_request *req, size_t *len);
	const char *(*http_method)(const rfx_http_request *req);
	/* Fills resp with a JSON error body {"error":{"code","message"}}. */
	void (*http_error)(rfx_http_response *resp, int status, const char *code,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

	/* Small persistent key-value state, per instance, kept in the store.
	 * kv_get: 0 and *value malloc'd, or RFX_ENOENT. */
	int (*kv_get)(rfx_instance *inst, const char *key, char **value);
	int (*kv_put)(rfx_instance *inst, const char *key, const char *value);
	int (*kv_del)(rfx_instance *inst, const char *key);

	/* Instance name and data directory (absolute, exists). */
	const char *(*instance_name)(const rfx_instance *inst);
	const char *(*data_dir)(const rfx_instance *inst);
} rfx_host;

/* ---- store interface (kind RFX_KIND_STORE) ------------------------------ */

typedef struct rfx_event_query {
	const char *host, *service, *status, *check, *source, *fingerprint;
	int severity;      /* events at least this severe (<= number); -1 = any */
	int64_t since_ns;  /* occurred_ns >= since_ns; 0 = no bound */
	int64_t until_ns;  /* occurred_ns < until_ns; 0 = no bound */
	const char *text;  /* substring of check, message or host */
	const char *cursor;/* id of the last event of the previous page */
	size_t limit;      /* 1..1000 */
} rfx_event_query;

/* ABI 1.3: one entry of the outbox, a delivery owed to an output. */
enum rfx_outbox_state {
	RFX_OUTBOX_PENDING = 0, /* to be attempted at next_ns */
	RFX_OUTBOX_DEAD = 1,    /* retry budget spent; kept until retried or purged */
};

typedef struct rfx_outbox_entry {
	uint64_t id;                              /* assigned by the store */
	char output[64];                          /* output instance name */
	char event_id[RFX_EVENT_ID_LEN + 1];      /* the event to deliver */
	int state;                                /* enum rfx_outbox_state */
	uint32_t attempts;                        /* attempts made so far */
	int64_t created_ns;
	int64_t next_ns;                          /* next attempt (pending) */
	char last_error[256];
} rfx_outbox_entry;

typedef struct rfx_outbox_query {
	const char *output; /* NULL = every output */
	int state;          /* enum rfx_outbox_state, or -1 for any */
	uint64_t after_id;  /* entries with a larger id (0 = from the start) */
	size_t limit;       /* 1..1000 */
} rfx_outbox_query;

typedef struct rfx_store_ops {
	uint32_t size; /* sizeof(rfx_store_ops) */
	/* Writes all n events in one transaction. Returns 0 only once they are
	 * durable. Called from the pipeline's store thread. */
	int (*put_events)(void *state, rfx_event *const *events, size_t n);
	/* 0 and *out (a new reference), or RFX_ENOENT / RFX_EIO. */
	int (*get_event)(void *state, const char *id, rfx_event **out);
	/* Newest first. Fills out[0..*n) (new references, caller unrefs and
	 * frees the array) and next_cursor ("" when no more). */
	int (*query_events)(void *state, const rfx_event_query *q, rfx_event ***out,
			    size_t *n, char next_cursor[RFX_EVENT_ID_LEN + 1]);
	int (*kv_get)(void *state, const char *ns, const char *key, char **value);
	int (*kv_put)(void *state, const char *ns, const char *key, const char *value);
	int (*kv_del)(void *state, const char *ns, const char *key);
	/* Counts, for health and metrics: number of stored events. */
	int (*count_events)(void *state, uint64_t *n);

	/* ABI 1.3: the outbox. A store without these (size too short, or NULL)
	 * gets in-memory deliveries only, and the core says so at start. */
	/* Writes the events and the new outbox entries in one transaction,
	 * durable on return 0; fills entries[i].id. */
	int (*put_batch)(void *state, rfx_event *const *events, size_t n,
			 rfx_outbox_entry *entries, size_t m);
	/* Saves state, attempts, next_ns and last_error of entry e->id:
	 * 0 or RFX_ENOENT / RFX_EIO. */
	int (*outbox_update)(void *state, const rfx_outbox_entry *e);
	/* Removes delivered entries in one transaction (ids not there are
	 * ignored): 0 or RFX_EIO. */
	int (*outbox_delete)(void *state, const uint64_t *ids, size_t n);
	/* Entries in id order; *out is malloc'd (free() it), *n may be 0. */
	int (*outbox_list)(void *state, const rfx_outbox_query *q, rfx_outbox_entry **out,
			   size_t *n);
} rfx_store_ops;

/* ---- the descriptor ----------------------------------------------------- */

typedef struct rfx_plugin {
	uint16_t abi_major; /* RFX_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor; /* RFX_ABI_MINOR the plugin was built with */
	uint32_t size;      /* sizeof(rfx_plugin) the plugin was built with */
	const char *name;   /* [a-z0-9_]+, unique per kind */
	const char *version;
	const char *description;
	rfx_kind kind;
	unsigned accepts; /* RFX_REC_* mask of records handle() takes */
	unsigned emits;   /* RFX_REC_* mask of records it emits */
	unsigned caps;    /* RFX_CAP_* */
	const rfx_option *options; /* terminated by RFX_OPTION_END; may be NULL */
	size_t config_size;        /* size of the config struct options fill */

	/* Validates the filled config and sets up state; no threads yet.
	 * Return 0, or a negative code after logging why. `err` receives a
	 * one-line message shown with the instance's config position. */
	int (*init)(rfx_instance *inst, const rfx_host *host, void *config,
		    void **state, char *err, size_t errlen);
	int (*start)(void *state);                                /* optional */
	rfx_result (*handle)(void *state, const rfx_record *rec); /* optional for inputs */
	void (*stop)(void *state);                                /* optional */
	void (*destroy)(void *state);                             /* optional */

	const rfx_store_ops *store; /* RFX_KIND_STORE only */

	void *reserved[8]; /* room to grow within ABI major 1; keep NULL */
} rfx_plugin;

typedef const rfx_plugin *(*rfx_plugin_entry_fn)(void);

/* Declares the entry point. Use once per plugin:
 *   RFX_PLUGIN_DEFINE(my_plugin_descriptor)
 */
#define RFX_PLUGIN_DEFINE(desc)                                              \
	__attribute__((visibility("default"))) const rfx_plugin *rfx_plugin_entry(void); \
	const rfx_plugin *rfx_plugin_entry(void) { return &(desc); }

/* Fills the ABI fields of a descriptor initialiser. */
#define RFX_PLUGIN_ABI .abi_major = RFX_ABI_MAJOR, .abi_minor = RFX_ABI_MINOR, \
		       .size = sizeof(rfx_plugin)

#ifdef __cplusplus
}
#endif
#endif
