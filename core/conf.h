/*
 * core/conf.h - the agent's configuration model, built from the YAML
 * document: core sections validated against the core's option tables,
 * every plugin instance loaded and validated against its own schema, output
 * match expressions compiled, and record types checked to connect. All of it
 * runs before anything starts; `reflexd --check-config` runs exactly this.
 */
#ifndef RFX_CORE_CONF_H
#define RFX_CORE_CONF_H

#include <stdint.h>
#include <reflex/plugin.h>
#include "delivery.h"
#include "stages.h"
#include "config.h"
#include "expr.h"
#include "http.h"

struct rfx_loader;

struct rfx_log_conf {
	int level; /* RFX_LOG_* */
};

struct rfx_api_conf {
	char *listen;
	uint64_t max_body;
	int64_t timeout_ms;
	int64_t max_connections;
};

struct rfx_agent_conf {
	char *name;
	char *data_dir;
	struct rfx_strlist plugin_dirs;
	struct rfx_log_conf log;
};

struct rfx_pipeline_conf {
	int64_t queue_size;
	int full_policy; /* enum rfx_full_policy */
	int drop_below;  /* severity */
	int64_t block_timeout_ms;
	int64_t batch_size;
	int64_t workers;
	int64_t output_queue_size;
	struct rfx_normalize_conf normalize;
	struct rfx_enrich_conf enrich;
	struct rfx_templates_conf templates;
	struct rfx_noise_conf noise;
};

struct rfx_inst_conf {
	rfx_kind kind;
	const rfx_node *node; /* the instance's mapping */
	char ctx[128];        /* "inputs[0] (webhook)" for messages */
	char *name, *plugin;
	const rfx_plugin *desc;
	void *cfg;            /* desc->config_size bytes, filled from the schema */
	rfx_expr *match;      /* outputs: compiled match:, or NULL */
	struct rfx_delivery_conf delivery; /* outputs: the delivery: section */
	struct rfx_group_conf group;       /* outputs: the grouping: section */
};

struct rfx_conf {
	char *path;
	char *dir; /* the config file's directory: relative paths resolve here */
	rfx_doc *doc;
	struct rfx_loader *loader;
	struct rfx_agent_conf agent;
	struct rfx_api_conf api;
	struct rfx_http_token *tokens;
	size_t ntokens;
	struct rfx_pipeline_conf pipeline;
	struct rfx_inst_conf store;
	struct rfx_inst_conf *inputs, *outputs;
	size_t ninputs, noutputs;
};

/* Loads and validates path. Returns the config, or NULL with every problem
 * in d (as file:line:column: message). */
struct rfx_conf *rfx_conf_load(const char *path, rfx_diag *d);
void rfx_conf_free(struct rfx_conf *c);

/* The core's option tables, for --describe core sections and docs. */
extern const rfx_option rfx_agent_options[];
extern const rfx_option rfx_api_options[];
extern const rfx_option rfx_pipeline_options[];

#endif
