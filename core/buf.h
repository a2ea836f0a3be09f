/*
 * core/buf.h - a growable byte buffer for building responses and SQL.
 * Always NUL-terminated; on allocation failure it sets `oom` and further
 * appends are ignored, so callers check once at the end.
 */
#ifndef RFX_CORE_BUF_H
#define RFX_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rfx_buf {
	char *data; /* malloc'd, NUL-terminated; NULL while empty */
	size_t len;
	size_t cap;
	bool oom;
} rfx_buf;

void rfx_buf_init(rfx_buf *b);
void rfx_buf_append(rfx_buf *b, const void *p, size_t n);
void rfx_buf_puts(rfx_buf *b, const char *s);
void rfx_buf_printf(rfx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data over (caller frees; "" allocated when empty) and resets b.
 * NULL after an allocation failure. */
char *rfx_buf_take(rfx_buf *b, size_t *len);
void rfx_buf_free(rfx_buf *b);

#endif
