/*
 * core/diag.h - the diagnostics list: every configuration error is added here
 * as "file:line:column: message" and checking carries on, so that one run
 * reports all of them. The list is bounded; past its limit it ends with one
 * "further errors suppressed" notice.
 *
 * Usage: rfx_diag_init(&d); ... rfx_diag_add(&d, node, "..."); ...
 * rfx_diag_print(&d, stderr); rfx_diag_free(&d). The list owns its messages.
 */
#ifndef RFX_CORE_DIAG_H
#define RFX_CORE_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct rfx_node; /* config.h: a positioned YAML node */

typedef struct rfx_diag {
	size_t n, cap;
	char **msgs; /* "file:line:col: message" */
} rfx_diag;

void rfx_diag_init(rfx_diag *d);
/* Adds "file:line:col: <message>" positioned at node `at` (or just the
 * message when at is NULL). */
void rfx_diag_add(rfx_diag *d, const struct rfx_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same with an explicit position. */
void rfx_diag_addp(rfx_diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void rfx_diag_print(const rfx_diag *d, FILE *out); /* one per line */
void rfx_diag_free(rfx_diag *d);

#endif
