/*
 * core/noise.c - the noise stage's judge: dedup records and flap detection
 * per fingerprint, token buckets per source and host, the summary events
 * they produce, and the `pipeline.noise:` option table. Silences and
 * maintenance windows live in noise_rules.c. The tables here are touched by
 * the one thread that calls judge (see noise.h), so they have no lock.
 */
#include "noise_impl.h"

#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL
#define FLAP_WEIGHT_LOW 0.8  /* weight of the oldest state change */
#define FLAP_WEIGHT_HIGH 1.2 /* weight of the newest */
#define FLAP_SCAN_EVERY_NS NS_PER_S
#define FP_KEY_MAX 512 /* longer fingerprints are hashed into this many bytes */

/* ---- options ---- */

static const rfx_option dedup_opts[] = {
	{"enabled", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "Collapse repeats of a firing fingerprint into one record",
	 offsetof(struct rfx_noise_dedup_conf, enabled), NULL},
	{"max_entries", RFX_OPT_INT, "50000", RFX_OPT_RANGE, 16, 10000000, NULL,
	 "Fingerprints tracked for dedup and flapping; the least recently seen is forgotten",
	 offsetof(struct rfx_noise_dedup_conf, max_entries), NULL},
	{"reopen_after", RFX_OPT_DURATION, "24h", RFX_OPT_RANGE, 0, 365.0 * 86400000, NULL,
	 "A firing record not seen for this long counts as a new problem (0 = never)",
	 offsetof(struct rfx_noise_dedup_conf, reopen_after_ms), NULL},
	RFX_OPTION_END,
};

static const rfx_option flap_opts[] = {
	{"enabled", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "Detect fingerprints that change state too often and forward them once",
	 offsetof(struct rfx_noise_flap_conf, enabled), NULL},
	{"samples", RFX_OPT_INT, "21", RFX_OPT_RANGE, 3, 64, NULL,
	 "State samples kept per fingerprint (Nagios keeps 21)",
	 offsetof(struct rfx_noise_flap_conf, samples), NULL},
	{"low", RFX_OPT_DOUBLE, "20", RFX_OPT_RANGE, 0, 100, NULL,
	 "Percent state change below which a flapping fingerprint has settled",
	 offsetof(struct rfx_noise_flap_conf, low), NULL},
	{"high", RFX_OPT_DOUBLE, "30", RFX_OPT_RANGE, 0, 100, NULL,
	 "Percent state change above which a fingerprint is flapping",
	 offsetof(struct rfx_noise_flap_conf, high), NULL},
	{"window", RFX_OPT_DURATION, "1h", RFX_OPT_RANGE, 1000, 30.0 * 86400000, NULL,
	 "Samples older than this no longer count, so a quiet series stops flapping",
	 offsetof(struct rfx_noise_flap_conf, window_ms), NULL},
	RFX_OPTION_END,
};

static const rfx_option silence_opts[] = {
	{"max", RFX_OPT_INT, "1000", RFX_OPT_RANGE, 1, 100000, NULL,
	 "Silences held, expired ones included",
	 offsetof(struct rfx_noise_silence_conf, max), NULL},
	{"retention", RFX_OPT_DURATION, "5d", RFX_OPT_RANGE, 0, 365.0 * 86400000, NULL,
	 "How long an expired silence stays listed (Alertmanager keeps 120h)",
	 offsetof(struct rfx_noise_silence_conf, retention_ms), NULL},
	RFX_OPTION_END,
};

static const rfx_option source_bucket_opts[] = {
	{"rate", RFX_OPT_DOUBLE, "50", RFX_OPT_RANGE, 0, 1000000, NULL,
	 "Events per second forwarded per source in the long run (0 = no limit)",
	 offsetof(struct rfx_noise_bucket_conf, rate), NULL},
	{"burst", RFX_OPT_INT, "500", RFX_OPT_RANGE, 1, 10000000, NULL,
	 "Events a source may send at once before the rate applies",
	 offsetof(struct rfx_noise_bucket_conf, burst), NULL},
	RFX_OPTION_END,
};

