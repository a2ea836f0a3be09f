/*
 * core/conf.c - from a YAML document to a validated agent configuration
 * (see conf.h). Every check adds to the diagnostics list instead of
 * stopping, so one run of --check-config reports every problem.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "pipeline.h"
#include "schema.h"
#include "version.h"

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const full_policies[] = {"block", "drop", NULL};
static const char *const severities[] = {"emergency", "alert", "critical", "error",
					 "warning", "notice", "info", "debug", NULL};
static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static const rfx_option log_options[] = {
	{"level", RFX_OPT_ENUM, "info", 0, 0, 0, log_levels,
	 "Least important level written to the log", offsetof(struct rfx_log_conf, level), NULL},
	RFX_OPTION_END,
};

const rfx_option rfx_agent_options[] = {
	{"name", RFX_OPT_STRING, "reflex", 0, 0, 0, NULL,
	 "Name of this agent, shown in /healthz and logs", offsetof(struct rfx_agent_conf, name), NULL},
	{"data_dir", RFX_OPT_STRING, "./var", 0, 0, 0, NULL,
	 "Directory for the store, spools and plugin files; created if missing. A relative "
	 "path is relative to the working directory reflexd starts in",
	 offsetof(struct rfx_agent_conf, data_dir), NULL},
	{"plugin_dirs", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Directories searched for plugins before $REFLEX_PLUGIN_PATH and the installed "
	 "plugin directory", offsetof(struct rfx_agent_conf, plugin_dirs), NULL},
	{"log", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "Logging",
	 offsetof(struct rfx_agent_conf, log), log_options},
	RFX_OPTION_END,
};

const rfx_option rfx_api_options[] = {
	{"listen", RFX_OPT_STRING, "127.0.0.1:3009", 0, 0, 0, NULL,
	 "Address of the HTTP API: host:port, [v6]:port or :port for all interfaces (which "
	 "requires tokens)", offsetof(struct rfx_api_conf, listen), NULL},
	{"max_body", RFX_OPT_SIZE, "4MiB", RFX_OPT_RANGE, 1024, 1024.0 * 1024 * 1024, NULL,
	 "Largest request body accepted; larger requests get 413",
	 offsetof(struct rfx_api_conf, max_body), NULL},
	{"timeout", RFX_OPT_DURATION, "30s", RFX_OPT_RANGE, 1000, 3600000, NULL,
	 "Idle connection timeout", offsetof(struct rfx_api_conf, timeout_ms), NULL},
	{"max_connections", RFX_OPT_INT, "256", RFX_OPT_RANGE, 1, 10000, NULL,
	 "Concurrent connections served (one thread each)",
	 offsetof(struct rfx_api_conf, max_connections), NULL},
	RFX_OPTION_END,
};

const rfx_option rfx_pipeline_options[] = {
	{"queue_size", RFX_OPT_INT, "50000", RFX_OPT_RANGE, 1, 10000000, NULL,
	 "Capacity of the ingress queue in events",
	 offsetof(struct rfx_pipeline_conf, queue_size), NULL},
	{"when_full", RFX_OPT_ENUM, "block", 0, 0, 0, full_policies,
	 "What happens when the ingress queue is full: block (the sender waits up to "
	 "block_timeout, then gets 503 + Retry-After) or drop (events less severe than "
	 "drop_below are refused at once; others block)",
	 offsetof(struct rfx_pipeline_conf, full_policy), NULL},
	{"drop_below", RFX_OPT_ENUM, "warning", 0, 0, 0, severities,
	 "With when_full: drop, events less severe than this are shed first",
	 offsetof(struct rfx_pipeline_conf, drop_below), NULL},
	{"block_timeout", RFX_OPT_DURATION, "2s", RFX_OPT_RANGE, 0, 600000, NULL,
	 "How long a producer waits for room in a full queue",
	 offsetof(struct rfx_pipeline_conf, block_timeout_ms), NULL},
	{"batch_size", RFX_OPT_INT, "5000", RFX_OPT_RANGE, 1, 100000, NULL,
	 "Most events committed to the store in one transaction",
	 offsetof(struct rfx_pipeline_conf, batch_size), NULL},
	{"workers", RFX_OPT_INT, "1", RFX_OPT_RANGE, 1, 64, NULL,
	 "Worker threads taking batches from the ingress queue to the store",
	 offsetof(struct rfx_pipeline_conf, workers), NULL},
	{"output_queue_size", RFX_OPT_INT, "10000", RFX_OPT_RANGE, 1, 10000000, NULL,
	 "Capacity of each output's delivery queue in events",
	 offsetof(struct rfx_pipeline_conf, output_queue_size), NULL},
	{"normalize", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL,
	 "Per-source severity and status maps, timestamps, host names, label keys "
	 "(docs/normalize.md)",
	 offsetof(struct rfx_pipeline_conf, normalize), rfx_normalize_options},
	{"enrich", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL,
	 "Asset inventory labels and topology (docs/inventory.md)",
	 offsetof(struct rfx_pipeline_conf, enrich), rfx_enrich_options},
	{"templates", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL,
	 "Message templates as fingerprints of log lines and mail (docs/templates.md)",
	 offsetof(struct rfx_pipeline_conf, templates), rfx_templates_options},
	{"noise", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL,
	 "Dedup, flapping, silences, maintenance windows, rate limits (docs/noise.md)",
	 offsetof(struct rfx_pipeline_conf, noise), rfx_noise_options},
	RFX_OPTION_END,
};

static const char *const top_keys[] = {"include", "agent", "store", "inputs", "pipeline",
				       "outputs", "correlation", "rules", "playbooks",
				       "safety", "analyzers", "itsm", NULL};
/* Sections of the design that later versions fill in. */
static const char *const future_keys[] = {"correlation", "rules", "playbooks", "safety",
					  "analyzers", NULL};

