/*
 * tests/unit/test_config.c - the YAML front end (core/config.c) and option
 * schemas (core/schema.c): every error class with its exact file:line:col,
 * substitution, includes, filling typed config structs, and table checks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <CUnit/Basic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "schema.h"

/* ---- fixtures ----------------------------------------------------------- */

static char tmpdir[64];

static int suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rfx_test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes tmpdir/name and returns its full path in out. */
static void write_file(const char *name, const char *text, char *out, size_t outlen)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	if (out)
		snprintf(out, outlen, "%s", path);
}

/* Asserts that diag message i equals "<file>:<rest>" where file is the temp
 * path of name (rest starts with line:col). */
static void assert_msg_in(const rfx_diag *d, size_t i, const char *name, const char *rest)
{
	char want[1024];
	snprintf(want, sizeof(want), "%s/%s:%s", tmpdir, name, rest);
	CU_ASSERT_FATAL(i < d->n);
	CU_ASSERT_STRING_EQUAL(d->msgs[i], want);
}

struct tls_cfg {
	char *cert;
	bool verify;
	int64_t timeout_ms;
};

struct test_cfg {
	char *path;
	int64_t port;
	bool enabled;
	double ratio;
	int64_t timeout_ms;
	uint64_t max_body;
	int mode;
	struct rfx_strlist tags;
	struct rfx_strmap headers;
	struct tls_cfg tls;
	char *token;
};

static const char *const modes[] = { "append", "truncate", "rotate", NULL };

static const rfx_option tls_opts[] = {
	{ "cert", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL, "certificate file",
	  offsetof(struct tls_cfg, cert), NULL },
	{ "verify", RFX_OPT_BOOL, "true", 0, 0, 0, NULL, "verify peers",
	  offsetof(struct tls_cfg, verify), NULL },
	{ "timeout", RFX_OPT_DURATION, "5s", RFX_OPT_RANGE, 1000, 60000, NULL, "handshake timeout",
	  offsetof(struct tls_cfg, timeout_ms), NULL },
	RFX_OPTION_END,
};

static const rfx_option test_opts[] = {
	{ "path", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL, "where to write",
	  offsetof(struct test_cfg, path), NULL },
	{ "port", RFX_OPT_INT, "8080", RFX_OPT_RANGE, 1, 65535, NULL, "TCP port",
	  offsetof(struct test_cfg, port), NULL },
	{ "enabled", RFX_OPT_BOOL, "yes", 0, 0, 0, NULL, "on or off",
	  offsetof(struct test_cfg, enabled), NULL },
	{ "ratio", RFX_OPT_DOUBLE, "0.5", RFX_OPT_RANGE, 0, 1, NULL, "sampling ratio",
	  offsetof(struct test_cfg, ratio), NULL },
	{ "timeout", RFX_OPT_DURATION, "30s", RFX_OPT_RANGE, 1000, 3600000, NULL, "timeout",
	  offsetof(struct test_cfg, timeout_ms), NULL },
	{ "max_body", RFX_OPT_SIZE, "64KiB", RFX_OPT_RANGE, 1024, 1048576, NULL, "body limit",
	  offsetof(struct test_cfg, max_body), NULL },
	{ "mode", RFX_OPT_ENUM, "append", 0, 0, 0, modes, "file mode",
	  offsetof(struct test_cfg, mode), NULL },
	{ "tags", RFX_OPT_LIST, "[a, b]", 0, 0, 0, NULL, "tags", offsetof(struct test_cfg, tags),
	  NULL },
	{ "headers", RFX_OPT_MAP, NULL, 0, 0, 0, NULL, "extra headers",
	  offsetof(struct test_cfg, headers), NULL },
	{ "tls", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "TLS settings",
	  offsetof(struct test_cfg, tls), tls_opts },
	{ "token", RFX_OPT_STRING, "s3cret-default", RFX_OPT_SECRET, 0, 0, NULL, "API token",
	  offsetof(struct test_cfg, token), NULL },
	RFX_OPTION_END,
};

static const char *const extra_keys[] = { "name", "plugin", "match", NULL };

/* Parses text as t.yaml and applies test_opts with context "out". Returns the
 * number of schema errors; the diag holds parse and schema errors. */
