/*
 * tests/unit/test_noise.c - the noise stage (core/noise*.c): dedup records,
 * flap detection, silences, maintenance windows and their time zones, rate
 * limits with summaries, JSON validation and persistence. Time is scripted.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "config.h"
#include "diag.h"
#include "event.h"
#include "noise.h"
#include "noise_impl.h"
#include "schema.h"

#define MIN_NS (60LL * 1000000000LL)
#define SEC_NS 1000000000LL

static int64_t at(const char *rfc3339)
{
	int64_t ns = 0;
	CU_ASSERT_EQUAL_FATAL(rfx_time_parse(rfc3339, &ns), 0);
	return ns;
}

/* The defaults of the option table, as the config loader would fill them. */
static void defaults(struct rfx_noise_conf *c)
{
	rfx_diag d;
	rfx_diag_init(&d);
	memset(c, 0, sizeof(*c));
	CU_ASSERT_EQUAL(rfx_schema_apply(rfx_noise_options, NULL, c, "pipeline.noise", NULL, &d), 0);
	rfx_diag_free(&d);
}

static struct rfx_noise *make(struct rfx_noise_conf *c)
{
	char err[256] = "";
	struct rfx_noise *n = rfx_noise_new(c, err, sizeof(err));
	if (!n)
		fprintf(stderr, "rfx_noise_new: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	return n;
}

static rfx_event *ev_new(const char *host, const char *check, int status, int sev)
{
	rfx_event *ev = rfx_event_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
	rfx_event_set(ev, RFX_F_SOURCE, "test");
	rfx_event_set(ev, RFX_F_HOST, host);
	rfx_event_set(ev, RFX_F_CHECK, check);
	ev->status = status;
	ev->severity = sev;
	rfx_event_id_new(ev->id);
	return ev;
}

/* Judges one event and drops it; returns the verdict. */
static struct rfx_noise_verdict judge(struct rfx_noise *n, const char *host, const char *check,
				      int status, int64_t now)
{
	struct rfx_noise_verdict v;
	rfx_event *ev = ev_new(host, check, status, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, now, &v), 0);
	rfx_event_unref(ev);
	return v;
}

static void free_summaries(rfx_event **s, size_t k)
{
	for (size_t i = 0; i < k; i++)
		rfx_event_unref(s[i]);
	free(s);
}

static const char *noise_attr_str(const rfx_event *ev, const char *key)
{
	struct json_object *o, *v;
	if (!json_object_object_get_ex(ev->attrs, "noise", &o) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_noise_dedup_counts_repeats_and_resolution_reopens(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_noise_verdict v;

	rfx_event *first = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, first, t, &v), 0);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_EQUAL(v.flags, 0);
	CU_ASSERT_EQUAL(v.count, 1);
	CU_ASSERT_STRING_EQUAL(v.first_id, first->id);

	for (int i = 1; i <= 4; i++) {
		rfx_event *rep = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
		CU_ASSERT_EQUAL(rfx_noise_judge(n, rep, t + i * MIN_NS, &v), 0);
		CU_ASSERT_FALSE(v.forward);
		CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE);
		CU_ASSERT_EQUAL(v.count, (uint64_t)i + 1);
		CU_ASSERT_EQUAL(v.first_seen_ns, t);
		CU_ASSERT_STRING_EQUAL(v.first_id, first->id);
		CU_ASSERT_STRING_EQUAL(noise_attr_str(rep, "duplicate_of"), first->id);
		CU_ASSERT_STRING_EQUAL(noise_attr_str(rep, "suppressed"), "true");
		rfx_event_unref(rep);
	}
	v = judge(n, "db1", "disk", RFX_STATUS_RESOLVED, t + 10 * MIN_NS);
	CU_ASSERT_TRUE(v.forward); /* the resolution, once */
	CU_ASSERT_FALSE(v.flags & RFX_NOISE_DUPLICATE);
	v = judge(n, "db1", "disk", RFX_STATUS_RESOLVED, t + 11 * MIN_NS);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE);

	/* firing after the resolution is a new episode */
	rfx_event *again = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, again, t + 12 * MIN_NS, &v), 0);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_EQUAL(v.count, 1);
	CU_ASSERT_STRING_EQUAL(v.first_id, again->id);
	/* another fingerprint is its own record */
	CU_ASSERT_TRUE(judge(n, "db2", "disk", RFX_STATUS_FIRING, t + 12 * MIN_NS).forward);

	struct rfx_noise_stats st;
	rfx_noise_stats(n, &st);
	CU_ASSERT_EQUAL(st.duplicates, 5);
	CU_ASSERT_EQUAL(st.tracked, 2);
	rfx_event_unref(first);
	rfx_event_unref(again);
	rfx_noise_free(n);
}

static void test_noise_dedup_forwards_escalation_and_acknowledgement(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.flapping.enabled = false; /* severity changes feed the flap detector */
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_noise_verdict v;
	rfx_event *ev;

	ev = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, t, &v), 0);
	CU_ASSERT_TRUE(v.forward);
	rfx_event_unref(ev);
	/* more severe: news, though a repeat of the record */
	ev = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, t + MIN_NS, &v), 0);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE);
	CU_ASSERT_EQUAL(v.count, 2);
	rfx_event_unref(ev);
	/* as severe, or less: a repeat */
	ev = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_WARNING);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, t + 2 * MIN_NS, &v), 0);
	CU_ASSERT_FALSE(v.forward);
	rfx_event_unref(ev);
	/* the source acknowledged it: news once */
	for (int i = 0; i < 2; i++) {
		ev = ev_new("db1", "disk", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
		json_object_object_add(ev->attrs, "acknowledged", json_object_new_boolean(1));
		CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, t + (3 + i) * MIN_NS, &v), 0);
		CU_ASSERT_EQUAL(v.forward, i == 0);
		rfx_event_unref(ev);
	}
	rfx_noise_free(n);
}

