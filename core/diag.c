/*
 * core/diag.c - owns the diagnostics list: formatting positioned messages and
 * keeping at most DIAG_MAX of them, so a runaway config cannot grow it
 * without bound.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

#define DIAG_MAX 1000 /* messages kept per diag list */

void rfx_diag_init(rfx_diag *d)
{
	memset(d, 0, sizeof(*d));
}

/* Takes ownership of msg. Past DIAG_MAX the list ends with one notice, so a
 * runaway file cannot grow it without bound. */
static void diag_push(rfx_diag *d, char *msg)
{
	if (!msg)
		return;
	if (d->n >= DIAG_MAX) {
		free(msg);
		return;
	}
	if (d->n == DIAG_MAX - 1) {
		free(msg);
		msg = strdup("too many errors; further errors suppressed");
		if (!msg)
			return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		char **m = realloc(d->msgs, cap * sizeof(*m));
		if (!m) {
			free(msg);
			return;
		}
		d->msgs = m;
		d->cap = cap;
	}
	d->msgs[d->n++] = msg;
}

static void diag_vadd(rfx_diag *d, const char *file, int line, int col, const char *fmt,
		      va_list ap)
{
	rfx_buf b;

	rfx_buf_init(&b);
	if (file && line > 0)
		rfx_buf_printf(&b, "%s:%d:%d: ", file, line, col);
	else if (file)
		rfx_buf_printf(&b, "%s: ", file);

	char small[512];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n >= 0 && (size_t)n < sizeof(small)) {
		rfx_buf_append(&b, small, (size_t)n);
	} else if (n >= 0) {
		char *big = malloc((size_t)n + 1);
		if (big) {
			vsnprintf(big, (size_t)n + 1, fmt, ap);
			rfx_buf_append(&b, big, (size_t)n);
			free(big);
		} else {
			b.oom = true;
		}
	}
	diag_push(d, rfx_buf_take(&b, NULL));
}

void rfx_diag_add(rfx_diag *d, const rfx_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (at)
		diag_vadd(d, at->file, at->line, at->col, fmt, ap);
	else
		diag_vadd(d, NULL, 0, 0, fmt, ap);
	va_end(ap);
}

void rfx_diag_addp(rfx_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
}

void rfx_diag_print(const rfx_diag *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(out, "%s\n", d->msgs[i]);
}

void rfx_diag_free(rfx_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof(*d));
}
