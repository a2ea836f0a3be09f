/*
 * core/stages.c - owns running the processing stages on a batch (see
 * stages.h), the template miner's use for fingerprints, and keeping the
 * noise stage's API-made state (silences, maintenance windows) in the
 * store's key-value state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "stages.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "event.h"
#include "log.h"
#include "metrics.h"

#define KV_NS "core.noise"
#define KV_KEY "state"
#define TMPL_FIELD_MAX 4096 /* bytes of a message the miner looks at */
#define SIG_NS "core.templates"   /* the signature store in the kv state */
#define SIG_KEY "signatures"
#define SIG_SAVE_NS (60LL * 1000000000) /* at most once a minute */
#define SIG_MAX 20000             /* signatures kept; the rarest go first */

const rfx_option rfx_templates_options[] = {
	{"enabled", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "Give log lines (kind log) and mail subjects (kind mail) without a fingerprint of "
	 "their own one from their message template",
	 offsetof(struct rfx_templates_conf, enabled), NULL},
	{"sim_threshold", RFX_OPT_DOUBLE, "0.7", RFX_OPT_RANGE, 0.1, 1, NULL,
	 "Share of equal token positions for a line to join a template",
	 offsetof(struct rfx_templates_conf, sim_threshold), NULL},
	{"max_templates", RFX_OPT_INT, "10000", RFX_OPT_RANGE, 16, 1000000, NULL,
	 "Templates kept; lines of new kinds past it share one overflow template",
	 offsetof(struct rfx_templates_conf, max_templates), NULL},
	{"masks", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Extra PCRE2 patterns whose matches are variables (ids, tokens of your own)",
	 offsetof(struct rfx_templates_conf, masks), NULL},
	RFX_OPTION_END,
};

struct rfx_stages {
	pthread_mutex_t lock; /* serialises the stages */
	struct rfx_normalizer *norm;
	struct rfx_inventory *inv;  /* NULL without inventory files */
	struct rfx_noise *noise;    /* NULL when disabled */
	rfx_tmpl_miner *miner;      /* NULL when disabled */
	char run[17];               /* this run's salt for templated fingerprints */
	/* signature store: counts of earlier runs by template hash (loaded at
	 * start, read-only) and when this run's counts were last saved */
	struct json_object *sig_base;
	int64_t sig_saved_ns;
	bool sig_dirty;
	const rfx_store_ops *store;
	void *store_state;
	rfx_metric *m_suppressed, *m_templated;
};

static int save_signatures(struct rfx_stages *s);

struct rfx_stages *rfx_stages_new(const struct rfx_stages_conf *c, rfx_diag *d)
{
	struct rfx_stages *s = calloc(1, sizeof(*s));
	char err[512] = "";

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	if (!(s->norm = rfx_normalizer_new(c->normalize, err, sizeof err))) {
		rfx_diag_add(d, NULL, "pipeline.normalize: %s", err);
		goto fail;
	}
	if (c->enrich && c->enrich->inventory.n &&
	    !(s->inv = rfx_inventory_new(c->enrich, c->config_dir, d)))
		goto fail;
	if (c->noise && c->noise->enabled && !(s->noise = rfx_noise_new(c->noise, err, sizeof err))) {
		rfx_diag_add(d, NULL, "%s", err);
		goto fail;
	}
	if (c->templates && c->templates->enabled) {
		rfx_tmpl_opts o;
		rfx_tmpl_opts_init(&o);
		o.sim_threshold = c->templates->sim_threshold;
		o.max_templates = (uint32_t)c->templates->max_templates;
		for (size_t i = 0; i < c->templates->masks.n && i < RFX_TMPL_MASKS_MAX; i++)
			o.masks[o.n_masks++] = c->templates->masks.v[i];
		if (!(s->miner = rfx_tmpl_miner_new(&o, err, sizeof err))) {
			rfx_diag_add(d, NULL, "pipeline.templates: %s", err);
			goto fail;
		}
		char id[RFX_EVENT_ID_LEN + 1];
		rfx_event_id_new(id);
		memcpy(s->run, id + RFX_EVENT_ID_LEN - 16, 16); /* the ULID's random part */
	}
	s->m_suppressed = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_suppressed_total",
					 "Events stored but not forwarded (duplicate, flapping, "
					 "silenced, maintenance, rate limited)", NULL);
	s->m_templated = rfx_metric_get(RFX_METRIC_COUNTER, "reflex_events_templated_total",
					"Events fingerprinted by their message template", NULL);
	return s;
