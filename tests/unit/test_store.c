/*
 * tests/unit/test_store.c - the store contract, tested through the plugin
 * descriptor only, so the same suite runs against any store plugin.
 *
 * Environment:
 *   REFLEX_STORE_PLUGIN  the .so to test (default: the SQLite store under
 *                        $REFLEX_BUILDDIR/plugins/stores/sqlite/.libs/)
 *   REFLEX_STORE_CONFIG  the instance's YAML options; every "%s" in it is
 *                        replaced by a name unique to the test, so each test
 *                        starts on an empty store (default "path: %s.db")
 * The config is filled by the core's own schema code and the plugin gets
 * the core's host table, exactly as reflexd does it. Tests that look inside
 * the database file run only for the "sqlite" plugin.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <reflex/plugin.h>
#include "config.h"
#include "event.h"
#include "host.h"
#include "schema.h"

#define SEC 1000000000LL

static const rfx_plugin *desc;
static const rfx_store_ops *ops;
static void *plugin_handle;
static char tmpdir[] = "/tmp/reflex_store_test.XXXXXX";
static int test_seq;

/* An open store instance and what it borrows from. */
struct fixture {
	rfx_instance *inst;
	void *cfg;
	void *state;
	char name[64];
	char err[512];
};

/* ---- setup ------------------------------------------------------------------ */

/* Fills buf with the config template, "%s" replaced by name (the template
 * comes from the environment, so it is never used as a format string). */
static void config_text(const char *name, char *buf, size_t len)
{
	const char *tpl = getenv("REFLEX_STORE_CONFIG");
	size_t o = 0;

	if (!tpl || !*tpl)
		tpl = "path: %s.db\n";
	for (const char *p = tpl; *p && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 's') {
			o += (size_t)snprintf(buf + o, len - o, "%s", name);
			if (o >= len)
				o = len - 1;
			p++;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
}

static void store_close(struct fixture *f);

/* Opens the store named `name` with extra YAML lines appended to the
 * config. Returns the init() result; on failure f->err says why. */
static int store_open_with(struct fixture *f, const char *name, const char *extra)
{
	char yaml[1024];
	rfx_diag d;
	rfx_doc *doc;
	int rc = -100;

	memset(f, 0, sizeof *f);
	snprintf(f->name, sizeof f->name, "%s", name);
	config_text(name, yaml, sizeof yaml);
	if (extra)
		strncat(yaml, extra, sizeof yaml - strlen(yaml) - 1);

	rfx_diag_init(&d);
	doc = rfx_doc_parse("store-test.yaml", yaml, &d);
	f->cfg = calloc(1, desc->config_size ? desc->config_size : 1);
	f->inst = rfx_instance_new(RFX_KIND_STORE, desc->name, "store", tmpdir);
	if (doc && rfx_doc_root(doc) && f->cfg && f->inst &&
	    rfx_schema_apply(desc->options, rfx_doc_root(doc), f->cfg, "store", NULL, &d) == 0)
	{
		rc = desc->init(f->inst, rfx_host_table(), f->cfg, &f->state, f->err,
				sizeof f->err);
		/* as the agent does: start after init, stop before destroy */
		if (rc == 0 && desc->start && desc->start(f->state) != 0) {
			snprintf(f->err, sizeof f->err, "start failed");
			desc->destroy(f->state);
			rc = RFX_EIO;
		}
	} else
		rfx_diag_print(&d, stderr);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
	if (rc != 0) {
		/* nothing to close; f->err and f->name stay for the caller */
		f->state = NULL;
		store_close(f);
	}
	return rc;
}

static void store_close(struct fixture *f)
{
	if (f->state && desc->stop)
		desc->stop(f->state);
	if (f->state && desc->destroy)
		desc->destroy(f->state);
	f->state = NULL;
	if (f->cfg)
		rfx_schema_free(desc->options, f->cfg);
	free(f->cfg);
	f->cfg = NULL;
	rfx_instance_free(f->inst);
	f->inst = NULL;
}

/* Opens a store on a name no other test uses. */
static int store_open_fresh(struct fixture *f, const char *tag)
{
	char name[64];

	snprintf(name, sizeof name, "t%02d_%s", ++test_seq, tag);
	return store_open_with(f, name, NULL);
}

/* A new event with a fresh id and a received time. */
static rfx_event *mk_event(const char *host, const char *check, int severity)
{
	rfx_event *ev = rfx_event_new();

	CU_ASSERT_FATAL(ev != NULL);
	rfx_event_id_new(ev->id);
	ev->received_ns = rfx_now_ns();
	ev->severity = severity;
	rfx_event_set(ev, RFX_F_SOURCE, "test");
	rfx_event_set(ev, RFX_F_HOST, host);
	rfx_event_set(ev, RFX_F_CHECK, check);
	return ev;
}

static int put_and_unref(struct fixture *f, rfx_event **evs, size_t n)
{
	int rc = ops->put_events(f->state, evs, n);
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
	return rc;
}

/* Runs q and returns how many events matched (one page, limit from q);
 * the ids go to ids[] when given. -1 on error. */
static int query_count(struct fixture *f, rfx_event_query q, char ids[][RFX_EVENT_ID_LEN + 1])
{
	rfx_event **out = NULL;
	size_t n = 0;
	char cursor[RFX_EVENT_ID_LEN + 1];

	if (q.limit == 0)
		q.limit = 1000;
	if (ops->query_events(f->state, &q, &out, &n, cursor) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (ids)
			memcpy(ids[i], out[i]->id, sizeof ids[i]);
		rfx_event_unref(out[i]);
	}
	free(out);
	return (int)n;
}

static rfx_event_query q_any(void)
{
	return (rfx_event_query){.severity = -1, .limit = 1000};
}

static int streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* ---- events ----------------------------------------------------------------- */

static void test_store_round_trip_keeps_every_field(void)
{
	struct fixture f;
	rfx_event *ev, *got = NULL, *bare, *got2 = NULL;
	struct json_object *attrs;
	char id[RFX_EVENT_ID_LEN + 1], bare_id[RFX_EVENT_ID_LEN + 1];

	CU_ASSERT_FATAL(store_open_fresh(&f, "roundtrip") == 0);
	ev = mk_event("db-1.example.com", "disk \"usage\"", RFX_SEV_CRITICAL);
	ev->occurred_ns = 1764300000123456789LL;
	ev->received_ns = 1764300001000000001LL;
	ev->status = RFX_STATUS_RESOLVED;
	ev->value = 97.25;
	ev->has_value = true;
	rfx_event_set(ev, RFX_F_SOURCE, "webhook-main");
	rfx_event_set(ev, RFX_F_KIND, "alert");
	rfx_event_set(ev, RFX_F_SERVICE, "postgres");
	rfx_event_set(ev, RFX_F_MESSAGE, "line1\nline2\t\"quoted\" \\ back / slash");
	rfx_event_set(ev, RFX_F_FINGERPRINT, "0123456789abcdef");
	rfx_event_set(ev, RFX_F_RAW, "{\"raw\": \"payload ✓\"}");
	rfx_event_label_set(ev, "team", "db \"core\"");
	rfx_event_label_set(ev, "unicode", "żółw ✓ 日本 \\ end");
	rfx_event_label_set(ev, "ctl", "a\nb\tc\001d");
	rfx_event_label_set(ev, "empty", "");
	attrs = json_tokener_parse("{\"a\":{\"b\":[1,2.5,\"x/y\",true,null,{\"c\":-7}]},"
				   "\"big\":9007199254740993,\"neg\":-12,\"pi\":3.0,"
				   "\"s\":\"quo\\\"te \\u00e9\"}");
	CU_ASSERT_FATAL(attrs != NULL);
	json_object_put(ev->attrs);
	ev->attrs = attrs;
	memcpy(id, ev->id, sizeof id);

	bare = rfx_event_new();
	rfx_event_id_new(bare->id);
	bare->received_ns = 5;
	memcpy(bare_id, bare->id, sizeof bare_id);

	rfx_event *batch[] = {ev, bare};
	CU_ASSERT_FATAL(ops->put_events(f.state, batch, 2) == 0);
	CU_ASSERT_FATAL(ops->get_event(f.state, id, &got) == 0);

	CU_ASSERT_STRING_EQUAL(got->id, id);
	CU_ASSERT_EQUAL(got->occurred_ns, ev->occurred_ns);
	CU_ASSERT_EQUAL(got->received_ns, ev->received_ns);
	for (int i = 0; i < RFX_F__COUNT; i++)
		CU_ASSERT(streq(got->str[i], ev->str[i]));
	CU_ASSERT_EQUAL(got->severity, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(got->status, RFX_STATUS_RESOLVED);
	CU_ASSERT(got->has_value);
	CU_ASSERT_DOUBLE_EQUAL(got->value, 97.25, 0.0);
	CU_ASSERT_EQUAL(got->nlabels, 4);
	for (size_t i = 0; i < ev->nlabels && i < got->nlabels; i++) {
		CU_ASSERT_STRING_EQUAL(got->labels[i].key, ev->labels[i].key);
		CU_ASSERT_STRING_EQUAL(got->labels[i].value, ev->labels[i].value);
	}
	CU_ASSERT(json_object_equal(got->attrs, ev->attrs));
	CU_ASSERT(json_object_is_type(json_object_object_get(got->attrs, "pi"), json_type_double));
	CU_ASSERT_EQUAL(json_object_get_int64(json_object_object_get(got->attrs, "big")),
			9007199254740993LL);

	/* an event with nothing set comes back with nothing set */
	CU_ASSERT_FATAL(ops->get_event(f.state, bare_id, &got2) == 0);
	CU_ASSERT_EQUAL(got2->occurred_ns, 0);
	CU_ASSERT_EQUAL(got2->received_ns, 5);
	for (int i = 0; i < RFX_F__COUNT; i++)
		CU_ASSERT_PTR_NULL(got2->str[i]);
	CU_ASSERT_FALSE(got2->has_value);
	CU_ASSERT_EQUAL(got2->nlabels, 0);
	CU_ASSERT(json_object_is_type(got2->attrs, json_type_object));
	CU_ASSERT_EQUAL(json_object_object_length(got2->attrs), 0);

	rfx_event_unref(got);
	rfx_event_unref(got2);
	rfx_event_unref(ev);
	rfx_event_unref(bare);
	store_close(&f);
}

static void test_store_get_missing_event_is_enoent(void)
{
	struct fixture f;
	rfx_event *got = NULL;

	CU_ASSERT_FATAL(store_open_fresh(&f, "missing") == 0);
	CU_ASSERT_EQUAL(ops->get_event(f.state, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &got), RFX_ENOENT);
	CU_ASSERT_PTR_NULL(got);
	store_close(&f);
}

static void test_store_one_unstorable_event_does_not_fail_its_batch(void)
{
	struct fixture f;
	rfx_event *evs[2], *got = NULL;
	char id[RFX_EVENT_ID_LEN + 1];

	CU_ASSERT_FATAL(store_open_fresh(&f, "deep") == 0);
	evs[0] = mk_event("deep", "c", 3);
	evs[1] = mk_event("fine", "c", 3);
	/* attrs nested 100 levels deep: more than the store keeps */
	struct json_object *o = evs[0]->attrs;
	for (int i = 0; i < 100; i++) {
		struct json_object *child = json_object_new_object();
		json_object_object_add(o, "x", child);
		o = child;
	}
	memcpy(id, evs[0]->id, sizeof id);
	CU_ASSERT_EQUAL(put_and_unref(&f, evs, 2), 0);
	CU_ASSERT_EQUAL(query_count(&f, q_any(), NULL), 2);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, id, &got), 0);
	struct json_object *e = NULL;
	CU_ASSERT_TRUE(json_object_object_get_ex(got->attrs, "_reflex_error", &e));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(e), "attrs nested too deeply");
	rfx_event_unref(got);
	store_close(&f);
}

