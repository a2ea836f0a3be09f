/*
 * core/reflexd.c - the agent's main: command line, signals, reload.
 *
 *   reflexd -c FILE            run the agent
 *   reflexd --check-config FILE validate FILE exactly as -c would, then exit
 *   reflexd --describe PLUGIN  print a plugin's options from its schema
 *   reflexd --list-plugins     list the plugins found in the search path
 *
 * SIGTERM/SIGINT stop gracefully (everything queued is stored and delivered);
 * SIGHUP reloads the configuration if it validates and keeps the old one
 * otherwise.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "conf.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "schema.h"
#include "timer.h"
#include "version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: reflexd -c FILE                run the agent on FILE\n"
		"       reflexd --check-config FILE    validate FILE (exactly as -c would) and exit\n"
		"       reflexd --describe PLUGIN      print the options of PLUGIN (a name like\n"
		"                                      webhook, kind/name like output/file, a .so\n"
		"                                      path, or a core section: agent, agent.api,\n"
		"                                      pipeline)\n"
		"       reflexd --list-plugins         list installed plugins\n"
		"       reflexd --version | --help\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop after storing and delivering what is queued;\n"
		"SIGHUP reloads FILE if it validates (the old configuration stays otherwise).\n"
		"Plugins are searched in agent.plugin_dirs, $REFLEX_PLUGIN_PATH, then %s.\n"
		"Documentation: docs/configuration.md, docs/api.md, docs/plugin-guide.md.\n",
		RFX_PLUGIN_DIR);
}

static const char *const type_words[] = {"event", "incident", "action", "notice"};

static void print_types(unsigned mask)
{
	int any = 0;
	for (int i = 0; i < 4; i++)
		if (mask & (1u << i))
			printf("%s%s", any++ ? ", " : "", type_words[i]);
	if (!any)
		printf("-");
	printf("\n");
}

static int describe(const char *spec)
{
	char err[1024];
	const rfx_option *core = NULL;

	if (strcmp(spec, "agent") == 0)
		core = rfx_agent_options;
	else if (strcmp(spec, "agent.api") == 0 || strcmp(spec, "api") == 0)
		core = rfx_api_options;
	else if (strcmp(spec, "pipeline") == 0)
		core = rfx_pipeline_options;
	if (core) {
		printf("core section %s\n\noptions:\n", spec);
		rfx_schema_describe(core, stdout, 2);
		if (core == rfx_api_options)
			printf("  tokens  (list of {token, role})\n"
			       "      Bearer tokens; role is viewer, operator or admin. Without tokens\n"
			       "      the API is open, which is only allowed on a loopback address.\n");
		return 0;
	}
	struct rfx_loader *l = rfx_loader_new(NULL);
	if (!l)
		return 1;
	const rfx_plugin *d = rfx_loader_find_any(l, spec, err, sizeof(err));
	if (!d) {
		fprintf(stderr, "reflexd: %s\n", err);
		rfx_loader_free(l);
		return 1;
	}
	printf("%s plugin %s %s\n  %s\n  file: %s\n  accepts: ", rfx_kind_name(d->kind), d->name,
	       d->version ? d->version : "", d->description ? d->description : "",
	       rfx_loader_path(l, d));
	print_types(d->accepts);
	printf("  emits: ");
	print_types(d->emits);
	printf("\noptions:\n");
	if (d->kind == RFX_KIND_INPUT)
		printf("  name  (string, required)\n      Unique instance name, used in logs and "
		       "metrics\n  plugin  (string, required)\n      %s\n", d->name);
	else if (d->kind == RFX_KIND_OUTPUT)
		printf("  name  (string, required)\n      Unique instance name\n"
		       "  plugin  (string, required)\n      %s\n"
		       "  match  (expression)\n      Only events for which this holds are delivered "
		       "(docs/expressions.md)\n", d->name);
	if (d->options)
		rfx_schema_describe(d->options, stdout, 2);
	else
		printf("  (no plugin options)\n");
	rfx_loader_free(l);
	return 0;
}

static int check_config(const char *path)
{
	rfx_diag d;
	rfx_diag_init(&d);
	struct rfx_conf *c = rfx_conf_load(path, &d);
	if (!c) {
		rfx_diag_print(&d, stderr);
		fprintf(stderr, "%s: %zu error%s\n", path, d.n, d.n == 1 ? "" : "s");
		rfx_diag_free(&d);
		return 1;
	}
	printf("%s: configuration is valid (%zu input%s, %zu output%s, store %s)\n", path,
	       c->ninputs, c->ninputs == 1 ? "" : "s", c->noutputs, c->noutputs == 1 ? "" : "s",
	       c->store.desc->name);
	rfx_conf_free(c);
	rfx_diag_free(&d);
	return 0;
}

static struct rfx_conf *load_or_report(const char *path)
{
	rfx_diag d;
	rfx_diag_init(&d);
	struct rfx_conf *c = rfx_conf_load(path, &d);
	/* every error, as --check-config prints them: the log's rate limit
	 * must not hide the 21st mistake */
	rfx_diag_print(&d, stderr);
	rfx_diag_free(&d);
	return c;
}