static void test_noise_dedup_source_fingerprint_wins(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_noise_verdict v;

	rfx_event *a = ev_new("web1", "http", RFX_STATUS_FIRING, RFX_SEV_ERROR);
	rfx_event_set(a, RFX_F_FINGERPRINT, "am-4f2a");
	rfx_event *b = ev_new("web2", "other", RFX_STATUS_FIRING, RFX_SEV_ERROR);
	rfx_event_set(b, RFX_F_FINGERPRINT, "am-4f2a");
	rfx_event *d = ev_new("web3", "http", RFX_STATUS_FIRING, RFX_SEV_ERROR);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, a, t, &v), 0);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, b, t + SEC_NS, &v), 0);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE); /* same source fingerprint */
	CU_ASSERT_STRING_EQUAL(rfx_event_fingerprint(a), "am-4f2a");
	CU_ASSERT_EQUAL(rfx_noise_judge(n, d, t + SEC_NS, &v), 0);
	CU_ASSERT_PTR_NOT_NULL(rfx_event_fingerprint(d)); /* the default was computed */
	CU_ASSERT_TRUE(v.forward);
	rfx_event_unref(a);
	rfx_event_unref(b);
	rfx_event_unref(d);
	rfx_noise_free(n);
}

static void test_noise_dedup_table_evicts_least_recent(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.dedup.max_entries = 16;
	c.rate_limit.enabled = false;
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	char check[16];

	for (int i = 0; i < 16; i++) {
		snprintf(check, sizeof(check), "c%d", i);
		CU_ASSERT_TRUE(judge(n, "h", check, RFX_STATUS_FIRING, t + i).forward);
	}
	CU_ASSERT_TRUE(judge(n, "h", "c0", RFX_STATUS_FIRING, t + 100).flags & RFX_NOISE_DUPLICATE);
	CU_ASSERT_TRUE(judge(n, "h", "c16", RFX_STATUS_FIRING, t + 101).forward); /* evicts c1 */
	struct rfx_noise_verdict v = judge(n, "h", "c1", RFX_STATUS_FIRING, t + 102);
	CU_ASSERT_FALSE(v.flags & RFX_NOISE_DUPLICATE); /* forgotten: a new record */
	CU_ASSERT_EQUAL(v.count, 1);
	v = judge(n, "h", "c0", RFX_STATUS_FIRING, t + 103);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE); /* kept: it was used recently */
	CU_ASSERT_EQUAL(v.count, 3);
	struct rfx_noise_stats st;
	rfx_noise_stats(n, &st);
	CU_ASSERT_EQUAL(st.tracked, 16);
	CU_ASSERT_EQUAL(st.evicted, 2); /* c1 for c16, then c2 for c1 */
	rfx_noise_free(n);
}

static void test_noise_flapping_starts_once_and_stops_after_settling(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.rate_limit.enabled = false;
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	int starts = 0, stops = 0, forwarded = 0, start_at = -1, held_in_band = 0;

	/* 30 alternations, one a minute: a storm */
	for (int i = 0; i < 30; i++) {
		struct rfx_noise_verdict v = judge(n, "sw1", "port", i % 2 ? RFX_STATUS_RESOLVED
								     : RFX_STATUS_FIRING, t);
		t += MIN_NS;
		starts += !!(v.flags & RFX_NOISE_FLAP_START);
		stops += !!(v.flags & RFX_NOISE_FLAP_STOP);
		forwarded += v.forward;
		if ((v.flags & RFX_NOISE_FLAP_START) && start_at < 0)
			start_at = i;
	}
	/* 6 weighted changes (1.2 + 1.179 + ... = 6.88 of 20) = 34% > 30% */
	CU_ASSERT_EQUAL(start_at, 6);
	CU_ASSERT_EQUAL(starts, 1);
	CU_ASSERT_EQUAL(stops, 0);
	CU_ASSERT_EQUAL(forwarded, 7); /* 6 before it flapped, the start itself */

	/* then it stays firing: the percentage decays through the 20-30 band
	 * (hysteresis: still flapping) until it drops below 20 */
	for (int i = 0; i < 30; i++) {
		struct rfx_noise_verdict v = judge(n, "sw1", "port", RFX_STATUS_FIRING, t);
		t += MIN_NS;
		if ((v.flags & RFX_NOISE_FLAPPING) && v.flap_percent >= 20 && v.flap_percent <= 30) {
			held_in_band++;
			CU_ASSERT_FALSE(v.forward);
		}
		if (v.flags & RFX_NOISE_FLAP_STOP) {
			stops++;
			CU_ASSERT_TRUE(v.forward); /* people learn the settled state */
			CU_ASSERT_TRUE(v.flap_percent < 20);
		} else {
			CU_ASSERT_FALSE(v.forward);
		}
		starts += !!(v.flags & RFX_NOISE_FLAP_START);
	}
	CU_ASSERT_TRUE(held_in_band > 0);
	CU_ASSERT_EQUAL(starts, 1);
	CU_ASSERT_EQUAL(stops, 1);
	rfx_noise_free(n);
}

