/*
 * fuzz/fuzz_config.c - libFuzzer target for the YAML front end and option
 * schemas (core/config.c, core/config_include.c, core/diag.c,
 * core/schema.c). Arbitrary text is parsed as a document; when its root is
 * a mapping it is applied to a table that has one option of every type,
 * including a nested section, then freed. Every diagnostic is printed so
 * that the message formatting runs too.
 *
 * The loader honours `include:` and ${file:...}; inputs naming device or
 * pseudo files are skipped because reading a FIFO or tty would block the
 * run without saying anything about the parser.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_retry {
	int64_t attempts;
	int64_t backoff_ms;
};

struct fz_cfg {
	char *listen;
	int64_t workers;
	bool tls;
	double ratio;
	int64_t timeout_ms;
	uint64_t max_body;
	int format;
	struct rfx_strlist tags;
	struct rfx_strmap headers;
	char *token;
	struct fz_retry retry;
	struct rfx_seclist routes;
};

struct fz_route {
	char *name;
	int64_t weight;
	struct rfx_strlist tags;
	struct fz_retry retry;
};

static const char *const fz_formats[] = { "json", "text", "logfmt", NULL };

static const rfx_option fz_retry_opts[] = {
	{ "attempts", RFX_OPT_INT, "3", RFX_OPT_RANGE, 0, 100, NULL, "tries",
	  offsetof(struct fz_retry, attempts), NULL },
	{ "backoff", RFX_OPT_DURATION, "1s", RFX_OPT_RANGE, 1, 3600000, NULL, "pause",
	  offsetof(struct fz_retry, backoff_ms), NULL },
	RFX_OPTION_END,
};

static const rfx_option fz_route_opts[] = {
	{ "name", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL, "name",
	  offsetof(struct fz_route, name), NULL },
	{ "weight", RFX_OPT_INT, "1", RFX_OPT_RANGE, 0, 10, NULL, "weight",
	  offsetof(struct fz_route, weight), NULL },
	{ "tags", RFX_OPT_LIST, "[a]", 0, 0, 0, NULL, "tags", offsetof(struct fz_route, tags), NULL },
	{ "retry", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "retries",
	  offsetof(struct fz_route, retry), fz_retry_opts },
	RFX_OPTION_END_SIZE(struct fz_route),
};

static const rfx_option fz_opts[] = {
	{ "listen", RFX_OPT_STRING, "0.0.0.0:514", 0, 0, 0, NULL, "address",
	  offsetof(struct fz_cfg, listen), NULL },
	{ "workers", RFX_OPT_INT, "2", RFX_OPT_RANGE, 1, 64, NULL, "threads",
	  offsetof(struct fz_cfg, workers), NULL },
	{ "tls", RFX_OPT_BOOL, "false", 0, 0, 0, NULL, "use TLS",
	  offsetof(struct fz_cfg, tls), NULL },
	{ "ratio", RFX_OPT_DOUBLE, "0.5", RFX_OPT_RANGE, 0, 1, NULL, "sampling",
	  offsetof(struct fz_cfg, ratio), NULL },
	{ "timeout", RFX_OPT_DURATION, "30s", 0, 0, 0, NULL, "timeout",
	  offsetof(struct fz_cfg, timeout_ms), NULL },
	{ "max_body", RFX_OPT_SIZE, "64KiB", RFX_OPT_RANGE, 1, 1073741824.0, NULL, "limit",
	  offsetof(struct fz_cfg, max_body), NULL },
	{ "format", RFX_OPT_ENUM, "json", 0, 0, 0, fz_formats, "encoding",
	  offsetof(struct fz_cfg, format), NULL },
	{ "tags", RFX_OPT_LIST, NULL, 0, 0, 0, NULL, "tags",
	  offsetof(struct fz_cfg, tags), NULL },
	{ "headers", RFX_OPT_MAP, NULL, 0, 0, 0, NULL, "headers",
	  offsetof(struct fz_cfg, headers), NULL },
	{ "token", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED | RFX_OPT_SECRET, 0, 0, NULL, "secret",
	  offsetof(struct fz_cfg, token), NULL },
	{ "retry", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "retries",
	  offsetof(struct fz_cfg, retry), fz_retry_opts },
	{ "routes", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL, "routes",
	  offsetof(struct fz_cfg, routes), fz_route_opts },
	RFX_OPTION_END,
};

static const char *const fz_extra[] = { "name", "plugin", "match", NULL };

static FILE *devnull;

static bool names_special_file(const char *s)
{
	return strstr(s, "/dev") || strstr(s, "/proc") || strstr(s, "/sys") ||
	       strstr(s, "/run") || strchr(s, '*') || strchr(s, '?') || strchr(s, '[');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL;
	rfx_diag d;
	rfx_doc *doc = NULL;
	const rfx_node *root;
	struct fz_cfg cfg;

	if (!devnull) {
		char err[256];
		if (rfx_schema_check(fz_opts, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_config: bad option table: %s\n", err);
			abort();
		}
		devnull = fopen("/dev/null", "w");
		if (!devnull)
			abort();
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rfx_diag_init(&d);
	/* A glob or device path in include:/${file:} would fuzz the file system. */
	if ((strstr(text, "include") || strstr(text, "${")) && names_special_file(text))
		goto out;
	doc = rfx_doc_parse("fuzz.yaml", text, &d);
	if (!doc)
		goto out;
	root = rfx_doc_root(doc);
	if (root && root->type == RFX_NODE_MAP) {
		memset(&cfg, 0, sizeof(cfg));
		(void)rfx_schema_apply(fz_opts, root, &cfg, "inputs[0] (fuzz)", fz_extra, &d);
		if (cfg.tags.n && !cfg.tags.v)
			__builtin_trap();
		if (cfg.headers.n && (!cfg.headers.keys || !cfg.headers.values))
			__builtin_trap();
		rfx_schema_free(fz_opts, &cfg);
	}
	rfx_diag_print(&d, devnull);
out:
	rfx_doc_free(doc);
	rfx_diag_free(&d);
	free(text);
	return 0;
}