static void test_store_reput_of_a_batch_is_idempotent(void)
{
	struct fixture f;
	rfx_event *evs[3];
	rfx_event *got = NULL;
	uint64_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "idempotent") == 0);
	for (int i = 0; i < 3; i++)
		evs[i] = mk_event("h", "c", RFX_SEV_WARNING);
	rfx_event_set(evs[0], RFX_F_RAW, "first");
	CU_ASSERT(ops->put_events(f.state, evs, 3) == 0);
	/* the retried batch may carry changed content: the first write stays */
	rfx_event_set(evs[0], RFX_F_MESSAGE, "changed");
	rfx_event_set(evs[0], RFX_F_RAW, "second");
	CU_ASSERT(ops->put_events(f.state, evs, 3) == 0);
	CU_ASSERT(ops->count_events(f.state, &n) == 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_FATAL(ops->get_event(f.state, evs[0]->id, &got) == 0);
	CU_ASSERT_PTR_NULL(got->str[RFX_F_MESSAGE]);
	CU_ASSERT(streq(got->str[RFX_F_RAW], "first"));
	rfx_event_unref(got);
	CU_ASSERT_EQUAL(put_and_unref(&f, evs, 3), 0);
	store_close(&f);
}

static void test_store_query_filters_by_each_field(void)
{
	struct fixture f;
	/* host service check source fingerprint status */
	static const char *rows[][6] = {
		{"web-1", "nginx", "http", "hook", "fpA", "firing"},
		{"web-1", "nginx", "cert", "hook", "fpB", "resolved"},
		{"web-2", "nginx", "http", "syslog", "fpA", "firing"},
		{"db-1", "postgres", "disk", "syslog", "fpC", "resolved"},
		{"db-1", "postgres", "disk", "snmp", "fpC", "firing"},
	};
	rfx_event *evs[5];
	rfx_event_query q;

	CU_ASSERT_FATAL(store_open_fresh(&f, "filters") == 0);
	for (int i = 0; i < 5; i++) {
		evs[i] = mk_event(rows[i][0], rows[i][2], RFX_SEV_ERROR);
		rfx_event_set(evs[i], RFX_F_SERVICE, rows[i][1]);
		rfx_event_set(evs[i], RFX_F_SOURCE, rows[i][3]);
		rfx_event_set(evs[i], RFX_F_FINGERPRINT, rows[i][4]);
		evs[i]->status = strcmp(rows[i][5], "firing") == 0 ? RFX_STATUS_FIRING
								   : RFX_STATUS_RESOLVED;
	}
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 5) == 0);

	q = q_any();
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 5);
	q = q_any(), q.host = "web-1";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.host = "web";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 0); /* exact, not a prefix */
	q = q_any(), q.service = "postgres";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.check = "http";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.source = "syslog";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.fingerprint = "fpC";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.status = "firing";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 3);
	q = q_any(), q.status = "resolved";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	/* filters combine with AND */
	q = q_any(), q.host = "db-1", q.status = "firing", q.source = "snmp";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 1);
	q = q_any(), q.service = "nginx", q.fingerprint = "fpA", q.check = "http";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.host = "web-2", q.fingerprint = "fpB";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 0);
	store_close(&f);
}

static void test_store_query_severity_means_at_least_this_severe(void)
{
	struct fixture f;
	rfx_event *evs[8];
	char ids[8][RFX_EVENT_ID_LEN + 1];
	rfx_event_query q;

	CU_ASSERT_FATAL(store_open_fresh(&f, "severity") == 0);
	for (int i = 0; i < 8; i++)
		evs[i] = mk_event("h", "c", i);
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 8) == 0);

	q = q_any(), q.severity = RFX_SEV_ERROR;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 4); /* emergency..error */
	q = q_any(), q.severity = RFX_SEV_EMERGENCY;
	CU_ASSERT_EQUAL_FATAL(query_count(&f, q, ids), 1);
	q = q_any(), q.severity = RFX_SEV_DEBUG;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 8);
	store_close(&f);
}

static void test_store_query_since_inclusive_until_exclusive(void)
{
	struct fixture f;
	rfx_event *evs[4];
	rfx_event_query q;

	CU_ASSERT_FATAL(store_open_fresh(&f, "time") == 0);
	for (int i = 0; i < 4; i++) {
		evs[i] = mk_event("h", "c", RFX_SEV_INFO);
		evs[i]->occurred_ns = (1000 + 1000 * i) * SEC; /* 1000s 2000s 3000s 4000s */
	}
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 4) == 0);

	q = q_any(), q.since_ns = 2000 * SEC;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 3);
	q = q_any(), q.until_ns = 3000 * SEC;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.since_ns = 2000 * SEC, q.until_ns = 3000 * SEC;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 1);
	q = q_any(), q.since_ns = 2000 * SEC + 1, q.until_ns = 3000 * SEC + 1;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 1);
	q = q_any(), q.since_ns = 5000 * SEC;
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 0);
	store_close(&f);
}

