/*
 * tests/unit/test_inventory.c - the asset inventory: YAML and CSV files,
 * errors with positions, lookups by name/alias/IP, the enrich stage, unknown
 * host counting, reloads (a broken one keeps the old inventory) and the
 * dependency graphs with a cycle. Data in tests/data/inventory/.
 */
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "inventory.h"
#include "schema.h"
#include "testutil.h"

#define NS 1000000000LL

static char data_dir[1024];

/* An inventory of the given files (relative to the data dir). */
static struct rfx_inventory *open_inv(const char **files, size_t n, rfx_diag *d,
				      struct rfx_enrich_conf *conf)
{
	struct rfx_enrich_conf c = {0};

	if (conf)
		c = *conf;
	c.inventory.n = n;
	c.inventory.v = (char **)files;
	if (!conf) {
		c.reload_interval_ms = 1000;
		c.label_prefix = "";
		c.canonical_host = true;
	}
	return rfx_inventory_new(&c, data_dir, d);
}

static struct rfx_inventory *open_all(void)
{
	const char *files[] = {"hosts.yaml", "hosts.csv", "services.csv"};
	rfx_diag d;
	struct rfx_inventory *inv;

	rfx_diag_init(&d);
	inv = open_inv(files, 3, &d, NULL);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "unexpected: %s\n", d.msgs[i]);
	CU_ASSERT_EQUAL(d.n, 0);
	rfx_diag_free(&d);
	return inv;
}

static rfx_event *event_for(const char *host)
{
	rfx_event *ev = rfx_event_new();

	if (host)
		rfx_event_set(ev, RFX_F_HOST, host);
	return ev;
}

/* The first error of loading one file, or "" when it loaded. */
static void first_error(const char *file, char *out, size_t len)
{
	const char *files[] = {file};
	rfx_diag d;
	struct rfx_inventory *inv;

	rfx_diag_init(&d);
	inv = open_inv(files, 1, &d, NULL);
	snprintf(out, len, "%s", d.n ? d.msgs[0] : "");
	CU_ASSERT_PTR_NULL(inv);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
}