static const char *const inst_extra_input[] = {"name", "plugin", NULL};
/* Core keys of an output; a plugin option of the same name would be
 * shadowed, so these are few and unusual (pagerduty has a `group`). */
static const char *const inst_extra_output[] = {"name", "plugin", "match", "delivery", "grouping",
					       NULL};
static const char *const inst_extra_store[] = {"plugin", NULL};

static bool is_loopback(const char *listen)
{
	char host[256];
	const char *colon;

	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');
		if (!end || (size_t)(end - listen - 1) >= sizeof(host))
			return false;
		memcpy(host, listen + 1, (size_t)(end - listen - 1));
		host[end - listen - 1] = '\0';
	} else {
		colon = strrchr(listen, ':');
		size_t len = colon ? (size_t)(colon - listen) : strlen(listen);
		if (len >= sizeof(host))
			return false;
		memcpy(host, listen, len);
		host[len] = '\0';
	}
	if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return false;
}

static void parse_tokens(struct rfx_conf *c, const rfx_node *list, rfx_diag *d)
{
	if (!list || (list->type == RFX_NODE_SCALAR && list->null))
		return;
	if (list->type != RFX_NODE_SEQ) {
		rfx_diag_add(d, list, "agent.api.tokens: expected a list of {token, role}, got a %s",
			     rfx_node_type_name(list->type));
		return;
	}
	if (!(c->tokens = calloc(list->n ? list->n : 1, sizeof(*c->tokens))))
		return;
	for (size_t i = 0; i < list->n; i++) {
		const rfx_node *t = list->items[i];
		if (t->type != RFX_NODE_MAP) {
			rfx_diag_add(d, t, "agent.api.tokens[%zu]: expected a mapping {token, role}", i);
			continue;
		}
		const rfx_node *tok = rfx_node_get(t, "token"), *role = rfx_node_get(t, "role");
		static const char *const allowed[] = {"token", "role", NULL};
		for (size_t k = 0; k < t->n; k++) {
			const char *key = t->keys[k]->value;
			if (strcmp(key, "token") && strcmp(key, "role")) {
				const char *s = rfx_suggest(key, allowed);
				rfx_diag_add(d, t->keys[k], "agent.api.tokens[%zu]: unknown key '%s'%s%s%s", i,
					     key, s ? "; did you mean '" : " (allowed: token, role)",
					     s ? s : "", s ? "'?" : "");
			}
		}
		if (!tok || tok->type != RFX_NODE_SCALAR || tok->null || !*tok->value) {
			rfx_diag_add(d, tok ? tok : t, "agent.api.tokens[%zu]: 'token' must be a non-empty "
				     "string", i);
			continue;
		}
		if (strlen(tok->value) < 16)
			rfx_diag_add(d, tok, "agent.api.tokens[%zu]: token is shorter than 16 "
				     "characters; use a long random string (openssl rand -hex 32)", i);
		int r = -1;
		if (!role || role->type != RFX_NODE_SCALAR) {
			rfx_diag_add(d, role ? role : t,
				     "agent.api.tokens[%zu]: 'role' must be one of viewer, operator, admin", i);
			continue;
		}
		for (int k = 0; roles[k]; k++)
			if (strcmp(role->value, roles[k]) == 0)
				r = k + 1;
		if (r < 0) {
			const char *s = rfx_suggest(role->value, roles);
			rfx_diag_add(d, role, "agent.api.tokens[%zu]: unknown role '%s'%s%s%s (roles: viewer, "
				     "operator, admin)", i, role->value, s ? "; did you mean '" : "",
				     s ? s : "", s ? "'?" : "");
			continue;
		}
		c->tokens[c->ntokens].token = tok->value; /* owned by the doc */
		c->tokens[c->ntokens].role = (rfx_role)r;
		c->ntokens++;
	}
}

