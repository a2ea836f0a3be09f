/*
 * tests/unit/test_templates.c - the template miner (core/templates.c):
 * grouping, masking, bounds, ids and the header stripper.
 */
#include "../../core/templates.h"
#include "testutil.h"

#include <reflex/plugin.h>
#include <stdio.h>
#include <string.h>

static rfx_tmpl_miner *miner(void)
{
	rfx_tmpl_opts o;
	char err[256];

	rfx_tmpl_opts_init(&o);
	return rfx_tmpl_miner_new(&o, err, sizeof(err));
}

static uint32_t add(rfx_tmpl_miner *m, const char *s)
{
	rfx_tmpl_match mt;

	CU_ASSERT_EQUAL_FATAL(rfx_tmpl_add(m, s, strlen(s), &mt), 0);
	return mt.id;
}

static const char *text_of(rfx_tmpl_miner *m, uint32_t id)
{
	rfx_tmpl_info t;

	CU_ASSERT_EQUAL_FATAL(rfx_tmpl_get(m, id, &t), 0);
	return t.template;
}

static void test_templates_same_shape_lines_share_a_template(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "Failed password for root from 10.0.0.1 port 22 ssh2");
	uint32_t b = add(m, "Failed password for admin from 192.168.1.7 port 4711 ssh2");
	rfx_tmpl_info t;

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "Failed password for <*> from <*> port <*> ssh2");
	CU_ASSERT_EQUAL(rfx_tmpl_get(m, a, &t), 0);
	CU_ASSERT_EQUAL(t.count, 2);
	rfx_tmpl_miner_free(m);
}

static void test_templates_different_kinds_get_different_templates(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "Failed password for root from 10.0.0.1 port 22 ssh2");
	uint32_t b = add(m, "Accepted publickey for root from 10.0.0.1 port 22 ssh2");
	uint32_t c = add(m, "Connection closed by 10.0.0.1 [preauth]");
	uint32_t d = add(m, "session opened for user root by (uid=0)");

	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_NOT_EQUAL(a, c);
	CU_ASSERT_NOT_EQUAL(b, c);
	CU_ASSERT_NOT_EQUAL(c, d);
	CU_ASSERT_EQUAL(rfx_tmpl_count(m), 4);
	rfx_tmpl_miner_free(m);
}

static void test_templates_builtin_masks_numbers_ips_hex_and_hosts(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "conn 0x7f3a to 10.1.2.3:8080 uid=1000 host db1.example.com ssh2");

	CU_ASSERT_STRING_EQUAL(text_of(m, a), "conn <*> to <*>:<*> uid=<*> host <*> ssh2");
	a = add(m, "lease fe80::1 for 550e8400-e29b-41d4-a716-446655440000 done");
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "lease <*>::<*> for <*> done");
	rfx_tmpl_miner_free(m);
}

static void test_templates_user_mask_regex_spans_spaces(void)
{
	rfx_tmpl_opts o;
	char err[256];
	rfx_tmpl_miner *m;
	uint32_t a, b;

	rfx_tmpl_opts_init(&o);
	o.masks[o.n_masks++] = "user [a-z]+ on tty";
	m = rfx_tmpl_miner_new(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	a = add(m, "login by user alice on tty accepted");
	b = add(m, "login by user bob on tty accepted");
	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "login by <*> accepted");
	rfx_tmpl_miner_free(m);
}

static void test_templates_bad_mask_regex_is_reported(void)
{
	rfx_tmpl_opts o;
	char err[256] = "";

	rfx_tmpl_opts_init(&o);
	o.masks[o.n_masks++] = "([a-z";
	CU_ASSERT_PTR_NULL(rfx_tmpl_miner_new(&o, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "([a-z"));
	rfx_tmpl_opts_init(&o);
	o.sim_threshold = 1.5;
	CU_ASSERT_PTR_NULL(rfx_tmpl_miner_new(&o, err, sizeof(err)));
}