static void test_store_query_text_takes_wildcards_literally(void)
{
	struct fixture f;
	/* host check message */
	static const char *rows[][3] = {
		{"web-1", "Disk_Usage", "volume at 100% full"},
		{"web-2", "DiskXUsage", "volume at 1000 percent"},
		{"db-1", "load", "path c:\\temp is a_b"},
		{"db-2", "load", "axb"},
	};
	rfx_event *evs[4];
	char ids[4][RFX_EVENT_ID_LEN + 1], want[4][RFX_EVENT_ID_LEN + 1];
	rfx_event_query q;

	CU_ASSERT_FATAL(store_open_fresh(&f, "text") == 0);
	for (int i = 0; i < 4; i++) {
		evs[i] = mk_event(rows[i][0], rows[i][1], RFX_SEV_INFO);
		rfx_event_set(evs[i], RFX_F_MESSAGE, rows[i][2]);
		memcpy(want[i], evs[i]->id, sizeof want[i]);
	}
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 4) == 0);

	q = q_any(), q.text = "100%";
	CU_ASSERT_EQUAL_FATAL(query_count(&f, q, ids), 1);
	CU_ASSERT_STRING_EQUAL(ids[0], want[0]);
	q = q_any(), q.text = "Disk_";
	CU_ASSERT_EQUAL_FATAL(query_count(&f, q, ids), 1);
	CU_ASSERT_STRING_EQUAL(ids[0], want[0]);
	q = q_any(), q.text = "a_b";
	CU_ASSERT_EQUAL_FATAL(query_count(&f, q, ids), 1);
	CU_ASSERT_STRING_EQUAL(ids[0], want[2]);
	q = q_any(), q.text = "c:\\temp";
	CU_ASSERT_EQUAL_FATAL(query_count(&f, q, ids), 1);
	CU_ASSERT_STRING_EQUAL(ids[0], want[2]);
	q = q_any(), q.text = "%";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 1);
	/* check, message and host are searched, ASCII case-insensitively */
	q = q_any(), q.text = "disk";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.text = "DB-";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 2);
	q = q_any(), q.text = "percent";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 1);
	q = q_any(), q.text = "nowhere";
	CU_ASSERT_EQUAL(query_count(&f, q, NULL), 0);
	store_close(&f);
}

static void test_store_query_pages_newest_first_without_gaps(void)
{
	enum { N = 250 };
	struct fixture f;
	static char ids[N][RFX_EVENT_ID_LEN + 1];
	rfx_event *evs[N];
	char cursor[RFX_EVENT_ID_LEN + 1] = "";
	size_t seen = 0, pages = 0, sizes[4] = {0};

	CU_ASSERT_FATAL(store_open_fresh(&f, "pages") == 0);
	for (int i = 0; i < N; i++) {
		evs[i] = mk_event("h", "c", RFX_SEV_INFO);
		memcpy(ids[i], evs[i]->id, sizeof ids[i]);
	}
	/* several batches, as the pipeline writes them */
	CU_ASSERT_FATAL(ops->put_events(f.state, evs, 100) == 0);
	CU_ASSERT_FATAL(ops->put_events(f.state, evs + 100, 150) == 0);
	for (int i = 0; i < N; i++)
		rfx_event_unref(evs[i]);

	do {
		rfx_event_query q = q_any();
		rfx_event **out = NULL;
		size_t n = 0;
		char next[RFX_EVENT_ID_LEN + 1];

		q.limit = 100;
		q.cursor = cursor[0] ? cursor : NULL;
		CU_ASSERT_FATAL(ops->query_events(f.state, &q, &out, &n, next) == 0);
		CU_ASSERT_FATAL(pages < 4);
		sizes[pages++] = n;
		for (size_t i = 0; i < n; i++) {
			/* newest first: the i-th result overall is the i-th
			 * newest id; no duplicate, no gap */
			CU_ASSERT_FATAL(seen < N);
			CU_ASSERT_STRING_EQUAL(out[i]->id, ids[N - 1 - seen]);
			seen++;
			rfx_event_unref(out[i]);
		}
		if (n > 0)
			CU_ASSERT(next[0] == '\0' || strcmp(next, ids[N - seen]) == 0);
		free(out);
		memcpy(cursor, next, sizeof cursor);
	} while (cursor[0]);

	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT_EQUAL(sizes[0], 100);
	CU_ASSERT_EQUAL(sizes[1], 100);
	CU_ASSERT_EQUAL(sizes[2], 50);
	CU_ASSERT_EQUAL(seen, N);

	/* a page that ends exactly at the last event says there is no more */
	rfx_event_query q = q_any();
	rfx_event **out = NULL;
	size_t n = 0;
	char next[RFX_EVENT_ID_LEN + 1] = "x";
	q.limit = 50;
	q.cursor = ids[50];
	CU_ASSERT_FATAL(ops->query_events(f.state, &q, &out, &n, next) == 0);
	CU_ASSERT_EQUAL(n, 50);
	CU_ASSERT_STRING_EQUAL(next, "");
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(out[i]);
	free(out);
	store_close(&f);
}

static void test_store_query_rejects_bad_limit_and_status(void)
{
	struct fixture f;
	rfx_event **out = NULL;
	size_t n = 7;
	char next[RFX_EVENT_ID_LEN + 1];
	rfx_event_query q;

	CU_ASSERT_FATAL(store_open_fresh(&f, "badquery") == 0);
	q = q_any(), q.limit = 0;
	CU_ASSERT_EQUAL(ops->query_events(f.state, &q, &out, &n, next), RFX_EINVAL);
	q = q_any(), q.limit = 1001;
	CU_ASSERT_EQUAL(ops->query_events(f.state, &q, &out, &n, next), RFX_EINVAL);
	q = q_any(), q.status = "burning";
	CU_ASSERT_EQUAL(ops->query_events(f.state, &q, &out, &n, next), RFX_EINVAL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(n, 0);
	/* an empty store answers an empty page */
	q = q_any(), q.limit = 10;
	CU_ASSERT_EQUAL(ops->query_events(f.state, &q, &out, &n, next), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_STRING_EQUAL(next, "");
	free(out);
	store_close(&f);
}

static void test_store_count_events_counts_stored_events(void)
{
	struct fixture f;
	rfx_event *evs[10];
	uint64_t n = 99;

	CU_ASSERT_FATAL(store_open_fresh(&f, "count") == 0);
	CU_ASSERT(ops->count_events(f.state, &n) == 0);
	CU_ASSERT_EQUAL(n, 0);
	for (int i = 0; i < 10; i++)
		evs[i] = mk_event("h", "c", RFX_SEV_INFO);
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 10) == 0);
	CU_ASSERT(ops->count_events(f.state, &n) == 0);
	CU_ASSERT_EQUAL(n, 10);
	CU_ASSERT_EQUAL(ops->put_events(f.state, evs, 0), 0);
	store_close(&f);
}

/* Readers (API threads) and the writer (the store thread) at the same time:
 * every read succeeds and sees a consistent count. */
struct reader_arg {
	struct fixture *f;
	int errors;
	uint64_t last_count;
};

static void *reader_main(void *p)
{
	struct reader_arg *a = p;

	for (int i = 0; i < 40; i++) {
		rfx_event_query q = q_any();
		rfx_event **out = NULL;
		size_t n = 0;
		char next[RFX_EVENT_ID_LEN + 1];
		uint64_t c = 0;
		char *v = NULL;

		q.limit = 20;
		if (ops->query_events(a->f->state, &q, &out, &n, next) != 0)
			a->errors++;
		if (n > 0) {
			rfx_event *got = NULL;
			if (ops->get_event(a->f->state, out[0]->id, &got) != 0)
				a->errors++;
			rfx_event_unref(got);
		}
		for (size_t k = 0; k < n; k++)
			rfx_event_unref(out[k]);
		free(out);
		if (ops->count_events(a->f->state, &c) != 0 || c < a->last_count || c % 50 != 0)
			a->errors++;
		a->last_count = c;
		int rc = ops->kv_get(a->f->state, "ns", "k", &v);
		if (rc != 0 && rc != RFX_ENOENT)
			a->errors++;
		free(v);
	}
	return NULL;
}

static void test_store_reads_run_while_writing(void)
{
	struct fixture f;
	pthread_t th[6];
	struct reader_arg args[6];
	uint64_t n = 0;
	int errors = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "concurrent") == 0);
	for (int i = 0; i < 6; i++) {
		args[i] = (struct reader_arg){.f = &f};
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, reader_main, &args[i]) == 0);
	}
	for (int b = 0; b < 20; b++) {
		rfx_event *evs[50];
		char val[16];
		for (int i = 0; i < 50; i++)
			evs[i] = mk_event("h", "c", RFX_SEV_INFO);
		if (put_and_unref(&f, evs, 50) != 0)
			errors++;
		snprintf(val, sizeof val, "%d", b);
		if (ops->kv_put(f.state, "ns", "k", val) != 0)
			errors++;
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		errors += args[i].errors;
	}
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT(ops->count_events(f.state, &n) == 0);
	CU_ASSERT_EQUAL(n, 1000);
	store_close(&f);
}

/* ---- key-value state ---------------------------------------------------------- */

