/* core/agent.c - bringing an agent up and down (see agent.h). */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "host.h"
#include "http.h"
#include "log.h"
#include "pipeline.h"
#include "timer.h"
#include "version.h"

struct running {
	const struct rfx_inst_conf *ic;
	rfx_instance *inst;
	void *state;
	bool started;
};

struct rfx_agent {
	const struct rfx_conf *conf;
	char data_dir[PATH_MAX];
	rfx_http *http;
	struct rfx_pipeline *pipeline;
	struct rfx_stages *stages;
	struct running store;
	struct running *inputs, *outputs;
	size_t ninputs, noutputs;
	struct rfx_api_ctx api;
};

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0750) && errno != EEXIST)
		return -1;
	return 0;
}

static int run_init(struct rfx_agent *a, struct running *r, const struct rfx_inst_conf *ic)
{
	char err[512] = "";
	const rfx_node *at = ic->node;

	r->ic = ic;
	r->inst = rfx_instance_new(ic->kind, ic->desc->name, ic->name, a->data_dir);
	if (!r->inst)
		return RFX_ENOMEM;
	r->inst->pipeline = a->pipeline;
	r->inst->http = a->http;
	r->inst->store = a->store.ic ? a->store.ic->desc->store : NULL;
	r->inst->store_state = a->store.state;
	int rc = ic->desc->init(r->inst, rfx_host_table(), ic->cfg, &r->state, err, sizeof(err));
	if (rc) {
		rfx_log(RFX_LOG_ERROR, r->inst->component, "%s:%d:%d: %s: cannot start: %s",
			at->file, at->line, at->col, ic->ctx, *err ? err : "init failed");
		rfx_instance_free(r->inst);
		r->inst = NULL;
		r->state = NULL;
		return rc;
	}
	return 0;
}

static void run_stop(struct running *r)
{
	if (r->started && r->ic->desc->stop)
		r->ic->desc->stop(r->state);
	r->started = false;
}

static void run_destroy(struct running *r)
{
	if (r->ic && r->ic->desc->destroy && r->state)
		r->ic->desc->destroy(r->state);
	r->state = NULL;
	rfx_instance_free(r->inst);
	r->inst = NULL;
}

static int run_start(struct running *r)
{
	if (r->ic->desc->start) {
		int rc = r->ic->desc->start(r->state);
		if (rc) {
			rfx_log(RFX_LOG_ERROR, r->inst->component, "start failed (%d)", rc);
			return rc;
		}
	}
	r->started = true;
	return 0;
}

static const char *agent_health(void *arg)
{
	(void)arg;
	return NULL;
}

struct rfx_agent *rfx_agent_start(const struct rfx_conf *conf)
{
	struct rfx_agent *a = calloc(1, sizeof(*a));
	char err[512];

	if (!a)
		return NULL;
	a->conf = conf;
	if (mkdir_p(conf->agent.data_dir) || !realpath(conf->agent.data_dir, a->data_dir)) {
		rfx_log(RFX_LOG_ERROR, "agent", "data_dir %s: cannot create: %s",
			conf->agent.data_dir, strerror(errno));
		goto fail;
	}
	if (rfx_timers_start())
		goto fail;

	struct rfx_http_opts ho = {
		.listen = conf->api.listen,
		.max_body = conf->api.max_body,
		.timeout_ms = conf->api.timeout_ms,
		.max_connections = (unsigned)conf->api.max_connections,
		.tokens = conf->tokens,
		.ntokens = conf->ntokens,
	};
	if (!(a->http = rfx_http_new(&ho, err, sizeof(err)))) {
		rfx_log(RFX_LOG_ERROR, "agent", "api: %s", err);
		goto fail;
	}

	/* store first: everything else writes into it */
	if (run_init(a, &a->store, &conf->store) || run_start(&a->store))
		goto fail;

	rfx_diag sd;
	rfx_diag_init(&sd);
	struct rfx_stages_conf sc = {&conf->pipeline.normalize, &conf->pipeline.enrich,
				     &conf->pipeline.templates, &conf->pipeline.noise, conf->dir};
	a->stages = rfx_stages_new(&sc, &sd);
	for (size_t i = 0; i < sd.n; i++)
		rfx_log(RFX_LOG_ERROR, "agent", "%s", sd.msgs[i]);
	rfx_diag_free(&sd);
	if (!a->stages)
		goto fail;
	rfx_stages_attach_store(a->stages, conf->store.desc->store, a->store.state);

