/*
 * core/normalize.h - the pipeline's "normalize" stage: brings events from
 * every source onto one scale before they are enriched and stored.
 *
 *  - severities and statuses: per-source maps (pipeline.normalize.sources)
 *    over built-in tables for Alertmanager, Zabbix, Nagios, syslog and SNMP.
 *    Inputs already map their own severities; this stage applies overrides
 *    and fills the gaps the inputs flagged (attrs.severity_unmapped, ...);
 *  - time: occurred_ns is unix ns (UTC) already; a missing time becomes the
 *    receipt time, and a time further in the future or past than the
 *    tolerances is flagged (attrs.normalize.clock) and by default replaced
 *    by the receipt time, the sender's value kept;
 *  - host names: case, trailing dot, listed domains or every domain;
 *  - label keys: lower case, [a-z0-9_], the first of colliding keys wins.
 *
 * What was changed is written to attrs.normalize (see docs/normalize.md).
 * A normalizer is immutable after creation, so one instance may be used from
 * several worker threads at once; the clock is injected (now_ns) for tests.
 */
#ifndef RFX_CORE_NORMALIZE_H
#define RFX_CORE_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/event.h>
#include <reflex/plugin.h>

/* Where a source's raw severity/status comes from and which built-in table
 * applies. Index into rfx_normalize_formats. */
enum rfx_norm_format {
	RFX_NORM_AUTO = 0, /* detected from the event; defaults fill gaps only */
	RFX_NORM_ALERTMANAGER,
	RFX_NORM_ZABBIX,
	RFX_NORM_NAGIOS,
	RFX_NORM_SYSLOG,
	RFX_NORM_SNMP,
	RFX_NORM_GENERIC,
	RFX_NORM_NONE, /* no built-in table: only this rule's maps */
};

enum rfx_norm_skew { RFX_SKEW_RECEIVED = 0, RFX_SKEW_KEEP };
enum rfx_norm_case { RFX_CASE_LOWER = 0, RFX_CASE_KEEP };
enum rfx_norm_keys { RFX_KEYS_NORMALIZE = 0, RFX_KEYS_KEEP };

/* One element of pipeline.normalize.sources. */
struct rfx_normalize_source {
	char *match;         /* glob on the source instance name; default "*" */
	char *kind;          /* event kind (alert, log, trap...); NULL = any */
	int format;          /* enum rfx_norm_format */
	char *severity_from; /* "labels.K", "attrs.K", "severity" or "status" */
	struct rfx_strmap severity_map; /* raw value -> reflex severity name */
	char *status_from;
	struct rfx_strmap status_map;   /* raw value -> firing|resolved */
};

/* pipeline.normalize. */
struct rfx_normalize_conf {
	struct rfx_seclist sources; /* struct rfx_normalize_source */
	int64_t future_tolerance_ms;
	int64_t past_tolerance_ms;
	int skewed_time; /* enum rfx_norm_skew */
	int host_case;   /* enum rfx_norm_case */
	struct rfx_strlist strip_domains;
	bool short_hostnames;
	int label_keys;  /* enum rfx_norm_keys */
};

/* The option table of pipeline.normalize (an RFX_OPT_SECTION's sub). */
extern const rfx_option rfx_normalize_options[];
/* Names of enum rfx_norm_format, NULL-terminated. */
extern const char *const rfx_normalize_formats[];

struct rfx_normalizer;

/* Compiles conf (borrowed: only read during the call; the normalizer keeps
 * copies). NULL with a message in err on a bad map value or glob. */
struct rfx_normalizer *rfx_normalizer_new(const struct rfx_normalize_conf *conf, char *err,
					  size_t errlen);
void rfx_normalizer_free(struct rfx_normalizer *n);

/* Normalizes ev in place (the caller holds it). now_ns is the clock used
 * when ev->received_ns is 0. Returns 0, or RFX_ENOMEM (the event may then be
 * half normalized but is still valid). Thread-safe for one normalizer. */
int rfx_normalize(const struct rfx_normalizer *n, rfx_event *ev, int64_t now_ns);

/* Label key normalization on its own: writes the normalized form of key into
 * out (at most outlen bytes with the NUL). Returns the length, or -1 when
 * nothing usable is left (an empty key). */
int rfx_normalize_label_key(const char *key, char *out, size_t outlen);

#endif