static void test_enrich_options_table_is_valid(void)
{
	char err[256] = "";
	struct rfx_enrich_conf c;
	rfx_diag d;

	CU_ASSERT_EQUAL(rfx_schema_check(rfx_enrich_options, err, sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	rfx_diag_init(&d);
	CU_ASSERT_EQUAL(rfx_schema_apply(rfx_enrich_options, NULL, &c, "pipeline.enrich", NULL, &d),
			0);
	CU_ASSERT_EQUAL(c.reload_interval_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c.label_prefix, "");
	CU_ASSERT_TRUE(c.canonical_host);
	CU_ASSERT_FALSE(c.overwrite_labels);
	CU_ASSERT_EQUAL(c.inventory.n, 0);
	rfx_schema_free(rfx_enrich_options, &c);
	rfx_diag_free(&d);
}

static void test_inventory_yaml_host_has_every_field(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const struct rfx_asset *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	a = rfx_inventory_find(s, "web1.example.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->name, "web1.example.com");
	CU_ASSERT_STRING_EQUAL(a->environment, "prod");
	CU_ASSERT_STRING_EQUAL(a->team, "web");
	CU_ASSERT_STRING_EQUAL(a->owner, "alice");
	CU_ASSERT_STRING_EQUAL(a->criticality, "high");
	CU_ASSERT_STRING_EQUAL(a->location, "fra1");
	CU_ASSERT_EQUAL(a->ntags, 2);
	CU_ASSERT_STRING_EQUAL(a->tags[1], "nginx");
	CU_ASSERT_EQUAL(a->nservices, 1);
	CU_ASSERT_EQUAL(a->naliases, 2);
	/* env: is accepted as a short form of environment: */
	a = rfx_inventory_find(s, "app1.example.com");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->environment, "prod");
	CU_ASSERT_PTR_NULL(a->owner);
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_inventory_finds_by_alias_ip_and_any_case(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const struct rfx_asset *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	a = rfx_inventory_find(s, "WEB1-OLD");
	CU_ASSERT(a && strcmp(a->name, "web1.example.com") == 0);
	a = rfx_inventory_find(s, "10.0.0.11");
	CU_ASSERT(a && strcmp(a->name, "web1.example.com") == 0);
	a = rfx_inventory_find(s, "2001:DB8::5");
	CU_ASSERT(a && strcmp(a->name, "db1") == 0);
	a = rfx_inventory_find(s, "db1-primary");
	CU_ASSERT(a && strcmp(a->name, "db1") == 0);
	a = rfx_inventory_find(s, "Web1.Example.COM");
	CU_ASSERT(a && strcmp(a->name, "web1.example.com") == 0);
	CU_ASSERT_PTR_NULL(rfx_inventory_find(s, "nosuch"));
	CU_ASSERT_PTR_NULL(rfx_inventory_find(s, ""));
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_inventory_short_name_finds_fqdn_when_unambiguous(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const struct rfx_asset *a;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	a = rfx_inventory_find(s, "web1");
	CU_ASSERT(a && strcmp(a->name, "web1.example.com") == 0);
	a = rfx_inventory_find(s, "APP1");
	CU_ASSERT(a && strcmp(a->name, "app1.example.com") == 0);
	/* an IP address has no short name */
	CU_ASSERT_PTR_NULL(rfx_inventory_find(s, "10"));
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_inventory_short_name_shared_by_two_assets_is_not_found(void)
{
	char dir[] = "/tmp/rfx_inv_XXXXXX", path[256];
	const char *files[] = {path};
	rfx_diag d;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/amb.yaml", dir);
	f = fopen(path, "w");
	fputs("hosts:\n  - name: db1.a.com\n  - name: db1.b.com\n  - name: web1.a.com\n", f);
	fclose(f);
	rfx_diag_init(&d);
	struct rfx_inventory *inv = open_inv(files, 1, &d, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	const struct rfx_inventory_snap *s = rfx_inventory_acquire(inv);
	CU_ASSERT_PTR_NULL(rfx_inventory_find(s, "db1"));
	CU_ASSERT_PTR_NOT_NULL(rfx_inventory_find(s, "web1"));
	CU_ASSERT_PTR_NOT_NULL(rfx_inventory_find(s, "db1.b.com"));
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
	unlink(path);
	rmdir(dir);
}

static void test_inventory_csv_quotes_and_multivalued_cells(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const struct rfx_asset *a;
	const char *up[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	a = rfx_inventory_find(s, "192.0.2.25");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->name, "mail1.example.org");
	CU_ASSERT_STRING_EQUAL(a->owner, "Bob \"the builder\" Smith");
	CU_ASSERT_EQUAL(a->ntags, 2);
	CU_ASSERT_STRING_EQUAL(a->tags[0], "mail");
	CU_ASSERT_STRING_EQUAL(a->tags[1], "smtp, imap");
	CU_ASSERT_EQUAL(a->nservices, 2);
	CU_ASSERT_STRING_EQUAL(a->location, "par2");
	/* a CSV host depends on a YAML host: files are resolved together */
	CU_ASSERT_EQUAL(rfx_topo_upstream(s, RFX_TOPO_HOST, "mail1", up, 4), 1);
	CU_ASSERT_STRING_EQUAL(up[0], "db1");
	a = rfx_inventory_find(s, "cache1");
	CU_ASSERT(a && a->naliases == 0 && a->owner == NULL && strcmp(a->criticality, "low") == 0);
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_inventory_csv_service_dependencies(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const char *up[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	CU_ASSERT_EQUAL(rfx_topo_upstream(s, RFX_TOPO_SERVICE, "smtp", up, 4), 2);
	CU_ASSERT_STRING_EQUAL(up[0], "postgres");
	CU_ASSERT_STRING_EQUAL(up[1], "redis");
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_SERVICE, "imap", "postgres", 3));
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_enrich_adds_asset_labels_and_canonical_host(void)
{
	struct rfx_inventory *inv = open_all();
	rfx_event *ev = event_for("10.0.0.11");
	struct json_object *en = NULL, *hr = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "web1.example.com");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "inventory"), "known");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "env"), "prod");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team"), "web");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "owner"), "alice");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "criticality"), "high");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "location"), "fra1");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "tags"), "frontend,nginx");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "services"), "http");
	CU_ASSERT_TRUE(json_object_object_get_ex(ev->attrs, "enrich", &en));
	CU_ASSERT_TRUE(json_object_object_get_ex(en, "host_reported", &hr));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(hr), "10.0.0.11");
	rfx_event_unref(ev);
	/* A host sent by its name is left alone and gets no host_reported. */
	ev = event_for("db1");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "db1");
	CU_ASSERT_FALSE(json_object_object_get_ex(ev->attrs, "enrich", NULL));
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "owner"));
	rfx_event_unref(ev);
	rfx_inventory_free(inv);
}

