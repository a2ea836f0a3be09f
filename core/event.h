/*
 * core/event.h - the core's side of the typed event (include/reflex/event.h):
 * creation, reference counting, labels, the generic JSON form, ids, default
 * fingerprints and time helpers. Plugins reach the same functions through
 * the host table.
 */
#ifndef RFX_CORE_EVENT_H
#define RFX_CORE_EVENT_H

#include <reflex/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* New event with refcnt 1, attrs an empty object, severity info, status
 * firing. NULL on allocation failure. */
rfx_event *rfx_event_new(void);
/* Adds a reference; returns ev. Thread-safe. */
rfx_event *rfx_event_ref(rfx_event *ev);
/* Drops a reference; frees the event with the last one. NULL is a no-op. */
void rfx_event_unref(rfx_event *ev);

/* Copies value into the field (NULL clears). 0, RFX_EINVAL, RFX_ENOMEM. */
int rfx_event_set(rfx_event *ev, enum rfx_field f, const char *value);
/* Sets or replaces a label, copying key and value. 0, RFX_EINVAL (empty
 * key), RFX_EFULL (more than RFX_LABELS_MAX), RFX_ENOMEM. */
int rfx_event_label_set(rfx_event *ev, const char *key, const char *value);
/* Value of a label or NULL. The pointer is owned by the event. */
const char *rfx_event_label_get(const rfx_event *ev, const char *key);

/*
 * Generic JSON form (docs/events.md): host, service, check, severity (name or
 * 0-7), status (firing|resolved), message, labels (object of strings), attrs
 * (object), time (RFC 3339), fingerprint, kind, value (number). Unknown keys,
 * wrong types and bad values are errors: NULL is returned and err receives
 * a message that names the field, e.g. "severity: unknown severity 'hgih'".
 * On success the caller owns the returned event (one reference).
 */
rfx_event *rfx_event_from_json(struct json_object *obj, char *err, size_t errlen);
/* The API form: the names above plus id, received (RFC 3339) and source.
 * Returns a new json-c reference (caller puts it). */
struct json_object *rfx_event_to_json(const rfx_event *ev);

/* Severity names: emergency alert critical error warning notice info debug
 * and aliases (emerg, crit, err, warn, information, fatal, major, minor...).
 * Also "0".."7". Returns 0-7 or -1. Case-insensitive. */
int rfx_severity_parse(const char *name);
/* Canonical name of 0-7, "unknown" otherwise. Static string. */
const char *rfx_severity_name(int sev);

/* Writes a new ULID (26 chars + NUL): 48-bit ms time then 80 bits that are
 * monotonic within this process. Thread-safe. */
void rfx_event_id_new(char out[RFX_EVENT_ID_LEN + 1]);
/* True for a canonical ULID: 26 upper-case Crockford base32 characters, the
 * first 0-7. */
bool rfx_event_id_valid(const char *id);

/* Sets the default fingerprint (hex of a 64-bit hash of source, host,
 * service and check) unless the event already has one. 0 or RFX_ENOMEM. */
int rfx_event_default_fingerprint(rfx_event *ev);

/* CLOCK_REALTIME in nanoseconds. */
int64_t rfx_now_ns(void);
/* RFC 3339 ("2026-11-28T03:22:45Z", fractional seconds and offsets
 * accepted) to unix ns. 0 or RFX_EINVAL. */
int rfx_time_parse(const char *s, int64_t *ns);
/* UTC RFC 3339 with milliseconds: "2026-11-28T03:22:45.123Z". buf >= 32. */
void rfx_time_format(int64_t ns, char *buf, size_t len);

#endif
