/* core/timer.c - periodic timers (see timer.h). A short list scanned for
 * the earliest deadline: plugins register few timers. */
#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct rfx_timer {
	struct rfx_timer *next;
	int64_t interval_ms, due_ms;
	void (*cb)(void *arg);
	void *arg;
	bool cancelled;
};

/* Guards the list, `running` and `thread_up`. */
static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tcond;
static pthread_cond_t tdone;
static struct rfx_timer *timers;
static struct rfx_timer *running;
static pthread_t tthread;
static bool thread_up, stopping;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *timer_main(void *unused)
{
	pthread_mutex_lock(&tlock);
	while (!stopping) {
		int64_t now = mono_ms(), next = now + 1000;
		struct rfx_timer *due = NULL;
		for (struct rfx_timer *t = timers; t; t = t->next) {
			if (t->due_ms <= now && !due)
				due = t;
			if (t->due_ms < next)
				next = t->due_ms;
		}
		if (due) {
			due->due_ms = now + due->interval_ms;
			running = due;
			pthread_mutex_unlock(&tlock);
			due->cb(due->arg);
			pthread_mutex_lock(&tlock);
			running = NULL;
			pthread_cond_broadcast(&tdone);
			continue;
		}
		struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
		pthread_cond_timedwait(&tcond, &tlock, &ts);
	}
	pthread_mutex_unlock(&tlock);
	return NULL;
}

int rfx_timers_start(void)
{
	int rc = 0;
	pthread_mutex_lock(&tlock);
	if (!thread_up) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&tcond, &ca);
		pthread_cond_init(&tdone, &ca);
		pthread_condattr_destroy(&ca);
		stopping = false;
		if (pthread_create(&tthread, NULL, timer_main, NULL) == 0)
			thread_up = true;
		else
			rc = RFX_ENOMEM;
	}
	pthread_mutex_unlock(&tlock);
	return rc;
}

void rfx_timers_stop(void)
{
	pthread_mutex_lock(&tlock);
	if (!thread_up) {
		pthread_mutex_unlock(&tlock);
		return;
	}
	stopping = true;
	pthread_cond_broadcast(&tcond);
	pthread_mutex_unlock(&tlock);
	pthread_join(tthread, NULL);
	pthread_mutex_lock(&tlock);
	while (timers) {
		struct rfx_timer *t = timers;
		timers = t->next;
		free(t);
	}
	thread_up = false;
	pthread_cond_destroy(&tcond);
	pthread_cond_destroy(&tdone);
	pthread_mutex_unlock(&tlock);
}

rfx_timer *rfx_timer_add(rfx_instance *inst, int64_t interval_ms, void (*cb)(void *arg), void *arg)
{
	if (interval_ms < 1 || !cb || rfx_timers_start())
		return NULL;
	struct rfx_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->interval_ms = interval_ms;
	t->due_ms = mono_ms() + interval_ms;
	t->cb = cb;
	t->arg = arg;
	pthread_mutex_lock(&tlock);
	t->next = timers;
	timers = t;
	pthread_cond_broadcast(&tcond);
	pthread_mutex_unlock(&tlock);
	return t;
}

void rfx_timer_cancel(rfx_timer *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&tlock);
	for (struct rfx_timer **pp = &timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	bool self = thread_up && pthread_equal(pthread_self(), tthread);
	while (running == t && !self)
		pthread_cond_wait(&tdone, &tlock);
	pthread_mutex_unlock(&tlock);
	free(t);
}