static void test_enrich_keeps_source_labels_unless_overwrite(void)
{
	const char *files[] = {"hosts.yaml"};
	struct rfx_enrich_conf c = {.label_prefix = "", .canonical_host = false};
	rfx_diag d;
	struct rfx_inventory *inv;
	rfx_event *ev;

	rfx_diag_init(&d);
	inv = open_inv(files, 1, &d, &c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	ev = event_for("10.0.0.11");
	rfx_event_label_set(ev, "team", "sre");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team"), "sre");
	CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "10.0.0.11"); /* canonical_host off */
	rfx_event_unref(ev);
	rfx_inventory_free(inv);

	c.overwrite_labels = true;
	c.label_prefix = "asset_";
	inv = open_inv(files, 1, &d, &c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	ev = event_for("web1");
	rfx_event_label_set(ev, "asset_team", "sre");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "asset_team"), "web");
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "asset_inventory"), "known");
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "team"));
	rfx_event_unref(ev);
	rfx_inventory_free(inv);
	CU_ASSERT_EQUAL(d.n, 0);
	rfx_diag_free(&d);
}

static void test_enrich_counts_unknown_hosts_and_keeps_them(void)
{
	struct rfx_inventory *inv = open_all();
	struct rfx_inventory_stats st;
	rfx_event *ev;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	for (int i = 0; i < 3; i++) {
		ev = event_for("stranger.example.net");
		CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
		CU_ASSERT_STRING_EQUAL(rfx_event_host(ev), "stranger.example.net");
		CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "inventory"), "unknown");
		CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "env"));
		rfx_event_unref(ev);
	}
	ev = event_for(NULL);
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_PTR_NULL(rfx_event_label_get(ev, "inventory"));
	rfx_event_unref(ev);
	ev = event_for("db1");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	rfx_event_unref(ev);
	rfx_inventory_stats(inv, &st);
	CU_ASSERT_EQUAL(st.unknown, 3);
	CU_ASSERT_EQUAL(st.known, 1);
	CU_ASSERT_EQUAL(st.no_host, 1);
	CU_ASSERT_EQUAL(st.hosts, 7);
	CU_ASSERT_EQUAL(st.services, 6); /* http api postgres smtp imap redis */
	rfx_inventory_free(inv);
}

