/*
 * core/delivery_impl.h - private to the deliverer (delivery.c, and the
 * grouping of notices in delivery_group.c): its state and the helpers the
 * two files share. Everything here runs on the deliverer's own thread
 * unless marked atomic.
 */
#ifndef RFX_CORE_DELIVERY_IMPL_H
#define RFX_CORE_DELIVERY_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "delivery.h"
#include "metrics.h"
#include "queue.h"

#define POP_MAX 64          /* fresh deliveries taken per wake-up */
#define HEAP_MAX 100000     /* scheduled retries kept in memory */
#define KEEP_EVENT_MAX 1000 /* scheduled retries that keep their event in memory */
#define DONE_MAX 512        /* delivered ids before the outbox is trimmed */
#define DONE_FLUSH_MS 200
#define SCAN_PAGE 1000
#define MS 1000000LL
#define BUSY_MAX 64         /* attempts in flight per output, at most */

/* A delivery waiting for its next attempt. */
struct pend {
	uint64_t id; /* outbox entry; 0 = in memory only */
	int64_t next_ns, created_ns;
	uint32_t attempts;
	rfx_event *ev; /* NULL: load from the store when due */
	char event_id[RFX_EVENT_ID_LEN + 1];
};

enum breaker { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

/* A group of an output with group.by: its alerts (latest event per
 * fingerprint) and the deliveries not yet covered by a notice. */
struct group {
	char *key;                /* "by1=v1,by2=v2" */
	uint64_t hash;
	char **label_values;      /* one per group.by entry */
	struct pend **alerts;     /* latest per fingerprint; firing and resolved */
	size_t nalerts, capalerts;
	uint64_t *ids;            /* outbox entries the next notice covers */
	size_t nids, capids;
	int64_t next_ns;          /* INT64_MAX: nothing to send */
	int64_t last_sent_ns;     /* 0: never */
	int64_t created_ns;
	uint64_t sequence;        /* notices sent */
	uint32_t attempts;        /* of the current notice */
	bool changed;             /* something new since the last notice */
};

struct rfx_deliverer {
	struct rfx_output_spec spec;
	struct rfx_delivery_conf c;
	const rfx_store_ops *store;
	void *store_state;
	bool durable;
	char label[160];

	rfx_queue *q;
	pthread_t thread;
	bool running;
	atomic_bool stopping;
	/* Set when an offer did not fit: entries up to overflow_max are
	 * in the outbox but not here, and a scan brings them in. */
	atomic_bool overflow;
	_Atomic uint64_t overflow_max;

	/* the deliverer thread's own */
	struct pend **heap;
	size_t nheap, capheap;
	_Atomic size_t pending; /* nheap, for the gauge */
	uint64_t done[DONE_MAX];
	size_t ndone;
	int64_t done_since_ns;
	enum breaker breaker;
	int64_t consecutive_failures;
	int64_t open_until_ns, cooldown_ms;
	uint64_t rng;

	rfx_metric *m_out, *m_retried, *m_declined, *m_dead, *m_lost, *m_circuit, *m_opened;

	/* grouping (delivery_group.c): with group.by set, deliveries gather in
	 * groups and go out as notices */
	struct rfx_group_conf g;
	bool grouped;
	struct group **groups;
	size_t ngroups, capgroups;

	/* concurrency (delivery.concurrency, RFX_CAP_CONCURRENT): workers
	 * run handle(); the deliverer keeps all the bookkeeping. wlock guards
	 * jobs, done_jobs and wstop; busy/nbusy/inflight are the deliverer's. */
	unsigned nworkers, nstarted;
	pthread_t *workers;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct job *jobs, *done_jobs;
	bool wstop;
	char *busy[BUSY_MAX]; /* fingerprints with an attempt in flight */
	size_t nbusy, inflight;
};


/* delivery.c */
int64_t now_ns(void);
double rnd(struct rfx_deliverer *d);
void pend_free(struct pend *p);
struct pend *pend_new(uint64_t id, const char *event_id, rfx_event *ev, int64_t created_ns,
		      uint32_t attempts, int64_t next_ns);
void mark_done(struct rfx_deliverer *d, uint64_t id);
void save(struct rfx_deliverer *d, const struct pend *p, int state, const char *error);
void dead(struct rfx_deliverer *d, struct pend *p, const char *error);
void breaker_success(struct rfx_deliverer *d);
void breaker_failure(struct rfx_deliverer *d, const char *error);
bool paused(struct rfx_deliverer *d, int64_t t);
/* Before the next attempt: the receiver's Retry-After (capped) when it gave
 * one, else the backoff after `attempts` failures. */
int64_t retry_delay_ms(struct rfx_deliverer *d, uint32_t attempts, int64_t retry_after_ms);

/* delivery_group.c */
/* Adds a delivery (its event loaded) to its group; takes p. */
void group_add(struct rfx_deliverer *d, struct pend *p, int64_t now);
/* Sends the notices of groups that are due (unless paused). */
void group_flush_due(struct rfx_deliverer *d, int64_t now);
/* When the next group is due; INT64_MAX when none. */
int64_t group_next_ns(const struct rfx_deliverer *d);
void group_free_all(struct rfx_deliverer *d);
/* Deliveries held in groups, for the pending gauge. */
size_t group_pending(const struct rfx_deliverer *d);

#endif
