/*
 * core/delivery_group.c - owns grouping an output's deliveries into
 * notices, with Alertmanager's timers (see struct rfx_group_conf in
 * delivery.h): which group a delivery joins, when a group is due, building
 * the rfx_notice, and what a notice's result does to the deliveries it
 * covers (all removed from the outbox on OK, all rescheduled on RETRY, all
 * dead on FAIL or when the budget is spent).
 *
 * Runs on the deliverer's thread only. Groups live in memory; their
 * deliveries stay pending in the outbox until a notice covering them was
 * accepted, so after a restart the scan regroups them and notifies again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery_impl.h"
#include "event.h"
#include "log.h"

#define GROUPS_MAX 10000
#define KEY_MAX 1024
#define RESOLVE_GRACE_MS 200 /* a batch's deliveries reach the deliverer one by one */

const rfx_option rfx_group_options[] = {
	{"by", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Label names (or host, service, check, source, kind) whose values make a group; "
	 "empty: one delivery per event",
	 offsetof(struct rfx_group_conf, by), NULL},
	{"wait", RFX_OPT_DURATION, "30s", RFX_OPT_RANGE, 0, 86400000, NULL,
	 "How long a new group gathers before its first notice (group_wait)",
	 offsetof(struct rfx_group_conf, wait_ms), NULL},
	{"interval", RFX_OPT_DURATION, "5m", RFX_OPT_RANGE, 0, 86400000, NULL,
	 "Least time between notices of a group when it changes (group_interval)",
	 offsetof(struct rfx_group_conf, interval_ms), NULL},
	{"repeat", RFX_OPT_DURATION, "4h", RFX_OPT_RANGE, 0, 30LL * 86400000, NULL,
	 "A group still firing is notified again after this long without change "
	 "(repeat_interval); 0 = never",
	 offsetof(struct rfx_group_conf, repeat_ms), NULL},
	{"max_events", RFX_OPT_INT, "1000", RFX_OPT_RANGE, 1, 100000, NULL,
	 "Most alerts in one group (the oldest resolved ones give way first)",
	 offsetof(struct rfx_group_conf, max_events), NULL},
	RFX_OPTION_END,
};

static const char *group_value(const rfx_event *ev, const char *name)
{
	static const struct {
		const char *name;
		enum rfx_field f;
	} fields[] = {
		{"host", RFX_F_HOST},     {"service", RFX_F_SERVICE}, {"check", RFX_F_CHECK},
		{"source", RFX_F_SOURCE}, {"kind", RFX_F_KIND},
	};
	const char *v = rfx_event_label_get(ev, name);

	if (v)
		return v;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strcmp(fields[i].name, name) == 0)
			return ev->str[fields[i].f] ? ev->str[fields[i].f] : "";
	return "";
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void group_free(struct group *g, size_t nby)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nalerts; i++)
		pend_free(g->alerts[i]);
	for (size_t i = 0; g->label_values && i < nby; i++)
		free(g->label_values[i]);
	free(g->label_values);
	free(g->alerts);
	free(g->ids);
	free(g->key);
	free(g);
}

static struct group *group_of(struct rfx_deliverer *d, const rfx_event *ev, int64_t now)
{
	char key[KEY_MAX];
	size_t off = 0;
	const struct rfx_strlist *by = &d->g.by;

	key[0] = '\0';
	for (size_t i = 0; i < by->n && off < sizeof key; i++)
		off += (size_t)snprintf(key + off, sizeof key - off, "%s%s=%s", i ? "," : "",
					by->v[i], group_value(ev, by->v[i]));
	uint64_t h = fnv(key);
	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i]->hash == h && strcmp(d->groups[i]->key, key) == 0)
			return d->groups[i];
	if (d->ngroups >= GROUPS_MAX)
		return NULL;
	if (d->ngroups == d->capgroups) {
		size_t cap = d->capgroups ? d->capgroups * 2 : 16;
		struct group **v = realloc(d->groups, cap * sizeof(*v));
		if (!v)
			return NULL;
		d->groups = v;
		d->capgroups = cap;
	}
	struct group *g = calloc(1, sizeof(*g));
	if (!g || !(g->key = strdup(key)) ||
	    !(g->label_values = calloc(by->n ? by->n : 1, sizeof(char *)))) {
		group_free(g, 0);
		return NULL;
	}
	for (size_t i = 0; i < by->n; i++)
		if (!(g->label_values[i] = strdup(group_value(ev, by->v[i])))) {
			group_free(g, by->n);
			return NULL;
		}
	g->hash = h;
	g->created_ns = now;
	g->next_ns = INT64_MAX;
	d->groups[d->ngroups++] = g;
	return g;
}