static void test_noise_flapping_quiet_series_settles_with_one_summary(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.rate_limit.enabled = false;
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	rfx_event **s;
	size_t k;

	for (int i = 0; i < 9; i++, t += MIN_NS)
		judge(n, "sw2", "port", i % 2 ? RFX_STATUS_RESOLVED : RFX_STATUS_FIRING, t);
	/* the last one was firing; nothing more arrives */
	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t, &s, &k), 0);
	CU_ASSERT_EQUAL(k, 0);
	free_summaries(s, k);
	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t + 2 * 60 * MIN_NS, &s, &k), 0);
	CU_ASSERT_EQUAL_FATAL(k, 1);
	CU_ASSERT_EQUAL(s[0]->status, RFX_STATUS_FIRING);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(s[0]), "sw2");
	CU_ASSERT_STRING_EQUAL(noise_attr_str(s[0], "summary"), "flap_stop");
	CU_ASSERT_STRING_EQUAL(s[0]->id, ""); /* the core assigns one on emit */
	free_summaries(s, k);
	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t + 3 * 60 * MIN_NS, &s, &k), 0);
	CU_ASSERT_EQUAL(k, 0);
	free_summaries(s, k);
	/* people were told it fires: a repeat now is a plain duplicate */
	struct rfx_noise_verdict v = judge(n, "sw2", "port", RFX_STATUS_FIRING, t + 181 * MIN_NS);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_DUPLICATE);
	rfx_noise_free(n);
}

static struct json_object *silence_body(const char *matchers, const char *starts, const char *ends)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "matchers", json_object_new_string(matchers));
	if (starts)
		json_object_object_add(o, "startsAt", json_object_new_string(starts));
	json_object_object_add(o, "endsAt", json_object_new_string(ends));
	json_object_object_add(o, "createdBy", json_object_new_string("alice"));
	json_object_object_add(o, "comment", json_object_new_string("disk swap"));
	return o;
}

static const char *list_state(struct rfx_noise *n, int64_t now, const char *id, char *buf, size_t len)
{
	struct json_object *a = NULL, *st, *state;
	buf[0] = 0;
	CU_ASSERT_EQUAL_FATAL(rfx_noise_silence_list(n, now, &a), 0);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *jid;
		json_object_object_get_ex(o, "id", &jid);
		if (!strcmp(json_object_get_string(jid), id) && json_object_object_get_ex(o, "status", &st) &&
		    json_object_object_get_ex(st, "state", &state))
			snprintf(buf, len, "%s", json_object_get_string(state));
	}
	json_object_put(a);
	return buf;
}

static void test_noise_silence_mutes_only_while_active(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_silence s;
	char id[RFX_EVENT_ID_LEN + 1], err[256], st[32];
	struct rfx_noise_verdict v;

	struct json_object *body = silence_body("host == \"db1\" and check startswith \"disk\"",
						"2026-03-01T10:10:00Z", "2026-03-01T11:00:00Z");
	CU_ASSERT_EQUAL_FATAL(rfx_silence_from_json(body, t, &s, err, sizeof(err)), 0);
	json_object_put(body);
	CU_ASSERT_EQUAL_FATAL(rfx_noise_silence_add(n, &s, t, id, err, sizeof(err)), 0);
	rfx_silence_clear(&s);
	CU_ASSERT_TRUE(rfx_event_id_valid(id));
	CU_ASSERT_STRING_EQUAL(list_state(n, t, id, st, sizeof(st)), "pending");

	CU_ASSERT_TRUE(judge(n, "db1", "disk_sda", RFX_STATUS_FIRING, t).forward); /* not yet */
	CU_ASSERT_TRUE(judge(n, "db1", "disk_sda", RFX_STATUS_RESOLVED, t + MIN_NS).forward);

	int64_t in = t + 20 * MIN_NS;
	CU_ASSERT_STRING_EQUAL(list_state(n, in, id, st, sizeof(st)), "active");
	rfx_event *ev = ev_new("db1", "disk_sdb", RFX_STATUS_FIRING, RFX_SEV_CRITICAL);
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, in, &v), 0);
	CU_ASSERT_FALSE(v.forward);
	CU_ASSERT_TRUE(v.flags & RFX_NOISE_SILENCED);
	CU_ASSERT_STRING_EQUAL(v.silence_id, id);
	CU_ASSERT_STRING_EQUAL(noise_attr_str(ev, "silenced_by"), id);
	rfx_event_unref(ev);
	CU_ASSERT_TRUE(judge(n, "web1", "disk_sda", RFX_STATUS_FIRING, in).forward); /* other host */
	CU_ASSERT_FALSE(judge(n, "db1", "disk_sdb", RFX_STATUS_FIRING, in + MIN_NS).forward);

	CU_ASSERT_EQUAL(rfx_noise_silence_expire(n, id, in + 10 * MIN_NS), 0);
	CU_ASSERT_STRING_EQUAL(list_state(n, in + 10 * MIN_NS, id, st, sizeof(st)), "expired");
	/* still firing after the silence: people hear of it now, once */
	v = judge(n, "db1", "disk_sdb", RFX_STATUS_FIRING, in + 11 * MIN_NS);
	CU_ASSERT_TRUE(v.forward);
	CU_ASSERT_EQUAL(v.count, 3);
	CU_ASSERT_FALSE(judge(n, "db1", "disk_sdb", RFX_STATUS_FIRING, in + 12 * MIN_NS).forward);

	CU_ASSERT_EQUAL(rfx_noise_silence_expire(n, "01ARZ3NDEKTSV4RRFFQ69G5FAV", in), RFX_ENOENT);
	CU_ASSERT_EQUAL(rfx_noise_silence_delete(n, id), 0);
	CU_ASSERT_EQUAL(rfx_noise_silence_delete(n, id), RFX_ENOENT);
	CU_ASSERT_STRING_EQUAL(list_state(n, in, id, st, sizeof(st)), "");
	rfx_noise_free(n);
}

