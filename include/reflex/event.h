/*
 * reflex/event.h - the typed event every stage of the pipeline works on.
 *
 * An event is one normalized observation: an alert, a log line, a trap, a
 * mail, a metric sample. It has typed fields, string labels and a free-form
 * JSON attribute tree (json-c). Events are reference counted: whoever holds
 * a pointer obtained from rfx_event_new() or rfx_event_ref() drops it with
 * rfx_event_unref(). Plugins reach these functions through the host table
 * (see plugin.h: host->event_new, ...); they never link against the core.
 *
 * Ownership:
 *  - string fields are heap strings owned by the event; set them with
 *    rfx_event_set(), which copies, never by assigning the pointer;
 *  - labels are owned by the event (rfx_event_label_set() copies);
 *  - attrs is a json-c object owned by the event (one json-c reference);
 *  - an event handed to a plugin's handle() is borrowed for the call; keep it
 *    longer by taking a reference.
 */
#ifndef REFLEX_EVENT_H
#define REFLEX_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/* Syslog severity scale: a smaller number is more severe. */
enum rfx_severity {
	RFX_SEV_EMERGENCY = 0,
	RFX_SEV_ALERT = 1,
	RFX_SEV_CRITICAL = 2,
	RFX_SEV_ERROR = 3,
	RFX_SEV_WARNING = 4,
	RFX_SEV_NOTICE = 5,
	RFX_SEV_INFO = 6,
	RFX_SEV_DEBUG = 7,
};

enum rfx_status {
	RFX_STATUS_FIRING = 0,
	RFX_STATUS_RESOLVED = 1,
};

/* String fields settable with rfx_event_set(). */
enum rfx_field {
	RFX_F_SOURCE = 0, /* input instance name; set by the core on emit */
	RFX_F_KIND,       /* alert, log, trap, mail, metric, ... */
	RFX_F_HOST,
	RFX_F_SERVICE,
	RFX_F_CHECK,      /* check name or alert title */
	RFX_F_MESSAGE,
	RFX_F_FINGERPRINT,/* dedup key; the core computes a default */
	RFX_F_RAW,        /* the payload as received, stored in raw_events */
	RFX_F__COUNT
};

#define RFX_EVENT_ID_LEN 26 /* ULID text, Crockford base32 */
#define RFX_LABELS_MAX 64   /* bound on labels per event */

struct rfx_label {
	char *key;
	char *value;
};

typedef struct rfx_event {
	char id[RFX_EVENT_ID_LEN + 1]; /* assigned by the core on emit, unless
	                                  preset to a valid ULID (ABI 1.2) */
	int64_t occurred_ns;           /* unix time in ns; 0 = unknown */
	int64_t received_ns;           /* set by the core on emit */
	char *str[RFX_F__COUNT];       /* indexed by enum rfx_field; may be NULL */
	int severity;                  /* enum rfx_severity */
	int status;                    /* enum rfx_status */
	double value;                  /* valid when has_value */
	bool has_value;
	size_t nlabels;            /* labels[0..nlabels) */
	size_t labels_cap;
	struct rfx_label *labels;  /* unique keys, insertion order */
	struct json_object *attrs; /* never NULL once created */
	int refcnt;                /* atomic; use ref/unref */
	/* ABI 1.3 (events are allocated by the core, so these only grow it):
	 * dedup. A stored record counts the repeats folded into it and when
	 * the last came (count 1 and last_ns 0: none). An event the noise stage
	 * folds has fold_into set to the record's id: stores add it to that
	 * row (count, last_ns, value; the first message stays) instead of a
	 * row of its own, keeping its raw payload. */
	uint64_t count;
	int64_t last_ns;
	char fold_into[RFX_EVENT_ID_LEN + 1];
} rfx_event;

#define rfx_event_host(e) ((e)->str[RFX_F_HOST])
#define rfx_event_service(e) ((e)->str[RFX_F_SERVICE])
#define rfx_event_check(e) ((e)->str[RFX_F_CHECK])
#define rfx_event_message(e) ((e)->str[RFX_F_MESSAGE])
#define rfx_event_fingerprint(e) ((e)->str[RFX_F_FINGERPRINT])
#define rfx_event_source(e) ((e)->str[RFX_F_SOURCE])
#define rfx_event_kind(e) ((e)->str[RFX_F_KIND])

/* Record types carried between stages; used as bit masks in descriptors. */
enum rfx_record_type {
	RFX_REC_EVENT = 1u << 0,
	RFX_REC_INCIDENT = 1u << 1,
	RFX_REC_ACTION = 1u << 2,
	RFX_REC_NOTICE = 1u << 3,
};

/* ABI 1.3: a notification about a group of events, for an output with
 * `group_by` (Alertmanager's semantics): the group's current state each
 * time it is due. Everything is borrowed for the handle() call. */
typedef struct rfx_notice {
	uint32_t size;                 /* sizeof(rfx_notice) of the core */
	const char *group_key;         /* stable: the output and the group_by values */
	size_t nlabels;                /* the group_by labels and their values */
	const char *const *label_keys;
	const char *const *label_values;
	rfx_event *const *events;      /* firing ones first, then the resolved */
	size_t nevents;
	size_t nfiring;
	int status;                    /* RFX_STATUS_FIRING while any is firing */
	uint64_t sequence;             /* 1 for the group's first notice, then 2, 3... */
} rfx_notice;

/* ABI 1.3: one attempt of a delivery from the outbox, for outputs and ITSM
 * plugins. The core records a delivery durably before the first attempt
 * and removes it only once handle() returned RFX_OK. */
typedef struct rfx_delivery {
	uint32_t size;          /* sizeof(rfx_delivery) of the core */
	uint32_t attempt;       /* 1 on the first try */
	uint64_t id;            /* the outbox entry: the same across retries and
	                           restarts, so usable as an idempotency key */
	int64_t created_ns;     /* when it was recorded */
	/* Out, with RFX_RETRY or RFX_FAIL: */
	int64_t retry_after_ms; /* the receiver's Retry-After; 0 = core's backoff */
	char error[256];        /* why, for the log, metrics and dead letters;
	                           never a secret */
} rfx_delivery;

/* What handle() receives. Borrowed for the duration of the call. */
typedef struct rfx_record {
	enum rfx_record_type type;
	union {
		rfx_event *event;
		rfx_notice *notice; /* RFX_REC_NOTICE (ABI 1.3) */
		void *other;        /* incident/action: later ABI minors */
	} u;
	/* ABI 1.3: set for deliveries to outputs and ITSM plugins; NULL
	 * elsewhere (and from cores before 1.3: check the host's minor). */
	rfx_delivery *delivery;
} rfx_record;

#ifdef __cplusplus
}
#endif
#endif