	struct rfx_pipeline_opts po = {
		.queue_size = (size_t)conf->pipeline.queue_size,
		.full_policy = conf->pipeline.full_policy,
		.drop_below = conf->pipeline.drop_below,
		.block_timeout_ms = conf->pipeline.block_timeout_ms,
		.batch_size = (size_t)conf->pipeline.batch_size,
		.workers = (unsigned)conf->pipeline.workers,
		.output_queue_size = (size_t)conf->pipeline.output_queue_size,
		.stages = a->stages,
	};
	if (!(a->pipeline = rfx_pipeline_new(&po, conf->store.desc->store, a->store.state)))
		goto fail;

	a->outputs = calloc(conf->noutputs + 1, sizeof(*a->outputs));
	a->inputs = calloc(conf->ninputs + 1, sizeof(*a->inputs));
	if (!a->outputs || !a->inputs)
		goto fail;
	for (size_t i = 0; i < conf->noutputs; i++) {
		const struct rfx_inst_conf *ic = &conf->outputs[i];
		if (run_init(a, &a->outputs[i], ic))
			goto fail;
		a->noutputs++; /* from here on, stop/destroy must see it */
		if (run_start(&a->outputs[i]))
			goto fail;
		struct rfx_output_spec spec = {.name = ic->name, .plugin = ic->desc,
					       .state = a->outputs[i].state, .match = ic->match,
					       .delivery = &ic->delivery, .group = &ic->group};
		if (rfx_pipeline_add_output(a->pipeline, &spec))
			goto fail;
	}
	if (rfx_pipeline_start(a->pipeline))
		goto fail;

	for (size_t i = 0; i < conf->ninputs; i++) {
		if (run_init(a, &a->inputs[i], &conf->inputs[i]))
			goto fail;
		a->ninputs++;
	}

	a->api = (struct rfx_api_ctx){
		.store = conf->store.desc->store,
		.store_state = a->store.state,
		.agent_name = conf->agent.name,
		.version = RFX_VERSION,
		.health = agent_health,
		.health_arg = a,
		.pipeline = a->pipeline,
		.stages = a->stages,
	};
	if (rfx_api_register(a->http, &a->api))
		goto fail;
	if (rfx_http_start(a->http, err, sizeof(err))) {
		rfx_log(RFX_LOG_ERROR, "agent", "api: %s", err);
		goto fail;
	}
	for (size_t i = 0; i < a->ninputs; i++)
		if (run_start(&a->inputs[i]))
			goto fail;
	if (a->ninputs == 0)
		rfx_log(RFX_LOG_WARNING, "agent", "no inputs are configured: nothing will come in "
			"(add one under inputs:, see etc/reflex.yaml)");
	rfx_log(RFX_LOG_INFO, "agent",
		"%s %s started: %zu input(s), %zu output(s), store %s, data in %s, API on http://%s",
		conf->agent.name, RFX_VERSION, a->ninputs, a->noutputs, conf->store.desc->name,
		a->data_dir, conf->api.listen);
	return a;
fail:
	rfx_agent_stop(a);
	return NULL;
}

void rfx_agent_stop(struct rfx_agent *a)
{
	if (!a)
		return;
	/* 1. no new requests; running handlers finish (their acks still come) */
	if (a->http)
		rfx_http_stop(a->http);
	/* 2. inputs stop producing */
	for (size_t i = 0; i < a->ninputs; i++)
		run_stop(&a->inputs[i]);
	/* 3. everything queued is stored and delivered */
	if (a->pipeline)
		rfx_pipeline_stop(a->pipeline);
	for (size_t i = 0; i < a->noutputs; i++)
		run_stop(&a->outputs[i]);
	for (size_t i = 0; i < a->ninputs; i++)
		run_destroy(&a->inputs[i]);
	for (size_t i = 0; i < a->noutputs; i++)
		run_destroy(&a->outputs[i]);
	rfx_pipeline_free(a->pipeline);
	rfx_http_free(a->http);
	rfx_stages_free(a->stages);
	run_stop(&a->store);
	run_destroy(&a->store);
	free(a->inputs);
	free(a->outputs);
	free(a);
}