static void test_templates_refuse_new_kinds_past_max_templates(void)
{
	rfx_tmpl_opts o;
	char err[256], line[64];
	rfx_tmpl_miner *m;
	rfx_tmpl_info t;

	rfx_tmpl_opts_init(&o);
	o.max_templates = 3;
	m = rfx_tmpl_miner_new(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(add(m, "alpha beta gamma"), 1);
	CU_ASSERT_EQUAL(add(m, "one two"), 2);
	CU_ASSERT_EQUAL(add(m, "x"), 3);
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "word%c w x y z", 'a' + i);
		CU_ASSERT_EQUAL(add(m, line), RFX_TMPL_OVERFLOW_ID);
	}
	CU_ASSERT_EQUAL(add(m, "one two"), 2); /* known kinds still match */
	CU_ASSERT_EQUAL(rfx_tmpl_count(m), 3);
	CU_ASSERT_EQUAL(rfx_tmpl_get(m, RFX_TMPL_OVERFLOW_ID, &t), 0);
	CU_ASSERT_EQUAL(t.count, 5);
	rfx_tmpl_miner_free(m);
}

static void test_templates_long_lines_are_bounded(void)
{
	rfx_tmpl_opts o;
	char err[256];
	static char line[20000];
	rfx_tmpl_miner *m;
	rfx_tmpl_match mt;
	uint32_t a;

	rfx_tmpl_opts_init(&o);
	o.max_tokens = 8;
	o.max_line = 1024;
	m = rfx_tmpl_miner_new(&o, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (size_t i = 0; i + 2 < sizeof(line); i += 2)
		memcpy(line + i, "a ", 2);
	line[sizeof(line) - 1] = '\0';
	CU_ASSERT_EQUAL(rfx_tmpl_add(m, line, strlen(line), &mt), 0);
	a = mt.id;
	/* 8 tokens at most: 7 single ones and the rest of the 1024 bytes. */
	CU_ASSERT_EQUAL(strncmp(mt.template, "a a a a a a a a a", 17), 0);
	CU_ASSERT(strlen(mt.template) <= 1024);
	line[3000] = 'b'; /* past max_line: ignored */
	CU_ASSERT_EQUAL(add(m, line), a);
	rfx_tmpl_miner_free(m);
}

static void test_templates_empty_and_blank_lines_share_the_empty_template(void)
{
	rfx_tmpl_miner *m = miner();
	rfx_tmpl_match mt;
	uint32_t a = add(m, ""), b = add(m, "   \t \r\n");

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "");
	CU_ASSERT_EQUAL(rfx_tmpl_add(m, NULL, 0, &mt), 0);
	CU_ASSERT_EQUAL(mt.id, a);
	CU_ASSERT_EQUAL(rfx_tmpl_add(m, NULL, 3, &mt), RFX_EINVAL);
	rfx_tmpl_miner_free(m);
}

static void test_templates_ids_stay_stable_as_templates_widen(void)
{
	rfx_tmpl_miner *m = miner();
	rfx_tmpl_match mt;
	uint32_t a = add(m, "user alice logged in from console");

	CU_ASSERT_EQUAL(rfx_tmpl_add(m, "user bob logged in from console", 31, &mt), 0);
	CU_ASSERT_EQUAL(mt.id, a);
	CU_ASSERT_EQUAL(mt.changed, 1);
	CU_ASSERT_STRING_EQUAL(mt.template, "user <*> logged in from console");
	CU_ASSERT_EQUAL(add(m, "user alice logged in from console"), a);
	CU_ASSERT_EQUAL(add(m, "disk full"), a + 1);
	CU_ASSERT_EQUAL(add(m, "user carol logged in from console"), a);
	rfx_tmpl_miner_free(m);
}