fail:
	rfx_stages_free(s);
	return NULL;
}

void rfx_stages_free(struct rfx_stages *s)
{
	if (!s)
		return;
	rfx_normalizer_free(s->norm);
	rfx_inventory_free(s->inv);
	rfx_noise_free(s->noise);
	if (s->miner && s->sig_dirty)
		save_signatures(s);
	rfx_tmpl_miner_free(s->miner);
	json_object_put(s->sig_base);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void rfx_stages_attach_store(struct rfx_stages *s, const rfx_store_ops *store, void *state)
{
	char *json = NULL, err[256];

	s->store = store;
	s->store_state = state;
	if (s->miner && store && store->kv_get && store->kv_get(state, SIG_NS, SIG_KEY, &json) == 0) {
		s->sig_base = json_tokener_parse(json);
		if (!s->sig_base || !json_object_is_type(s->sig_base, json_type_object)) {
			json_object_put(s->sig_base);
			s->sig_base = NULL;
			rfx_log(RFX_LOG_ERROR, "pipeline", "the saved message templates cannot be "
							   "read; counting from zero");
		}
		free(json);
		json = NULL;
	}
	s->sig_saved_ns = rfx_now_ns();
	if (!s->noise || !store || !store->kv_get)
		return;
	if (store->kv_get(state, KV_NS, KV_KEY, &json) != 0)
		return;
	pthread_mutex_lock(&s->lock);
	int rc = rfx_noise_state_load(s->noise, json, rfx_now_ns(), err, sizeof err);
	pthread_mutex_unlock(&s->lock);
	if (rc != 0)
		rfx_log(RFX_LOG_ERROR, "pipeline",
			"the saved silences and maintenance windows cannot be read (%s); starting "
			"without them", err);
	free(json);
}

int rfx_stages_save(struct rfx_stages *s)
{
	char *json = NULL;
	int rc;

	if (!s->noise || !s->store || !s->store->kv_put)
		return 0;
	if (rfx_noise_state_dump(s->noise, &json) != 0)
		return RFX_ENOMEM;
	rc = s->store->kv_put(s->store_state, KV_NS, KV_KEY, json);
	free(json);
	if (rc != 0)
		rfx_log(RFX_LOG_ERROR, "pipeline", "cannot save silences and maintenance windows");
	return rc != 0 ? RFX_EIO : 0;
}

/* The fingerprint of a log line or mail from its template, in place of the
 * check, for events that have none of their own (the source's wins). The
 * template's id is stable while the agent runs, though the template text
 * widens as it learns ("for root" -> "for <*>"), so the id, not the text's
 * hash, keys the fingerprint. Ids are given in order of first sight and
 * restart from 1 with the agent: a salt of this run keeps an old run's
 * fingerprint from meaning a new run's template. */
static void templated(struct rfx_stages *s, rfx_event *ev)
{
	const char *kind = rfx_event_kind(ev), *text;
	rfx_tmpl_match m;
	char buf[64];

	if (!s->miner || !kind || (ev->str[RFX_F_FINGERPRINT] && *ev->str[RFX_F_FINGERPRINT]))
		return;
	if (strcmp(kind, "log") == 0)
		text = rfx_event_message(ev);
	else if (strcmp(kind, "mail") == 0)
		text = rfx_event_check(ev);
	else
		return;
	if (!text || !*text)
		return;
	size_t len = strnlen(text, TMPL_FIELD_MAX);
	if (rfx_tmpl_add(s->miner, text, len, &m) != 0)
		return;
	snprintf(buf, sizeof buf, "%016llx", (unsigned long long)m.hash);
	rfx_event_label_set(ev, "template", buf); /* the text's hash when assigned */
	snprintf(buf, sizeof buf, "%u", m.id);
	rfx_event_label_set(ev, "template_id", buf);
	const char *parts[] = {rfx_event_source(ev), rfx_event_host(ev), rfx_event_service(ev), buf,
			       s->run};
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 1099511628211ULL;
		}
		h ^= 0xff; /* field separator */
		h *= 1099511628211ULL;
	}
	snprintf(buf, sizeof buf, "t%016llx", (unsigned long long)h);
	rfx_event_set(ev, RFX_F_FINGERPRINT, buf);
	rfx_metric_add(s->m_templated, 1);
	s->sig_dirty = true;
}