static const rfx_option host_bucket_opts[] = {
	{"rate", RFX_OPT_DOUBLE, "2", RFX_OPT_RANGE, 0, 1000000, NULL,
	 "Events per second forwarded per host in the long run (0 = no limit)",
	 offsetof(struct rfx_noise_bucket_conf, rate), NULL},
	{"burst", RFX_OPT_INT, "60", RFX_OPT_RANGE, 1, 10000000, NULL,
	 "Events a host may send at once before the rate applies",
	 offsetof(struct rfx_noise_bucket_conf, burst), NULL},
	RFX_OPTION_END,
};

static const rfx_option rate_opts[] = {
	{"enabled", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "Limit forwarded events per source and per host",
	 offsetof(struct rfx_noise_rate_conf, enabled), NULL},
	{"per_source", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Token bucket of each source",
	 offsetof(struct rfx_noise_rate_conf, per_source), source_bucket_opts},
	{"per_host", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Token bucket of each host",
	 offsetof(struct rfx_noise_rate_conf, per_host), host_bucket_opts},
	{"max_keys", RFX_OPT_INT, "10000", RFX_OPT_RANGE, 16, 10000000, NULL,
	 "Buckets tracked (sources and hosts); the least recently used is forgotten",
	 offsetof(struct rfx_noise_rate_conf, max_keys), NULL},
	{"summary_interval", RFX_OPT_DURATION, "1m", RFX_OPT_RANGE, 1000, 86400000, NULL,
	 "One summary event per limited source or host covers at most this long",
	 offsetof(struct rfx_noise_rate_conf, interval_ms), NULL},
	RFX_OPTION_END,
};

static const rfx_option window_opts[] = {
	{"name", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL,
	 "Unique name (letters, digits, '-', '_', '.'); shown in attrs.noise.maintenance",
	 offsetof(struct rfx_noise_window_conf, name), NULL},
	{"match", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Expression selecting the events in maintenance (default: all)",
	 offsetof(struct rfx_noise_window_conf, match), NULL},
	{"start", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "One-off: RFC 3339 start",
	 offsetof(struct rfx_noise_window_conf, start), NULL},
	{"end", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "One-off: RFC 3339 end",
	 offsetof(struct rfx_noise_window_conf, end), NULL},
	{"days", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Weekly: days the window starts on (mon..sun; default every day)",
	 offsetof(struct rfx_noise_window_conf, days), NULL},
	{"from", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "Weekly: local start time HH:MM",
	 offsetof(struct rfx_noise_window_conf, from), NULL},
	{"to", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Weekly: local end time HH:MM; not after 'from' means the next day",
	 offsetof(struct rfx_noise_window_conf, to), NULL},
	{"timezone", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Weekly: IANA time zone such as Europe/Berlin (default UTC)",
	 offsetof(struct rfx_noise_window_conf, timezone), NULL},
	{"comment", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "Why the window exists",
	 offsetof(struct rfx_noise_window_conf, comment), NULL},
	RFX_OPTION_END_SIZE(struct rfx_noise_window_conf),
};

const rfx_option rfx_noise_options[] = {
	{"enabled", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "Judge events; when false every event is forwarded",
	 offsetof(struct rfx_noise_conf, enabled), NULL},
	{"dedup", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Repeats of one fingerprint",
	 offsetof(struct rfx_noise_conf, dedup), dedup_opts},
	{"flapping", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Nagios-style flap detection",
	 offsetof(struct rfx_noise_conf, flapping), flap_opts},
	{"silences", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Silences made through the API",
	 offsetof(struct rfx_noise_conf, silences), silence_opts},
	{"rate_limit", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Forwarding limits",
	 offsetof(struct rfx_noise_conf, rate_limit), rate_opts},
	{"maintenance", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL,
	 "Maintenance windows: one-off (start, end) or weekly (days, from, to, timezone)",
	 offsetof(struct rfx_noise_conf, maintenance), window_opts},
	RFX_OPTION_END,
};

/* ---- a bounded hash table with least-recently-used eviction ---- */

struct node {
	struct node *hnext;       /* hash chain */
	struct node *prev, *next; /* recency ring; lru.ring.next is the newest */
	uint64_t hash;
	char *key;
};

