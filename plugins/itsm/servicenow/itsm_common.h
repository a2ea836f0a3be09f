/*
 * plugins/itsm/servicenow/itsm_common.h - what the ITSM plugins
 * (servicenow, jira, remedy) share: the correlation key that ties an
 * event's fingerprint (or a notice's group) to one vendor record, the
 * severity and status of a record, and small text helpers (cutting on
 * UTF-8 boundaries, percent-encoding, base64 for Basic auth).
 *
 * Compiled into each ITSM plugin (not part of the core ABI), like
 * plugins/common/outhttp.c; it lives here because the servicenow plugin
 * came first.
 */
#ifndef RFX_ITSM_COMMON_H
#define RFX_ITSM_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <reflex/plugin.h>

#include "../../common/template.h"

#define RFX_ITSM_HIDDEN __attribute__((visibility("hidden")))

/* "reflex-" and 16 hex digits, NUL included */
#define RFX_ITSM_KEY_LEN 24

/* The correlation key of a record: "reflex-" and a 64-bit FNV-1a digest of
 * the event's fingerprint (events) or the notice's group key, so every
 * agent derives the same key for the same problem. A missing fingerprint
 * falls back on host, service and check. out >= RFX_ITSM_KEY_LEN. */
RFX_ITSM_HIDDEN void rfx_itsm_corr_key(const rfx_record *rec, char *out, size_t len);

/* True when the record says the problem is over. */
RFX_ITSM_HIDDEN bool rfx_itsm_resolved(const rfx_record *rec);

/* The record's severity: the event's, or the most severe of a notice's
 * firing events (of all its events once none fires). */
RFX_ITSM_HIDDEN int rfx_itsm_severity(const rfx_record *rec);

/* Bytes of the first max_chars UTF-8 characters of s[0..len). */
RFX_ITSM_HIDDEN size_t rfx_itsm_utf8_cut(const char *s, size_t len, size_t max_chars);

/* Percent-encodes in (RFC 3986 unreserved characters kept) into out.
 * 0, or -1 when it does not fit (out is then ""). */
RFX_ITSM_HIDDEN int rfx_itsm_pct_encode(const char *in, char *out, size_t len);

/* Base64 of in[0..n); malloc'd, the caller frees it; NULL on ENOMEM. */
RFX_ITSM_HIDDEN char *rfx_itsm_base64(const char *in, size_t n);

/* Compiles a template option (no escaping: bodies are built with json-c);
 * a failure names the option and the position in err. 0 or RFX_EINVAL. */
RFX_ITSM_HIDDEN int rfx_itsm_compile(const char *opt, const char *src, size_t max_out,
				     rfx_otpl **out, char *err, size_t errlen);

/* Renders t for the record into b: 0 or RFX_ENOMEM. */
RFX_ITSM_HIDDEN int rfx_itsm_render(const rfx_otpl *t, const rfx_record *rec,
				    struct rfx_otpl_buf *b);

#endif
