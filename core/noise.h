/*
 * core/noise.h - the "remove noise" stage of the pipeline: it judges every
 * event after normalize/enrich and before the store, and decides whether the
 * event is forwarded to outputs. Every event is stored either way; one that
 * is not forwarded is marked in attrs.noise with the reason, so the stored
 * event says why nobody was told.
 *
 * Mechanisms (docs/noise.md):
 *  - dedup: repeats of a firing fingerprint update one record (count, first
 *    and last seen, last value) instead of being forwarded again; the
 *    resolution is forwarded once;
 *  - flapping: Nagios-style weighted percent state change over the last
 *    samples of a fingerprint with low/high hysteresis; a flapping series is
 *    forwarded once when it starts flapping and once when it settles;
 *  - silences (Alertmanager semantics, matchers in the expression language)
 *    and maintenance windows (one-off or weekly in a time zone);
 *  - rate limits per source and per host (token buckets) with one summary
 *    event per limited key and window.
 *
 * Threads: one struct rfx_noise serves one pipeline. rfx_noise_judge(),
 * rfx_noise_take_summaries() and rfx_noise_stats() touch the dedup, flap and
 * rate tables without locks: the caller serialises them (one worker thread,
 * or a lock of its own). The silence and maintenance sets are shared with
 * the API's HTTP threads: every rfx_noise_silence_* / rfx_noise_window_* /
 * rfx_noise_state_* function may be called from any thread at any time; a
 * read-write lock inside guards both sets (judge holds it for reading while
 * it matches, which is a bounded scan of compiled expressions).
 *
 * Time is injected: every function that needs "now" takes it in unix ns, so
 * tests script time and the stage never reads a clock of its own.
 */
#ifndef RFX_CORE_NOISE_H
#define RFX_CORE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/event.h>
#include <reflex/plugin.h>

struct json_object;
struct rfx_noise;

#define RFX_NOISE_NAME_MAX 128 /* maintenance window names, incl. NUL */

/* ---- configuration: the `pipeline.noise:` section ------------------------ */

struct rfx_noise_dedup_conf {
	bool enabled;
	int64_t max_entries;     /* fingerprints tracked (dedup + flapping) */
	int64_t reopen_after_ms; /* a firing record untouched this long is a new episode; 0 = never */
};

struct rfx_noise_flap_conf {
	bool enabled;
	int64_t samples; /* state samples kept per fingerprint (Nagios: 21) */
	double low;      /* percent; flapping stops below it */
	double high;     /* percent; flapping starts above it */
	int64_t window_ms; /* samples older than this no longer count */
};

struct rfx_noise_silence_conf {
	int64_t max;          /* silences held, expired ones included */
	int64_t retention_ms; /* expired silences are kept this long */
};

struct rfx_noise_bucket_conf {
	double rate;   /* events per second refilled; 0 = no limit */
	int64_t burst; /* bucket size */
};

struct rfx_noise_rate_conf {
	bool enabled;
	struct rfx_noise_bucket_conf per_source, per_host;
	int64_t max_keys;    /* buckets tracked (sources + hosts) */
	int64_t interval_ms; /* a summary covers at most this long */
};

/* One maintenance window, from `pipeline.noise.maintenance[]` or the API.
 * Exactly one of (start, end) or (days, from, to) is given. */
struct rfx_noise_window_conf {
	char *name;
	char *match;              /* expression; NULL or "" = everything */
	char *start, *end;        /* one-off, RFC 3339 */
	struct rfx_strlist days;  /* weekly: mon tue wed thu fri sat sun */
	char *from, *to;          /* weekly: "HH:MM" local time; to <= from crosses midnight */
	char *timezone;           /* IANA name, e.g. Europe/Berlin; default UTC */
	char *comment;
};

struct rfx_noise_conf {
	bool enabled;
	struct rfx_noise_dedup_conf dedup;
	struct rfx_noise_flap_conf flapping;
	struct rfx_noise_silence_conf silences;
	struct rfx_noise_rate_conf rate_limit;
	struct rfx_seclist maintenance; /* struct rfx_noise_window_conf[] */
};

/* The option table for `pipeline.noise:`; fill a struct rfx_noise_conf
 * with rfx_schema_apply(). */
extern const rfx_option rfx_noise_options[];

