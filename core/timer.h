/*
 * core/timer.h - periodic timers on one core thread. Callbacks run on that
 * thread, one at a time, so a slow callback delays the others: keep them
 * short or hand work to a queue.
 */
#ifndef RFX_CORE_TIMER_H
#define RFX_CORE_TIMER_H

#include <stdint.h>
#include <reflex/plugin.h>

/* Starts the timer thread (idempotent). 0 or RFX_ENOMEM. */
int rfx_timers_start(void);
/* Cancels all timers and joins the thread. */
void rfx_timers_stop(void);
/* Every interval_ms (>= 1) until cancelled. NULL on error. */
rfx_timer *rfx_timer_add(rfx_instance *inst, int64_t interval_ms, void (*cb)(void *arg),
			 void *arg);
/* Cancels; waits for a running callback of this timer unless called from
 * the timer thread itself. */
void rfx_timer_cancel(rfx_timer *t);

#endif