static bool push_id(struct group *g, uint64_t id)
{
	if (!id)
		return true;
	if (g->nids == g->capids) {
		size_t cap = g->capids ? g->capids * 2 : 8;
		uint64_t *v = realloc(g->ids, cap * sizeof(*v));
		if (!v)
			return false;
		g->ids = v;
		g->capids = cap;
	}
	g->ids[g->nids++] = id;
	return true;
}

void group_add(struct rfx_deliverer *d, struct pend *p, int64_t now)
{
	struct group *g;

	if (!p->ev && d->store->get_event(d->store_state, p->event_id, &p->ev) != 0) {
		dead(d, p, "the event is no longer in the store");
		return;
	}
	if (!(g = group_of(d, p->ev, now)) || !push_id(g, p->id)) {
		/* stays pending in the outbox; a later scan brings it back */
		rfx_log(RFX_LOG_WARNING, d->label, "cannot group delivery %llu (%zu groups)",
			(unsigned long long)p->id, d->ngroups);
		pend_free(p);
		return;
	}
	const char *fp = rfx_event_fingerprint(p->ev) ? rfx_event_fingerprint(p->ev) : "";
	bool resolved = p->ev->status == RFX_STATUS_RESOLVED, replaced = false;
	for (size_t i = 0; i < g->nalerts; i++) {
		const char *o = rfx_event_fingerprint(g->alerts[i]->ev);
		if (o && strcmp(o, fp) == 0) {
			pend_free(g->alerts[i]); /* its id stays covered by g->ids */
			g->alerts[i] = p;
			replaced = true;
			break;
		}
	}
	if (!replaced) {
		if (g->nalerts == (size_t)d->g.max_events) {
			/* full: the oldest alert gives way */
			pend_free(g->alerts[0]);
			memmove(g->alerts, g->alerts + 1, (g->nalerts - 1) * sizeof(*g->alerts));
			g->nalerts--;
		}
		if (g->nalerts == g->capalerts) {
			size_t cap = g->capalerts ? g->capalerts * 2 : 8;
			struct pend **v = realloc(g->alerts, cap * sizeof(*v));
			if (!v) {
				pend_free(p);
				return;
			}
			g->alerts = v;
			g->capalerts = cap;
		}
		g->alerts[g->nalerts++] = p;
	}
	g->changed = true;
	int64_t due = g->last_sent_ns ? g->last_sent_ns + d->g.interval_ms * MS
				       : g->created_ns + d->g.wait_ms * MS;
	if (resolved && due > now + RESOLVE_GRACE_MS * MS)
		/* a resolution is not held back by the timers, only for the
		 * moment its siblings of one batch take to join it */
		due = now + RESOLVE_GRACE_MS * MS;
	if (due < now)
		due = now;
	if (due < g->next_ns)
		g->next_ns = due;
}

/* Drops resolved alerts a notice has told, and the group when empty. */
static void settle(struct rfx_deliverer *d, size_t gi)
{
	struct group *g = d->groups[gi];
	size_t k = 0;

	for (size_t i = 0; i < g->nalerts; i++) {
		if (g->alerts[i]->ev->status == RFX_STATUS_RESOLVED)
			pend_free(g->alerts[i]);
		else
			g->alerts[k++] = g->alerts[i];
	}
	g->nalerts = k;
	if (k == 0) {
		group_free(g, d->g.by.n);
		d->groups[gi] = d->groups[--d->ngroups];
	}
}

static int by_firing_first(const void *a, const void *b)
{
	const rfx_event *x = *(rfx_event *const *)a, *y = *(rfx_event *const *)b;
	int fx = x->status == RFX_STATUS_RESOLVED, fy = y->status == RFX_STATUS_RESOLVED;

	if (fx != fy)
		return fx - fy;
	return x->occurred_ns < y->occurred_ns ? -1 : x->occurred_ns > y->occurred_ns;
}

/* Marks every delivery the notice covers dead. */
static void dead_all(struct rfx_deliverer *d, struct group *g, const char *error)
{
	for (size_t i = 0; i < g->nids; i++) {
		struct pend p = {.id = g->ids[i], .attempts = g->attempts};
		save(d, &p, RFX_OUTBOX_DEAD, error);
	}
	rfx_metric_add(d->m_dead, (double)g->nids);
	rfx_log(RFX_LOG_WARNING, d->label,
		"notice %llu of group {%s} is dead after %u attempt(s), with its %zu "
		"deliveries: %s; replay them with POST /api/v1/deliveries/ID/retry",
		(unsigned long long)g->sequence + 1, g->key, g->attempts, g->nids, error);
	g->nids = 0;
	g->attempts = 0;
	g->changed = false;
	g->next_ns = INT64_MAX;
}