static const char *scalar_of(const rfx_node *map, const char *key)
{
	const rfx_node *n = map ? rfx_node_get(map, key) : NULL;
	return n && n->type == RFX_NODE_SCALAR && !n->null ? n->value : NULL;
}

static bool valid_instance_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

/* Validates one instance mapping; fills ic. `kind` is what the section
 * takes. */
static void parse_instance(struct rfx_conf *c, struct rfx_inst_conf *ic, rfx_kind kind,
			   const rfx_node *node, const char *section, size_t index,
			   const char *const *extra, rfx_diag *d)
{
	char err[1024];

	ic->kind = kind;
	ic->node = node;
	if (kind == RFX_KIND_STORE)
		snprintf(ic->ctx, sizeof(ic->ctx), "store");
	else
		snprintf(ic->ctx, sizeof(ic->ctx), "%s[%zu]", section, index);
	if (node->type != RFX_NODE_MAP) {
		rfx_diag_add(d, node, "%s: expected a mapping with at least 'plugin', got a %s",
			     ic->ctx, rfx_node_type_name(node->type));
		return;
	}
	const rfx_node *pn = rfx_node_get(node, "plugin");
	const char *plugin = scalar_of(node, "plugin");
	const char *name = scalar_of(node, "name");
	if (!plugin && kind == RFX_KIND_STORE)
		plugin = "sqlite";
	if (!plugin) {
		rfx_diag_add(d, pn ? pn : node, "%s: missing required key 'plugin' (which %s plugin "
			     "to use)", ic->ctx, rfx_kind_name(kind));
		return;
	}
	if (kind != RFX_KIND_STORE && !name) {
		const rfx_node *nn = rfx_node_get(node, "name");
		rfx_diag_add(d, nn ? nn : node, "%s: missing required key 'name' (a unique name for "
			     "this %s, used in logs and metrics)", ic->ctx, rfx_kind_name(kind));
	}
	ic->plugin = strdup(plugin);
	ic->name = strdup(name ? name : (kind == RFX_KIND_STORE ? "store" : plugin));
	snprintf(ic->ctx + strlen(ic->ctx), sizeof(ic->ctx) - strlen(ic->ctx), " (%s)", plugin);
	if (name && !valid_instance_name(name))
		rfx_diag_add(d, rfx_node_get(node, "name"), "%s: instance name '%s' may only use "
			     "letters, digits, '_', '-' and '.' (up to 64): it names logs and metric "
			     "labels", ic->ctx, name);

	ic->desc = rfx_loader_get(c->loader, kind, plugin, err, sizeof(err));
	if (!ic->desc) {
		rfx_diag_add(d, pn ? pn : node, "%s: %s", ic->ctx, err);
		return;
	}
	if (ic->desc->config_size && !(ic->cfg = calloc(1, ic->desc->config_size)))
		return;
	/* an option named like a core key of the instance could never be set */
	for (const rfx_option *o = ic->desc->options; o && o->name; o++)
		for (size_t k = 0; extra[k]; k++)
			if (strcmp(o->name, extra[k]) == 0)
				rfx_diag_add(d, pn ? pn : node,
					     "%s: plugin '%s' declares an option '%s', which is a core "
					     "key of this section: the plugin must rename it",
					     ic->ctx, plugin, o->name);
	if (ic->desc->options)
		rfx_schema_apply(ic->desc->options, node, ic->cfg, ic->ctx, extra, d);
	else
		rfx_schema_apply((const rfx_option[]){RFX_OPTION_END}, node, NULL, ic->ctx, extra, d);

	if (kind == RFX_KIND_OUTPUT || kind == RFX_KIND_ITSM) {
		/* retries, dead letters and the breaker: the core's, per output */
		const rfx_node *dn = rfx_node_get(node, "delivery");
		char dctx[160];
		snprintf(dctx, sizeof dctx, "%s.delivery", ic->ctx);
		if (dn && dn->type != RFX_NODE_MAP && !(dn->type == RFX_NODE_SCALAR && dn->null))
			rfx_diag_add(d, dn, "%s: expected a mapping, got a %s", dctx,
				     rfx_node_type_name(dn->type));
		else
			rfx_schema_apply(rfx_delivery_options,
					 dn && dn->type == RFX_NODE_MAP ? dn : NULL, &ic->delivery,
					 dctx, NULL, d);
		if (ic->delivery.max_backoff_ms < ic->delivery.initial_backoff_ms)
			rfx_diag_add(d, dn ? dn : node,
				     "%s: max_backoff must not be shorter than initial_backoff",
				     dctx);
		/* grouping into notices, Alertmanager-style */
		const rfx_node *gn = rfx_node_get(node, "grouping");
		snprintf(dctx, sizeof dctx, "%s.grouping", ic->ctx);
		if (gn && gn->type != RFX_NODE_MAP && !(gn->type == RFX_NODE_SCALAR && gn->null))
			rfx_diag_add(d, gn, "%s: expected a mapping, got a %s", dctx,
				     rfx_node_type_name(gn->type));
		else
			rfx_schema_apply(rfx_group_options,
					 gn && gn->type == RFX_NODE_MAP ? gn : NULL, &ic->group, dctx,
					 NULL, d);
		if (ic->group.by.n && ic->desc && !(ic->desc->accepts & RFX_REC_NOTICE))
			rfx_diag_add(d, gn, "%s: plugin '%s' takes single events, not grouped "
				     "notices: remove grouping.by", dctx, ic->desc->name);
		const rfx_node *cn = dn ? rfx_node_get(dn, "concurrency") : NULL;
		if (ic->delivery.concurrency > 1 && ic->desc &&
		    !(ic->desc->caps & RFX_CAP_CONCURRENT))
			rfx_diag_add(d, cn, "%s.delivery: concurrency: plugin '%s' takes one delivery "
				     "at a time", ic->ctx, ic->desc->name);
		else if (ic->delivery.concurrency > 1 && ic->group.by.n)
			rfx_diag_add(d, cn, "%s.delivery: concurrency: notices of a grouped output "
				     "go one at a time; remove grouping.by or concurrency", ic->ctx);
	}
	const rfx_node *mn = rfx_node_get(node, "match");
	if (mn) {
		int col = 0;
		if (mn->type != RFX_NODE_SCALAR) {
			rfx_diag_add(d, mn, "%s: 'match' must be an expression string", ic->ctx);
		} else if (!(ic->match = rfx_expr_compile(mn->value, err, sizeof(err), &col))) {
			/* point at the column inside the expression */
			int off = mn->quoted ? 1 : 0;
			rfx_diag_addp(d, mn->file, mn->line, mn->col + off + (col > 0 ? col - 1 : 0),
				      "%s: match: %s", ic->ctx, err);
		}
	}
}