static void test_enrich_counts_labels_that_do_not_fit(void)
{
	struct rfx_inventory *inv = open_all();
	struct rfx_inventory_stats st;
	rfx_event *ev = event_for("web1");
	char k[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	for (int i = 0; i < RFX_LABELS_MAX - 2; i++) {
		snprintf(k, sizeof(k), "l%d", i);
		rfx_event_label_set(ev, k, "x");
	}
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_EQUAL(ev->nlabels, RFX_LABELS_MAX);
	rfx_inventory_stats(inv, &st);
	CU_ASSERT_EQUAL(st.labels_dropped, 6); /* 8 labels, room for 2 */
	rfx_event_unref(ev);
	rfx_inventory_free(inv);
}

static void test_topo_upstream_and_downstream(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const char *out[8];

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	CU_ASSERT_EQUAL(rfx_topo_upstream(s, RFX_TOPO_HOST, "web1.example.com", out, 8), 1);
	CU_ASSERT_STRING_EQUAL(out[0], "app1.example.com");
	/* downstream of db1: app1 and the CSV's mail1 */
	CU_ASSERT_EQUAL(rfx_topo_downstream(s, RFX_TOPO_HOST, "DB1", out, 8), 2);
	CU_ASSERT_STRING_EQUAL(out[0], "app1.example.com");
	CU_ASSERT_STRING_EQUAL(out[1], "mail1.example.org");
	/* max bounds what is written, not the count */
	CU_ASSERT_EQUAL(rfx_topo_downstream(s, RFX_TOPO_HOST, "db1", out, 1), 2);
	CU_ASSERT_EQUAL(rfx_topo_upstream(s, RFX_TOPO_HOST, "cache1", out, 8), 0);
	CU_ASSERT_EQUAL(rfx_topo_upstream(s, RFX_TOPO_HOST, "nosuch", out, 8), RFX_ENOENT);
	CU_ASSERT_EQUAL(rfx_topo_service_hosts(s, "postgres", out, 8), 1);
	CU_ASSERT_STRING_EQUAL(out[0], "db1");
	CU_ASSERT_EQUAL(rfx_topo_downstream(s, RFX_TOPO_SERVICE, "postgres", out, 8), 2);
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_topo_walks_survive_a_cycle(void)
{
	struct rfx_inventory *inv = open_all();
	const struct rfx_inventory_snap *s;
	const char *out[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "web1", "san-b", 5));
	CU_ASSERT_FALSE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "web1", "san-b", 3));
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "web1", "san-b", 4));
	CU_ASSERT_FALSE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "san-b", "web1", 100));
	/* on a cycle a host depends on itself */
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "san-a", "san-a", 2));
	CU_ASSERT_FALSE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "db1", "db1", 100));
	CU_ASSERT_FALSE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "nosuch", "db1", 100));
	CU_ASSERT_EQUAL(rfx_topo_upstream_all(s, RFX_TOPO_HOST, "web1", 100, out, 16), 4);
	CU_ASSERT_STRING_EQUAL(out[0], "app1.example.com");
	CU_ASSERT_STRING_EQUAL(out[1], "db1");
	CU_ASSERT_STRING_EQUAL(out[2], "san-a");
	CU_ASSERT_STRING_EQUAL(out[3], "san-b");
	CU_ASSERT_EQUAL(rfx_topo_upstream_all(s, RFX_TOPO_HOST, "web1", 2, out, 16), 2);
	CU_ASSERT_EQUAL(rfx_topo_upstream_all(s, RFX_TOPO_SERVICE, "http", 10, out, 16), 2);
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
}

static void test_inventory_bad_files_name_file_and_line(void)
{
	char e[1024];

	first_error("bad_key.yaml", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_key.yaml:3:5: hosts[0]: unknown key 'enviroment'; "
					  "did you mean 'environment'?"));
	first_error("bad_dep.yaml", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_dep.yaml:3:18: depends_on: 'nosuchhost' is not a host"));
	first_error("bad_alias.yaml", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_alias.yaml:4:5: alias 'SHARED' of host 'x2' is "
					  "already a name or alias of host 'x1'"));
	first_error("bad_quote.csv", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_quote.csv:3:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "unterminated quoted field"));
	first_error("bad_fields.csv", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_fields.csv:2:1: 3 fields, the header has 2"));
	first_error("bad_column.csv", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "bad_column.csv:1:1: unknown column 'tema'"));
	first_error("missing.yaml", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, "missing.yaml"));
	first_error("hosts.txt", e, sizeof(e));
	CU_ASSERT_PTR_NOT_NULL(strstr(e, ".yaml, .yml or .csv"));
}

