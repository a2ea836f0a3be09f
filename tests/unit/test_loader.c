/*
 * tests/unit/test_loader.c - the loader accepts a good plugin and refuses
 * each broken one in tests/abi/ with a message that says what is wrong;
 * the config layer refuses kinds used in the wrong section and pipelines
 * whose record types do not connect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loader.h"
#include "testutil.h"

static char abi_path[4096];

static const char *abi(const char *name)
{
	const char *dir = getenv("REFLEX_ABI_DIR");
	snprintf(abi_path, sizeof(abi_path), "%s/%s.so", dir ? dir : "tests/abi/.libs", name);
	return abi_path;
}

static void expect_refusal(const char *file, const char *needle)
{
	char err[1024] = "";
	struct rfx_loader *l = rfx_loader_new(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	const rfx_plugin *d = rfx_loader_open(l, abi(file), err, sizeof(err));
	CU_ASSERT_PTR_NULL(d);
	if (!strstr(err, needle))
		fprintf(stderr, "\n  expected '%s' in: %s\n", needle, err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	rfx_loader_free(l);
}

static void test_loader_accepts_good_plugin(void)
{
	char err[1024] = "";
	struct rfx_loader *l = rfx_loader_new(NULL);
	const rfx_plugin *d = rfx_loader_open(l, abi("abi_good"), err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, "abitest");
	CU_ASSERT_EQUAL(d->kind, RFX_KIND_INPUT);
	CU_ASSERT_EQUAL(d->abi_major, RFX_ABI_MAJOR);
	/* loading the same file again returns the same descriptor */
	CU_ASSERT_PTR_EQUAL(rfx_loader_open(l, abi("abi_good"), err, sizeof(err)), d);
	rfx_loader_free(l);
}

static void test_loader_refuses_wrong_abi_major(void)
{
	char want[64];
	snprintf(want, sizeof(want), "built for plugin ABI %d.%d, but this reflexd speaks ABI %d.%d",
		 RFX_ABI_MAJOR + 1, RFX_ABI_MINOR, RFX_ABI_MAJOR, RFX_ABI_MINOR);
	expect_refusal("abi_major", want);
}

static void test_loader_refuses_newer_abi_minor(void)
{
	char want[64];
	snprintf(want, sizeof(want), "needs plugin ABI %d.%d, newer than", RFX_ABI_MAJOR,
		 RFX_ABI_MINOR + 1);
	expect_refusal("abi_minor", want);
}

static void test_loader_refuses_short_descriptor(void)
{
	expect_refusal("abi_short", "needs at least");
}

static void test_loader_refuses_missing_symbol(void)
{
	expect_refusal("abi_nosym", "missing symbol 'rfx_plugin_entry'");
}

static void test_loader_refuses_broken_option_table(void)
{
	expect_refusal("abi_badschema", "broken option table");
}

static void test_loader_refuses_duplicate_plugin_name(void)
{
	char err[1024] = "";
	struct rfx_loader *l = rfx_loader_new(NULL);
	CU_ASSERT_PTR_NOT_NULL(rfx_loader_open(l, abi("abi_good"), err, sizeof(err)));
	CU_ASSERT_PTR_NULL(rfx_loader_open(l, abi("abi_dup"), err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "input plugin 'abitest' duplicates the one already loaded from"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "abi_good.so"));
	rfx_loader_free(l);
}