static void parse_section_list(struct rfx_conf *c, const rfx_node *root, const char *section,
			       rfx_kind kind, struct rfx_inst_conf **out, size_t *nout,
			       const char *const *extra, rfx_diag *d)
{
	const rfx_node *list = rfx_node_get(root, section);
	if (!list || (list->type == RFX_NODE_SCALAR && list->null))
		return;
	if (list->type != RFX_NODE_SEQ) {
		rfx_diag_add(d, list, "%s: expected a list of %s instances, got a %s", section,
			     rfx_kind_name(kind), rfx_node_type_name(list->type));
		return;
	}
	if (!(*out = calloc(list->n ? list->n : 1, sizeof(**out))))
		return;
	*nout = list->n;
	for (size_t i = 0; i < list->n; i++)
		parse_instance(c, &(*out)[i], kind, list->items[i], section, i, extra, d);
}

static void check_names(struct rfx_conf *c, rfx_diag *d)
{
	struct rfx_inst_conf *all[2] = {c->inputs, c->outputs};
	size_t n[2] = {c->ninputs, c->noutputs};

	for (int a = 0; a < 2; a++)
		for (size_t i = 0; i < n[a]; i++)
			for (int b = 0; b <= a; b++)
				for (size_t j = 0; j < (b == a ? i : n[b]); j++) {
					struct rfx_inst_conf *x = &all[a][i], *y = &all[b][j];
					if (!x->name || !y->name || strcmp(x->name, y->name))
						continue;
					const rfx_node *k = rfx_node_get(x->node, "name");
					const rfx_node *first = rfx_node_get(y->node, "name");
					rfx_diag_add(d, k ? k : x->node,
						     "%s: duplicate instance name '%s' (first used by %s at "
						     "%s:%d:%d)", x->ctx, x->name, y->ctx,
						     first ? first->file : "?", first ? first->line : 0,
						     first ? first->col : 0);
				}
}

