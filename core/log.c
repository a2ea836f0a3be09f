/* core/log.c - the agent's log (see log.h). */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_BURST 20      /* messages a component may write at once */
#define LOG_SLOTS 128     /* components tracked for rate limiting */

static int log_level = RFX_LOG_INFO;
static const char *const level_names[] = {"error", "warning", "info", "debug"};

/* Token bucket per component; guarded by log_lock, which also keeps lines
 * from interleaving. */
struct log_slot {
	char component[96];
	double tokens;
	int64_t last_ms;
	unsigned suppressed;
};
static struct log_slot slots[LOG_SLOTS];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void rfx_log_set_level(int level)
{
	log_level = level;
}

int rfx_log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warn") == 0)
		return RFX_LOG_WARNING;
	return -1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns false when the message must be suppressed; sets *resumed to the
 * number suppressed before it when the component may write again. */
static bool log_admit(const char *component, unsigned *resumed)
{
	int64_t now = mono_ms();
	unsigned h = 5381;
	for (const char *p = component; *p; p++)
		h = h * 33 + (unsigned char)*p;
	struct log_slot *s = &slots[h % LOG_SLOTS];
	if (strncmp(s->component, component, sizeof(s->component) - 1) != 0) {
		snprintf(s->component, sizeof(s->component), "%s", component);
		s->tokens = LOG_BURST;
		s->last_ms = now;
		s->suppressed = 0;
	}
	s->tokens += (double)(now - s->last_ms) / 1000.0; /* one per second */
	if (s->tokens > LOG_BURST)
		s->tokens = LOG_BURST;
	s->last_ms = now;
	if (s->tokens < 1.0) {
		s->suppressed++;
		return false;
	}
	s->tokens -= 1.0;
	*resumed = s->suppressed;
	s->suppressed = 0;
	return true;
}

void rfx_logv(int level, const char *component, const char *fmt, va_list ap)
{
	char msg[2048], ts[40];
	struct timespec now;
	struct tm tm;
	unsigned resumed = 0;

	if (level > log_level)
		return;
	if (level < 0)
		level = 0;
	if (level > 3)
		level = 3;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	pthread_mutex_lock(&log_lock);
	if (!component)
		component = "core";
	if (log_admit(component, &resumed)) {
		if (resumed)
			fprintf(stderr, "%s.%03ldZ warning %s: %u messages suppressed by rate limit\n",
				ts, now.tv_nsec / 1000000, component, resumed);
		fprintf(stderr, "%s.%03ldZ %s %s: %s\n", ts, now.tv_nsec / 1000000,
			level_names[level], component, msg);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
}

void rfx_log(int level, const char *component, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rfx_logv(level, component, fmt, ap);
	va_end(ap);
}
