/*
 * core/stages.h - the processing stages between intake and the store, run
 * by the pipeline's workers on each batch, in this order:
 *
 *   normalize  per-source severity/status maps, time skew, host names,
 *              label keys (normalize.h)
 *   enrich     asset inventory labels and canonical host (inventory.h)
 *   templates  a message template (templates.h) for log lines and mail
 *              subjects without a fingerprint of their own: it becomes the
 *              fingerprint's check part, so "Failed password for <*>" and
 *              "Accepted publickey for <*>" of one host are two problems
 *   defaults   receipt time for a missing time, severity range, default
 *              fingerprint (source, host, service, check)
 *   noise      dedup, flapping, silences, maintenance, rate limits
 *              (noise.h): decides whether the event is forwarded
 *
 * Every event is stored whatever the verdict; only forwarding changes.
 * One lock serialises the stages (they keep state per fingerprint); they
 * cost microseconds per event against milliseconds per store commit.
 */
#ifndef RFX_CORE_STAGES_H
#define RFX_CORE_STAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>
#include "diag.h"
#include "inventory.h"
#include "noise.h"
#include "normalize.h"
#include "templates.h"

/* pipeline.templates */
struct rfx_templates_conf {
	bool enabled;
	double sim_threshold;
	int64_t max_templates;
	struct rfx_strlist masks; /* extra PCRE2 masks */
};

extern const rfx_option rfx_templates_options[];

struct rfx_stages_conf {
	const struct rfx_normalize_conf *normalize;
	const struct rfx_enrich_conf *enrich;
	const struct rfx_templates_conf *templates;
	const struct rfx_noise_conf *noise;
	const char *config_dir; /* relative inventory paths */
};

struct rfx_stages;

/* Builds every stage; problems go to d (with the config's positions where
 * known) and NULL is returned. Also what --check-config runs. */
struct rfx_stages *rfx_stages_new(const struct rfx_stages_conf *c, rfx_diag *d);
void rfx_stages_free(struct rfx_stages *s);

/* Silences and API-made maintenance windows live in the store's key-value
 * state: loads them, and saves them after every change made through the
 * API. store may be NULL (nothing persisted). */
void rfx_stages_attach_store(struct rfx_stages *s, const rfx_store_ops *store, void *state);
/* After a change through the API. 0 or RFX_EIO. */
int rfx_stages_save(struct rfx_stages *s);

/* Runs the stages on evs[0..n) (ids assigned) and sets forward[i]. With s
 * NULL only the defaults run and everything is forwarded. */
void rfx_stages_process(struct rfx_stages *s, rfx_event **evs, size_t n, bool *forward,
			int64_t now_ns);
/* Summary events of the noise stage (rate limits, flapping settled),
 * already through the defaults: stored and forwarded as they are. On 0
 * *out is malloc'd (or NULL) with *n events the caller owns. */
int rfx_stages_summaries(struct rfx_stages *s, int64_t now_ns, rfx_event ***out, size_t *n);

/* The signature store: every template seen, with its count over all runs,
 * by the hash of its text, in the store's kv state (core.templates /
 * signatures). Saved at most once a minute while templates are assigned,
 * and at free. 0, RFX_EIO or RFX_ENOMEM. */
int rfx_stages_save_signatures(struct rfx_stages *s);

/* For the API (noise is NULL when pipeline.noise.enabled is false). */
struct rfx_noise *rfx_stages_noise(struct rfx_stages *s);
/* Calls fn for every template the miner holds, under the stages' lock. */
int rfx_stages_templates(struct rfx_stages *s, int (*fn)(const rfx_tmpl_info *t, void *arg),
			 void *arg);

#endif