static void test_store_kv_put_get_del(void)
{
	struct fixture f;
	char *v = NULL;

	CU_ASSERT_FATAL(store_open_fresh(&f, "kv") == 0);
	CU_ASSERT_EQUAL(ops->kv_get(f.state, "input:a", "offset", &v), RFX_ENOENT);
	CU_ASSERT_EQUAL(ops->kv_put(f.state, "input:a", "offset", "42"), 0);
	CU_ASSERT_EQUAL(ops->kv_put(f.state, "input:b", "offset", "7 \"quoted\" ✓"), 0);
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "input:a", "offset", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "42");
	free(v);
	CU_ASSERT_EQUAL(ops->kv_put(f.state, "input:a", "offset", "43"), 0);
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "input:a", "offset", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "43");
	free(v);
	/* namespaces do not see each other */
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "input:b", "offset", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "7 \"quoted\" ✓");
	free(v);
	CU_ASSERT_EQUAL(ops->kv_put(f.state, "input:a", "empty", ""), 0);
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "input:a", "empty", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "");
	free(v);
	CU_ASSERT_EQUAL(ops->kv_del(f.state, "input:a", "offset"), 0);
	CU_ASSERT_EQUAL(ops->kv_get(f.state, "input:a", "offset", &v), RFX_ENOENT);
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "input:b", "offset", &v), 0);
	free(v);
	/* deleting what is not there is not an error */
	CU_ASSERT_EQUAL(ops->kv_del(f.state, "input:a", "offset"), 0);
	store_close(&f);
}

/* ---- the outbox (ABI 1.3) ----------------------------------------------------- */

/* A pending entry for output `out` and event `ev`, as the pipeline makes
 * them; created and next times differ so that a swap would show. */
static rfx_outbox_entry mk_entry(const char *out, const rfx_event *ev)
{
	rfx_outbox_entry e = {0};

	snprintf(e.output, sizeof e.output, "%s", out);
	memcpy(e.event_id, ev->id, sizeof e.event_id);
	e.state = RFX_OUTBOX_PENDING;
	e.created_ns = 1700000000123456789LL;
	e.next_ns = 1700000000987654321LL;
	e.id = 12345; /* must be overwritten */
	return e;
}

/* Lists entries; returns how many (and *v, to free) or -1. */
static int ob_list(struct fixture *f, const char *output, int state, uint64_t after,
		   size_t limit, rfx_outbox_entry **v)
{
	rfx_outbox_query q = {.output = output, .state = state, .after_id = after, .limit = limit};
	size_t n = 99;

	*v = NULL;
	if (ops->outbox_list(f->state, &q, v, &n) != 0)
		return -1;
	return (int)n;
}

/* An event with the id of ev (a source sending it again under its preset
 * id) but other content. */
static rfx_event *mk_again(const rfx_event *ev)
{
	rfx_event *e = mk_event("again", "again", RFX_SEV_CRITICAL);

	memcpy(e->id, ev->id, sizeof e->id);
	return e;
}

static void unref_all(rfx_event **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(evs[i]);
}

static void test_store_outbox_put_batch_records_entries_with_their_events(void)
{
	struct fixture f;
	rfx_event *evs[3];
	rfx_outbox_entry en[3], *v = NULL;
	uint64_t count = 0;

	CU_ASSERT_FATAL(ops->size >= sizeof(rfx_store_ops) && ops->put_batch && ops->outbox_list &&
			ops->outbox_update && ops->outbox_delete);
	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_put") == 0);
	for (int i = 0; i < 3; i++)
		evs[i] = mk_event("h", "c", RFX_SEV_ERROR);
	/* in the order of their events; event 1 goes nowhere */
	en[0] = mk_entry("pager", evs[0]);
	en[1] = mk_entry("ticket", evs[0]);
	en[2] = mk_entry("pager", evs[2]);
	snprintf(en[2].last_error, sizeof en[2].last_error, "it's \"quoted\" \\ and \xc3\xa9");
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, evs, 3, en, 3), 0);
	CU_ASSERT(en[0].id > 0);
	CU_ASSERT(en[1].id > en[0].id);
	CU_ASSERT(en[2].id > en[1].id);
	CU_ASSERT(ops->count_events(f.state, &count) == 0);
	CU_ASSERT_EQUAL(count, 3);

	CU_ASSERT_EQUAL_FATAL(ob_list(&f, NULL, -1, 0, 100, &v), 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(v[i].id, en[i].id);
		CU_ASSERT_STRING_EQUAL(v[i].output, en[i].output);
		CU_ASSERT_STRING_EQUAL(v[i].event_id, en[i].event_id);
		CU_ASSERT_EQUAL(v[i].state, RFX_OUTBOX_PENDING);
		CU_ASSERT_EQUAL(v[i].attempts, 0);
		CU_ASSERT_EQUAL(v[i].created_ns, 1700000000123456789LL);
		CU_ASSERT_EQUAL(v[i].next_ns, 1700000000987654321LL);
		CU_ASSERT_STRING_EQUAL(v[i].last_error, en[i].last_error);
	}
	free(v);
	unref_all(evs, 3);
	store_close(&f);
}

static void test_store_outbox_update_saves_state_attempts_and_error(void)
{
	struct fixture f;
	rfx_event *ev;
	rfx_outbox_entry en[2], up, *v = NULL;

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_update") == 0);
	ev = mk_event("h", "c", RFX_SEV_ERROR);
	en[0] = mk_entry("a", ev);
	en[1] = mk_entry("b", ev);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, &ev, 1, en, 2), 0);
	up = en[1];
	up.state = RFX_OUTBOX_DEAD;
	up.attempts = 7;
	up.next_ns = 0;
	snprintf(up.last_error, sizeof up.last_error, "receiver said 503: it's down");
	CU_ASSERT_EQUAL(ops->outbox_update(f.state, &up), 0);
	up = en[0];
	up.attempts = 2;
	up.next_ns = 1800000000000000000LL;
	snprintf(up.last_error, sizeof up.last_error, "timeout");
	CU_ASSERT_EQUAL(ops->outbox_update(f.state, &up), 0);

	CU_ASSERT_EQUAL_FATAL(ob_list(&f, NULL, -1, 0, 10, &v), 2);
	CU_ASSERT_EQUAL(v[0].state, RFX_OUTBOX_PENDING);
	CU_ASSERT_EQUAL(v[0].attempts, 2);
	CU_ASSERT_EQUAL(v[0].next_ns, 1800000000000000000LL);
	CU_ASSERT_STRING_EQUAL(v[0].last_error, "timeout");
	CU_ASSERT_EQUAL(v[1].state, RFX_OUTBOX_DEAD);
	CU_ASSERT_EQUAL(v[1].attempts, 7);
	CU_ASSERT_EQUAL(v[1].next_ns, 0);
	CU_ASSERT_STRING_EQUAL(v[1].last_error, "receiver said 503: it's down");
	/* what update does not change stays */
	CU_ASSERT_STRING_EQUAL(v[1].output, "b");
	CU_ASSERT_STRING_EQUAL(v[1].event_id, ev->id);
	CU_ASSERT_EQUAL(v[1].created_ns, 1700000000123456789LL);
	free(v);

	up.id = en[1].id + 1000;
	CU_ASSERT_EQUAL(ops->outbox_update(f.state, &up), RFX_ENOENT);
	up.id = 0;
	CU_ASSERT_EQUAL(ops->outbox_update(f.state, &up), RFX_EINVAL);
	rfx_event_unref(ev);
	store_close(&f);
}

static void test_store_outbox_delete_removes_a_batch_of_ids(void)
{
	struct fixture f;
	rfx_event *evs[4];
	rfx_outbox_entry en[4], *v = NULL;
	uint64_t ids[3];

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_delete") == 0);
	for (int i = 0; i < 4; i++) {
		evs[i] = mk_event("h", "c", RFX_SEV_ERROR);
		en[i] = mk_entry("out", evs[i]);
	}
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, evs, 4, en, 4), 0);
	/* ids not there are ignored */
	ids[0] = en[0].id;
	ids[1] = en[3].id + 500;
	ids[2] = en[2].id;
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, ids, 3), 0);
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, ids, 0), 0);
	CU_ASSERT_EQUAL_FATAL(ob_list(&f, NULL, -1, 0, 10, &v), 2);
	CU_ASSERT_EQUAL(v[0].id, en[1].id);
	CU_ASSERT_EQUAL(v[1].id, en[3].id);
	free(v);
	/* again: nothing left of those, no error */
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, ids, 3), 0);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 10, &v), 2);
	free(v);
	unref_all(evs, 4);
	store_close(&f);
}