static void test_noise_silence_update_keeps_id_and_past_end_is_refused(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_silence s = {0};
	char id[RFX_EVENT_ID_LEN + 1], id2[RFX_EVENT_ID_LEN + 1], err[256] = "";
	struct json_object *out = NULL, *v;

	s.matchers = strdup("severity >= warning");
	s.created_by = strdup("bob");
	s.comment = strdup("x");
	s.starts_at_ns = t;
	s.ends_at_ns = t + 60 * MIN_NS;
	CU_ASSERT_EQUAL(rfx_noise_silence_add(n, &s, t, id, err, sizeof(err)), 0);
	memcpy(s.id, id, sizeof(id));
	s.ends_at_ns = t + 120 * MIN_NS;
	CU_ASSERT_EQUAL(rfx_noise_silence_add(n, &s, t + MIN_NS, id2, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(id, id2);
	CU_ASSERT_EQUAL(rfx_noise_silence_get(n, id, t, &out), 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(out, "endsAt", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "2026-03-01T12:00:00.000Z");
	json_object_put(out);

	s.id[0] = 0;
	s.starts_at_ns = t - 120 * MIN_NS;
	s.ends_at_ns = t - 60 * MIN_NS;
	CU_ASSERT_EQUAL(rfx_noise_silence_add(n, &s, t, id2, err, sizeof(err)), RFX_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "endsAt: is in the past");
	free(s.matchers);
	s.matchers = strdup("host ==");
	s.ends_at_ns = t + MIN_NS;
	CU_ASSERT_EQUAL(rfx_noise_silence_add(n, &s, t, id2, err, sizeof(err)), RFX_EINVAL);
	CU_ASSERT_EQUAL(strncmp(err, "matchers: column ", 17), 0);
	rfx_silence_clear(&s);
	rfx_noise_free(n);
}

static void expect_silence_error(const char *json, const char *prefix)
{
	struct rfx_silence s;
	char err[256] = "";
	struct json_object *o = json_tokener_parse(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(rfx_silence_from_json(o, at("2026-03-01T10:00:00Z"), &s, err, sizeof(err)),
			RFX_EINVAL);
	if (strncmp(err, prefix, strlen(prefix)))
		fprintf(stderr, "\n  %s\n  got: %s\n  want: %s...\n", json, err, prefix);
	CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
	json_object_put(o);
}

static void test_noise_silence_json_errors_name_the_field(void)
{
	expect_silence_error("{}", "matchers: missing");
	expect_silence_error("[1]", "expected a JSON object");
	expect_silence_error("{\"matchers\": \"host ==\", \"endsAt\": \"2026-03-02T00:00:00Z\", "
			     "\"createdBy\": \"a\", \"comment\": \"c\"}", "matchers: column ");
	expect_silence_error("{\"matchers\": 3}", "matchers: expected a string, got a number");
	expect_silence_error("{\"matchers\": \"host == 'a'\", \"endsAt\": \"tomorrow\"}",
			     "endsAt: expected an RFC 3339 time");
	expect_silence_error("{\"matchers\": \"host == 'a'\"}", "endsAt: missing");
	expect_silence_error("{\"matchers\": \"host == 'a'\", \"startsAt\": \"2026-03-02T00:00:00Z\", "
			     "\"endsAt\": \"2026-03-01T00:00:00Z\"}", "endsAt: must be after startsAt");
	expect_silence_error("{\"matchers\": \"host == 'a'\", \"endsAt\": \"2026-03-02T00:00:00Z\", "
			     "\"comment\": \"c\"}", "createdBy: missing");
	expect_silence_error("{\"matchers\": \"host == 'a'\", \"endsAt\": \"2026-03-02T00:00:00Z\", "
			     "\"createdBy\": \"a\", \"comment\": \"\"}", "comment: must not be empty");
	expect_silence_error("{\"matcher\": \"host == 'a'\"}", "matcher: unknown field");
	expect_silence_error("{\"id\": \"nope\", \"matchers\": \"host == 'a'\"}", "id: 'nope' is not");

	/* a GET result posted back is accepted (status and updatedAt ignored) */
	struct rfx_silence s;
	char err[256] = "";
	struct json_object *o = json_tokener_parse(
		"{\"id\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\", \"matchers\": \"labels.team == 'db'\", "
		"\"startsAt\": \"2026-03-01T10:00:00Z\", \"endsAt\": \"2026-03-01T12:00:00+01:00\", "
		"\"createdBy\": \"a\", \"comment\": \"c\", \"updatedAt\": \"2026-03-01T09:00:00Z\", "
		"\"status\": {\"state\": \"active\"}}");
	CU_ASSERT_EQUAL(rfx_silence_from_json(o, 0, &s, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(s.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV");
	CU_ASSERT_EQUAL(s.ends_at_ns - s.starts_at_ns, 60 * MIN_NS);
	CU_ASSERT_STRING_EQUAL(s.matchers, "labels.team == 'db'");
	rfx_silence_clear(&s);
	json_object_put(o);
}

/* A stage with one YAML window scoped to host "db1". */
static struct rfx_noise *with_window(struct rfx_noise_window_conf *w)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.rate_limit.enabled = false;
	c.dedup.enabled = false;
	c.flapping.enabled = false;
	c.maintenance.n = 1;
	c.maintenance.v = w;
	return make(&c);
}

static bool in_maint(struct rfx_noise *n, const char *when)
{
	struct rfx_noise_verdict v = judge(n, "db1", "x", RFX_STATUS_FIRING, at(when));
	CU_ASSERT_EQUAL(!v.forward, !!(v.flags & RFX_NOISE_MAINTENANCE));
	return v.flags & RFX_NOISE_MAINTENANCE;
}

static void test_noise_window_weekly_crosses_midnight(void)
{
	char *days[] = {"fri"};
	struct rfx_noise_window_conf w = {.name = "backup", .match = "host == \"db1\"",
					  .days = {1, days}, .from = "22:00", .to = "02:00"};
	struct rfx_noise *n = with_window(&w);
	CU_ASSERT_FALSE(in_maint(n, "2026-03-06T21:59:59Z"));  /* Friday */
	CU_ASSERT_TRUE(in_maint(n, "2026-03-06T22:00:00Z"));
	CU_ASSERT_TRUE(in_maint(n, "2026-03-06T23:30:00Z"));
	CU_ASSERT_TRUE(in_maint(n, "2026-03-07T01:59:00Z"));   /* Saturday, carried over */
	CU_ASSERT_FALSE(in_maint(n, "2026-03-07T02:00:00Z"));
	CU_ASSERT_FALSE(in_maint(n, "2026-03-07T23:00:00Z"));  /* Saturday's own evening */
	CU_ASSERT_FALSE(in_maint(n, "2026-03-05T23:00:00Z"));  /* Thursday */
	CU_ASSERT_TRUE(in_maint(n, "2026-03-13T23:00:00Z"));   /* next Friday */
	/* out of scope */
	struct rfx_noise_verdict v = judge(n, "web1", "x", RFX_STATUS_FIRING, at("2026-03-06T23:00:00Z"));
	CU_ASSERT_TRUE(v.forward);
	rfx_noise_free(n);
}

static void test_noise_window_weekly_follows_berlin_dst(void)
{
	char *days[] = {"Sat"};
	struct rfx_noise_window_conf spring = {.name = "night", .match = "host == \"db1\"",
					       .days = {1, days}, .from = "23:00", .to = "04:00",
					       .timezone = "Europe/Berlin"};
	struct rfx_noise *n = with_window(&spring);
	/* 2026-03-29 02:00 CET jumps to 03:00 CEST */
	CU_ASSERT_FALSE(in_maint(n, "2026-03-28T21:30:00Z")); /* 22:30 CET */
	CU_ASSERT_TRUE(in_maint(n, "2026-03-28T22:30:00Z"));  /* 23:30 CET */
	CU_ASSERT_TRUE(in_maint(n, "2026-03-29T00:30:00Z"));  /* 01:30 CET */
	CU_ASSERT_TRUE(in_maint(n, "2026-03-29T01:30:00Z"));  /* 03:30 CEST */
	CU_ASSERT_FALSE(in_maint(n, "2026-03-29T02:30:00Z")); /* 04:30 CEST (03:30 at a fixed +1) */
	rfx_noise_free(n);

	struct rfx_noise_window_conf autumn = {.name = "night", .days = {1, days}, .from = "22:00",
					       .to = "02:30", .timezone = "Europe/Berlin"};
	n = with_window(&autumn);
	/* 2026-10-25 03:00 CEST falls back to 02:00 CET: 02:xx happens twice */
	CU_ASSERT_TRUE(in_maint(n, "2026-10-25T00:15:00Z"));  /* 02:15 CEST */
	CU_ASSERT_FALSE(in_maint(n, "2026-10-25T00:45:00Z")); /* 02:45 CEST */
	CU_ASSERT_TRUE(in_maint(n, "2026-10-25T01:15:00Z"));  /* 02:15 CET */
	CU_ASSERT_FALSE(in_maint(n, "2026-10-25T01:45:00Z")); /* 02:45 CET */
	CU_ASSERT_TRUE(in_maint(n, "2026-10-24T20:30:00Z"));  /* 22:30 CEST */
	CU_ASSERT_FALSE(in_maint(n, "2026-10-24T19:30:00Z")); /* 21:30 CEST */
	rfx_noise_free(n);
}

static void test_noise_window_one_off(void)
{
	struct rfx_noise_window_conf w = {.name = "migration", .start = "2026-04-01T22:00:00+02:00",
					  .end = "2026-04-02T01:00:00+02:00"};
	struct rfx_noise *n = with_window(&w);
	CU_ASSERT_FALSE(in_maint(n, "2026-04-01T19:59:59Z"));
	CU_ASSERT_TRUE(in_maint(n, "2026-04-01T20:00:00Z"));
	CU_ASSERT_TRUE(in_maint(n, "2026-04-01T22:59:59Z"));
	CU_ASSERT_FALSE(in_maint(n, "2026-04-01T23:00:00Z"));
	rfx_event *ev = ev_new("db1", "x", RFX_STATUS_FIRING, RFX_SEV_ERROR);
	struct rfx_noise_verdict v;
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, at("2026-04-01T21:00:00Z"), &v), 0);
	CU_ASSERT_STRING_EQUAL(v.maintenance, "migration");
	CU_ASSERT_STRING_EQUAL(noise_attr_str(ev, "maintenance"), "migration");
	rfx_event_unref(ev);
	rfx_noise_free(n);
}

static void expect_window_error(struct rfx_noise *n, const char *json, const char *prefix)
{
	struct rfx_noise_window_conf w;
	char err[320] = "";
	struct json_object *o = json_tokener_parse(json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	int rc = rfx_noise_window_from_json(o, &w, err, sizeof(err));
	if (rc == 0) {
		rc = rfx_noise_window_add(n, &w, err, sizeof(err));
		rfx_noise_window_conf_clear(&w);
	}
	CU_ASSERT_NOT_EQUAL(rc, 0);
	if (strncmp(err, prefix, strlen(prefix)))
		fprintf(stderr, "\n  %s\n  got: %s\n  want: %s...\n", json, err, prefix);
	CU_ASSERT_EQUAL(strncmp(err, prefix, strlen(prefix)), 0);
	json_object_put(o);
}

static void test_noise_window_api_add_list_delete(void)
{
	struct rfx_noise_window_conf cfg = {.name = "yaml-one", .start = "2026-04-01T00:00:00Z",
					    .end = "2026-04-02T00:00:00Z"};
	struct rfx_noise *n = with_window(&cfg);
	struct rfx_noise_window_conf w;
	char err[320] = "";
	struct json_object *o = json_tokener_parse(
		"{\"name\": \"patch\", \"match\": \"labels.env == 'prod'\", \"days\": [\"tue\", \"thu\"], "
		"\"from\": \"01:00\", \"to\": \"03:00\", \"timezone\": \"Europe/Berlin\", "
		"\"comment\": \"patch nights\"}");
	CU_ASSERT_EQUAL_FATAL(rfx_noise_window_from_json(o, &w, err, sizeof(err)), 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(rfx_noise_window_add(n, &w, err, sizeof(err)), 0);
	rfx_noise_window_conf_clear(&w);

	struct json_object *list = NULL;
	CU_ASSERT_EQUAL_FATAL(rfx_noise_window_list(n, at("2026-03-03T00:30:00Z"), &list), 0);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(list), 2);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(json_object_array_get_idx(list, 1),
							      JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE),
			       "{\"name\":\"patch\",\"match\":\"labels.env == 'prod'\",\"days\":[\"tue\","
			       "\"thu\"],\"from\":\"01:00\",\"to\":\"03:00\",\"timezone\":\"Europe/Berlin\","
			       "\"comment\":\"patch nights\",\"origin\":\"api\",\"active\":true}");
	json_object_put(list);

	expect_window_error(n, "{\"name\": \"yaml-one\", \"from\": \"01:00\", \"to\": \"02:00\"}",
			    "name: window 'yaml-one' is defined in the configuration file");
	expect_window_error(n, "{\"name\": \"x\", \"days\": [\"mon\", \"funday\"], \"from\": \"22:00\", "
			       "\"to\": \"02:00\"}", "days: unknown day 'funday'");
	expect_window_error(n, "{\"name\": \"x\", \"from\": \"22:00\", \"to\": \"02:00\", "
			       "\"timezone\": \"Europe/Berln\"}", "timezone: unknown time zone 'Europe/Berln'");
	expect_window_error(n, "{\"name\": \"x\", \"from\": \"25:00\", \"to\": \"02:00\"}",
			    "from: expected HH:MM");
	expect_window_error(n, "{\"name\": \"x\", \"start\": \"2026-04-01T00:00:00Z\"}", "end: missing");
	expect_window_error(n, "{\"name\": \"x\", \"start\": \"2026-04-01T00:00:00Z\", "
			       "\"end\": \"2026-04-02T00:00:00Z\", \"to\": \"02:00\"}", "to: a window is either");
	expect_window_error(n, "{\"name\": \"x\", \"match\": \"host ==\", \"from\": \"22:00\", "
			       "\"to\": \"02:00\"}", "match: column ");
	expect_window_error(n, "{\"name\": \"a b\", \"from\": \"22:00\", \"to\": \"02:00\"}", "name: use");
	expect_window_error(n, "{\"from\": \"22:00\", \"to\": \"02:00\"}", "name: missing");
	expect_window_error(n, "{\"name\": \"x\", \"days\": \"mon\"}", "days: expected an array");
	expect_window_error(n, "{\"name\": \"x\", \"form\": \"22:00\"}", "form: unknown field");

	CU_ASSERT_EQUAL(rfx_noise_window_delete(n, "yaml-one"), RFX_EINVAL);
	CU_ASSERT_EQUAL(rfx_noise_window_delete(n, "patch"), 0);
	CU_ASSERT_EQUAL(rfx_noise_window_delete(n, "patch"), RFX_ENOENT);
	rfx_noise_free(n);
}

static void test_noise_window_bad_yaml_window_names_it(void)
{
	struct rfx_noise_conf c;
	struct rfx_noise_window_conf w[2] = {
		{.name = "ok", .from = "22:00", .to = "23:00"},
		{.name = "bad", .from = "22:00", .to = "23:00", .timezone = "Mars/Olympus"},
	};
	char err[320] = "";
	defaults(&c);
	c.maintenance.n = 2;
	c.maintenance.v = w;
	CU_ASSERT_PTR_NULL(rfx_noise_new(&c, err, sizeof(err)));
	CU_ASSERT_EQUAL(strncmp(err, "pipeline.noise.maintenance[1] (bad): timezone: unknown time zone", 64), 0);
}

static void test_noise_rate_limit_summary_once_per_interval(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	c.rate_limit.per_source.rate = 0; /* only the host limit */
	c.rate_limit.per_host.rate = 1;
	c.rate_limit.per_host.burst = 5;
	c.rate_limit.interval_ms = 60000;
	struct rfx_noise *n = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	char check[16];
	int fwd = 0, limited = 0;
	rfx_event **s;
	size_t k;

	for (int i = 0; i < 20; i++) {
		snprintf(check, sizeof(check), "c%d", i);
		struct rfx_noise_verdict v = judge(n, "web1", check, RFX_STATUS_FIRING, t);
		fwd += v.forward;
		if (v.flags & RFX_NOISE_RATE_LIMITED) {
			limited++;
			CU_ASSERT_STRING_EQUAL(v.limited_by, "host");
		}
	}
	CU_ASSERT_EQUAL(fwd, 5);
	CU_ASSERT_EQUAL(limited, 15);
	CU_ASSERT_TRUE(judge(n, "web2", "c0", RFX_STATUS_FIRING, t).forward); /* other host */

	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t + 30 * SEC_NS, &s, &k), 0);
	CU_ASSERT_EQUAL(k, 0); /* the interval is still open */
	free_summaries(s, k);
	/* more inside the same interval: the bucket refilled to its burst of 5 */
	for (int i = 20; i < 60; i++) {
		snprintf(check, sizeof(check), "c%d", i);
		judge(n, "web1", check, RFX_STATUS_FIRING, t + 30 * SEC_NS);
	}
	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t + 60 * SEC_NS, &s, &k), 0);
	CU_ASSERT_EQUAL_FATAL(k, 1);
	CU_ASSERT_STRING_EQUAL(rfx_event_host(s[0]), "web1");
	CU_ASSERT_STRING_EQUAL(noise_attr_str(s[0], "summary"), "rate_limited");
	CU_ASSERT_STRING_EQUAL(noise_attr_str(s[0], "limited"), "50"); /* 15 + 35 */
	CU_ASSERT_PTR_NOT_NULL(strstr(rfx_event_message(s[0]), "50 events from host web1"));
	free_summaries(s, k);
	CU_ASSERT_EQUAL(rfx_noise_take_summaries(n, t + 120 * SEC_NS, &s, &k), 0);
	CU_ASSERT_EQUAL(k, 0); /* nothing limited since */
	free_summaries(s, k);
	/* a resolution owed to people is not held back by an empty bucket */
	for (int i = 100; i < 110; i++) {
		snprintf(check, sizeof(check), "c%d", i);
		judge(n, "web1", check, RFX_STATUS_FIRING, t + 120 * SEC_NS);
	}
	CU_ASSERT_TRUE(judge(n, "web1", "c0", RFX_STATUS_RESOLVED, t + 120 * SEC_NS).forward);
	rfx_noise_free(n);
}

