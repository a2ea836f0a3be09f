/* core/buf.c - growable byte buffer (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rfx_buf_init(rfx_buf *b)
{
	memset(b, 0, sizeof(*b));
}

static bool buf_reserve(rfx_buf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > (size_t)-1 / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void rfx_buf_append(rfx_buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void rfx_buf_puts(rfx_buf *b, const char *s)
{
	rfx_buf_append(b, s, strlen(s));
}

void rfx_buf_printf(rfx_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		rfx_buf_append(b, small, (size_t)n);
		return;
	}
	if (!buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *rfx_buf_take(rfx_buf *b, size_t *len)
{
	char *out;

	if (b->oom) {
		rfx_buf_free(b);
		return NULL;
	}
	out = b->data ? b->data : strdup("");
	if (len)
		*len = b->len;
	rfx_buf_init(b);
	return out;
}

void rfx_buf_free(rfx_buf *b)
{
	free(b->data);
	rfx_buf_init(b);
}