static void test_store_outbox_entry_of_an_event_stored_before_gets_id_0(void)
{
	struct fixture f;
	rfx_event *first, *b[4];
	rfx_outbox_entry e0, en[5], *v = NULL;
	rfx_event *got = NULL;
	uint64_t count = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_dup") == 0);
	first = mk_event("h", "first", RFX_SEV_ERROR);
	e0 = mk_entry("out", first);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, &first, 1, &e0, 1), 0);
	CU_ASSERT(e0.id > 0);

	/* the same preset id again, a new event, and a new event twice in
	 * the same batch (a source repeating itself within one batch; not
	 * back to back: the stores pair entries with events by id, so the
	 * entries of two adjacent copies would be taken for the first's) */
	b[0] = mk_again(first);
	b[1] = mk_event("h", "twice", RFX_SEV_ERROR);
	b[2] = mk_event("h", "new", RFX_SEV_ERROR);
	b[3] = mk_again(b[1]);
	en[0] = mk_entry("out", b[0]);
	en[1] = mk_entry("other", b[0]);
	en[2] = mk_entry("out", b[1]);
	en[3] = mk_entry("out", b[2]);
	en[4] = mk_entry("out", b[3]);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, b, 4, en, 5), 0);
	CU_ASSERT_EQUAL(en[0].id, 0);
	CU_ASSERT_EQUAL(en[1].id, 0);
	CU_ASSERT(en[2].id > e0.id);
	CU_ASSERT(en[3].id > en[2].id);
	CU_ASSERT_EQUAL(en[4].id, 0);

	CU_ASSERT_EQUAL_FATAL(ob_list(&f, NULL, -1, 0, 100, &v), 3);
	CU_ASSERT_EQUAL(v[0].id, e0.id);
	CU_ASSERT_EQUAL(v[1].id, en[2].id);
	CU_ASSERT_EQUAL(v[2].id, en[3].id);
	free(v);
	/* and the first copy of the event is the one kept */
	CU_ASSERT(ops->count_events(f.state, &count) == 0);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_FATAL(ops->get_event(f.state, first->id, &got) == 0);
	CU_ASSERT(streq(got->str[RFX_F_CHECK], "first"));
	rfx_event_unref(got);
	CU_ASSERT_FATAL(ops->get_event(f.state, b[1]->id, &got) == 0);
	CU_ASSERT(streq(got->str[RFX_F_CHECK], "twice"));
	rfx_event_unref(got);
	rfx_event_unref(first);
	unref_all(b, 4);
	store_close(&f);
}

static void test_store_outbox_entries_without_their_event_in_the_batch_are_added(void)
{
	struct fixture f;
	rfx_event *ev;
	rfx_outbox_entry en[2], *v = NULL;

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_replay") == 0);
	ev = mk_event("h", "c", RFX_SEV_ERROR);
	CU_ASSERT_EQUAL_FATAL(ops->put_events(f.state, &ev, 1), 0);
	/* a replay: entries for an event stored earlier, no events */
	en[0] = mk_entry("a", ev);
	en[1] = mk_entry("b", ev);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, NULL, 0, en, 2), 0);
	CU_ASSERT(en[0].id > 0);
	CU_ASSERT(en[1].id > en[0].id);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 10, &v), 2);
	free(v);
	rfx_event_unref(ev);
	store_close(&f);
}

static void test_store_outbox_refused_batch_writes_nothing(void)
{
	struct fixture f;
	rfx_event *evs[2];
	rfx_outbox_entry en[2], *v = NULL;
	uint64_t count = 9;

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_refused") == 0);
	evs[0] = mk_event("h", "c", RFX_SEV_ERROR);
	evs[1] = mk_event("h", "c", RFX_SEV_ERROR);
	en[0] = mk_entry("a", evs[0]);
	en[1] = mk_entry("a", evs[1]);
	evs[1]->id[0] = '\0'; /* an event without an id cannot be stored */
	CU_ASSERT_EQUAL(ops->put_batch(f.state, evs, 2, en, 2), RFX_EINVAL);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 10, &v), 0);
	free(v);
	CU_ASSERT(ops->count_events(f.state, &count) == 0);
	CU_ASSERT_EQUAL(count, 0);
	unref_all(evs, 2);
	store_close(&f);
}

static void test_store_outbox_ids_grow_and_are_never_reused(void)
{
	struct fixture f;
	rfx_event *ev;
	rfx_outbox_entry en[2], *v = NULL;
	uint64_t last;
	char name[64];

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_ids") == 0);
	snprintf(name, sizeof name, "%s", f.name);
	ev = mk_event("h", "c", RFX_SEV_ERROR);
	en[0] = mk_entry("a", ev);
	en[1] = mk_entry("b", ev);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, &ev, 1, en, 2), 0);
	last = en[1].id;
	/* the highest id deleted: a rowid table without AUTOINCREMENT would
	 * give it out again */
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, &last, 1), 0);
	rfx_event_unref(ev);
	ev = mk_event("h", "c", RFX_SEV_ERROR);
	en[0] = mk_entry("a", ev);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, &ev, 1, en, 1), 0);
	CU_ASSERT(en[0].id > last);
	last = en[0].id;
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, &last, 1), 0);
	store_close(&f);

	/* nor after a reopen; and what was not delivered is still there */
	CU_ASSERT_FATAL(store_open_with(&f, name, NULL) == 0);
	rfx_event_unref(ev);
	ev = mk_event("h", "c", RFX_SEV_ERROR);
	en[0] = mk_entry("a", ev);
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, &ev, 1, en, 1), 0);
	CU_ASSERT(en[0].id > last);
	CU_ASSERT_EQUAL_FATAL(ob_list(&f, NULL, -1, 0, 10, &v), 2);
	CU_ASSERT(v[0].id < last);
	CU_ASSERT_STRING_EQUAL(v[0].output, "a");
	CU_ASSERT_EQUAL(v[1].id, en[0].id);
	free(v);
	rfx_event_unref(ev);
	store_close(&f);
}

static void test_store_outbox_list_filters_by_output_state_after_and_limit(void)
{
	struct fixture f;
	rfx_event *evs[6];
	rfx_outbox_entry en[6], *v = NULL;

	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_list") == 0);
	for (int i = 0; i < 6; i++) {
		evs[i] = mk_event("h", "c", RFX_SEV_ERROR);
		en[i] = mk_entry(i % 2 ? "b" : "a", evs[i]); /* a b a b a b */
	}
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, evs, 6, en, 6), 0);
	for (int i = 2; i < 6; i += 3) { /* 2 (a) and 5 (b) are dead */
		rfx_outbox_entry up = en[i];
		up.state = RFX_OUTBOX_DEAD;
		CU_ASSERT_EQUAL(ops->outbox_update(f.state, &up), 0);
	}
	CU_ASSERT_EQUAL(ob_list(&f, "a", -1, 0, 100, &v), 3);
	CU_ASSERT(v && v[0].id == en[0].id && v[1].id == en[2].id && v[2].id == en[4].id);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, RFX_OUTBOX_DEAD, 0, 100, &v), 2);
	CU_ASSERT(v && v[0].id == en[2].id && v[1].id == en[5].id);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, "b", RFX_OUTBOX_PENDING, 0, 100, &v), 2);
	CU_ASSERT(v && v[0].id == en[1].id && v[1].id == en[3].id);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, en[2].id, 100, &v), 3);
	CU_ASSERT(v && v[0].id == en[3].id);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, en[1].id, 2, &v), 2);
	CU_ASSERT(v && v[0].id == en[2].id && v[1].id == en[3].id);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, "a", RFX_OUTBOX_PENDING, en[0].id, 1, &v), 1);
	CU_ASSERT(v && v[0].id == en[4].id);
	free(v);
	/* limit 0 means the most a listing gives */
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 0, &v), 6);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, "nobody", -1, 0, 10, &v), 0);
	free(v);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, en[5].id, 10, &v), 0);
	free(v);
	unref_all(evs, 6);
	store_close(&f);
}

/* A batch as large as the pipeline's, to take a store's bulk path (the
 * PostgreSQL store's COPY) with duplicates old and new among its events. */
static void test_store_outbox_large_batch_pairs_entries_with_events(void)
{
	enum { N = 300, OLD = 20 };
	struct fixture f;
	rfx_event *old[OLD], *evs[N];
	rfx_outbox_entry *en = calloc(2 * N, sizeof *en), *v = NULL;
	uint64_t *ids = calloc(2 * N, sizeof *ids), prev = 0;
	size_t *owner = calloc(2 * N, sizeof *owner); /* entry -> its event */
	size_t m = 0, want = 0, nids = 0;

	CU_ASSERT_FATAL(en && ids && owner);
	CU_ASSERT_FATAL(store_open_fresh(&f, "ob_large") == 0);
	for (int i = 0; i < OLD; i++)
		old[i] = mk_event("old", "c", RFX_SEV_ERROR);
	CU_ASSERT_EQUAL_FATAL(ops->put_events(f.state, old, OLD), 0);
	for (int i = 0; i < N; i++) {
		if (i % 15 == 0)
			evs[i] = mk_again(old[i / 15]); /* stored before */
		else if (i % 15 == 7)
			evs[i] = mk_again(evs[i - 3]); /* twice in this batch */
		else
			evs[i] = mk_event("new", "c", RFX_SEV_ERROR);
		rfx_event_set(evs[i], RFX_F_RAW, "raw payload");
		/* one or two outputs per event, some none */
		if (i % 5 != 4) {
			owner[m] = (size_t)i;
			en[m++] = mk_entry("a", evs[i]);
		}
		if (i % 3 == 0) {
			owner[m] = (size_t)i;
			en[m++] = mk_entry("b", evs[i]);
		}
	}
	CU_ASSERT_EQUAL_FATAL(ops->put_batch(f.state, evs, N, en, m), 0);
	for (size_t j = 0; j < m; j++) {
		size_t i = owner[j];
		CU_ASSERT_STRING_EQUAL(en[j].event_id, evs[i]->id);
		if (i % 15 == 0 || i % 15 == 7) {
			CU_ASSERT_EQUAL(en[j].id, 0);
		} else {
			CU_ASSERT(en[j].id > prev);
			prev = en[j].id;
			ids[nids++] = en[j].id;
			want++;
		}
	}
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 1000, &v), (int)want);
	for (size_t k = 0; v && k < want; k++)
		CU_ASSERT_EQUAL(v[k].id, ids[k]);
	free(v);
	/* all delivered: one delete */
	CU_ASSERT_EQUAL(ops->outbox_delete(f.state, ids, nids), 0);
	CU_ASSERT_EQUAL(ob_list(&f, NULL, -1, 0, 1000, &v), 0);
	free(v);
	unref_all(old, OLD);
	unref_all(evs, N);
	free(en);
	free(ids);
	free(owner);
	store_close(&f);
}