static char *list_json(struct rfx_noise *n, int64_t now, bool windows)
{
	struct json_object *a = NULL;
	CU_ASSERT_EQUAL_FATAL(windows ? rfx_noise_window_list(n, now, &a)
				      : rfx_noise_silence_list(n, now, &a), 0);
	char *s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return s;
}

static void test_noise_persistence_round_trip(void)
{
	struct rfx_noise_conf c;
	defaults(&c);
	struct rfx_noise *a = make(&c), *b = make(&c);
	int64_t t = at("2026-03-01T10:00:00Z");
	struct rfx_silence s = {.matchers = "host == 'db1'", .created_by = "alice", .comment = "c",
				.starts_at_ns = t, .ends_at_ns = t + 60 * MIN_NS};
	struct rfx_noise_window_conf w = {.name = "once", .match = "host == 'db9'",
					  .start = "2026-03-01T11:00:00Z", .end = "2026-03-01T12:00:00Z"};
	char id1[RFX_EVENT_ID_LEN + 1], id2[RFX_EVENT_ID_LEN + 1], err[320] = "";
	char *dump = NULL;

	CU_ASSERT_EQUAL(rfx_noise_silence_add(a, &s, t, id1, err, sizeof(err)), 0);
	s.starts_at_ns = t + 30 * MIN_NS; /* pending, then expired while pending */
	CU_ASSERT_EQUAL(rfx_noise_silence_add(a, &s, t, id2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rfx_noise_silence_expire(a, id2, t + MIN_NS), 0);
	CU_ASSERT_EQUAL(rfx_noise_window_add(a, &w, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rfx_noise_state_dump(a, &dump), 0);

	CU_ASSERT_EQUAL(rfx_noise_state_load(b, dump, t + 2 * MIN_NS, err, sizeof(err)), 0);
	char *sa = list_json(a, t + 2 * MIN_NS, false), *sb = list_json(b, t + 2 * MIN_NS, false);
	CU_ASSERT_STRING_EQUAL(sa, sb);
	CU_ASSERT_PTR_NOT_NULL(strstr(sb, "\"state\":\"expired\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(sb, "\"state\":\"active\""));
	free(sa);
	free(sb);
	sa = list_json(a, t, true);
	sb = list_json(b, t, true);
	CU_ASSERT_STRING_EQUAL(sa, sb);
	free(sa);
	free(sb);
	/* the loaded silence silences */
	struct rfx_noise_verdict v = judge(b, "db1", "x", RFX_STATUS_FIRING, t + 3 * MIN_NS);
	CU_ASSERT_STRING_EQUAL(v.silence_id, id1);

	/* malformed text loads nothing and says where */
	CU_ASSERT_EQUAL(rfx_noise_state_load(b, "{\"version\": 1, \"silences\": [{\"matchers\": 1}], "
					     "\"maintenance\": []}", t, err, sizeof(err)), RFX_EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "noise state: silences[0]: matchers: expected a string, got a number");
	CU_ASSERT_EQUAL(rfx_noise_state_load(b, "nonsense", t, err, sizeof(err)), RFX_EINVAL);
	/* past retention: dropped on load */
	struct rfx_noise *d = make(&c);
	CU_ASSERT_EQUAL(rfx_noise_state_load(d, dump, t + 10LL * 24 * 60 * MIN_NS, err, sizeof(err)), 0);
	sa = list_json(d, t, false);
	CU_ASSERT_STRING_EQUAL(sa, "[]");
	free(sa);
	free(dump);
	rfx_noise_free(a);
	rfx_noise_free(b);
	rfx_noise_free(d);
}

/* Our TZif reader against the C library (safe here: this test is one thread). */
static void test_noise_tz_offsets_match_libc(void)
{
	const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Sydney",
			       "Asia/Kolkata", "America/St_Johns", "UTC", NULL};
	char err[256];
	long bad = 0, n = 0;
	for (int z = 0; zones[z]; z++) {
		struct rfx_noise_tz *tz = rfx_noise_tz_load(zones[z], err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(tz);
		setenv("TZ", zones[z], 1);
		tzset();
		/* 1970..2100 in steps just under 6 hours, so every DST edge is near one */
		for (int64_t t = 0; t < 4102444800LL; t += 21599) {
			time_t tt = (time_t)t;
			struct tm tm;
			localtime_r(&tt, &tm);
			bad += tm.tm_gmtoff != rfx_noise_tz_offset(tz, t);
			n++;
		}
		rfx_noise_tz_free(tz);
	}
	unsetenv("TZ");
	tzset();
	CU_ASSERT_TRUE(n > 1000000);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_PTR_NULL(rfx_noise_tz_load("../../etc/passwd", err, sizeof(err)));
	CU_ASSERT_PTR_NULL(rfx_noise_tz_load("Europe/Nowhere", err, sizeof(err)));
}

static const char yaml_example[] =
	"pipeline:\n"
	"  noise:\n"
	"    dedup:\n"
	"      max_entries: 50000\n"
	"      reopen_after: 24h\n"
	"    flapping:\n"
	"      samples: 21\n"
	"      low: 20\n"
	"      high: 30\n"
	"      window: 1h\n"
	"    silences:\n"
	"      max: 1000\n"
	"      retention: 5d\n"
	"    rate_limit:\n"
	"      per_source: {rate: 50, burst: 500}\n"
	"      per_host: {rate: 2, burst: 60}\n"
	"      summary_interval: 1m\n"
	"    maintenance:\n"
	"      - name: db-patch-nights\n"
	"        match: 'host startswith \"db\" and labels.env == \"prod\"'\n"
	"        days: [tue, thu]\n"
	"        from: \"22:00\"\n"
	"        to: \"02:00\"\n"
	"        timezone: Europe/Berlin\n"
	"        comment: kernel patches\n"
	"      - name: dc-move\n"
	"        start: 2026-05-01T20:00:00+02:00\n"
	"        end: 2026-05-02T06:00:00+02:00\n";

static void test_noise_options_accept_the_documented_example(void)
{
	rfx_diag d;
	struct rfx_noise_conf c;
	char err[320] = "";
	rfx_diag_init(&d);
	memset(&c, 0, sizeof(c));
	rfx_doc *doc = rfx_doc_parse("example.yaml", yaml_example, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	const rfx_node *noise = rfx_node_get(rfx_node_get(rfx_doc_root(doc), "pipeline"), "noise");
	CU_ASSERT_PTR_NOT_NULL_FATAL(noise);
	CU_ASSERT_EQUAL(rfx_schema_apply(rfx_noise_options, noise, &c, "pipeline.noise", NULL, &d), 0);
	if (d.n)
		rfx_diag_print(&d, stderr);
	CU_ASSERT_EQUAL(c.maintenance.n, 2);
	CU_ASSERT_EQUAL(c.rate_limit.per_host.burst, 60);
	CU_ASSERT_EQUAL(c.flapping.window_ms, 3600000);
	struct rfx_noise *n = rfx_noise_new(&c, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(n);
	/* Tuesday 2026-03-03 23:00 in Berlin is 22:00Z */
	rfx_event *ev = ev_new("db7", "load", RFX_STATUS_FIRING, RFX_SEV_ERROR);
	rfx_event_label_set(ev, "env", "prod");
	struct rfx_noise_verdict v;
	CU_ASSERT_EQUAL(rfx_noise_judge(n, ev, at("2026-03-03T22:00:00Z"), &v), 0);
	CU_ASSERT_STRING_EQUAL(v.maintenance, "db-patch-nights");
	rfx_event_unref(ev);
	rfx_noise_free(n);
	rfx_schema_free(rfx_noise_options, &c);
	rfx_doc_free(doc);

	/* a typo is an error at its place */
	rfx_diag_free(&d);
	rfx_diag_init(&d);
	memset(&c, 0, sizeof(c));
	doc = rfx_doc_parse("typo.yaml", "flapping:\n  hihg: 40\n", &d);
	CU_ASSERT_TRUE(rfx_schema_apply(rfx_noise_options, rfx_doc_root(doc), &c, "pipeline.noise",
					NULL, &d) > 0);
	CU_ASSERT_TRUE(d.n > 0 && strstr(d.msgs[0], "hihg") != NULL);
	rfx_schema_free(rfx_noise_options, &c);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_noise_dedup_counts_repeats_and_resolution_reopens),
		RFX_TEST(test_noise_dedup_forwards_escalation_and_acknowledgement),
		RFX_TEST(test_noise_dedup_source_fingerprint_wins),
		RFX_TEST(test_noise_dedup_table_evicts_least_recent),
		RFX_TEST(test_noise_flapping_starts_once_and_stops_after_settling),
		RFX_TEST(test_noise_flapping_quiet_series_settles_with_one_summary),
		RFX_TEST(test_noise_silence_mutes_only_while_active),
		RFX_TEST(test_noise_silence_update_keeps_id_and_past_end_is_refused),
		RFX_TEST(test_noise_silence_json_errors_name_the_field),
		RFX_TEST(test_noise_window_weekly_crosses_midnight),
		RFX_TEST(test_noise_window_weekly_follows_berlin_dst),
		RFX_TEST(test_noise_window_one_off),
		RFX_TEST(test_noise_window_api_add_list_delete),
		RFX_TEST(test_noise_window_bad_yaml_window_names_it),
		RFX_TEST(test_noise_rate_limit_summary_once_per_interval),
		RFX_TEST(test_noise_persistence_round_trip),
		RFX_TEST(test_noise_tz_offsets_match_libc),
		RFX_TEST(test_noise_options_accept_the_documented_example),
		{NULL, NULL},
	};
	return rfx_run_suite("noise", tests);
}