static int run(const char *path)
{
	sigset_t set;
	int sig, rc = 0;

	/* Signals are taken synchronously by this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct rfx_conf *conf = load_or_report(path);
	if (!conf) {
		fprintf(stderr, "reflexd: %s is not valid; see the errors above "
			"(reflexd --check-config %s)\n", path, path);
		return 1;
	}
	rfx_log_set_level(conf->agent.log.level);
	struct rfx_agent *agent = rfx_agent_start(conf);
	if (!agent) {
		rfx_conf_free(conf);
		rc = 1;
		goto out;
	}
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig != SIGHUP) {
			rfx_log(RFX_LOG_INFO, "agent", "signal %d: stopping after storing and "
				"delivering what is queued", sig);
			break;
		}
		rfx_log(RFX_LOG_INFO, "agent", "SIGHUP: reloading %s", path);
		struct rfx_conf *next = load_or_report(path);
		if (!next) {
			rfx_log(RFX_LOG_ERROR, "agent", "reload refused: %s is not valid; keeping the "
				"running configuration", path);
			continue;
		}
		rfx_agent_stop(agent);
		rfx_log_set_level(next->agent.log.level);
		agent = rfx_agent_start(next);
		if (agent) {
			rfx_conf_free(conf);
			conf = next;
			rfx_log(RFX_LOG_INFO, "agent", "reloaded %s", path);
			continue;
		}
		rfx_log(RFX_LOG_ERROR, "agent", "the new configuration did not start; going back "
			"to the previous one");
		rfx_conf_free(next);
		rfx_log_set_level(conf->agent.log.level);
		if (!(agent = rfx_agent_start(conf))) {
			rfx_log(RFX_LOG_ERROR, "agent", "the previous configuration did not start "
				"either; exiting");
			rc = 1;
			break;
		}
	}
	rfx_agent_stop(agent);
	rfx_conf_free(conf);
	rfx_log(RFX_LOG_INFO, "agent", "stopped");
out:
	rfx_timers_stop();
	rfx_metrics_shutdown();
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"describe", required_argument, NULL, 'D'},
		{"list-plugins", no_argument, NULL, 'L'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			return run(optarg);
		case 'C':
			return check_config(optarg);
		case 'D':
			return describe(optarg);
		case 'L': {
			struct rfx_loader *l = rfx_loader_new(NULL);
			int refused = l ? rfx_loader_list(l, stdout) : 1;
			rfx_loader_free(l);
			return refused ? 1 : 0;
		}
		case 'V':
			printf("reflexd %s (plugin ABI %d.%d)\n", RFX_VERSION, RFX_ABI_MAJOR, RFX_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	usage(stderr);
	return 64;
}