static void test_templates_same_input_gives_same_ids_and_texts_in_every_run(void)
{
	static const char *const lines[] = {
		"Invalid user admin from 1.2.3.4",      "Invalid user guest from 5.6.7.8",
		"Connection closed by 1.2.3.4 [preauth]", "Received disconnect from 1.2.3.4: 11: Bye Bye",
		"Invalid user oracle from 9.9.9.9",     "pam_unix(sshd:session): session closed for user root",
	};
	uint32_t ids[2][6];
	uint64_t hashes[2][6];

	for (int run = 0; run < 2; run++) {
		rfx_tmpl_miner *m = miner();
		rfx_tmpl_info t;

		for (int i = 0; i < 6; i++) {
			ids[run][i] = add(m, lines[i]);
			CU_ASSERT_EQUAL(rfx_tmpl_get(m, ids[run][i], &t), 0);
			hashes[run][i] = t.hash;
		}
		rfx_tmpl_miner_free(m);
	}
	CU_ASSERT_EQUAL(memcmp(ids[0], ids[1], sizeof(ids[0])), 0);
	CU_ASSERT_EQUAL(memcmp(hashes[0], hashes[1], sizeof(hashes[0])), 0);
	CU_ASSERT_EQUAL(ids[0][0], ids[0][4]);
}

static void test_templates_optional_parenthetical_joins_the_template(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "host.example.com:443 close, 451 bytes sent, 18846 bytes received, lifetime 00:02");
	uint32_t b = add(m, "host.example.com:443 close, 2048 bytes (2.00 KB) sent, 9 bytes received, lifetime <1 sec");
	uint32_t c = add(m, "host.example.com:443 open through proxy p.example.com:5070 HTTPS");

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_NOT_EQUAL(a, c);
	/* A trailing extra field is not a parenthetical: another template. */
	CU_ASSERT_NOT_EQUAL(add(m, "auth failure; rhost=1.2.3.4"), add(m, "auth failure; rhost=1.2.3.4 user=root"));
	rfx_tmpl_miner_free(m);
}

static void test_templates_upper_case_constants_make_different_kinds(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t https = add(m, "a.example.com:443 open through proxy p.example.com:5070 HTTPS");
	uint32_t socks = add(m, "b.example.com:443 open through proxy p.example.com:5070 SOCKS5");
	uint32_t run = add(m, "task_1 Task Transitioned from NEW to RUNNING");
	uint32_t sched = add(m, "task_2 Task Transitioned from NEW to SCHEDULED");

	CU_ASSERT_NOT_EQUAL(https, socks);
	CU_ASSERT_NOT_EQUAL(run, sched);
	CU_ASSERT_STRING_EQUAL(text_of(m, https), "<*>:<*> open through proxy <*>:<*> HTTPS");
	CU_ASSERT_STRING_EQUAL(text_of(m, sched), "<*> Task Transitioned from NEW to SCHEDULED");
	/* The same constant again joins its own kind; a lower case word
	 * still varies (user names look like any other word). */
	CU_ASSERT_EQUAL(add(m, "c.example.com:80 open through proxy q.example.com:1080 SOCKS5"), socks);
	CU_ASSERT_EQUAL(add(m, "task_3 Task Transitioned from NEW to RUNNING"), run);
	CU_ASSERT_EQUAL(add(m, "Accepted password for alice from 10.0.0.1 port 22 ssh2"),
			add(m, "Accepted password for bob from 10.0.0.2 port 22 ssh2"));
	rfx_tmpl_miner_free(m);
}

static void test_templates_masked_tokens_with_other_constants_make_different_kinds(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "session opened for user root by (uid=0)");
	uint32_t b = add(m, "session opened for user root by LOGIN(uid=0)");
	uint32_t c = add(m, "session opened for user news by (uid=9)");

	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a, c);
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "session opened for user <*> by (uid=<*>)");
	CU_ASSERT_STRING_EQUAL(text_of(m, b), "session opened for user root by LOGIN(uid=<*>)");
	rfx_tmpl_miner_free(m);
}

static void test_templates_empty_value_differs_from_a_present_one(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.1.2.3");
	uint32_t b = add(m, "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=");
	uint32_t c = add(m, "authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=host.example.com");

	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a, c);
	CU_ASSERT_STRING_EQUAL(text_of(m, b), "authentication failure; logname= uid=<*> euid=<*> tty=ssh ruser= rhost=");
	rfx_tmpl_miner_free(m);
}