/* ---- lifetime --------------------------------------------------------- */

/* Builds the stage from a validated config (borrowed: nothing of c is kept).
 * Maintenance windows are compiled here: a bad match expression, time or
 * time zone gives NULL and a message naming the window, e.g.
 * "pipeline.noise.maintenance[1] (db-patch): timezone: unknown time zone
 * 'Europe/Berln'". The lead may call it at config check time to validate. */
struct rfx_noise *rfx_noise_new(const struct rfx_noise_conf *c, char *err, size_t errlen);
/* Frees everything, including summaries not taken. NULL is a no-op. */
void rfx_noise_free(struct rfx_noise *n);

/* ---- judging ---------------------------------------------------------- */

enum rfx_noise_flag {
	RFX_NOISE_DUPLICATE = 1u << 0,    /* repeats an open record */
	RFX_NOISE_FLAPPING = 1u << 1,     /* the series is flapping */
	RFX_NOISE_FLAP_START = 1u << 2,   /* this event started the flapping */
	RFX_NOISE_FLAP_STOP = 1u << 3,    /* this event ended it */
	RFX_NOISE_SILENCED = 1u << 4,
	RFX_NOISE_MAINTENANCE = 1u << 5,
	RFX_NOISE_RATE_LIMITED = 1u << 6,
};

struct rfx_noise_verdict {
	bool forward;          /* hand to outputs (it is stored either way) */
	unsigned flags;        /* enum rfx_noise_flag */
	/* the dedup record this event belongs to (also set when not a repeat) */
	char first_id[RFX_EVENT_ID_LEN + 1];
	uint64_t count;        /* events in the record, this one included */
	int64_t first_seen_ns;
	double flap_percent;   /* weighted percent state change, 0-100 */
	char silence_id[RFX_EVENT_ID_LEN + 1];   /* with SILENCED */
	char maintenance[RFX_NOISE_NAME_MAX];    /* with MAINTENANCE */
	const char *limited_by; /* with RATE_LIMITED: "source" or "host" (static) */
};

/*
 * Judges ev at now_ns and fills *v. ev is borrowed and modified: it gets the
 * default fingerprint when it has none (the source's own one wins), and
 * attrs.noise when any flag is set, e.g.
 *   {"duplicate_of": "01J...", "count": 7, "first_seen": "...",
 *    "silenced_by": "01J...", "maintenance": "db-patch", "flapping": true,
 *    "flap_percent": 34.5, "rate_limited": "host", "suppressed": true}
 * ev->id should already be assigned (the dedup record remembers it).
 * Returns 0, RFX_EINVAL (NULL argument) or RFX_ENOMEM (then v->forward is
 * true: failing open forwards rather than loses). Caller serialises calls.
 */
int rfx_noise_judge(struct rfx_noise *n, rfx_event *ev, int64_t now_ns,
		    struct rfx_noise_verdict *v);

/*
 * Events the stage made for people, to be stored and forwarded as they are
 * (not judged again): one per rate-limited key and interval, saying how many
 * events were held back, and one when a flapping series settled without a
 * further event. Also closes intervals and flapping series that ended by
 * now_ns, so call it regularly (each batch, or at least every second).
 * On 0, *out is a malloc'd array of *count events (NULL when 0): the caller
 * owns the array (free) and each event (rfx_event_unref). RFX_ENOMEM.
 * Caller serialises with judge.
 */
int rfx_noise_take_summaries(struct rfx_noise *n, int64_t now_ns, rfx_event ***out,
			     size_t *count);

struct rfx_noise_stats {
	uint64_t judged, forwarded, duplicates, flapping, silenced, maintenance, rate_limited;
	uint64_t evicted;   /* dedup records pushed out by max_entries */
	uint64_t tracked;   /* dedup records held now */
};
void rfx_noise_stats(const struct rfx_noise *n, struct rfx_noise_stats *s);

/* ---- silences (any thread) --------------------------------------------- */

struct rfx_silence {
	char id[RFX_EVENT_ID_LEN + 1]; /* "" for a new one */
	char *matchers;                /* expression, e.g. host == "db1" and check == "disk" */
	int64_t starts_at_ns, ends_at_ns;
	int64_t updated_at_ns;
	char *created_by;
	char *comment;
};