/* ---- persistence ---------------------------------------------------------------- */

static void test_store_data_survives_reopen(void)
{
	struct fixture f;
	rfx_event *evs[3], *got = NULL;
	char id[RFX_EVENT_ID_LEN + 1], name[64];
	char *v = NULL;
	uint64_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "reopen") == 0);
	snprintf(name, sizeof name, "%s", f.name);
	for (int i = 0; i < 3; i++)
		evs[i] = mk_event("h", "c", RFX_SEV_INFO);
	rfx_event_label_set(evs[1], "k", "v");
	memcpy(id, evs[1]->id, sizeof id);
	CU_ASSERT_FATAL(put_and_unref(&f, evs, 3) == 0);
	CU_ASSERT_EQUAL(ops->kv_put(f.state, "ns", "key", "value"), 0);
	store_close(&f);

	CU_ASSERT_FATAL(store_open_with(&f, name, NULL) == 0);
	CU_ASSERT(ops->count_events(f.state, &n) == 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_FATAL(ops->get_event(f.state, id, &got) == 0);
	CU_ASSERT(streq(rfx_event_label_get(got, "k"), "v"));
	rfx_event_unref(got);
	CU_ASSERT_EQUAL_FATAL(ops->kv_get(f.state, "ns", "key", &v), 0);
	CU_ASSERT_STRING_EQUAL(v, "value");
	free(v);
	store_close(&f);
}

/* ---- dedup folding (ABI 1.3) ------------------------------------------------------ */

static int load_sqlite(void);
static int sql_on(const struct fixture *f, const char *sql, char *out);

/* A repeat of `first` that the noise stage folded into it: its own id, raw
 * payload (raw may be NULL) and message, the record's count so far (this
 * one included). */
static rfx_event *mk_repeat(const rfx_event *first, uint64_t count, int64_t occurred_ns,
			    const char *raw)
{
	rfx_event *e = mk_event(rfx_event_host(first), rfx_event_check(first), first->severity);

	memcpy(e->fold_into, first->id, sizeof e->fold_into);
	e->count = count;
	e->occurred_ns = occurred_ns;
	rfx_event_set(e, RFX_F_MESSAGE, "a repeat's message");
	if (raw)
		rfx_event_set(e, RFX_F_RAW, raw);
	return e;
}

/* Raw rows of the test's SQLite file ("" for other stores, which the
 * PostgreSQL integration test checks with psql). */
static void raw_rows(const struct fixture *f, char *out)
{
	out[0] = '\0';
	if (strcmp(desc->name, "sqlite") != 0)
		return;
	CU_ASSERT_FATAL(load_sqlite() == 0);
	CU_ASSERT_EQUAL(sql_on(f, "SELECT count(*) FROM raw_events", out), 0);
}

/* The first event and two repeats in one batch: one row, counting 3. */
static void test_store_fold_adds_repeats_to_the_first_events_row(void)
{
	struct fixture f;
	rfx_event *evs[3], *got = NULL;
	char first[RFX_EVENT_ID_LEN + 1], rep[RFX_EVENT_ID_LEN + 1], out[64];
	uint64_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "fold_batch") == 0);
	evs[0] = mk_event("fold", "disk", RFX_SEV_ERROR);
	evs[0]->occurred_ns = 1000 * SEC;
	evs[0]->value = 91;
	evs[0]->has_value = true;
	rfx_event_set(evs[0], RFX_F_MESSAGE, "disk 91% full");
	rfx_event_set(evs[0], RFX_F_RAW, "raw 0");
	evs[1] = mk_repeat(evs[0], 2, 1020 * SEC, "raw 1");
	evs[1]->value = 95;
	evs[1]->has_value = true;
	/* the last repeat has no value (the last one stays) and an earlier
	 * time (last_ns only grows) */
	evs[2] = mk_repeat(evs[0], 3, 1010 * SEC, "raw 2");
	memcpy(first, evs[0]->id, sizeof first);
	memcpy(rep, evs[1]->id, sizeof rep);
	CU_ASSERT_EQUAL_FATAL(put_and_unref(&f, evs, 3), 0);

	CU_ASSERT_EQUAL(ops->count_events(f.state, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, first, &got), 0);
	CU_ASSERT_EQUAL(got->count, 3);
	CU_ASSERT_EQUAL(got->last_ns, 1020 * SEC);
	CU_ASSERT_EQUAL(got->occurred_ns, 1000 * SEC);
	CU_ASSERT(got->has_value);
	CU_ASSERT_DOUBLE_EQUAL(got->value, 95, 0.0);
	CU_ASSERT(streq(rfx_event_message(got), "disk 91% full"));
	CU_ASSERT(streq(got->str[RFX_F_RAW], "raw 0"));
	rfx_event_unref(got);
	got = NULL;
	/* a repeat has no row of its own, but its payload is kept, and its
	 * id (acknowledged to its sender) reads as its record */
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, rep, &got), 0);
	CU_ASSERT_STRING_EQUAL(got->id, first);
	CU_ASSERT_EQUAL(got->count, 3);
	CU_ASSERT(streq(got->str[RFX_F_RAW], "raw 0"));
	rfx_event_unref(got);
	raw_rows(&f, out);
	if (strcmp(desc->name, "sqlite") == 0)
		CU_ASSERT_STRING_EQUAL(out, "3");
	store_close(&f);
}

/* The same batch put again (the pipeline retries a batch whose write it
 * could not confirm) counts nothing twice; a later repeat counts on. */
static void test_store_fold_of_a_retried_batch_counts_once(void)
{
	struct fixture f;
	rfx_event *evs[3], *later, *got = NULL;
	char out[64];
	uint64_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "fold_retry") == 0);
	evs[0] = mk_event("fold", "load", RFX_SEV_WARNING);
	rfx_event_set(evs[0], RFX_F_RAW, "raw 0");
	evs[1] = mk_repeat(evs[0], 2, 2000 * SEC, "raw 1");
	evs[2] = mk_repeat(evs[0], 3, 2001 * SEC, "raw 2");
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(ops->put_events(f.state, evs, 3), 0);
	CU_ASSERT_EQUAL(ops->count_events(f.state, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[0]->id, &got), 0);
	CU_ASSERT_EQUAL(got->count, 3);
	CU_ASSERT_EQUAL(got->last_ns, 2001 * SEC);
	rfx_event_unref(got);
	got = NULL;
	raw_rows(&f, out);
	if (strcmp(desc->name, "sqlite") == 0)
		CU_ASSERT_STRING_EQUAL(out, "3");

	/* the repeats alone again, then a new one in its own batch */
	CU_ASSERT_EQUAL(ops->put_events(f.state, evs + 1, 2), 0);
	later = mk_repeat(evs[0], 4, 2002 * SEC, "raw 3");
	CU_ASSERT_EQUAL(put_and_unref(&f, &later, 1), 0);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[0]->id, &got), 0);
	CU_ASSERT_EQUAL(got->count, 4);
	CU_ASSERT_EQUAL(got->last_ns, 2002 * SEC);
	rfx_event_unref(got);
	unref_all(evs, 3);
	store_close(&f);
}

/* A record whose first event is not in the store (older than it) cannot
 * take the repeat: the repeat is stored as an event of its own. */