static void test_inventory_shipped_example_loads(void)
{
	const char *files[] = {"../../../etc/inventory.example.yaml"};
	const struct rfx_inventory_snap *s;
	rfx_diag d;
	struct rfx_inventory *inv;

	rfx_diag_init(&d);
	inv = open_inv(files, 1, &d, NULL);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "unexpected: %s\n", d.msgs[i]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	s = rfx_inventory_acquire(inv);
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_HOST, "lb1", "nas2.example.com", 10));
	CU_ASSERT_TRUE(rfx_topo_path_exists(s, RFX_TOPO_SERVICE, "https", "postgres", 10));
	rfx_inventory_release(s);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
}

static void test_inventory_empty_list_makes_every_host_unknown(void)
{
	struct rfx_enrich_conf c = {.label_prefix = "", .canonical_host = true};
	rfx_diag d;
	struct rfx_inventory *inv;
	rfx_event *ev = event_for("db1");

	rfx_diag_init(&d);
	inv = rfx_inventory_new(&c, NULL, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "inventory"), "unknown");
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 100 * NS), 0);
	rfx_event_unref(ev);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
}

/* ---- reload -------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
	/* Written beside and renamed, as config tools do: a new inode every
	 * time, so a rewrite within one mtime tick is still a change. */
	char tmp[300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(rename(tmp, path), 0);
}

static void test_inventory_reload_picks_up_a_changed_file(void)
{
	char dir[] = "/tmp/rfx_inv_XXXXXX", path[256];
	const char *files[] = {path};
	struct rfx_inventory_stats st;
	rfx_diag d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.yaml", dir);
	write_file(path, "hosts:\n  - name: one\n");
	rfx_diag_init(&d);
	struct rfx_inventory *inv = open_inv(files, 1, &d, NULL); /* interval 1s */
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 10 * NS), 0); /* unchanged */
	write_file(path, "hosts:\n  - name: one\n  - name: two\n");
	/* within the interval the files are not even looked at */
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 10 * NS + NS / 2), 0);
	const struct rfx_inventory_snap *s = rfx_inventory_acquire(inv);
	CU_ASSERT_PTR_NULL(rfx_inventory_find(s, "two"));
	rfx_inventory_release(s);
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 11 * NS), 1);
	s = rfx_inventory_acquire(inv);
	CU_ASSERT_PTR_NOT_NULL(rfx_inventory_find(s, "two"));
	rfx_inventory_release(s);
	rfx_inventory_stats(inv, &st);
	CU_ASSERT_EQUAL(st.reloads, 1);
	CU_ASSERT_EQUAL(st.hosts, 2);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
	unlink(path);
	rmdir(dir);
}