/* Frees the strings of s (not s) and zeroes it. */
void rfx_silence_clear(struct rfx_silence *s);

/*
 * Validates a POST body: {"matchers": "<expression>", "startsAt": RFC 3339
 * (default now), "endsAt": RFC 3339, "createdBy": "...", "comment": "...",
 * "id": optional (update)}; "status" and "updatedAt" (from a GET) are
 * ignored; any other key is an error. On error returns RFX_EINVAL with a
 * message naming the field ("endsAt: must be after startsAt", "matchers:
 * column 6: ..."). On 0 the caller owns the strings in *out
 * (rfx_silence_clear).
 */
int rfx_silence_from_json(struct json_object *obj, int64_t now_ns, struct rfx_silence *out,
			  char *err, size_t errlen);

/*
 * Adds s (copied), or replaces the silence with s->id when it is set. The id
 * is written to id_out. RFX_EINVAL (bad matchers, endsAt not after
 * startsAt, endsAt in the past; message in err), RFX_ENOENT (s->id unknown),
 * RFX_EFULL (silences.max reached after dropping those past retention),
 * RFX_ENOMEM.
 */
int rfx_noise_silence_add(struct rfx_noise *n, const struct rfx_silence *s, int64_t now_ns,
			  char id_out[RFX_EVENT_ID_LEN + 1], char *err, size_t errlen);
/* Ends a silence now (Alertmanager's DELETE). 0, RFX_ENOENT; an already
 * expired silence is left as it is (0). */
int rfx_noise_silence_expire(struct rfx_noise *n, const char *id, int64_t now_ns);
/* Forgets a silence entirely. 0 or RFX_ENOENT. */
int rfx_noise_silence_delete(struct rfx_noise *n, const char *id);
/* *out: a new JSON array of silences, newest first, each {id, matchers,
 * startsAt, endsAt, updatedAt, createdBy, comment, status: {state:
 * pending|active|expired}}. 0 or RFX_ENOMEM. */
int rfx_noise_silence_list(struct rfx_noise *n, int64_t now_ns, struct json_object **out);
/* *out: one silence in that form. 0, RFX_ENOENT, RFX_ENOMEM. */
int rfx_noise_silence_get(struct rfx_noise *n, const char *id, int64_t now_ns,
			  struct json_object **out);

/* ---- maintenance windows (any thread) --------------------------------- */

/*
 * Validates a POST body with the YAML keys (name, match, start, end, days,
 * from, to, timezone, comment) into *out. Errors name the field. The
 * caller frees with rfx_noise_window_conf_clear(). RFX_EINVAL, RFX_ENOMEM.
 */
int rfx_noise_window_from_json(struct json_object *obj, struct rfx_noise_window_conf *out,
			       char *err, size_t errlen);
void rfx_noise_window_conf_clear(struct rfx_noise_window_conf *w);
/* Adds a window (copied) or replaces an API-made window of the same name.
 * RFX_EINVAL (invalid, or the name belongs to a window from the YAML file;
 * message in err), RFX_EFULL, RFX_ENOMEM. */
int rfx_noise_window_add(struct rfx_noise *n, const struct rfx_noise_window_conf *w,
			 char *err, size_t errlen);
/* 0, RFX_ENOENT, RFX_EINVAL (a window from the YAML file: edit the file). */
int rfx_noise_window_delete(struct rfx_noise *n, const char *name);
/* *out: a new JSON array of windows in config order then API order, each
 * with the YAML keys, "origin": "config"|"api" and "active": bool at now. */
int rfx_noise_window_list(struct rfx_noise *n, int64_t now_ns, struct json_object **out);

/* ---- persistence (any thread) ----------------------------------------- */

/* *out: malloc'd JSON text {"version": 1, "silences": [...], "maintenance":
 * [...API windows...]} for the store's kv. Windows from YAML are not saved
 * (the file is their home). 0 or RFX_ENOMEM. */
int rfx_noise_state_dump(struct rfx_noise *n, char **out);
/* Loads what rfx_noise_state_dump wrote, adding to what is held (silences
 * by id, windows by name). Entries past retention are dropped. RFX_EINVAL
 * with a message on malformed text (nothing is loaded then). */
int rfx_noise_state_load(struct rfx_noise *n, const char *json, int64_t now_ns, char *err,
			 size_t errlen);

#endif