static void send_notice(struct rfx_deliverer *d, size_t gi, int64_t now)
{
	struct group *g = d->groups[gi];
	rfx_event **evs = calloc(g->nalerts ? g->nalerts : 1, sizeof(*evs));
	size_t nfiring = 0;

	if (!evs) {
		g->next_ns = now + 1000 * MS;
		return;
	}
	for (size_t i = 0; i < g->nalerts; i++) {
		evs[i] = g->alerts[i]->ev;
		nfiring += evs[i]->status != RFX_STATUS_RESOLVED;
	}
	qsort(evs, g->nalerts, sizeof(*evs), by_firing_first);
	rfx_notice n = {.size = sizeof(rfx_notice), .group_key = g->key, .nlabels = d->g.by.n,
			.label_keys = (const char *const *)d->g.by.v,
			.label_values = (const char *const *)g->label_values, .events = evs,
			.nevents = g->nalerts, .nfiring = nfiring,
			.status = nfiring ? RFX_STATUS_FIRING : RFX_STATUS_RESOLVED,
			.sequence = g->sequence + 1};
	rfx_delivery info = {.size = sizeof(rfx_delivery), .attempt = g->attempts + 1,
			     .id = g->nids ? g->ids[0] : 0, .created_ns = g->created_ns};
	rfx_record rec = {.type = RFX_REC_NOTICE, .u.notice = &n, .delivery = &info};
	rfx_result r = d->spec.plugin->handle(d->spec.state, &rec);
	free(evs);
	g->attempts++;
	info.error[sizeof info.error - 1] = '\0';

	if (r == RFX_OK || r == RFX_DROP) {
		rfx_metric_add(r == RFX_OK ? d->m_out : d->m_declined, (double)g->nids);
		breaker_success(d);
		for (size_t i = 0; i < g->nids; i++)
			mark_done(d, g->ids[i]);
		g->nids = 0;
		g->attempts = 0;
		g->sequence++;
		g->last_sent_ns = now;
		g->changed = false;
		g->next_ns = nfiring && d->g.repeat_ms ? now + d->g.repeat_ms * MS : INT64_MAX;
		settle(d, gi);
		return;
	}
	if (r != RFX_RETRY) {
		d->consecutive_failures = 0;
		dead_all(d, g, info.error[0] ? info.error : "permanent failure");
		settle(d, gi);
		return;
	}
	const char *why = info.error[0] ? info.error : "the output asked to retry";
	breaker_failure(d, info.error);
	if (g->attempts >= (uint32_t)d->c.max_attempts) {
		char msg[400];
		snprintf(msg, sizeof msg, "retry budget spent (%u attempts); last: %s", g->attempts,
			 why);
		dead_all(d, g, msg);
		settle(d, gi);
		return;
	}
	rfx_metric_add(d->m_retried, 1);
	g->next_ns = now + retry_delay_ms(d, g->attempts, info.retry_after_ms) * MS;
	for (size_t i = 0; i < g->nids; i++) {
		struct pend p = {.id = g->ids[i], .attempts = g->attempts, .next_ns = g->next_ns};
		save(d, &p, RFX_OUTBOX_PENDING, why);
	}
}

void group_flush_due(struct rfx_deliverer *d, int64_t now)
{
	/* from the end: send_notice may move the last group into slot i */
	for (size_t i = d->ngroups; i-- > 0;) {
		if (paused(d, now))
			return;
		if (i < d->ngroups && d->groups[i]->next_ns <= now)
			send_notice(d, i, now);
	}
}

int64_t group_next_ns(const struct rfx_deliverer *d)
{
	int64_t t = INT64_MAX;

	for (size_t i = 0; i < d->ngroups; i++)
		if (d->groups[i]->next_ns < t)
			t = d->groups[i]->next_ns;
	return t;
}

size_t group_pending(const struct rfx_deliverer *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->ngroups; i++)
		n += d->groups[i]->nids;
	return n;
}

void group_free_all(struct rfx_deliverer *d)
{
	for (size_t i = 0; i < d->ngroups; i++)
		group_free(d->groups[i], d->g.by.n);
	free(d->groups);
	d->groups = NULL;
	d->ngroups = d->capgroups = 0;
}