static void type_names(unsigned mask, char *buf, size_t len)
{
	static const char *const names[] = {"event", "incident", "action", "notice"};
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < 4; i++)
		if (mask & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "", names[i]);
}

/* Record types must connect: inputs feed events into the core; the core
 * carries events to outputs. Later stages (correlators, rules) add to the
 * set of types the pipeline carries. */
static void check_types(struct rfx_conf *c, rfx_diag *d)
{
	unsigned carried = RFX_REC_EVENT;
	char a[64], b[64];

	for (size_t i = 0; i < c->ninputs; i++) {
		const rfx_plugin *p = c->inputs[i].desc;
		if (p && (p->emits & ~(unsigned)RFX_REC_EVENT)) {
			type_names(p->emits, a, sizeof(a));
			rfx_diag_add(d, c->inputs[i].node,
				     "%s: plugin '%s' emits %s records, but inputs feed the pipeline "
				     "with event records only", c->inputs[i].ctx, p->name, a);
		}
	}
	for (size_t i = 0; i < c->noutputs; i++) {
		const rfx_plugin *p = c->outputs[i].desc;
		if (p && !(p->accepts & carried)) {
			type_names(p->accepts, a, sizeof(a));
			type_names(carried, b, sizeof(b));
			rfx_diag_add(d, c->outputs[i].node,
				     "%s: plugin '%s' accepts %s records, but nothing in this pipeline "
				     "produces them (it carries: %s)", c->outputs[i].ctx, p->name, a, b);
		}
	}
}

static void inst_free(struct rfx_inst_conf *ic);