static void test_loader_refuses_kind_mismatch_by_path(void)
{
	char err[1024] = "";
	struct rfx_loader *l = rfx_loader_new(NULL);
	CU_ASSERT_PTR_NULL(rfx_loader_get(l, RFX_KIND_OUTPUT, abi("abi_good"), err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is an input plugin, not an output plugin"));
	rfx_loader_free(l);
}

static void test_loader_refuses_kind_mismatch_by_name(void)
{
	char err[1024] = "";
	struct rfx_loader *l = rfx_loader_new(NULL); /* REFLEX_PLUGIN_PATH has the built plugins */
	CU_ASSERT_PTR_NULL(rfx_loader_get(l, RFX_KIND_OUTPUT, "syslog", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin 'syslog' is an input plugin"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "where an output plugin is expected"));
	CU_ASSERT_PTR_NULL(rfx_loader_get(l, RFX_KIND_INPUT, "nosuch", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no input plugin named 'nosuch'"));
	rfx_loader_free(l);
}

/* Writes text to a temp file and loads it as a config. */
static struct rfx_conf *load_text(const char *text, rfx_diag *d, char *path, size_t len)
{
	snprintf(path, len, "/tmp/reflex-test-loader-XXXXXX.yaml");
	int fd = mkstemps(path, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	rfx_diag_init(d);
	return rfx_conf_load(path, d);
}

static bool diag_has(const rfx_diag *d, const char *needle)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], needle))
			return true;
	fprintf(stderr, "\n  no diagnostic contains '%s'; got:\n", needle);
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "    %s\n", d->msgs[i]);
	return false;
}

static void test_conf_refuses_pipeline_whose_types_do_not_connect(void)
{
	char text[8192], path[256], want[8192];
	rfx_diag d;
	snprintf(text, sizeof(text),
		 "agent: { data_dir: /tmp/reflex-test-loader-data }\n"
		 "inputs:\n"
		 "  - { name: hook, plugin: webhook }\n"
		 "outputs:\n"
		 "  - { name: inc, plugin: %s }\n", abi("abi_incident_output"));
	struct rfx_conf *c = load_text(text, &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:5:5: outputs[0] (%s): plugin 'abitest' accepts incident "
		 "records, but nothing in this pipeline produces them (it carries: event)",
		 path, abi("abi_incident_output"));
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	rfx_conf_free(c);
	unlink(path);
}

static void test_conf_refuses_output_plugin_under_inputs(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("inputs:\n"
				       "  - name: x\n"
				       "    plugin: file\n", &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:3:13: inputs[0] (file): plugin 'file' is an output plugin", path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_accepts_minimal_config(void)
{
	char path[256];
	rfx_diag d;
	struct rfx_conf *c = load_text("agent: { name: demo, data_dir: /tmp/reflex-test-loader-data }\n"
				       "store: { plugin: sqlite, path: reflex.db }\n"
				       "inputs:\n"
				       "  - { name: hook, plugin: webhook, path: /api/v1/events/webhook }\n"
				       "outputs:\n"
				       "  - { name: log, plugin: file, path: events.jsonl, match: 'severity >= warning' }\n",
				       &d, path, sizeof(path));
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msgs[i]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(c->ninputs, 1);
	CU_ASSERT_EQUAL(c->noutputs, 1);
	CU_ASSERT_STRING_EQUAL(c->store.desc->name, "sqlite");
	CU_ASSERT_STRING_EQUAL(c->agent.name, "demo");
	CU_ASSERT_STRING_EQUAL(c->api.listen, "127.0.0.1:3009");
	CU_ASSERT_PTR_NOT_NULL(c->outputs[0].match);
	rfx_conf_free(c);
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_reports_bad_match_expression_with_column(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("outputs:\n"
				       "  - { name: log, plugin: file, path: x.jsonl, match: 'hots == \"a\"' }\n",
				       &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	/* the value starts at column 54 (the quote); the field at column 55 */
	snprintf(want, sizeof(want), "%s:2:55: outputs[0] (file): match: ", path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	CU_ASSERT_TRUE(diag_has(&d, "hots"));
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_refuses_open_api_off_loopback(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("agent:\n  api:\n    listen: 0.0.0.0:3009\n", &d, path,
				       sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:3:13: agent.api.listen: 0.0.0.0:3009 is not a loopback address", path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_duplicate_instance_names(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("inputs:\n"
				       "  - { name: a, plugin: webhook }\n"
				       "outputs:\n"
				       "  - { name: a, plugin: stdout }\n", &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:4:13: outputs[0] (stdout): duplicate instance name 'a' "
		 "(first used by inputs[0] (webhook) at %s:2:13)", path, path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_refuses_instance_names_unfit_for_labels(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("inputs:\n"
				       "  - { name: 'h\"x', plugin: webhook }\n", &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:2:13: inputs[0] (webhook): instance name 'h\"x' may only use", path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	unlink(path);
}

static void test_conf_unknown_section_suggests(void)
{
	char path[256], want[1024];
	rfx_diag d;
	struct rfx_conf *c = load_text("inptus: []\n", &d, path, sizeof(path));
	CU_ASSERT_PTR_NULL(c);
	snprintf(want, sizeof(want), "%s:1:1: unknown section 'inptus'; did you mean 'inputs'?", path);
	CU_ASSERT_TRUE(diag_has(&d, want));
	rfx_diag_free(&d);
	unlink(path);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_loader_accepts_good_plugin),
		RFX_TEST(test_loader_refuses_wrong_abi_major),
		RFX_TEST(test_loader_refuses_newer_abi_minor),
		RFX_TEST(test_loader_refuses_short_descriptor),
		RFX_TEST(test_loader_refuses_missing_symbol),
		RFX_TEST(test_loader_refuses_broken_option_table),
		RFX_TEST(test_loader_refuses_duplicate_plugin_name),
		RFX_TEST(test_loader_refuses_kind_mismatch_by_path),
		RFX_TEST(test_loader_refuses_kind_mismatch_by_name),
		RFX_TEST(test_conf_refuses_pipeline_whose_types_do_not_connect),
		RFX_TEST(test_conf_refuses_output_plugin_under_inputs),
		RFX_TEST(test_conf_accepts_minimal_config),
		RFX_TEST(test_conf_reports_bad_match_expression_with_column),
		RFX_TEST(test_conf_refuses_open_api_off_loopback),
		RFX_TEST(test_conf_duplicate_instance_names),
		RFX_TEST(test_conf_refuses_instance_names_unfit_for_labels),
		RFX_TEST(test_conf_unknown_section_suggests),
		{NULL, NULL},
	};
	return rfx_run_suite("loader", tests);
}