static void test_templates_leading_token_with_a_variable_does_not_split_kinds(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "10.0.0.1:443 error : Could not connect to proxy p.example.com:5070 - Could not resolve x");
	uint32_t b = add(m, "wpad:80 error : Could not connect to proxy p.example.com:5070 - Could not resolve x");

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(text_of(m, a), "<*> error : Could not connect to proxy <*>:<*> - Could not resolve x");
	/* Constant first words still separate. */
	CU_ASSERT_NOT_EQUAL(add(m, "Accepted password for root"), add(m, "Failed password for root"));
	rfx_tmpl_miner_free(m);
}

static void test_templates_country_domains_are_hosts_but_id_suffixes_are_not(void)
{
	rfx_tmpl_miner *m = miner();
	uint32_t a = add(m, "lookup biblioteka.wsi.edu.pl ok");
	uint32_t b = add(m, "mapred.tip.id is deprecated");

	CU_ASSERT_STRING_EQUAL(text_of(m, a), "lookup <*> ok");
	CU_ASSERT_STRING_EQUAL(text_of(m, b), "mapred.tip.id is deprecated");
	rfx_tmpl_miner_free(m);
}

static int collect(const rfx_tmpl_info *t, void *arg)
{
	uint64_t *sum = arg;

	*sum += t->count;
	return 0;
}

static void test_templates_foreach_visits_every_template_with_counts(void)
{
	rfx_tmpl_miner *m = miner();
	uint64_t sum = 0;

	add(m, "a b c");
	add(m, "a b d");
	add(m, "x y");
	CU_ASSERT_EQUAL(rfx_tmpl_foreach(m, collect, &sum), 0);
	CU_ASSERT_EQUAL(sum, 3);
	rfx_tmpl_miner_free(m);
}

static void test_templates_header_stripper_finds_the_message(void)
{
	static const char *const cases[][2] = {
		{ "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 1.2.3.4", "Invalid user" },
		{ "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1", "PacketResponder 1" },
		{ "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/x", "workerEnv.init()" },
		{ "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:2181:F@774] - Notification time",
		  "Notification time" },
		{ "[10.30 16:49:06] chrome.exe *64 - proxy.x.hk:5070 open", "proxy.x.hk" },
		{ "Failed password for root", "Failed password" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t h = rfx_tmpl_header_len(cases[i][0], strlen(cases[i][0]));

		CU_ASSERT_EQUAL(strncmp(cases[i][0] + h, cases[i][1], strlen(cases[i][1])), 0);
	}
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_templates_same_shape_lines_share_a_template),
		RFX_TEST(test_templates_different_kinds_get_different_templates),
		RFX_TEST(test_templates_builtin_masks_numbers_ips_hex_and_hosts),
		RFX_TEST(test_templates_user_mask_regex_spans_spaces),
		RFX_TEST(test_templates_bad_mask_regex_is_reported),
		RFX_TEST(test_templates_refuse_new_kinds_past_max_templates),
		RFX_TEST(test_templates_long_lines_are_bounded),
		RFX_TEST(test_templates_empty_and_blank_lines_share_the_empty_template),
		RFX_TEST(test_templates_ids_stay_stable_as_templates_widen),
		RFX_TEST(test_templates_same_input_gives_same_ids_and_texts_in_every_run),
		RFX_TEST(test_templates_optional_parenthetical_joins_the_template),
		RFX_TEST(test_templates_upper_case_constants_make_different_kinds),
		RFX_TEST(test_templates_masked_tokens_with_other_constants_make_different_kinds),
		RFX_TEST(test_templates_empty_value_differs_from_a_present_one),
		RFX_TEST(test_templates_leading_token_with_a_variable_does_not_split_kinds),
		RFX_TEST(test_templates_country_domains_are_hosts_but_id_suffixes_are_not),
		RFX_TEST(test_templates_foreach_visits_every_template_with_counts),
		RFX_TEST(test_templates_header_stripper_finds_the_message),
		{ NULL, NULL },
	};

	return rfx_run_suite("templates", tests);
}