struct rfx_conf *rfx_conf_load(const char *path, rfx_diag *d)
{
	struct rfx_conf *c = calloc(1, sizeof(*c));
	size_t before = d->n;
	const rfx_node *root, *n;

	if (!c || !(c->path = strdup(path)) || !(c->dir = strdup(path)))
		goto fail;
	char *slash = strrchr(c->dir, '/');
	if (!slash)
		snprintf(c->dir, strlen(c->dir) + 1, ".");
	else
		slash[slash == c->dir] = '\0'; /* "/x.yaml" -> "/" */
	c->doc = rfx_doc_load(path, d);
	root = c->doc ? rfx_doc_root(c->doc) : NULL;
	if (!root)
		goto fail;
	if (root->type == RFX_NODE_SCALAR && root->null) {
		rfx_diag_add(d, root, "the configuration is empty; see etc/reflex.yaml for an example");
		goto fail;
	}
	if (root->type != RFX_NODE_MAP) {
		rfx_diag_add(d, root, "expected a mapping of sections (agent, store, inputs, "
			     "outputs, ...), got a %s", rfx_node_type_name(root->type));
		goto fail;
	}
	for (size_t i = 0; i < root->n; i++) {
		const char *key = root->keys[i]->value;
		bool known = false, future = false;
		for (int k = 0; top_keys[k]; k++)
			known |= strcmp(key, top_keys[k]) == 0;
		for (int k = 0; future_keys[k]; k++)
			future |= strcmp(key, future_keys[k]) == 0;
		if (!known) {
			const char *s = rfx_suggest(key, top_keys);
			if (s)
				rfx_diag_add(d, root->keys[i], "unknown section '%s'; did you mean '%s'?",
					     key, s);
			else
				rfx_diag_add(d, root->keys[i], "unknown section '%s' (sections: agent, "
					     "store, inputs, pipeline, outputs)", key);
		} else if (future) {
			rfx_diag_add(d, root->keys[i], "section '%s' is not supported by reflex %s yet",
				     key, RFX_VERSION);
		}
	}

	/* agent (api handled here for its token list) */
	static const char *const agent_extra[] = {"api", NULL};
	static const char *const api_extra[] = {"tokens", NULL};
	const rfx_node *agent = rfx_node_get(root, "agent");
	if (agent && agent->type != RFX_NODE_MAP && !(agent->type == RFX_NODE_SCALAR && agent->null)) {
		rfx_diag_add(d, agent, "agent: expected a mapping, got a %s",
			     rfx_node_type_name(agent->type));
		agent = NULL;
	}
	if (agent && agent->type != RFX_NODE_MAP)
		agent = NULL;
	rfx_schema_apply(rfx_agent_options, agent, &c->agent, "agent", agent_extra, d);
	const rfx_node *api = agent ? rfx_node_get(agent, "api") : NULL;
	if (api && api->type != RFX_NODE_MAP) {
		if (!(api->type == RFX_NODE_SCALAR && api->null))
			rfx_diag_add(d, api, "agent.api: expected a mapping, got a %s",
				     rfx_node_type_name(api->type));
		api = NULL;
	}
	rfx_schema_apply(rfx_api_options, api, &c->api, "agent.api", api_extra, d);
	parse_tokens(c, api ? rfx_node_get(api, "tokens") : NULL, d);
	if (c->api.listen && c->ntokens == 0 && !is_loopback(c->api.listen)) {
		const rfx_node *ln = api ? rfx_node_get(api, "listen") : NULL;
		rfx_diag_add(d, ln ? ln : root,
			     "agent.api.listen: %s is not a loopback address; an API without "
			     "tokens is only allowed on loopback: add agent.api.tokens",
			     c->api.listen);
	}

	n = rfx_node_get(root, "pipeline");
	if (n && n->type != RFX_NODE_MAP && !(n->type == RFX_NODE_SCALAR && n->null))
		rfx_diag_add(d, n, "pipeline: expected a mapping, got a %s", rfx_node_type_name(n->type));
	rfx_schema_apply(rfx_pipeline_options, n && n->type == RFX_NODE_MAP ? n : NULL, &c->pipeline,
			 "pipeline", NULL, d);

