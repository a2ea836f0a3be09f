/*
 * core/expr.h - the condition language shared by output routing (match:),
 * silences and rules.
 *
 *   severity >= warning and labels.team == "db"
 *   host startswith "web" or attrs.http.status in [500, 502, 503]
 *   message matches "disk (full|quota)" and not labels.env == "dev"
 *   labels.runbook exists
 *
 * Fields: id host service check message fingerprint source kind severity
 * status value time received, labels.NAME, attrs.PATH.TO.VALUE. Operators:
 * == != < <= > >= in [..] contains startswith endswith matches exists,
 * and or not, parentheses. Severity compares by rank (critical > warning);
 * a bare word on the right of severity/status is a name (warning, firing).
 * Strings are "double" or 'single' quoted with \\ \" \' \n \t escapes.
 *
 * A compiled expression is immutable and may be evaluated from many threads
 * at once; evaluation does not allocate.
 */
#ifndef RFX_CORE_EXPR_H
#define RFX_CORE_EXPR_H

#include <reflex/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rfx_expr rfx_expr;

/* Compiles src. On error returns NULL, writes a message into err and the
 * 1-based column of the offending token into *err_col (if not NULL). The
 * caller frees the result with rfx_expr_free(). */
rfx_expr *rfx_expr_compile(const char *src, char *err, size_t errlen, int *err_col);
/* True when the event matches. NULL expr matches everything. */
bool rfx_expr_eval(const rfx_expr *e, const rfx_event *ev);
/* The source text the expression was compiled from (owned by e). */
const char *rfx_expr_source(const rfx_expr *e);
void rfx_expr_free(rfx_expr *e);

#endif