static void test_store_fold_into_an_unknown_id_stores_a_row(void)
{
	struct fixture f;
	rfx_event *ev, *got = NULL;
	char id[RFX_EVENT_ID_LEN + 1];
	uint64_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "fold_unknown") == 0);
	ev = mk_event("fold", "gone", RFX_SEV_ERROR);
	rfx_event_id_new(ev->fold_into); /* never stored */
	ev->count = 5;
	ev->occurred_ns = 3000 * SEC;
	rfx_event_set(ev, RFX_F_MESSAGE, "the repeat");
	rfx_event_set(ev, RFX_F_RAW, "raw");
	memcpy(id, ev->id, sizeof id);
	CU_ASSERT_EQUAL(put_and_unref(&f, &ev, 1), 0);
	CU_ASSERT_EQUAL(ops->count_events(f.state, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, id, &got), 0);
	CU_ASSERT(streq(rfx_event_message(got), "the repeat"));
	CU_ASSERT(streq(got->str[RFX_F_RAW], "raw"));
	CU_ASSERT_EQUAL(got->occurred_ns, 3000 * SEC);
	CU_ASSERT_EQUAL(got->count, 1); /* a row of its own: no repeats yet */
	CU_ASSERT_EQUAL(got->last_ns, 0);
	rfx_event_unref(got);
	store_close(&f);
}

/* get_event and query_events give count and last_ns; an event without
 * repeats reads as count 1, last_ns 0. A repeat without a raw payload is
 * found by its id all the same. */
static void test_store_reads_give_count_and_last_seen(void)
{
	struct fixture f;
	rfx_event *evs[3], **out = NULL, *got = NULL;
	rfx_event_query q = q_any();
	char cursor[RFX_EVENT_ID_LEN + 1], raw[64];
	size_t n = 0;

	CU_ASSERT_FATAL(store_open_fresh(&f, "fold_read") == 0);
	evs[0] = mk_event("fold-read", "a", RFX_SEV_ERROR);
	evs[1] = mk_event("fold-read", "b", RFX_SEV_ERROR);
	/* no occurred time: the repeat's receipt is its time */
	evs[2] = mk_repeat(evs[0], 2, 0, NULL);
	evs[2]->received_ns = 4000 * SEC;
	CU_ASSERT_EQUAL_FATAL(ops->put_events(f.state, evs, 3), 0);

	q.host = "fold-read";
	CU_ASSERT_EQUAL_FATAL(ops->query_events(f.state, &q, &out, &n, cursor), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	/* newest first */
	CU_ASSERT_STRING_EQUAL(out[0]->id, evs[1]->id);
	CU_ASSERT_EQUAL(out[0]->count, 1);
	CU_ASSERT_EQUAL(out[0]->last_ns, 0);
	CU_ASSERT_STRING_EQUAL(out[1]->id, evs[0]->id);
	CU_ASSERT_EQUAL(out[1]->count, 2);
	CU_ASSERT_EQUAL(out[1]->last_ns, 4000 * SEC);
	unref_all(out, n);
	free(out);
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[1]->id, &got), 0);
	CU_ASSERT_EQUAL(got->count, 1);
	CU_ASSERT_EQUAL(got->last_ns, 0);
	rfx_event_unref(got);
	got = NULL;
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[2]->id, &got), 0);
	CU_ASSERT_STRING_EQUAL(got->id, evs[0]->id);
	CU_ASSERT_EQUAL(got->count, 2);
	CU_ASSERT_PTR_NULL(got->str[RFX_F_RAW]); /* the record's: it had none */
	rfx_event_unref(got);
	/* the repeat's raw row holds the event as JSON */
	raw_rows(&f, raw);
	if (strcmp(desc->name, "sqlite") == 0)
		CU_ASSERT_STRING_EQUAL(raw, "1");
	unref_all(evs, 3);
	store_close(&f);
}

/* A batch as large as the pipeline's (the PostgreSQL store's COPY path)
 * with records stored before, records opened in the batch, and a repeat
 * of an unknown record; put twice. */
static void test_store_fold_in_a_large_batch(void)
{
	enum { OLD = 5, NEW = 10, REP = 70, N = NEW + REP + 1 };
	struct fixture f;
	rfx_event *old[OLD], *evs[N], *rec[OLD + NEW], *got = NULL;
	uint64_t cnt[OLD + NEW], n = 0;
	int64_t last[OLD + NEW];
	int lastval[OLD + NEW];

	CU_ASSERT_FATAL(store_open_fresh(&f, "fold_large") == 0);
	for (int i = 0; i < OLD; i++) {
		old[i] = mk_event("old", "c", RFX_SEV_ERROR);
		rfx_event_set(old[i], RFX_F_MESSAGE, "first");
		old[i]->value = -1;
		old[i]->has_value = true;
		rec[i] = old[i];
	}
	CU_ASSERT_EQUAL_FATAL(ops->put_events(f.state, old, OLD), 0);
	for (int i = 0; i < NEW; i++) {
		evs[i] = mk_event("new", "c", RFX_SEV_ERROR);
		rfx_event_set(evs[i], RFX_F_MESSAGE, "first");
		evs[i]->value = -1;
		evs[i]->has_value = true;
		rec[OLD + i] = evs[i];
	}
	for (int r = 0; r < OLD + NEW; r++) {
		cnt[r] = 1;
		last[r] = 0;
		lastval[r] = -1;
	}
	for (int k = 0; k < REP; k++) {
		int r = k % (OLD + NEW);
		/* times rise and fall; every third repeat has no value */
		int64_t t = (5000 + (k * 7) % 13) * SEC;
		evs[NEW + k] = mk_repeat(rec[r], ++cnt[r], t, "raw");
		if (t > last[r])
			last[r] = t;
		if (k % 3 != 0) {
			evs[NEW + k]->value = k;
			evs[NEW + k]->has_value = true;
			lastval[r] = k;
		}
	}
	evs[N - 1] = mk_repeat(old[0], 9, 6000 * SEC, "raw");
	rfx_event_id_new(evs[N - 1]->fold_into);

	/* with a delivery for a record's first event (the path with outbox
	 * entries), then again without */
	rfx_outbox_entry en = mk_entry("a", evs[0]);
	CU_ASSERT_EQUAL(ops->put_batch(f.state, evs, N, &en, 1), 0);
	CU_ASSERT(en.id > 0 && en.id != 12345);
	CU_ASSERT_EQUAL(ops->put_events(f.state, evs, N), 0);
	CU_ASSERT_EQUAL(ops->count_events(f.state, &n), 0);
	CU_ASSERT_EQUAL(n, OLD + NEW + 1);
	for (int r = 0; r < OLD + NEW; r++) {
		CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, rec[r]->id, &got), 0);
		CU_ASSERT_EQUAL(got->count, cnt[r]);
		CU_ASSERT_EQUAL(got->last_ns, last[r]);
		CU_ASSERT_DOUBLE_EQUAL(got->value, lastval[r], 0.0);
		CU_ASSERT(streq(rfx_event_message(got), "first"));
		rfx_event_unref(got);
		got = NULL;
	}
	/* a repeat's id reads as its record */
	for (int k = 0; k < REP; k += 7) {
		CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[NEW + k]->id, &got), 0);
		CU_ASSERT_STRING_EQUAL(got->id, rec[k % (OLD + NEW)]->id);
		rfx_event_unref(got);
		got = NULL;
	}
	/* the repeat of an unknown record is a row of its own */
	CU_ASSERT_EQUAL_FATAL(ops->get_event(f.state, evs[N - 1]->id, &got), 0);
	CU_ASSERT_STRING_EQUAL(got->id, evs[N - 1]->id);
	CU_ASSERT_EQUAL(got->count, 1);
	rfx_event_unref(got);
	unref_all(old, OLD);
	unref_all(evs, N);
	store_close(&f);
}

/* ---- SQLite only: the database file itself ---------------------------------------- */

/* libsqlite3 is already loaded as the plugin's dependency; the test takes
 * the few functions it needs from it rather than linking it. */
static struct {
	__typeof__(&sqlite3_open) open;
	__typeof__(&sqlite3_exec) exec;
	__typeof__(&sqlite3_close) close;
} sq;

static int load_sqlite(void)
{
	void *h = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		h = dlopen("libsqlite3.so.0", RTLD_NOW);
	if (!h)
		return -1;
	sq.open = (__typeof__(sq.open))dlsym(h, "sqlite3_open");
	sq.exec = (__typeof__(sq.exec))dlsym(h, "sqlite3_exec");
	sq.close = (__typeof__(sq.close))dlsym(h, "sqlite3_close");
	/* the library stays loaded by the plugin; drop only our reference */
	dlclose(h);
	return sq.open && sq.exec && sq.close ? 0 : -1;
}

static int collect_int(void *arg, int ncol, char **vals, char **names)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 64 - len, "%s%s", len ? "," : "", vals[0] ? vals[0] : "NULL");
	return 0;
}

/* Runs sql on the test's database file; rows of the first column, comma
 * separated, go to out (64 bytes). */