struct sig_merge {
	struct json_object *out;
	const struct json_object *base;
	int64_t now;
};

static int sig_add(const rfx_tmpl_info *t, void *arg)
{
	struct sig_merge *m = arg;
	struct json_object *o = json_object_new_object(), *old = NULL, *c = NULL;
	char hash[17];
	int64_t before = 0;

	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)t->hash);
	if (m->base && json_object_object_get_ex(m->base, hash, &old) &&
	    json_object_object_get_ex(old, "count", &c))
		before = json_object_get_int64(c);
	json_object_object_add(o, "template", json_object_new_string(t->template));
	json_object_object_add(o, "count", json_object_new_int64(before + (int64_t)t->count));
	json_object_object_add(o, "saved_ns", json_object_new_int64(m->now));
	json_object_object_add(m->out, hash, o);
	return 0;
}

static int by_count_desc(const void *a, const void *b)
{
	struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
	struct json_object *cx, *cy;
	int64_t nx = json_object_object_get_ex(x, "count", &cx) ? json_object_get_int64(cx) : 0;
	int64_t ny = json_object_object_get_ex(y, "count", &cy) ? json_object_get_int64(cy) : 0;

	return nx < ny ? 1 : nx > ny ? -1 : 0;
}

/* Earlier runs' signatures, this run's added to them by template hash,
 * cut to the SIG_MAX most frequent. The lock is held (or s is being freed). */
static int save_signatures(struct rfx_stages *s)
{
	struct sig_merge m = {json_object_new_object(), s->sig_base, rfx_now_ns()};
	int rc = RFX_ENOMEM;

	if (!s->miner || !s->store || !s->store->kv_put || !m.out)
		goto out;
	if (s->sig_base) {
		json_object_object_foreach(s->sig_base, bkey, bval) {
			json_object_object_add(m.out, bkey, json_object_get(bval));
		}
	}
	rfx_tmpl_foreach(s->miner, sig_add, &m);
	if (json_object_object_length(m.out) > SIG_MAX) {
		/* keep the most frequent: sort the entries, rebuild */
		size_t n = (size_t)json_object_object_length(m.out), i = 0;
		struct json_object **all = calloc(n, sizeof(*all)), *cut = json_object_new_object();
		if (!all || !cut) {
			free(all);
			json_object_put(cut);
			goto out;
		}
		json_object_object_foreach(m.out, skey, sval) {
			json_object_object_add(sval, "_key", json_object_new_string(skey));
			all[i++] = sval;
		}
		qsort(all, n, sizeof(*all), by_count_desc);
		for (i = 0; i < SIG_MAX; i++) {
			struct json_object *kk = NULL;
			json_object_object_get_ex(all[i], "_key", &kk);
			json_object_object_add(cut, json_object_get_string(kk), json_object_get(all[i]));
		}
		for (i = 0; i < SIG_MAX; i++)
			json_object_object_del(all[i], "_key");
		free(all);
		json_object_put(m.out);
		m.out = cut;
	}
	rc = s->store->kv_put(s->store_state, SIG_NS, SIG_KEY,
			      json_object_to_json_string_ext(m.out, JSON_C_TO_STRING_PLAIN));
	if (rc != 0)
		rfx_log(RFX_LOG_WARNING, "pipeline", "cannot save the message templates (%d)", rc);
	else
		s->sig_dirty = false;
	s->sig_saved_ns = m.now;
out:
	json_object_put(m.out);
	return rc;
}