struct lru {
	struct node **buckets;
	size_t nbuckets, n, max;
	struct node ring;
	void (*drop)(struct rfx_noise *n, struct node *e, bool evicted); /* frees e */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int lru_init(struct lru *t, size_t max,
		    void (*drop)(struct rfx_noise *, struct node *, bool))
{
	t->nbuckets = 16;
	while (t->nbuckets < max)
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->max = max;
	t->ring.prev = t->ring.next = &t->ring;
	t->drop = drop;
	return t->buckets ? 0 : RFX_ENOMEM;
}

static void ring_unlink(struct node *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void ring_push_front(struct lru *t, struct node *e)
{
	e->next = t->ring.next;
	e->prev = &t->ring;
	t->ring.next->prev = e;
	t->ring.next = e;
}

static void lru_unlink(struct lru *t, struct node *e)
{
	struct node **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	ring_unlink(e);
	t->n--;
}

static struct node *lru_find(struct lru *t, const char *key, uint64_t h)
{
	for (struct node *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && !strcmp(e->key, key)) {
			ring_unlink(e);
			ring_push_front(t, e);
			return e;
		}
	return NULL;
}

/* Inserts e (key and hash set); evicts the least recent entry when full. */
static void lru_insert(struct rfx_noise *n, struct lru *t, struct node *e)
{
	if (t->n >= t->max) {
		struct node *old = t->ring.prev;
		lru_unlink(t, old);
		t->drop(n, old, true);
	}
	size_t b = e->hash & (t->nbuckets - 1);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	ring_push_front(t, e);
	t->n++;
}

static void lru_destroy(struct rfx_noise *n, struct lru *t)
{
	if (!t->buckets)
		return;
	while (t->ring.next != &t->ring) {
		struct node *e = t->ring.next;
		lru_unlink(t, e);
		t->drop(n, e, false);
	}
	free(t->buckets);
	t->buckets = NULL;
}

/* ---- state ---- */

struct sample {
	int64_t t;
	int state; /* -1 resolved, else the severity while firing */
};

/* One fingerprint: its dedup record and its flap history. */
struct fp_entry {
	struct node node; /* first: entries are cast from nodes */
	bool known;       /* a record exists (status below is meaningful) */
	bool open;        /* a firing episode is in progress */
	bool notified;    /* the episode (or its resolution) was forwarded */
	int severity;     /* of the last forwarded event of the episode */
	bool acked;       /* the source said the episode is acknowledged */
	char first_id[RFX_EVENT_ID_LEN + 1];
	uint64_t count;
	int64_t first_seen_ns, last_seen_ns;
	bool flapping;
	double flap_percent;
	rfx_event *last_ev; /* while flapping: for the summary when it settles */
	size_t hfirst, hn;  /* ring of samples in hist[] */
	struct sample hist[];
};

struct bucket {
	struct node node;
	bool is_host;
	double tokens;
	int64_t last_ns;
	uint64_t limited;   /* held back since since_ns */
	int64_t since_ns;
};

struct rfx_noise {
	struct rfx_noise_conf c; /* scalars only; maintenance is not kept */
	bool track;              /* dedup or flapping on */
	struct lru fps, buckets;
	struct rfx_noise_rules *rules;
	size_t nflapping, nlimited;
	int64_t last_flap_scan_ns;
	rfx_event **sum; /* summaries waiting for take */
	size_t nsum, capsum;
	struct rfx_noise_stats st;
};

struct rfx_noise_rules *rfx_noise_rules_of(struct rfx_noise *n)
{
	return n->rules;
}

static int sum_push(struct rfx_noise *n, rfx_event *ev)
{
	if (n->nsum == n->capsum) {
		size_t cap = n->capsum ? n->capsum * 2 : 8;
		rfx_event **v = realloc(n->sum, cap * sizeof(*v));
		if (!v) {
			rfx_event_unref(ev);
			return RFX_ENOMEM;
		}
		n->sum = v;
		n->capsum = cap;
	}
	n->sum[n->nsum++] = ev;
	return 0;
}

static void bucket_summary(struct rfx_noise *n, struct bucket *b, int64_t now);

static void drop_fp(struct rfx_noise *n, struct node *nd, bool evicted)
{
	struct fp_entry *e = (struct fp_entry *)nd;
	if (e->flapping)
		n->nflapping--;
	if (evicted)
		n->st.evicted++;
	rfx_event_unref(e->last_ev);
	free(e->node.key);
	free(e);
}

static void drop_bucket(struct rfx_noise *n, struct node *nd, bool evicted)
{
	struct bucket *b = (struct bucket *)nd;
	/* an evicted bucket still owes its summary; at shutdown nobody reads it */
	if (b->limited && evicted)
		bucket_summary(n, b, b->last_ns);
	if (b->limited)
		n->nlimited--;
	free(b->node.key);
	free(b);
}

struct rfx_noise *rfx_noise_new(const struct rfx_noise_conf *c, char *err, size_t errlen)
{
	struct rfx_noise *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->c = *c;
	n->c.maintenance.n = 0;
	n->c.maintenance.v = NULL;
	if (c->flapping.enabled && c->flapping.low > c->flapping.high) {
		snprintf(err, errlen, "pipeline.noise.flapping: low (%g) must not be above high (%g)",
			 c->flapping.low, c->flapping.high);
		goto fail;
	}
	if (c->flapping.samples < 3 || c->flapping.samples > 64)
		n->c.flapping.samples = 21;
	n->track = c->dedup.enabled || c->flapping.enabled;
	if (lru_init(&n->fps, c->dedup.max_entries > 0 ? (size_t)c->dedup.max_entries : 16, drop_fp) ||
	    lru_init(&n->buckets, c->rate_limit.max_keys > 0 ? (size_t)c->rate_limit.max_keys : 16,
		     drop_bucket)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n->rules = rfx_noise_rules_new(&c->silences, &c->maintenance, err, errlen);
	if (!n->rules)
		goto fail;
	return n;
fail:
	rfx_noise_free(n);
	return NULL;
}

void rfx_noise_free(struct rfx_noise *n)
{
	if (!n)
		return;
	lru_destroy(n, &n->fps);
	lru_destroy(n, &n->buckets);
	rfx_noise_rules_free(n->rules);
	for (size_t i = 0; i < n->nsum; i++)
		rfx_event_unref(n->sum[i]);
	free(n->sum);
	free(n);
}

void rfx_noise_stats(const struct rfx_noise *n, struct rfx_noise_stats *s)
{
	*s = n->st;
	s->tracked = n->fps.n;
}

/* ---- flapping ---- */

/*
 * Nagios' percent state change: over the last `samples` states, each change
 * between neighbours counts with a weight rising linearly from 0.8 (oldest
 * possible change) to 1.2 (newest), and the sum is divided by the number of
 * possible changes (samples - 1). Samples older than the window drop out, so
 * the percentage of a series that went quiet decays to 0.
 */
static double flap_percent(const struct rfx_noise *n, const struct fp_entry *e, int64_t now)
{
	size_t S = (size_t)n->c.flapping.samples;
	int64_t oldest = now - n->c.flapping.window_ms * NS_PER_MS;
	double sum = 0;
	size_t k = 0; /* age of the change: 0 = newest */
	for (size_t i = e->hn; i-- > 1; k++) {
		const struct sample *a = &e->hist[(e->hfirst + i) % S];
		const struct sample *b = &e->hist[(e->hfirst + i - 1) % S];
		if (b->t < oldest)
			break;
		if (a->state != b->state)
			sum += FLAP_WEIGHT_HIGH - (double)k * (FLAP_WEIGHT_HIGH - FLAP_WEIGHT_LOW) /
							  (double)(S - 2);
	}
	return sum * 100.0 / (double)(S - 1);
}

static void flap_add(const struct rfx_noise *n, struct fp_entry *e, int64_t now, int state)
{
	size_t S = (size_t)n->c.flapping.samples;
	if (e->hn < S) {
		e->hist[(e->hfirst + e->hn++) % S] = (struct sample){now, state};
	} else {
		e->hist[e->hfirst] = (struct sample){now, state};
		e->hfirst = (e->hfirst + 1) % S;
	}
}

/* ---- rate limiting ---- */

static struct bucket *bucket_get(struct rfx_noise *n, bool is_host, const char *name, int64_t now)
{
	char key[FP_KEY_MAX];
	snprintf(key, sizeof(key), "%c:%s", is_host ? 'h' : 's', name);
	uint64_t h = hash_str(key);
	struct bucket *b = (struct bucket *)lru_find(&n->buckets, key, h);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b || !(b->node.key = strdup(key))) {
		free(b);
		return NULL;
	}
	const struct rfx_noise_bucket_conf *bc = is_host ? &n->c.rate_limit.per_host
							 : &n->c.rate_limit.per_source;
	b->node.hash = h;
	b->is_host = is_host;
	b->tokens = (double)bc->burst;
	b->last_ns = now;
	lru_insert(n, &n->buckets, &b->node);
	return b;
}

static bool bucket_has_token(struct rfx_noise *n, struct bucket *b, int64_t now)
{
	const struct rfx_noise_bucket_conf *bc = b->is_host ? &n->c.rate_limit.per_host
							    : &n->c.rate_limit.per_source;
	if (bc->rate <= 0)
		return true;
	if (now > b->last_ns) {
		b->tokens += bc->rate * (double)(now - b->last_ns) / (double)NS_PER_S;
		if (b->tokens > (double)bc->burst)
			b->tokens = (double)bc->burst;
		b->last_ns = now;
	}
	return b->tokens >= 1.0;
}

static void bucket_take(struct rfx_noise *n, struct bucket *b)
{
	const struct rfx_noise_bucket_conf *bc = b->is_host ? &n->c.rate_limit.per_host
							    : &n->c.rate_limit.per_source;
	if (bc->rate > 0)
		b->tokens -= 1.0;
}

static void bucket_limit(struct rfx_noise *n, struct bucket *b, int64_t now)
{
	if (b->limited++ == 0) {
		b->since_ns = now;
		n->nlimited++;
	}
}

/* Queues the summary of b's held-back events and starts a new interval. */
static void bucket_summary(struct rfx_noise *n, struct bucket *b, int64_t now)
{
	const struct rfx_noise_bucket_conf *bc = b->is_host ? &n->c.rate_limit.per_host
							    : &n->c.rate_limit.per_source;
	const char *scope = b->is_host ? "host" : "source";
	const char *name = b->node.key + 2;
	char msg[768], fp[FP_KEY_MAX + 32], from[40], to[40];
	rfx_event *ev = rfx_event_new();
	struct json_object *o = json_object_new_object();

	rfx_time_format(b->since_ns, from, sizeof(from));
	rfx_time_format(now, to, sizeof(to));
	snprintf(msg, sizeof(msg),
		 "rate limit: %llu events from %s %s were not forwarded between %s and %s "
		 "(limit %g/s, burst %lld); they are stored",
		 (unsigned long long)b->limited, scope, name, from, to, bc->rate,
		 (long long)bc->burst);
	snprintf(fp, sizeof(fp), "reflex-noise:rate:%s", b->node.key);
	if (ev && o) {
		json_object_object_add(o, "summary", json_object_new_string("rate_limited"));
		json_object_object_add(o, "scope", json_object_new_string(scope));
		json_object_object_add(o, "key", json_object_new_string(name));
		json_object_object_add(o, "limited", json_object_new_int64((int64_t)b->limited));
		json_object_object_add(o, "from", json_object_new_string(from));
		json_object_object_add(o, "to", json_object_new_string(to));
		json_object_object_add(ev->attrs, "noise", o);
		o = NULL;
		ev->severity = RFX_SEV_WARNING;
		ev->occurred_ns = now;
		if (rfx_event_set(ev, RFX_F_KIND, "noise") || rfx_event_set(ev, RFX_F_CHECK, "rate_limited") ||
		    rfx_event_set(ev, RFX_F_MESSAGE, msg) || rfx_event_set(ev, RFX_F_FINGERPRINT, fp) ||
		    (b->is_host && rfx_event_set(ev, RFX_F_HOST, name))) {
			rfx_event_unref(ev);
			ev = NULL;
		}
		if (ev)
			sum_push(n, ev);
	} else {
		rfx_event_unref(ev);
		json_object_put(o);
	}
	b->limited = 0;
	n->nlimited--;
}

/* ---- marking ---- */

static void mark(rfx_event *ev, const struct rfx_noise_verdict *v)
{
	if (!v->flags || !ev->attrs || !json_object_is_type(ev->attrs, json_type_object))
		return;
	struct json_object *o = json_object_new_object();
	char t[40];
	if (!o)
		return;
	if (v->flags & RFX_NOISE_DUPLICATE) {
		json_object_object_add(o, "duplicate_of", json_object_new_string(v->first_id));
		json_object_object_add(o, "count", json_object_new_int64((int64_t)v->count));
		rfx_time_format(v->first_seen_ns, t, sizeof(t));
		json_object_object_add(o, "first_seen", json_object_new_string(t));
	}
	if (v->flags & (RFX_NOISE_FLAPPING | RFX_NOISE_FLAP_START | RFX_NOISE_FLAP_STOP)) {
		json_object_object_add(o, "flapping",
				       json_object_new_boolean(!!(v->flags & RFX_NOISE_FLAPPING)));
		json_object_object_add(o, "flap_percent",
				       json_object_new_double(round(v->flap_percent * 10) / 10));
		if (v->flags & RFX_NOISE_FLAP_START)
			json_object_object_add(o, "flap_start", json_object_new_boolean(1));
		if (v->flags & RFX_NOISE_FLAP_STOP)
			json_object_object_add(o, "flap_stop", json_object_new_boolean(1));
	}
	if (v->flags & RFX_NOISE_SILENCED)
		json_object_object_add(o, "silenced_by", json_object_new_string(v->silence_id));
	if (v->flags & RFX_NOISE_MAINTENANCE)
		json_object_object_add(o, "maintenance", json_object_new_string(v->maintenance));
	if (v->flags & RFX_NOISE_RATE_LIMITED)
		json_object_object_add(o, "rate_limited", json_object_new_string(v->limited_by));
	if (!v->forward)
		json_object_object_add(o, "suppressed", json_object_new_boolean(1));
	json_object_object_add(ev->attrs, "noise", o);
}

/* ---- judge ---- */

static struct fp_entry *fp_get(struct rfx_noise *n, const char *fp)
{
	uint64_t h = hash_str(fp);
	struct fp_entry *e = (struct fp_entry *)lru_find(&n->fps, fp, h);
	if (e)
		return e;
	size_t hist = n->c.flapping.enabled ? (size_t)n->c.flapping.samples : 0;
	e = calloc(1, sizeof(*e) + hist * sizeof(struct sample));
	if (!e || !(e->node.key = strdup(fp))) {
		free(e);
		return NULL;
	}
	e->node.hash = h;
	lru_insert(n, &n->fps, &e->node);
	return e;
}

/* attrs.acknowledged: true, as the Zabbix and Nagios inputs set it. */
static bool acknowledged(const rfx_event *ev)
{
	struct json_object *a = NULL;

	return ev->attrs && json_object_object_get_ex(ev->attrs, "acknowledged", &a) &&
	       json_object_is_type(a, json_type_boolean) && json_object_get_boolean(a);
}

/* The dedup record's part: whether this event is new to people. */
static bool dedup_step(struct rfx_noise *n, struct fp_entry *e, const rfx_event *ev, int64_t now,
		       struct rfx_noise_verdict *v)
{
	bool firing = ev->status != RFX_STATUS_RESOLVED, wanted;
	int64_t reopen = n->c.dedup.reopen_after_ms * NS_PER_MS;

	if (e->open && reopen > 0 && now - e->last_seen_ns > reopen)
		e->open = false; /* stale: a new episode */
	if (firing) {
		if (e->open) {
			v->flags |= RFX_NOISE_DUPLICATE;
			e->count++;
			/* a repeat after a silence is still news, and so is a repeat
			 * that escalates or that the source acknowledged */
			bool acked = acknowledged(ev);
			wanted = !e->notified || ev->severity < e->severity || (acked && !e->acked);
			e->acked |= acked;
		} else {
			e->open = true;
			e->notified = false;
			e->acked = acknowledged(ev);
			e->count = 1;
			e->first_seen_ns = now;
			memcpy(e->first_id, ev->id, sizeof(e->first_id));
			wanted = true;
		}
	} else if (e->known && !e->open) {
		v->flags |= RFX_NOISE_DUPLICATE; /* resolved again */
		e->count++;
		wanted = false;
	} else if (e->known) {
		/* the resolution matters only to those who heard of the problem */
		e->count++;
		wanted = e->notified;
		e->open = false;
	} else {
		/* never seen firing (a restart?): forward rather than leave something stuck */
		e->count = 1;
		e->first_seen_ns = now;
		memcpy(e->first_id, ev->id, sizeof(e->first_id));
		wanted = true;
	}
	if (!firing && !(v->flags & RFX_NOISE_DUPLICATE))
		e->notified = false;
	e->known = true;
	e->last_seen_ns = now;
	if (wanted)
		e->severity = ev->severity;
	memcpy(v->first_id, e->first_id, sizeof(v->first_id));
	v->count = e->count;
	v->first_seen_ns = e->first_seen_ns;
	return wanted;
}

static void flap_step(struct rfx_noise *n, struct fp_entry *e, rfx_event *ev, int64_t now,
		      struct rfx_noise_verdict *v)
{
	flap_add(n, e, now, ev->status == RFX_STATUS_RESOLVED ? -1 : ev->severity);
	double p = flap_percent(n, e, now);
	e->flap_percent = p;
	v->flap_percent = p;
	if (!e->flapping && p > n->c.flapping.high) {
		e->flapping = true;
		n->nflapping++;
		v->flags |= RFX_NOISE_FLAP_START | RFX_NOISE_FLAPPING;
	} else if (e->flapping && p < n->c.flapping.low) {
		e->flapping = false;
		n->nflapping--;
		v->flags |= RFX_NOISE_FLAP_STOP;
		rfx_event_unref(e->last_ev);
		e->last_ev = NULL;
	} else if (e->flapping) {
		v->flags |= RFX_NOISE_FLAPPING;
	}
	if (e->flapping) {
		rfx_event_unref(e->last_ev);
		e->last_ev = rfx_event_ref(ev);
	}
}

/* Whether the rate limits let ev through; takes the tokens if so. */
static bool rate_step(struct rfx_noise *n, const rfx_event *ev, int64_t now,
		      struct rfx_noise_verdict *v)
{
	const char *src = rfx_event_source(ev), *host = rfx_event_host(ev);
	struct bucket *bs = bucket_get(n, false, src && *src ? src : "(none)", now);
	struct bucket *bh = host && *host ? bucket_get(n, true, host, now) : NULL;
	/* a bucket that could not be allocated does not limit */
	bool s_ok = !bs || bucket_has_token(n, bs, now), h_ok = !bh || bucket_has_token(n, bh, now);
	if (s_ok && h_ok) {
		if (bs)
			bucket_take(n, bs);
		if (bh)
			bucket_take(n, bh);
		return true;
	}
	struct bucket *b = s_ok ? bh : bs;
	v->flags |= RFX_NOISE_RATE_LIMITED;
	v->limited_by = s_ok ? "host" : "source";
	bucket_limit(n, b, now);
	return false;
}

int rfx_noise_judge(struct rfx_noise *n, rfx_event *ev, int64_t now_ns,
		    struct rfx_noise_verdict *v)
{
	if (!v)
		return RFX_EINVAL;
	memset(v, 0, sizeof(*v));
	v->forward = true;
	if (!n || !ev)
		return RFX_EINVAL;
	n->st.judged++;
	if (!n->c.enabled) {
		n->st.forwarded++;
		return 0;
	}
	if (rfx_event_default_fingerprint(ev))
		goto nomem;

	bool wanted = true, firing = ev->status != RFX_STATUS_RESOLVED;
	rfx_noise_rules_match(n->rules, ev, now_ns, v->silence_id, v->maintenance);
	if (v->silence_id[0])
		v->flags |= RFX_NOISE_SILENCED;
	if (v->maintenance[0])
		v->flags |= RFX_NOISE_MAINTENANCE;

	struct fp_entry *e = NULL;
	if (n->track) {
		const char *fp = rfx_event_fingerprint(ev);
		char hashed[32];
		if (strlen(fp) >= FP_KEY_MAX) {
			snprintf(hashed, sizeof(hashed), "#%016llx", (unsigned long long)hash_str(fp));
			fp = hashed;
		}
		if (!(e = fp_get(n, fp)))
			goto nomem;
	}
	if (e && n->c.dedup.enabled)
		wanted = dedup_step(n, e, ev, now_ns, v);
	if (e && n->c.flapping.enabled) {
		flap_step(n, e, ev, now_ns, v);
		if (v->flags & (RFX_NOISE_FLAP_START | RFX_NOISE_FLAP_STOP))
			wanted = true; /* people hear once that it flaps, once that it settled */
		else if (v->flags & RFX_NOISE_FLAPPING)
			wanted = false;
	}
	bool muted = v->flags & (RFX_NOISE_SILENCED | RFX_NOISE_MAINTENANCE);
	v->forward = wanted && !muted;
	/* resolutions of something people were told about always get through */
	bool owed = !firing && e && n->c.dedup.enabled && !(v->flags & RFX_NOISE_DUPLICATE);
	if (v->forward && n->c.rate_limit.enabled && !owed)
		v->forward = rate_step(n, ev, now_ns, v);
	if (e && v->forward && firing)
		e->notified = true;

	if (v->flags & RFX_NOISE_DUPLICATE)
		n->st.duplicates++;
	if (v->flags & RFX_NOISE_FLAPPING)
		n->st.flapping++;
	if (v->flags & RFX_NOISE_SILENCED)
		n->st.silenced++;
	if (v->flags & RFX_NOISE_MAINTENANCE)
		n->st.maintenance++;
	if (v->flags & RFX_NOISE_RATE_LIMITED)
		n->st.rate_limited++;
	if (v->forward)
		n->st.forwarded++;
	mark(ev, v);
	return 0;
nomem:
	v->forward = true;
	n->st.forwarded++;
	return RFX_ENOMEM;
}

/* ---- summaries ---- */

/* A new event carrying what people need of ev; no id, no raw payload. */
static rfx_event *event_copy(const rfx_event *ev)
{
	rfx_event *c = rfx_event_new();
	if (!c)
		return NULL;
	for (int f = 0; f < RFX_F__COUNT; f++)
		if (f != RFX_F_RAW && f != RFX_F_SOURCE && ev->str[f] && rfx_event_set(c, f, ev->str[f]))
			goto fail;
	for (size_t i = 0; i < ev->nlabels; i++)
		if (rfx_event_label_set(c, ev->labels[i].key, ev->labels[i].value))
			goto fail;
	struct json_object *attrs = NULL;
	if (ev->attrs && json_object_deep_copy(ev->attrs, &attrs, NULL) == 0) {
		json_object_put(c->attrs);
		c->attrs = attrs;
	}
	c->occurred_ns = ev->occurred_ns;
	c->severity = ev->severity;
	c->status = ev->status;
	c->value = ev->value;
	c->has_value = ev->has_value;
	return c;
fail:
	rfx_event_unref(c);
	return NULL;
}

static void flap_settle(struct rfx_noise *n, struct fp_entry *e, int64_t now)
{
	rfx_event *c = e->last_ev ? event_copy(e->last_ev) : NULL;
	if (c && json_object_is_type(c->attrs, json_type_object)) {
		struct json_object *o = json_object_new_object();
		if (o) {
			json_object_object_add(o, "summary", json_object_new_string("flap_stop"));
			json_object_object_add(o, "flapping", json_object_new_boolean(0));
			json_object_object_add(o, "flap_stop", json_object_new_boolean(1));
			json_object_object_add(o, "flap_percent",
					       json_object_new_double(round(e->flap_percent * 10) / 10));
			json_object_object_add(c->attrs, "noise", o);
		}
	}
	if (c && sum_push(n, c) == 0 && c->status != RFX_STATUS_RESOLVED)
		e->notified = true; /* people now know it is firing */
	e->flapping = false;
	n->nflapping--;
	rfx_event_unref(e->last_ev);
	e->last_ev = NULL;
	(void)now;
}

int rfx_noise_take_summaries(struct rfx_noise *n, int64_t now_ns, rfx_event ***out, size_t *count)
{
	if (!n || !out || !count)
		return RFX_EINVAL;
	*out = NULL;
	*count = 0;
	if (n->nlimited) {
		int64_t interval = n->c.rate_limit.interval_ms * NS_PER_MS;
		for (struct node *p = n->buckets.ring.next; p != &n->buckets.ring; p = p->next) {
			struct bucket *b = (struct bucket *)p;
			if (b->limited && now_ns - b->since_ns >= interval)
				bucket_summary(n, b, now_ns);
		}
	}
	if (n->nflapping && now_ns - n->last_flap_scan_ns >= FLAP_SCAN_EVERY_NS) {
		n->last_flap_scan_ns = now_ns;
		for (struct node *p = n->fps.ring.next; p != &n->fps.ring; p = p->next) {
			struct fp_entry *e = (struct fp_entry *)p;
			if (!e->flapping)
				continue;
			e->flap_percent = flap_percent(n, e, now_ns);
			if (e->flap_percent < n->c.flapping.low)
				flap_settle(n, e, now_ns);
		}
	}
	*out = n->sum;
	*count = n->nsum;
	n->sum = NULL;
	n->nsum = n->capsum = 0;
	return 0;
}