static int sql_on(const struct fixture *f, const char *sql, char *out)
{
	char path[512];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof path, "%s/%s.db", tmpdir, f->name);
	out[0] = '\0';
	if (sq.open(path, &db) != SQLITE_OK) {
		sq.close(db);
		return -1;
	}
	rc = sq.exec(db, sql, collect_int, out, NULL);
	sq.close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void test_sqlite_records_every_schema_version(void)
{
	struct fixture f;
	char out[64];

	CU_ASSERT_FATAL(load_sqlite() == 0);
	CU_ASSERT_FATAL(store_open_fresh(&f, "version") == 0);
	/* 1: events and kv, 2: the outbox */
	CU_ASSERT_EQUAL(sql_on(&f, "SELECT group_concat(version) FROM schema_migrations", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "1,2,3");
	CU_ASSERT_EQUAL(sql_on(&f, "SELECT count(*) FROM outbox", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "0");
	CU_ASSERT_EQUAL(sql_on(&f, "PRAGMA journal_mode", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "wal");
	store_close(&f);
	/* reopening applies nothing twice */
	char name[64];
	snprintf(name, sizeof name, "%s", f.name);
	CU_ASSERT_FATAL(store_open_with(&f, name, NULL) == 0);
	store_close(&f);
	CU_ASSERT_EQUAL(sql_on(&f, "SELECT count(*) FROM schema_migrations", out), 0);
	CU_ASSERT_STRING_EQUAL(out, "3");
}

static void test_sqlite_refuses_a_newer_schema(void)
{
	struct fixture f;
	char name[64], out[64];

	CU_ASSERT_FATAL(load_sqlite() == 0);
	CU_ASSERT_FATAL(store_open_fresh(&f, "future") == 0);
	snprintf(name, sizeof name, "%s", f.name);
	store_close(&f);
	CU_ASSERT_EQUAL(sql_on(&f, "INSERT INTO schema_migrations VALUES(99, 'later')", out), 0);

	CU_ASSERT_NOT_EQUAL(store_open_with(&f, name, NULL), 0);
	CU_ASSERT_PTR_NULL(f.state);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.err, "schema version 99"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.err, "newer reflex"));
	store_close(&f);
}

static void test_sqlite_options_reach_the_database(void)
{
	struct fixture f;
	rfx_event *ev;

	/* an absolute path is used as is, normal sync still stores */
	char extra[600];
	snprintf(extra, sizeof extra, "synchronous: normal\nbusy_timeout: 250ms\n"
		 "cache_size: 8MiB\nmmap_size: 0\n");
	CU_ASSERT_FATAL(store_open_with(&f, "opts", extra) == 0);
	ev = mk_event("h", "c", RFX_SEV_INFO);
	CU_ASSERT_EQUAL(put_and_unref(&f, &ev, 1), 0);
	store_close(&f);
	CU_ASSERT_EQUAL(access("opts.db", F_OK), -1); /* not in the cwd */
	char path[512];
	snprintf(path, sizeof path, "%s/opts.db", tmpdir);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);

	/* a directory that does not exist is a clear error */
	CU_ASSERT_NOT_EQUAL(store_open_with(&f, "nodir/sub", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.err, "nodir/sub.db"));
	store_close(&f);
}

/* ---- main ---------------------------------------------------------------------- */

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) != 0)
			remove_tree(path);
	}
	closedir(d);
	rmdir(dir);
}

static int load_plugin(void)
{
	char def[1024];
	const char *path = getenv("REFLEX_STORE_PLUGIN");
	rfx_plugin_entry_fn entry;

	if (!path || !*path) {
		const char *b = getenv("REFLEX_BUILDDIR");
		snprintf(def, sizeof def, "%s/plugins/stores/sqlite/.libs/store_sqlite.so",
			 b && *b ? b : ".");
		path = def;
	}
	plugin_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!plugin_handle) {
		fprintf(stderr, "test_store: cannot load %s: %s\n", path, dlerror());
		return -1;
	}
	entry = (rfx_plugin_entry_fn)dlsym(plugin_handle, RFX_PLUGIN_ENTRY_SYMBOL);
	desc = entry ? entry() : NULL;
	if (!desc || desc->kind != RFX_KIND_STORE || !desc->store || !desc->init) {
		fprintf(stderr, "test_store: %s is not a store plugin\n", path);
		return -1;
	}
	ops = desc->store;
	return 0;
}

int main(void)
{
	CU_pSuite suite;
	unsigned failures;
	bool is_sqlite;

	if (load_plugin() != 0)
		return 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	is_sqlite = strcmp(desc->name, "sqlite") == 0;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(is_sqlite ? "store (sqlite)" : "store", NULL, NULL);
	CU_add_test(suite, "test_store_round_trip_keeps_every_field",
		    test_store_round_trip_keeps_every_field);
	CU_add_test(suite, "test_store_get_missing_event_is_enoent",
		    test_store_get_missing_event_is_enoent);
	CU_add_test(suite, "test_store_one_unstorable_event_does_not_fail_its_batch",
		    test_store_one_unstorable_event_does_not_fail_its_batch);
	CU_add_test(suite, "test_store_reput_of_a_batch_is_idempotent",
		    test_store_reput_of_a_batch_is_idempotent);
	CU_add_test(suite, "test_store_query_filters_by_each_field",
		    test_store_query_filters_by_each_field);
	CU_add_test(suite, "test_store_query_severity_means_at_least_this_severe",
		    test_store_query_severity_means_at_least_this_severe);
	CU_add_test(suite, "test_store_query_since_inclusive_until_exclusive",
		    test_store_query_since_inclusive_until_exclusive);
	CU_add_test(suite, "test_store_query_text_takes_wildcards_literally",
		    test_store_query_text_takes_wildcards_literally);
	CU_add_test(suite, "test_store_query_pages_newest_first_without_gaps",
		    test_store_query_pages_newest_first_without_gaps);
	CU_add_test(suite, "test_store_query_rejects_bad_limit_and_status",
		    test_store_query_rejects_bad_limit_and_status);
	CU_add_test(suite, "test_store_count_events_counts_stored_events",
		    test_store_count_events_counts_stored_events);
	CU_add_test(suite, "test_store_reads_run_while_writing",
		    test_store_reads_run_while_writing);
	CU_add_test(suite, "test_store_kv_put_get_del", test_store_kv_put_get_del);
	CU_add_test(suite, "test_store_data_survives_reopen", test_store_data_survives_reopen);
	CU_add_test(suite, "test_store_outbox_put_batch_records_entries_with_their_events",
		    test_store_outbox_put_batch_records_entries_with_their_events);
	CU_add_test(suite, "test_store_outbox_update_saves_state_attempts_and_error",
		    test_store_outbox_update_saves_state_attempts_and_error);
	CU_add_test(suite, "test_store_outbox_delete_removes_a_batch_of_ids",
		    test_store_outbox_delete_removes_a_batch_of_ids);
	CU_add_test(suite, "test_store_outbox_entry_of_an_event_stored_before_gets_id_0",
		    test_store_outbox_entry_of_an_event_stored_before_gets_id_0);
	CU_add_test(suite, "test_store_outbox_entries_without_their_event_in_the_batch_are_added",
		    test_store_outbox_entries_without_their_event_in_the_batch_are_added);
	CU_add_test(suite, "test_store_outbox_refused_batch_writes_nothing",
		    test_store_outbox_refused_batch_writes_nothing);
	CU_add_test(suite, "test_store_outbox_ids_grow_and_are_never_reused",
		    test_store_outbox_ids_grow_and_are_never_reused);
	CU_add_test(suite, "test_store_outbox_list_filters_by_output_state_after_and_limit",
		    test_store_outbox_list_filters_by_output_state_after_and_limit);
	CU_add_test(suite, "test_store_outbox_large_batch_pairs_entries_with_events",
		    test_store_outbox_large_batch_pairs_entries_with_events);
	CU_add_test(suite, "test_store_fold_adds_repeats_to_the_first_events_row",
		    test_store_fold_adds_repeats_to_the_first_events_row);
	CU_add_test(suite, "test_store_fold_of_a_retried_batch_counts_once",
		    test_store_fold_of_a_retried_batch_counts_once);
	CU_add_test(suite, "test_store_fold_into_an_unknown_id_stores_a_row",
		    test_store_fold_into_an_unknown_id_stores_a_row);
	CU_add_test(suite, "test_store_reads_give_count_and_last_seen",
		    test_store_reads_give_count_and_last_seen);
	CU_add_test(suite, "test_store_fold_in_a_large_batch", test_store_fold_in_a_large_batch);
	if (is_sqlite) {
		CU_add_test(suite, "test_sqlite_records_every_schema_version",
			    test_sqlite_records_every_schema_version);
		CU_add_test(suite, "test_sqlite_refuses_a_newer_schema",
			    test_sqlite_refuses_a_newer_schema);
		CU_add_test(suite, "test_sqlite_options_reach_the_database",
			    test_sqlite_options_reach_the_database);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	remove_tree(tmpdir);
	dlclose(plugin_handle);
	return failures > 0 ? 1 : 0;
}