int rfx_stages_save_signatures(struct rfx_stages *s)
{
	int rc;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = save_signatures(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void defaults(rfx_event *ev)
{
	if (!ev->occurred_ns)
		ev->occurred_ns = ev->received_ns;
	if (ev->severity < 0 || ev->severity > 7)
		ev->severity = RFX_SEV_INFO;
	rfx_event_default_fingerprint(ev);
}

void rfx_stages_process(struct rfx_stages *s, rfx_event **evs, size_t n, bool *forward,
			int64_t now_ns)
{
	size_t suppressed = 0;

	if (!s) {
		/* no stages (the pipeline's unit tests): what the store relies on */
		for (size_t i = 0; i < n; i++) {
			defaults(evs[i]);
			forward[i] = true;
		}
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (s->inv)
		rfx_inventory_maybe_reload(s->inv, now_ns);
	for (size_t i = 0; i < n; i++) {
		rfx_event *ev = evs[i];
		rfx_normalize(s->norm, ev, now_ns);
		if (s->inv)
			rfx_enrich(s->inv, ev);
		templated(s, ev);
		defaults(ev);
		forward[i] = true;
		if (s->noise) {
			struct rfx_noise_verdict v;
			/* out of memory keeps forward: fail open, lose nothing */
			if (rfx_noise_judge(s->noise, ev, now_ns, &v) == 0)
				forward[i] = v.forward;
			/* a repeat nobody hears of is folded into its record's row;
			 * one that is forwarded (an escalation) keeps a row */
			if (!forward[i] && (v.flags & RFX_NOISE_DUPLICATE) &&
			    rfx_event_id_valid(v.first_id) && strcmp(v.first_id, ev->id) != 0) {
				memcpy(ev->fold_into, v.first_id, sizeof ev->fold_into);
				ev->count = v.count;
			}
			suppressed += !forward[i];
		}
	}
	if (s->sig_dirty && now_ns - s->sig_saved_ns >= SIG_SAVE_NS)
		save_signatures(s);
	pthread_mutex_unlock(&s->lock);
	if (suppressed)
		rfx_metric_add(s->m_suppressed, (double)suppressed);
}

int rfx_stages_summaries(struct rfx_stages *s, int64_t now_ns, rfx_event ***out, size_t *n)
{
	int rc;

	*out = NULL;
	*n = 0;
	if (!s->noise)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = rfx_noise_take_summaries(s->noise, now_ns, out, n);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; rc == 0 && i < *n; i++) {
		rfx_event *ev = (*out)[i];
		if (!rfx_event_id_valid(ev->id))
			rfx_event_id_new(ev->id);
		ev->received_ns = now_ns;
		if (!rfx_event_source(ev))
			rfx_event_set(ev, RFX_F_SOURCE, "noise");
		defaults(ev);
	}
	return rc;
}

struct rfx_noise *rfx_stages_noise(struct rfx_stages *s)
{
	return s ? s->noise : NULL;
}

int rfx_stages_templates(struct rfx_stages *s, int (*fn)(const rfx_tmpl_info *t, void *arg),
			 void *arg)
{
	int rc = 0;

	if (!s || !s->miner)
		return 0;
	pthread_mutex_lock(&s->lock);
	rc = rfx_tmpl_foreach(s->miner, fn, arg);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
