/*
 * core/log.h - the agent's log: one line per message on stderr,
 *   2026-11-28T03:22:45.123Z warning input:webhook:hook: queue full
 * Messages of one component are rate-limited (a burst of 20, then one per
 * second), and a summary says how many were suppressed.
 */
#ifndef RFX_CORE_LOG_H
#define RFX_CORE_LOG_H

#include <stdarg.h>
#include <reflex/plugin.h>

/* Messages above this level (RFX_LOG_*) are not written. */
void rfx_log_set_level(int level);
int rfx_log_level_parse(const char *name); /* error warning info debug; -1 */
void rfx_log(int level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rfx_logv(int level, const char *component, const char *fmt, va_list ap);

#endif