static int apply_opts(const rfx_option *opts, const char *file, const char *text, void *cfg,
		      size_t cfg_size, rfx_diag *d)
{
	rfx_diag_init(d);
	memset(cfg, 0, cfg_size);
	rfx_doc *doc = rfx_doc_parse(file, text, d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	int n = rfx_schema_apply(opts, rfx_doc_root(doc), cfg, "out", extra_keys, d);
	rfx_doc_free(doc);
	return n;
}

static int apply_text(const char *text, struct test_cfg *cfg, rfx_diag *d)
{
	return apply_opts(test_opts, "t.yaml", text, cfg, sizeof(*cfg), d);
}

static void assert_one_error(const char *text, const char *want)
{
	struct test_cfg cfg;
	rfx_diag d;
	int n = apply_text(text, &cfg, &d);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(d.n, 1);
	if (d.n >= 1)
		CU_ASSERT_STRING_EQUAL(d.msgs[0], want);
	rfx_schema_free(test_opts, &cfg);
	rfx_diag_free(&d);
}

/* ---- config.c: parsing -------------------------------------------------- */

static void test_doc_nodes_carry_one_based_positions(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "a: 1\nb:\n  c: \"x\"\n  d: [1, ~]\n", &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(root->type, RFX_NODE_MAP);
	CU_ASSERT_EQUAL(root->n, 2);
	const rfx_node *a = rfx_node_get(root, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->value, "1");
	CU_ASSERT_STRING_EQUAL(a->file, "t.yaml");
	CU_ASSERT_EQUAL(a->line, 1);
	CU_ASSERT_EQUAL(a->col, 4);
	const rfx_node *b = rfx_node_get(root, "b");
	const rfx_node *bk = rfx_node_key(root, "b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(bk->line, 2);
	CU_ASSERT_EQUAL(bk->col, 1);
	CU_ASSERT_EQUAL(b->type, RFX_NODE_MAP);
	CU_ASSERT_EQUAL(b->line, 3);
	CU_ASSERT_EQUAL(b->col, 3);
	const rfx_node *c = rfx_node_get(b, "c");
	CU_ASSERT_TRUE(c->quoted);
	CU_ASSERT_FALSE(c->null);
	CU_ASSERT_EQUAL(c->col, 6);
	const rfx_node *dn = rfx_node_get(b, "d");
	CU_ASSERT_EQUAL(dn->type, RFX_NODE_SEQ);
	CU_ASSERT_EQUAL_FATAL(dn->n, 2);
	CU_ASSERT_EQUAL(dn->items[1]->line, 4);
	CU_ASSERT_EQUAL(dn->items[1]->col, 10);
	CU_ASSERT_TRUE(dn->items[1]->null);
	CU_ASSERT_STRING_EQUAL(dn->items[1]->value, "");
	CU_ASSERT_PTR_NULL(rfx_node_get(root, "zz"));
	CU_ASSERT_STRING_EQUAL(rfx_node_type_name(RFX_NODE_SEQ), "sequence");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_empty_text_is_empty_mapping(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "", &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL(root->type, RFX_NODE_MAP);
	CU_ASSERT_EQUAL(root->n, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_duplicate_key_names_first_position(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\na: 4\n", &d);
	CU_ASSERT_PTR_NOT_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 2);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:5:3: duplicate key 'x' (first at t.yaml:3:3)");
	CU_ASSERT_STRING_EQUAL(d.msgs[1], "t.yaml:6:1: duplicate key 'a' (first at t.yaml:1:1)");
	/* The first definition is kept. */
	CU_ASSERT_STRING_EQUAL(rfx_node_get(rfx_doc_root(doc), "a")->value, "1");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_syntax_error_has_position_and_problem(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "a: 1\nb: c: d\n", &d);
	CU_ASSERT_PTR_NOT_NULL(doc);
	CU_ASSERT_PTR_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:2:5: mapping values are not allowed in this context");
	rfx_doc_free(doc);
	rfx_diag_free(&d);

	rfx_diag_init(&d);
	doc = rfx_doc_parse("t.yaml", "a: [1, 2\nb: 3\n", &d);
	CU_ASSERT_PTR_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:2:2: did not find expected ',' or ']' "
					  "(while parsing a flow sequence at line 1 column 4)");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_second_document_is_refused(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "a: 1\n---\nb: 2\n", &d);
	CU_ASSERT_PTR_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:2:1: only one YAML document per file is allowed");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_non_scalar_key_is_error(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "a: 1\n? [x, y]\n: 2\n", &d);
	CU_ASSERT_PTR_NOT_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:2:3: mapping keys must be scalars, got a sequence");
	CU_ASSERT_EQUAL(rfx_doc_root(doc)->n, 1);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_alias_copies_anchor_and_unknown_alias_is_error(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", "x: &A {p: 1}\ny: *A\nz: *B\n", &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	const rfx_node *y = rfx_node_get(root, "y");
	CU_ASSERT_EQUAL(y->type, RFX_NODE_MAP);
	CU_ASSERT_EQUAL(y->line, 2);
	CU_ASSERT_EQUAL(y->col, 4);
	CU_ASSERT_STRING_EQUAL(rfx_node_get(y, "p")->value, "1");
	CU_ASSERT_PTR_NOT_EQUAL(y, rfx_node_get(root, "x"));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0],
			       "t.yaml:3:4: unknown anchor 'B' (or an alias inside its own anchor)");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_alias_bomb_is_bounded(void)
{
	/* Each level doubles: 2^20 leaves if expanded without a limit. */
	char text[4096];
	size_t len = (size_t)snprintf(text, sizeof(text), "a0: &a0 [x, x]\n");
	for (int i = 1; i <= 20; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "a%d: &a%d [*a%d, *a%d]\n", i, i,
					i - 1, i - 1);
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_parse("t.yaml", text, &d);
	CU_ASSERT_PTR_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msgs[0], "document too large"));
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

/* ---- config.c: substitution --------------------------------------------- */

static void test_doc_env_substitution_and_escape(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	setenv("RFX_TEST_TOKEN", "abc", 1);
	rfx_doc *doc = rfx_doc_parse(
		"t.yaml", "a: \"x-${RFX_TEST_TOKEN}-y\"\nb: $${RFX_TEST_TOKEN}\nc: cost $5\n", &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(rfx_node_get(root, "a")->value, "x-abc-y");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(root, "b")->value, "${RFX_TEST_TOKEN}");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(root, "c")->value, "cost $5");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_unset_env_var_is_error_at_value(void)
{
	rfx_diag d;
	rfx_diag_init(&d);
	unsetenv("REFLEX_ADMIN_TOKEN");
	rfx_doc *doc = rfx_doc_parse("t.yaml",
				     "agent:\n  api:\n    token: ${REFLEX_ADMIN_TOKEN}\n"
				     "    other: ${bad name}\n    open: ${UNCLOSED\n",
				     &d);
	CU_ASSERT_PTR_NOT_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 3);
	CU_ASSERT_STRING_EQUAL(d.msgs[0],
			       "t.yaml:3:12: environment variable 'REFLEX_ADMIN_TOKEN' is not set");
	CU_ASSERT_STRING_EQUAL(
		d.msgs[1],
		"t.yaml:4:12: bad substitution '${bad name}': expected ${NAME} or ${file:PATH}");
	CU_ASSERT_STRING_EQUAL(d.msgs[2],
			       "t.yaml:5:11: unterminated '${' (write '$${' for a literal '${')");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_file_substitution_relative_and_unreadable(void)
{
	char main_path[256];
	write_file("secret.txt", "hunter2\n\n", NULL, 0);
	write_file("file_subst.yaml",
		   "pw: ${file:secret.txt}\nwrapped: \"<${file:secret.txt}>\"\n"
		   "missing: ${file:nope.txt}\n",
		   main_path, sizeof(main_path));
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(main_path, &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_STRING_EQUAL(rfx_node_get(root, "pw")->value, "hunter2");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(root, "wrapped")->value, "<hunter2>");
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	char rest[512];
	snprintf(rest, sizeof(rest),
		 "3:10: cannot read file '%s/nope.txt' for ${file:}: No such file or directory",
		 tmpdir);
	assert_msg_in(&d, 0, "file_subst.yaml", rest);
	rfx_doc_free(doc);
	rfx_diag_free(&d);

	/* An absolute path is used as is. */
	char text[512];
	snprintf(text, sizeof(text), "pw: ${file:%s/secret.txt}\n", tmpdir);
	rfx_diag_init(&d);
	doc = rfx_doc_parse("elsewhere/t.yaml", text, &d);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(rfx_node_get(rfx_doc_root(doc), "pw")->value, "hunter2");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_load_missing_file_reports_path(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/does-not-exist.yaml", tmpdir);
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(path, &d);
	CU_ASSERT_PTR_NOT_NULL(doc);
	CU_ASSERT_PTR_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	char want[512];
	snprintf(want, sizeof(want), "cannot read '%s': No such file or directory", path);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], want);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

/* ---- config.c: includes ------------------------------------------------- */

static void test_doc_include_concatenates_lists_and_merges_maps(void)
{
	char main_path[256];
	write_file("inc_a.yaml", "inputs:\n  - name: b\nagent:\n  log: debug\nstore:\n  path: x\n",
		   NULL, 0);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/conf.d", tmpdir);
	mkdir(sub, 0700);
	write_file("conf.d/1.yaml", "inputs:\n  - name: c\n", NULL, 0);
	write_file("conf.d/2.yaml", "outputs:\n  - name: o\n", NULL, 0);
	write_file("inc_main.yaml",
		   "include:\n  - inc_a.yaml\n  - conf.d/*.yaml\n  - none.d/*.yaml\n"
		   "agent:\n  name: n\ninputs:\n  - name: a\n",
		   main_path, sizeof(main_path));
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(main_path, &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_EQUAL(d.n, 0);
	rfx_diag_print(&d, stderr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_PTR_NULL(rfx_node_get(root, "include"));
	const rfx_node *inputs = rfx_node_get(root, "inputs");
	CU_ASSERT_PTR_NOT_NULL_FATAL(inputs);
	CU_ASSERT_EQUAL_FATAL(inputs->n, 3);
	CU_ASSERT_STRING_EQUAL(rfx_node_get(inputs->items[0], "name")->value, "a");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(inputs->items[1], "name")->value, "b");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(inputs->items[2], "name")->value, "c");
	/* Included nodes keep their own file and position. */
	char inc_a[256];
	snprintf(inc_a, sizeof(inc_a), "%s/inc_a.yaml", tmpdir);
	CU_ASSERT_STRING_EQUAL(inputs->items[1]->file, inc_a);
	CU_ASSERT_EQUAL(inputs->items[1]->line, 2);
	CU_ASSERT_EQUAL(inputs->items[1]->col, 5);
	const rfx_node *agent = rfx_node_get(root, "agent");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(agent, "name")->value, "n");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(agent, "log")->value, "debug");
	CU_ASSERT_STRING_EQUAL(rfx_node_get(rfx_node_get(root, "store"), "path")->value, "x");
	CU_ASSERT_EQUAL(rfx_node_get(root, "outputs")->n, 1);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_include_conflict_names_both_positions(void)
{
	char main_path[256];
	write_file("conf_inc.yaml", "agent:\n  name: other\n  api: [1]\n", NULL, 0);
	write_file("conf_main.yaml", "include: conf_inc.yaml\nagent:\n  name: mine\n  api:\n    x: 1\n",
		   main_path, sizeof(main_path));
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(main_path, &d);
	CU_ASSERT_PTR_NOT_NULL(rfx_doc_root(doc));
	CU_ASSERT_EQUAL_FATAL(d.n, 2);
	char rest[512];
	snprintf(rest, sizeof(rest), "2:3: key 'name' is already defined at %s/conf_main.yaml:3:3",
		 tmpdir);
	assert_msg_in(&d, 0, "conf_inc.yaml", rest);
	snprintf(rest, sizeof(rest),
		 "3:3: key 'api' is a sequence here but a mapping at %s/conf_main.yaml:4:3; "
		 "cannot merge them",
		 tmpdir);
	assert_msg_in(&d, 1, "conf_inc.yaml", rest);
	/* The including file's value wins. */
	CU_ASSERT_STRING_EQUAL(
		rfx_node_get(rfx_node_get(rfx_doc_root(doc), "agent"), "name")->value, "mine");
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_include_cycle_is_detected(void)
{
	char main_path[256];
	write_file("cyc_b.yaml", "include: cyc_a.yaml\nb: 1\n", NULL, 0);
	write_file("cyc_a.yaml", "include: [cyc_b.yaml]\na: 1\n", main_path, sizeof(main_path));
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(main_path, &d);
	const rfx_node *root = rfx_doc_root(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	/* realpath of tmpdir may differ (symlinked /tmp); compare the tail. */
	char *real = realpath(tmpdir, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(real);
	char rest[1024];
	snprintf(rest, sizeof(rest),
		 "1:10: include cycle: %s/cyc_a.yaml -> %s/cyc_b.yaml -> %s/cyc_a.yaml", real, real,
		 real);
	assert_msg_in(&d, 0, "cyc_b.yaml", rest);
	free(real);
	CU_ASSERT_PTR_NOT_NULL(rfx_node_get(root, "b"));
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

static void test_doc_include_missing_file_is_error_at_item(void)
{
	char main_path[256];
	write_file("miss_main.yaml", "include:\n  - nope.yaml\n", main_path, sizeof(main_path));
	rfx_diag d;
	rfx_diag_init(&d);
	rfx_doc *doc = rfx_doc_load(main_path, &d);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	char rest[512];
	snprintf(rest, sizeof(rest), "2:5: cannot read '%s/nope.yaml': No such file or directory",
		 tmpdir);
	assert_msg_in(&d, 0, "miss_main.yaml", rest);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

/* ---- schema.c: filling -------------------------------------------------- */

static void test_schema_defaults_fill_absent_keys_and_sections(void)
{
	struct test_cfg cfg;
	rfx_diag d;
	int n = apply_text("path: /var/log/x\n", &cfg, &d);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(cfg.path, "/var/log/x");
	CU_ASSERT_EQUAL(cfg.port, 8080);
	CU_ASSERT_TRUE(cfg.enabled);
	CU_ASSERT_DOUBLE_EQUAL(cfg.ratio, 0.5, 1e-9);
	CU_ASSERT_EQUAL(cfg.timeout_ms, 30000);
	CU_ASSERT_EQUAL(cfg.max_body, 65536);
	CU_ASSERT_EQUAL(cfg.mode, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.tags.n, 2);
	CU_ASSERT_STRING_EQUAL(cfg.tags.v[0], "a");
	CU_ASSERT_STRING_EQUAL(cfg.tags.v[1], "b");
	CU_ASSERT_EQUAL(cfg.headers.n, 0);
	/* Section defaults apply even without the section. */
	CU_ASSERT_PTR_NULL(cfg.tls.cert);
	CU_ASSERT_TRUE(cfg.tls.verify);
	CU_ASSERT_EQUAL(cfg.tls.timeout_ms, 5000);
	CU_ASSERT_STRING_EQUAL(cfg.token, "s3cret-default");
	rfx_schema_free(test_opts, &cfg);
	CU_ASSERT_PTR_NULL(cfg.path);
	CU_ASSERT_PTR_NULL(cfg.token);
	CU_ASSERT_EQUAL(cfg.tags.n, 0);
	CU_ASSERT_PTR_NULL(cfg.tags.v);
	rfx_diag_free(&d);
}

static void test_schema_fills_every_type_and_nested_section(void)
{
	struct test_cfg cfg;
	rfx_diag d;
	int n = apply_text("name: out1\nplugin: file\npath: /p\nport: 9000\nenabled: off\n"
			   "ratio: 0.25\ntimeout: 1m30s\nmax_body: 1MiB\nmode: rotate\n"
			   "tags: solo\nheaders:\n  X-A: 1\n  X-B: two\n"
			   "tls:\n  cert: /c.pem\n  verify: No\ntoken: t\n",
			   &cfg, &d);
	CU_ASSERT_EQUAL(n, 0);
	rfx_diag_print(&d, stderr);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_STRING_EQUAL(cfg.path, "/p");
	CU_ASSERT_EQUAL(cfg.port, 9000);
	CU_ASSERT_FALSE(cfg.enabled);
	CU_ASSERT_DOUBLE_EQUAL(cfg.ratio, 0.25, 1e-9);
	CU_ASSERT_EQUAL(cfg.timeout_ms, 90000);
	CU_ASSERT_EQUAL(cfg.max_body, 1048576);
	CU_ASSERT_EQUAL(cfg.mode, 2);
	CU_ASSERT_EQUAL_FATAL(cfg.tags.n, 1);
	CU_ASSERT_STRING_EQUAL(cfg.tags.v[0], "solo");
	CU_ASSERT_EQUAL_FATAL(cfg.headers.n, 2);
	CU_ASSERT_STRING_EQUAL(cfg.headers.keys[0], "X-A");
	CU_ASSERT_STRING_EQUAL(cfg.headers.values[0], "1");
	CU_ASSERT_STRING_EQUAL(cfg.headers.keys[1], "X-B");
	CU_ASSERT_STRING_EQUAL(cfg.headers.values[1], "two");
	CU_ASSERT_STRING_EQUAL(cfg.tls.cert, "/c.pem");
	CU_ASSERT_FALSE(cfg.tls.verify);
	CU_ASSERT_EQUAL(cfg.tls.timeout_ms, 5000);
	CU_ASSERT_STRING_EQUAL(cfg.token, "t");
	rfx_schema_free(test_opts, &cfg);
	CU_ASSERT_PTR_NULL(cfg.tls.cert);
	CU_ASSERT_EQUAL(cfg.headers.n, 0);
	CU_ASSERT_PTR_NULL(cfg.headers.keys);
	rfx_diag_free(&d);

	/* A sequence replaces the default list. */
	n = apply_text("path: /p\ntags: [x, y, z]\n", &cfg, &d);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.tags.n, 3);
	CU_ASSERT_STRING_EQUAL(cfg.tags.v[2], "z");
	rfx_schema_free(test_opts, &cfg);
	rfx_diag_free(&d);
}

/* ---- schema.c: errors --------------------------------------------------- */

static void test_schema_unknown_key_suggests_closest(void)
{
	assert_one_error("path: /p\npth: /q\n",
			 "t.yaml:2:1: out: unknown key 'pth'; did you mean 'path'?");
	/* Extra keys take part in suggestions too. */
	assert_one_error("path: /p\nplugn: x\n",
			 "t.yaml:2:1: out: unknown key 'plugn'; did you mean 'plugin'?");
}

static void test_schema_unknown_key_lists_allowed_keys(void)
{
	assert_one_error("path: /p\nzzzzzzzz: 1\n",
			 "t.yaml:2:1: out: unknown key 'zzzzzzzz'; allowed keys: path, port, "
			 "enabled, ratio, timeout, max_body, mode, tags, headers, tls, token, name, "
			 "plugin, match");
}

static void test_schema_missing_required_is_at_mapping(void)
{
	assert_one_error("\n  port: 80\n", "t.yaml:2:3: out: missing required key 'path'");
	/* Inside a section the context grows and the position is the section. */
	assert_one_error("path: /p\ntls:\n    verify: true\n",
			 "t.yaml:3:5: out.tls: missing required key 'cert'");
	/* An empty section value positions at that value. */
	assert_one_error("path: /p\ntls:\n", "t.yaml:2:5: out.tls: missing required key 'cert'");
}

static void test_schema_wrong_node_type(void)
{
	assert_one_error("path:\n  a: 1\n",
			 "t.yaml:2:3: out: 'path': expected a scalar, got a mapping");
	assert_one_error("path: /p\ntls: [1]\n",
			 "t.yaml:2:6: out: 'tls': expected a mapping, got a sequence");
	assert_one_error("path: /p\nheaders: [1]\n",
			 "t.yaml:2:10: out: 'headers': expected a mapping, got a sequence");
	assert_one_error("path: /p\ntags:\n  a: 1\n",
			 "t.yaml:3:3: out: 'tags': expected a list, got a mapping");
	assert_one_error("path: /p\ntags: [a, [b]]\n",
			 "t.yaml:2:11: out: 'tags'[1]: expected a scalar, got a sequence");
	assert_one_error("path: /p\nheaders:\n  x: [1]\n",
			 "t.yaml:3:6: out: 'headers.x': expected a scalar, got a sequence");
	assert_one_error("path: /p\nport:\n", "t.yaml:2:6: out: 'port': expected an integer, got nothing");
}

static void test_schema_bad_scalars(void)
{
	assert_one_error("path: /p\nport: eighty\n",
			 "t.yaml:2:7: out: 'port': expected an integer, got 'eighty'");
	assert_one_error("path: /p\nratio: half\n",
			 "t.yaml:2:8: out: 'ratio': expected a number, got 'half'");
	assert_one_error("path: /p\nenabled: maybe\n",
			 "t.yaml:2:10: out: 'enabled': expected true or false, got 'maybe'");
	assert_one_error("path: /p\ntimeout: 30 parsecs\n",
			 "t.yaml:2:10: out: 'timeout': expected a duration like 30s, got '30 parsecs'");
	assert_one_error("path: /p\nmax_body: lots\n",
			 "t.yaml:2:11: out: 'max_body': expected a size like 64KiB, got 'lots'");
	assert_one_error("path: /p\nmode: rotat\n",
			 "t.yaml:2:7: out: 'mode': expected one of append, truncate, rotate, got "
			 "'rotat'; did you mean 'rotate'?");
	assert_one_error("path: /p\nmode: xyzzy\n",
			 "t.yaml:2:7: out: 'mode': expected one of append, truncate, rotate, got "
			 "'xyzzy'");
}

static void test_schema_out_of_range_says_range_in_human_form(void)
{
	assert_one_error("path: /p\nport: 70000\n",
			 "t.yaml:2:7: out: 'port': 70000 is out of range 1..65535");
	assert_one_error("path: /p\nratio: 1.5\n",
			 "t.yaml:2:8: out: 'ratio': 1.5 is out of range 0..1");
	assert_one_error("path: /p\ntimeout: 2h\n",
			 "t.yaml:2:10: out: 'timeout': 2h is out of range 1s..1h");
	assert_one_error("path: /p\nmax_body: 2MiB\n",
			 "t.yaml:2:11: out: 'max_body': 2MiB is out of range 1KiB..1MiB");
	assert_one_error("path: /p\ntls:\n  cert: c\n  timeout: 500ms\n",
			 "t.yaml:4:12: out.tls: 'timeout': 500ms is out of range 1s..1m");
}

static void test_schema_reports_all_errors_in_one_pass(void)
{
	struct test_cfg cfg;
	rfx_diag d;
	int n = apply_text("port: 0\nenabld: true\ntimeout: soon\ntls:\n  cert: [x]\n  verfy: 1\n",
			   &cfg, &d);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_EQUAL_FATAL(d.n, 6);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "t.yaml:1:7: out: 'port': 0 is out of range 1..65535");
	CU_ASSERT_STRING_EQUAL(d.msgs[1],
			       "t.yaml:2:1: out: unknown key 'enabld'; did you mean 'enabled'?");
	CU_ASSERT_STRING_EQUAL(d.msgs[2],
			       "t.yaml:3:10: out: 'timeout': expected a duration like 30s, got 'soon'");
	CU_ASSERT_STRING_EQUAL(d.msgs[3],
			       "t.yaml:5:9: out.tls: 'cert': expected a scalar, got a sequence");
	CU_ASSERT_STRING_EQUAL(d.msgs[4],
			       "t.yaml:6:3: out.tls: unknown key 'verfy'; did you mean 'verify'?");
	CU_ASSERT_STRING_EQUAL(d.msgs[5], "t.yaml:1:1: out: missing required key 'path'");
	/* Valid values were still filled; bad ones kept their defaults. */
	CU_ASSERT_EQUAL(cfg.port, 8080);
	CU_ASSERT_EQUAL(cfg.timeout_ms, 30000);
	rfx_schema_free(test_opts, &cfg);
	rfx_diag_free(&d);
}

static void test_schema_null_map_applies_defaults_and_requires(void)
{
	struct test_cfg cfg;
	rfx_diag d;
	rfx_diag_init(&d);
	memset(&cfg, 0, sizeof(cfg));
	int n = rfx_schema_apply(test_opts, NULL, &cfg, "outputs[1] (file)", NULL, &d);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "outputs[1] (file): missing required key 'path'");
	CU_ASSERT_EQUAL(cfg.port, 8080);
	rfx_schema_free(test_opts, &cfg);
	rfx_diag_free(&d);
}

static void test_schema_non_mapping_instance_is_error(void)
{
	assert_one_error("- a\n- b\n", "t.yaml:1:1: out: expected a mapping, got a sequence");
}

static void test_schema_map_default_and_extra_keys_accepted(void)
{
	struct map_cfg {
		struct rfx_strmap m;
	} cfg;
	static const rfx_option opts[] = {
		{ "labels", RFX_OPT_MAP, "{team: ops, tier: 1}", 0, 0, 0, NULL, "labels",
		  offsetof(struct map_cfg, m), NULL },
		RFX_OPTION_END,
	};
	static const char *const extra[] = { "name", NULL };
	char err[256];
	CU_ASSERT_EQUAL(rfx_schema_check(opts, err, sizeof(err)), 0);
	rfx_diag d;
	rfx_diag_init(&d);
	memset(&cfg, 0, sizeof(cfg));
	rfx_doc *doc = rfx_doc_parse("t.yaml", "name: x\n", &d);
	CU_ASSERT_EQUAL(rfx_schema_apply(opts, rfx_doc_root(doc), &cfg, "c", extra, &d), 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.m.n, 2);
	CU_ASSERT_STRING_EQUAL(cfg.m.keys[1], "tier");
	CU_ASSERT_STRING_EQUAL(cfg.m.values[1], "1");
	rfx_schema_free(opts, &cfg);
	CU_ASSERT_EQUAL(cfg.m.n, 0);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

/* ---- schema.c: helpers -------------------------------------------------- */

static void test_parse_duration_accepts_units_and_rejects_garbage(void)
{
	int64_t ms = -1;
	CU_ASSERT_EQUAL(rfx_parse_duration("250ms", &ms), 0);
	CU_ASSERT_EQUAL(ms, 250);
	CU_ASSERT_EQUAL(rfx_parse_duration("30s", &ms), 0);
	CU_ASSERT_EQUAL(ms, 30000);
	CU_ASSERT_EQUAL(rfx_parse_duration("5m", &ms), 0);
	CU_ASSERT_EQUAL(ms, 300000);
	CU_ASSERT_EQUAL(rfx_parse_duration("2h", &ms), 0);
	CU_ASSERT_EQUAL(ms, 7200000);
	CU_ASSERT_EQUAL(rfx_parse_duration("1d", &ms), 0);
	CU_ASSERT_EQUAL(ms, 86400000);
	CU_ASSERT_EQUAL(rfx_parse_duration("1h30m", &ms), 0);
	CU_ASSERT_EQUAL(ms, 5400000);
	CU_ASSERT_EQUAL(rfx_parse_duration("1.5s", &ms), 0);
	CU_ASSERT_EQUAL(ms, 1500);
	CU_ASSERT_EQUAL(rfx_parse_duration("45", &ms), 0);
	CU_ASSERT_EQUAL(ms, 45000);
	CU_ASSERT_EQUAL(rfx_parse_duration("0", &ms), 0);
	CU_ASSERT_EQUAL(ms, 0);
	ms = 7;
	CU_ASSERT_EQUAL(rfx_parse_duration("-5s", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("5x", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("s", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("5m3", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("30 parsecs", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("99999999999999999999d", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_duration("9999999999999999d", &ms), RFX_EINVAL);
	CU_ASSERT_EQUAL(ms, 7);
}

static void test_parse_size_accepts_units_and_rejects_garbage(void)
{
	uint64_t b = 1;
	CU_ASSERT_EQUAL(rfx_parse_size("512", &b), 0);
	CU_ASSERT_EQUAL(b, 512);
	CU_ASSERT_EQUAL(rfx_parse_size("64KiB", &b), 0);
	CU_ASSERT_EQUAL(b, 65536);
	CU_ASSERT_EQUAL(rfx_parse_size("64MiB", &b), 0);
	CU_ASSERT_EQUAL(b, 64ull << 20);
	CU_ASSERT_EQUAL(rfx_parse_size("1GiB", &b), 0);
	CU_ASSERT_EQUAL(b, 1ull << 30);
	CU_ASSERT_EQUAL(rfx_parse_size("10KB", &b), 0);
	CU_ASSERT_EQUAL(b, 10000);
	CU_ASSERT_EQUAL(rfx_parse_size("10MB", &b), 0);
	CU_ASSERT_EQUAL(b, 10000000);
	CU_ASSERT_EQUAL(rfx_parse_size("1k", &b), 0);
	CU_ASSERT_EQUAL(b, 1024);
	CU_ASSERT_EQUAL(rfx_parse_size("1M", &b), 0);
	CU_ASSERT_EQUAL(b, 1048576);
	CU_ASSERT_EQUAL(rfx_parse_size("1G", &b), 0);
	CU_ASSERT_EQUAL(b, 1073741824);
	CU_ASSERT_EQUAL(rfx_parse_size("2 GB", &b), 0);
	CU_ASSERT_EQUAL(b, 2000000000);
	b = 3;
	CU_ASSERT_EQUAL(rfx_parse_size("lots", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("-1", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("10 XB", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("10KiBs", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("99999999999999999999", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_parse_size("99999999999TiB", &b), RFX_EINVAL);
	CU_ASSERT_EQUAL(b, 3);
}

static void test_suggest_picks_closest_within_distance(void)
{
	static const char *const cands[] = { "listen", "path", "timeout", "max_body", NULL };
	CU_ASSERT_STRING_EQUAL(rfx_suggest("lisen", cands), "listen");
	CU_ASSERT_STRING_EQUAL(rfx_suggest("pth", cands), "path");
	CU_ASSERT_STRING_EQUAL(rfx_suggest("timout", cands), "timeout");
	CU_ASSERT_STRING_EQUAL(rfx_suggest("maxbody", cands), "max_body");
	CU_ASSERT_PTR_NULL(rfx_suggest("colour", cands));
	CU_ASSERT_PTR_NULL(rfx_suggest("", cands));
	CU_ASSERT_PTR_NULL(rfx_suggest("xy", cands));
}

struct small_cfg {
	int mode;
	int64_t n;
	struct rfx_strlist l;
	struct tls_cfg sec;
};

static void assert_check_refuses(const rfx_option *opts, const char *want)
{
	char err[256];
	CU_ASSERT_EQUAL(rfx_schema_check(opts, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_schema_check_refuses_broken_tables(void)
{
	char err[256];
	CU_ASSERT_EQUAL(rfx_schema_check(test_opts, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(err, "");

	const rfx_option dup[] = {
		{ "n", RFX_OPT_INT, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, n), NULL },
		{ "n", RFX_OPT_INT, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, n), NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(dup, "option 'n' is declared twice");

	const rfx_option no_values[] = {
		{ "mode", RFX_OPT_ENUM, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, mode), NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(no_values, "option 'mode': enum without enum_values");

	const rfx_option bad_enum_default[] = {
		{ "mode", RFX_OPT_ENUM, "sideways", 0, 0, 0, modes, "", offsetof(struct small_cfg, mode),
		  NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(bad_enum_default,
			     "option 'mode': bad default: expected one of append, truncate, rotate, "
			     "got 'sideways'");

	const rfx_option default_out_of_range[] = {
		{ "n", RFX_OPT_INT, "0", RFX_OPT_RANGE, 1, 10, NULL, "", offsetof(struct small_cfg, n),
		  NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(default_out_of_range, "option 'n': bad default: 0 is out of range 1..10");

	const rfx_option no_sub[] = {
		{ "sec", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, sec), NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(no_sub, "option 'sec': section without sub-options");

	static const rfx_option bad_sub[] = {
		{ "timeout", RFX_OPT_DURATION, "soon", 0, 0, 0, NULL, "", 0, NULL },
		RFX_OPTION_END,
	};
	const rfx_option nested[] = {
		{ "sec", RFX_OPT_SECTION, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, sec),
		  bad_sub },
		RFX_OPTION_END,
	};
	assert_check_refuses(nested,
			     "option 'sec.timeout': bad default: expected a duration like 30s, got "
			     "'soon'");

	const rfx_option bad_list_default[] = {
		{ "l", RFX_OPT_LIST, "[a, [b]]", 0, 0, 0, NULL, "", offsetof(struct small_cfg, l), NULL },
		RFX_OPTION_END,
	};
	CU_ASSERT_EQUAL(rfx_schema_check(bad_list_default, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "option 'l': bad default '[a, [b]]'"));

	const rfx_option bad_name[] = {
		{ "has space", RFX_OPT_INT, NULL, 0, 0, 0, NULL, "", offsetof(struct small_cfg, n), NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(bad_name, "option 'has space': bad character in name");

	const rfx_option range_on_string[] = {
		{ "s", RFX_OPT_STRING, NULL, RFX_OPT_RANGE, 0, 1, NULL, "", 0, NULL },
		RFX_OPTION_END,
	};
	assert_check_refuses(range_on_string, "option 's': a range needs a numeric type");
}

static void test_schema_describe_hides_secret_defaults(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	rfx_schema_describe(test_opts, f, 2);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NULL(strstr(text, "s3cret-default"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  token (string, secret)\n      API token\n"
					    "      default: (hidden)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  path (string, required)\n      where to write\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "      range: 1..65535\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "      range: 1KiB..1MiB\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "      values: append, truncate, rotate\n"));
	/* Sections nest their options one level deeper. */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  tls (section)\n      TLS settings\n"
					    "      cert (string, required)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "          range: 1s..1m\n"));
	free(text);
}

/* ---- lists of sections (RFX_OPT_SECTION_LIST, ABI 1.2) ------------------ */

struct route {
	char *name;
	int64_t weight;
	bool on;
	struct rfx_strlist tags;
};

struct routes_cfg {
	int64_t before; /* so the list does not sit at offset 0 */
	struct rfx_seclist routes;
};

static const rfx_option route_opts[] = {
	{ "name", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL, "route name",
	  offsetof(struct route, name), NULL },
	{ "weight", RFX_OPT_INT, "1", RFX_OPT_RANGE, 0, 10, NULL, "weight",
	  offsetof(struct route, weight), NULL },
	{ "on", RFX_OPT_BOOL, "true", 0, 0, 0, NULL, "enabled", offsetof(struct route, on), NULL },
	{ "tags", RFX_OPT_LIST, NULL, 0, 0, 0, NULL, "tags", offsetof(struct route, tags), NULL },
	RFX_OPTION_END_SIZE(struct route),
};

static const rfx_option routes_opts[] = {
	{ "before", RFX_OPT_INT, "7", 0, 0, 0, NULL, "padding", offsetof(struct routes_cfg, before),
	  NULL },
	{ "routes", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL, "routes",
	  offsetof(struct routes_cfg, routes), route_opts },
	RFX_OPTION_END,
};

static int apply_routes(const char *text, struct routes_cfg *cfg, rfx_diag *d)
{
	return apply_opts(routes_opts, "r.yaml", text, cfg, sizeof(*cfg), d);
}

static void test_schema_section_list_fills_elements_with_their_defaults(void)
{
	struct routes_cfg cfg;
	rfx_diag d;
	char err[256];

	CU_ASSERT_EQUAL(rfx_schema_check(routes_opts, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(apply_routes("routes:\n"
				     "  - name: a\n"
				     "  - name: b\n"
				     "    weight: 5\n"
				     "    on: false\n"
				     "    tags: [x, y]\n",
				     &cfg, &d),
			0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(cfg.before, 7);
	CU_ASSERT_EQUAL_FATAL(cfg.routes.n, 2);
	struct route *r = cfg.routes.v;
	CU_ASSERT_STRING_EQUAL(r[0].name, "a");
	CU_ASSERT_EQUAL(r[0].weight, 1);
	CU_ASSERT_TRUE(r[0].on);
	CU_ASSERT_EQUAL(r[0].tags.n, 0);
	CU_ASSERT_STRING_EQUAL(r[1].name, "b");
	CU_ASSERT_EQUAL(r[1].weight, 5);
	CU_ASSERT_FALSE(r[1].on);
	CU_ASSERT_EQUAL_FATAL(r[1].tags.n, 2);
	CU_ASSERT_STRING_EQUAL(r[1].tags.v[1], "y");
	rfx_schema_free(routes_opts, &cfg);
	CU_ASSERT_EQUAL(cfg.routes.n, 0);
	CU_ASSERT_PTR_NULL(cfg.routes.v);
	rfx_diag_free(&d);

	/* An absent or empty list is empty. */
	CU_ASSERT_EQUAL(apply_routes("routes:\n", &cfg, &d), 0);
	CU_ASSERT_EQUAL(cfg.routes.n, 0);
	rfx_schema_free(routes_opts, &cfg);
	rfx_diag_free(&d);
}

static void test_schema_section_list_errors_name_the_element(void)
{
	struct routes_cfg cfg;
	rfx_diag d;

	CU_ASSERT_EQUAL(apply_routes("routes:\n"
				     "  - name: a\n"
				     "  - weight: 11\n"
				     "    nmae: b\n"
				     "  - just a string\n",
				     &cfg, &d),
			4);
	CU_ASSERT_EQUAL_FATAL(d.n, 4);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "r.yaml:3:13: out.routes[1]: 'weight': 11 is out of "
					  "range 0..10");
	CU_ASSERT_STRING_EQUAL(d.msgs[1], "r.yaml:4:5: out.routes[1]: unknown key 'nmae'; did you "
					  "mean 'name'?");
	CU_ASSERT_STRING_EQUAL(d.msgs[2], "r.yaml:3:5: out.routes[1]: missing required key 'name'");
	CU_ASSERT_STRING_EQUAL(d.msgs[3], "r.yaml:5:5: out.routes[2]: expected a mapping, got a "
					  "scalar");
	/* Nothing of an invalid list is kept (and nothing leaks). */
	CU_ASSERT_EQUAL(cfg.routes.n, 0);
	rfx_schema_free(routes_opts, &cfg);
	rfx_diag_free(&d);

	CU_ASSERT_EQUAL(apply_routes("routes: {name: a}\n", &cfg, &d), 1);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msgs[0], "r.yaml:1:9: out: 'routes': expected a list of "
					  "mappings, got a mapping");
	rfx_schema_free(routes_opts, &cfg);
	rfx_diag_free(&d);
}

static void test_schema_section_list_check_and_describe(void)
{
	static const rfx_option no_size[] = {
		{ "name", RFX_OPT_STRING, NULL, 0, 0, 0, NULL, "", 0, NULL },
		RFX_OPTION_END,
	};
	static const rfx_option too_small_sub[] = {
		{ "weight", RFX_OPT_INT, NULL, 0, 0, 0, NULL, "", 8, NULL },
		RFX_OPTION_END_SIZE(int64_t),
	};
	const rfx_option missing_size[] = {
		{ "l", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL, "", 0, no_size },
		RFX_OPTION_END,
	};
	const rfx_option outside[] = {
		{ "l", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL, "", 0, too_small_sub },
		RFX_OPTION_END,
	};
	char err[256];

	CU_ASSERT_EQUAL(rfx_schema_check(missing_size, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "RFX_OPTION_END_SIZE"));
	CU_ASSERT_EQUAL(rfx_schema_check(outside, err, sizeof(err)), -1);
	CU_ASSERT_STRING_EQUAL(err, "option 'l.weight': offset 8 outside the 8-byte element");

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	rfx_schema_describe(routes_opts, f, 0);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "routes (list of sections)\n    routes\n    each entry:\n"
					    "    name (string, required)\n"));
	free(text);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
#define T(f) { #f, f }
		T(test_doc_nodes_carry_one_based_positions),
		T(test_doc_empty_text_is_empty_mapping),
		T(test_doc_duplicate_key_names_first_position),
		T(test_doc_syntax_error_has_position_and_problem),
		T(test_doc_second_document_is_refused),
		T(test_doc_non_scalar_key_is_error),
		T(test_doc_alias_copies_anchor_and_unknown_alias_is_error),
		T(test_doc_alias_bomb_is_bounded),
		T(test_doc_env_substitution_and_escape),
		T(test_doc_unset_env_var_is_error_at_value),
		T(test_doc_file_substitution_relative_and_unreadable),
		T(test_doc_load_missing_file_reports_path),
		T(test_doc_include_concatenates_lists_and_merges_maps),
		T(test_doc_include_conflict_names_both_positions),
		T(test_doc_include_cycle_is_detected),
		T(test_doc_include_missing_file_is_error_at_item),
		T(test_schema_defaults_fill_absent_keys_and_sections),
		T(test_schema_fills_every_type_and_nested_section),
		T(test_schema_unknown_key_suggests_closest),
		T(test_schema_unknown_key_lists_allowed_keys),
		T(test_schema_missing_required_is_at_mapping),
		T(test_schema_wrong_node_type),
		T(test_schema_bad_scalars),
		T(test_schema_out_of_range_says_range_in_human_form),
		T(test_schema_reports_all_errors_in_one_pass),
		T(test_schema_null_map_applies_defaults_and_requires),
		T(test_schema_non_mapping_instance_is_error),
		T(test_schema_map_default_and_extra_keys_accepted),
		T(test_parse_duration_accepts_units_and_rejects_garbage),
		T(test_parse_size_accepts_units_and_rejects_garbage),
		T(test_suggest_picks_closest_within_distance),
		T(test_schema_check_refuses_broken_tables),
		T(test_schema_describe_hides_secret_defaults),
		T(test_schema_section_list_fills_elements_with_their_defaults),
		T(test_schema_section_list_errors_name_the_element),
		T(test_schema_section_list_check_and_describe),
#undef T
	};

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("config", suite_init, suite_clean);
	if (!s)
		goto fail;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(s, tests[i].name, tests[i].fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
			  CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
fail:
	CU_cleanup_registry();
	return 1;
}
