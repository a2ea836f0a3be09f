/*
 * plugins/common/template.h - logic-less templates (a mustache subset) for
 * the titles and bodies output and ITSM plugins send: `{{host}}`,
 * `{{labels.team}}`, `{{attrs.a.b}}`, sections over a notice's events
 * (`{{#events}}..{{/events}}`, `{{#firing}}`, `{{#resolved}}`), conditional
 * and inverted sections (`{{#x}}..{{/x}}`, `{{^x}}..{{/x}}`), raw
 * `{{&x}}` and comments `{{! ...}}`. The syntax is in
 * docs/output-templates.md.
 *
 * Compiled into each plugin that uses it (not part of the core ABI). Usage:
 * compile once in init() with the escaping the destination needs (a compile
 * error is a config error: show err), render in handle() into a
 * struct rfx_otpl_buf the caller keeps between renders, so a render
 * allocates nothing once the buffer has grown to its working size.
 *
 * Threads: a compiled template is immutable and may be rendered from
 * several threads at once, each with its own buffer. Rendering only reads
 * the event (never json-c's cached string, which is not thread-safe), so
 * events shared between outputs are safe to render concurrently.
 */
#ifndef RFX_OUT_TEMPLATE_H
#define RFX_OUT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include <reflex/event.h>

#define RFX_OTPL_HIDDEN __attribute__((visibility("hidden")))

/* How values (not literal template text) are escaped on output. */
typedef enum rfx_otpl_escape {
	RFX_OTPL_ESC_NONE = 0,
	RFX_OTPL_ESC_JSON,  /* inside a JSON string: \" \\ \n \uXXXX */
	RFX_OTPL_ESC_HTML,  /* & < > " ' as entities */
	RFX_OTPL_ESC_SLACK, /* Slack mrkdwn control characters & < > only */
} rfx_otpl_escape;

#define RFX_OTPL_MAX_SOURCE (64 * 1024) /* bound on a template's text */
#define RFX_OTPL_MAX_DEPTH 8            /* bound on nested sections */

typedef struct rfx_otpl rfx_otpl;

/* A compile error: where (1-based) and what. */
struct rfx_otpl_error {
	int line;
	int column;
	char message[160];
};

/* A growing output buffer, reused across renders; data is NUL-terminated
 * after a successful render. Zero-initialise it; free with
 * rfx_otpl_buf_free(). */
struct rfx_otpl_buf {
	char *data;
	size_t len;
	size_t cap;
};

/*
 * Compiles src (copied; the caller keeps src). max_out bounds the rendered
 * size in bytes (0 = 64 KiB). Returns the template (free with
 * rfx_otpl_free) or NULL with *e filled (e may be NULL). Unknown variable
 * names, unbalanced sections and unterminated tags are compile errors.
 */
RFX_OTPL_HIDDEN rfx_otpl *rfx_otpl_compile(const char *src, rfx_otpl_escape esc, size_t max_out,
					   struct rfx_otpl_error *e);

/* Formats e as "line L, column C: message" (or "column C: message" for a
 * one-line template) into buf. */
RFX_OTPL_HIDDEN void rfx_otpl_error_format(const struct rfx_otpl_error *e, char *buf,
					   size_t len);

RFX_OTPL_HIDDEN void rfx_otpl_free(rfx_otpl *t);

/*
 * Renders t for one event (notice NULL) or one notice (ev NULL: the
 * notice's first event stands for the event fields outside a section; a
 * lone event is a notice of one for {{#events}}). The output replaces
 * out's contents. When it would pass max_out it is cut at a UTF-8 and
 * escape boundary and *truncated (may be NULL) is set. Returns 0 or
 * RFX_ENOMEM (out keeps a valid, possibly shorter, string).
 */
RFX_OTPL_HIDDEN int rfx_otpl_render(const rfx_otpl *t, const rfx_event *ev,
				    const rfx_notice *notice, struct rfx_otpl_buf *out,
				    bool *truncated);

RFX_OTPL_HIDDEN void rfx_otpl_buf_free(struct rfx_otpl_buf *b);

/* Formats unix nanoseconds as RFC 3339 UTC ("2024-05-01T12:00:00Z", with
 * milliseconds when non-zero) into buf (>= 32 bytes). "" for 0. */
RFX_OTPL_HIDDEN void rfx_otpl_time(int64_t ns, char *buf, size_t len);

/* The severity's name ("critical"); "unknown" when out of range. */
RFX_OTPL_HIDDEN const char *rfx_otpl_severity_name(int sev);

#endif