static void test_inventory_broken_reload_keeps_the_old_inventory(void)
{
	char dir[] = "/tmp/rfx_inv_XXXXXX", path[256];
	const char *files[] = {path};
	struct rfx_inventory_stats st;
	rfx_diag d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.yaml", dir);
	write_file(path, "hosts:\n  - name: one\n    team: a\n");
	rfx_diag_init(&d);
	struct rfx_inventory *inv = open_inv(files, 1, &d, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	const struct rfx_inventory_snap *old = rfx_inventory_acquire(inv);

	write_file(path, "hosts:\n  - name: one\n    depends_on: [ghost]\n");
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 5 * NS), RFX_EINVAL);
	/* the same broken version is not loaded (and logged) again */
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 7 * NS), 0);
	rfx_event *ev = event_for("one");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team"), "a");
	rfx_event_unref(ev);
	rfx_inventory_stats(inv, &st);
	CU_ASSERT_EQUAL(st.reload_errors, 1);
	CU_ASSERT_EQUAL(st.reloads, 0);

	/* An explicit reload reports the errors with their position. */
	rfx_diag_init(&d);
	CU_ASSERT_EQUAL(rfx_inventory_reload(inv, &d), RFX_EINVAL);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msgs[0], "inv.yaml:3:18: depends_on: 'ghost'"));
	rfx_diag_free(&d);

	write_file(path, "hosts:\n  - name: one\n    team: b\n");
	CU_ASSERT_EQUAL(rfx_inventory_maybe_reload(inv, 9 * NS), 1);
	ev = event_for("one");
	CU_ASSERT_EQUAL(rfx_enrich(inv, ev), 0);
	CU_ASSERT_STRING_EQUAL(rfx_event_label_get(ev, "team"), "b");
	rfx_event_unref(ev);
	/* a snapshot taken before the reload is still whole */
	const struct rfx_asset *a = rfx_inventory_find(old, "one");
	CU_ASSERT(a && strcmp(a->team, "a") == 0);
	rfx_inventory_release(old);
	rfx_inventory_free(inv);
	rfx_diag_free(&d);
	unlink(path);
	rmdir(dir);
}

struct race {
	struct rfx_inventory *inv;
	int known;
};

static void *enrich_loop(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 2000; i++) {
		rfx_event *ev = event_for("one");
		if (rfx_enrich(r->inv, ev) == 0 && rfx_event_label_get(ev, "team"))
			r->known++;
		rfx_event_unref(ev);
	}
	return NULL;
}

static void test_inventory_enrich_runs_while_reloads_swap(void)
{
	char dir[] = "/tmp/rfx_inv_XXXXXX", path[256];
	const char *files[] = {path};
	struct race r = {0};
	pthread_t t;
	rfx_diag d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/inv.yaml", dir);
	write_file(path, "hosts:\n  - name: one\n    team: a\n");
	rfx_diag_init(&d);
	r.inv = open_inv(files, 1, &d, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.inv);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, enrich_loop, &r), 0);
	for (int i = 0; i < 50; i++)
		CU_ASSERT_EQUAL(rfx_inventory_reload(r.inv, NULL), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.known, 2000);
	rfx_inventory_free(r.inv);
	rfx_diag_free(&d);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const char *src = getenv("REFLEX_SRCDIR");
	static const struct rfx_test tests[] = {
		RFX_TEST(test_enrich_options_table_is_valid),
		RFX_TEST(test_inventory_yaml_host_has_every_field),
		RFX_TEST(test_inventory_finds_by_alias_ip_and_any_case),
		RFX_TEST(test_inventory_short_name_finds_fqdn_when_unambiguous),
		RFX_TEST(test_inventory_short_name_shared_by_two_assets_is_not_found),
		RFX_TEST(test_inventory_csv_quotes_and_multivalued_cells),
		RFX_TEST(test_inventory_csv_service_dependencies),
		RFX_TEST(test_enrich_adds_asset_labels_and_canonical_host),
		RFX_TEST(test_enrich_keeps_source_labels_unless_overwrite),
		RFX_TEST(test_enrich_counts_unknown_hosts_and_keeps_them),
		RFX_TEST(test_enrich_counts_labels_that_do_not_fit),
		RFX_TEST(test_topo_upstream_and_downstream),
		RFX_TEST(test_topo_walks_survive_a_cycle),
		RFX_TEST(test_inventory_bad_files_name_file_and_line),
		RFX_TEST(test_inventory_shipped_example_loads),
		RFX_TEST(test_inventory_empty_list_makes_every_host_unknown),
		RFX_TEST(test_inventory_reload_picks_up_a_changed_file),
		RFX_TEST(test_inventory_broken_reload_keeps_the_old_inventory),
		RFX_TEST(test_inventory_enrich_runs_while_reloads_swap),
		{NULL, NULL},
	};

	snprintf(data_dir, sizeof(data_dir), "%s/tests/data/inventory", src ? src : ".");
	return rfx_run_suite("inventory", tests);
}