	/* the loader wants a NULL-terminated list */
	char **dirs = calloc(c->agent.plugin_dirs.n + 1, sizeof(*dirs));
	if (!dirs)
		goto fail;
	if (c->agent.plugin_dirs.n)
		memcpy(dirs, c->agent.plugin_dirs.v, c->agent.plugin_dirs.n * sizeof(*dirs));
	c->loader = rfx_loader_new((const char *const *)dirs);
	free(dirs);
	if (!c->loader)
		goto fail;

	n = rfx_node_get(root, "store");
	if (n && !(n->type == RFX_NODE_SCALAR && n->null)) {
		parse_instance(c, &c->store, RFX_KIND_STORE, n, "store", 0, inst_extra_store, d);
	} else {
		/* the embedded default */
		static rfx_node empty = {.type = RFX_NODE_MAP, .file = "(default)", .line = 1, .col = 1};
		parse_instance(c, &c->store, RFX_KIND_STORE, &empty, "store", 0, inst_extra_store, d);
	}
	parse_section_list(c, root, "inputs", RFX_KIND_INPUT, &c->inputs, &c->ninputs,
			   inst_extra_input, d);
	parse_section_list(c, root, "outputs", RFX_KIND_OUTPUT, &c->outputs, &c->noutputs,
			   inst_extra_output, d);
	/* ITSM integrations are delivered to exactly like outputs: they join
	 * the outputs list, keeping their own kind and "itsm[N]" context. */
	struct rfx_inst_conf *itsm = NULL;
	size_t nitsm = 0;
	parse_section_list(c, root, "itsm", RFX_KIND_ITSM, &itsm, &nitsm, inst_extra_output, d);
	if (nitsm) {
		struct rfx_inst_conf *all = realloc(c->outputs, (c->noutputs + nitsm) * sizeof(*all));
		if (!all) {
			for (size_t i = 0; i < nitsm; i++)
				inst_free(&itsm[i]);
			free(itsm);
			goto fail;
		}
		memcpy(all + c->noutputs, itsm, nitsm * sizeof(*itsm));
		c->outputs = all;
		c->noutputs += nitsm;
	}
	free(itsm);
	check_names(c, d);
	check_types(c, d);
	if (d->n == before) {
		/* what the schema cannot check: expressions, time zones, files */
		struct rfx_stages_conf sc = {&c->pipeline.normalize, &c->pipeline.enrich,
					     &c->pipeline.templates, &c->pipeline.noise,
					     c->dir};
		rfx_stages_free(rfx_stages_new(&sc, d));
	}
	if (d->n == before)
		return c;
fail:
	rfx_conf_free(c);
	return NULL;
}

static void inst_free(struct rfx_inst_conf *ic)
{
	if (ic->desc && ic->desc->options && ic->cfg)
		rfx_schema_free(ic->desc->options, ic->cfg);
	free(ic->cfg);
	free(ic->name);
	free(ic->plugin);
	rfx_expr_free(ic->match);
	rfx_schema_free(rfx_group_options, &ic->group);
}

void rfx_conf_free(struct rfx_conf *c)
{
	if (!c)
		return;
	inst_free(&c->store);
	for (size_t i = 0; i < c->ninputs; i++)
		inst_free(&c->inputs[i]);
	for (size_t i = 0; i < c->noutputs; i++)
		inst_free(&c->outputs[i]);
	free(c->inputs);
	free(c->outputs);
	free(c->tokens);
	rfx_schema_free(rfx_agent_options, &c->agent);
	rfx_schema_free(rfx_api_options, &c->api);
	rfx_schema_free(rfx_pipeline_options, &c->pipeline);
	rfx_loader_free(c->loader);
	rfx_doc_free(c->doc);
	free(c->path);
	free(c->dir);
	free(c);
}
