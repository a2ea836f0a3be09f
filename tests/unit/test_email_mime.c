/*
 * tests/unit/test_email_mime.c - the email input's socket-free parts: MIME
 * decoding (plugins/inputs/email/mime.c) and the rules and event ids
 * (map.c), on hand-written messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"
#include "mime.h"
#include "testutil.h"

static int parse(const char *text, size_t body_max, struct rfx_email_msg *m)
{
	return rfx_email_parse(text, strlen(text), body_max, m);
}

static void test_multipart_alternative_prefers_plain_over_html(void)
{
	const char *msg = "From: Monitor <mon@example.com>\r\n"
			  "To: ops@example.com\r\n"
			  "Subject: disk full\r\n"
			  "Message-ID: <a1@example.com>\r\n"
			  "Date: Mon, 02 Jun 2025 10:00:00 +0200\r\n"
			  "MIME-Version: 1.0\r\n"
			  "Content-Type: multipart/alternative; boundary=\"XX\"\r\n"
			  "\r\n"
			  "preamble\r\n"
			  "--XX\r\n"
			  "Content-Type: text/html; charset=utf-8\r\n"
			  "\r\n"
			  "<p>html version</p>\r\n"
			  "--XX\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "\r\n"
			  "plain version\r\n"
			  "--XX--\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.body, "plain version");
	CU_ASSERT_FALSE(m.body_html);
	CU_ASSERT_STRING_EQUAL(m.subject, "disk full");
	CU_ASSERT_STRING_EQUAL(m.from, "Monitor <mon@example.com>");
	CU_ASSERT_STRING_EQUAL(m.from_addr, "mon@example.com");
	CU_ASSERT_STRING_EQUAL(m.to, "ops@example.com");
	CU_ASSERT_STRING_EQUAL(m.message_id, "a1@example.com");
	CU_ASSERT_STRING_EQUAL(m.date, "2025-06-02T08:00:00Z");
	CU_ASSERT_TRUE(m.has_date);
	CU_ASSERT_EQUAL(m.date_ms, 1748851200000LL);
	rfx_email_msg_free(&m);
}

static void test_html_only_is_stripped_of_tags_scripts_and_entities(void)
{
	const char *msg = "Subject: h\r\n"
			  "Content-Type: text/html; charset=utf-8\r\n"
			  "\r\n"
			  "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
			  "<body><p>Host&nbsp;<b>db01</b> is &lt;down&gt; &amp; &#x263A;</p>"
			  "<!-- hidden --><div>second&#32;line</div></body></html>\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_TRUE(m.body_html);
	CU_ASSERT_STRING_EQUAL(m.body, "Host db01 is <down> & \xe2\x98\xba\n\nsecond line");
	rfx_email_msg_free(&m);
}

static void test_quoted_printable_latin1_body_becomes_utf8(void)
{
	const char *msg = "Subject: qp\r\n"
			  "Content-Type: text/plain; charset=ISO-8859-1\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n"
			  "\r\n"
			  "Gr=FC=DFe aus M=FCnchen, a soft=\r\n"
			  "break and =3D sign\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.body, "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen, a softbreak and = sign");
	rfx_email_msg_free(&m);
}

static void test_base64_utf8_body_in_a_mixed_message_skips_the_attachment(void)
{
	/* "Überlast auf web01\n" in base64 */
	const char *msg = "Subject: b64\r\n"
			  "MIME-Version: 1.0\r\n"
			  "Content-Type: multipart/mixed; boundary=b\r\n"
			  "\r\n"
			  "--b\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Disposition: attachment; filename=x.txt\r\n"
			  "\r\n"
			  "attached text\r\n"
			  "--b\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: base64\r\n"
			  "\r\n"
			  "w5xiZXJsYXN0IGF1ZiB3ZWIwMQo=\r\n"
			  "--b--\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.body, "\xc3\x9c" "berlast auf web01");
	rfx_email_msg_free(&m);
}

static void test_encoded_word_subject_and_from_are_decoded(void)
{
	const char *msg =
		"From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.com>\r\n"
		"To: \"Ops Team\" <ops@example.com>, =?utf-8?b?w5xsaQ==?= <uli@example.com>\r\n"
		"Subject: =?UTF-8?B?w4RsZXJ0?= disk\r\n =?iso-8859-1?q?f=FCll?=\r\n"
		"\r\n"
		"body\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.subject, "\xc3\x84lert disk f\xc3\xbcll");
	CU_ASSERT_STRING_EQUAL(m.from, "J\xc3\xb6rg M\xc3\xbcller <joerg@example.com>");
	CU_ASSERT_STRING_EQUAL(m.to, "Ops Team <ops@example.com>, \xc3\x9cli <uli@example.com>");
	rfx_email_msg_free(&m);
}

static void test_raw_latin1_header_and_unknown_charset_stay_readable(void)
{
	const char *msg = "Subject: caf\xe9\r\n"
			  "Content-Type: text/plain; charset=x-no-such-charset\r\n"
			  "\r\n"
			  "na\xefve\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 1024, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.subject, "caf\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(m.body, "na\xc3\xafve");
	rfx_email_msg_free(&m);
}

static void test_missing_headers_are_null_and_body_kept(void)
{
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse("X-Only: header\r\n\r\njust text\r\n", 1024, &m), 0);
	CU_ASSERT_PTR_NULL(m.subject);
	CU_ASSERT_PTR_NULL(m.from);
	CU_ASSERT_PTR_NULL(m.from_addr);
	CU_ASSERT_PTR_NULL(m.to);
	CU_ASSERT_PTR_NULL(m.message_id);
	CU_ASSERT_PTR_NULL(m.date);
	CU_ASSERT_FALSE(m.has_date);
	CU_ASSERT_STRING_EQUAL(m.body, "just text");
	rfx_email_msg_free(&m);

	CU_ASSERT_EQUAL_FATAL(rfx_email_parse("", 0, 1024, &m), 0);
	CU_ASSERT_PTR_NOT_NULL(m.body);
	CU_ASSERT_STRING_EQUAL(m.body, "");
	rfx_email_msg_free(&m);
}

static void test_body_is_cut_at_body_max_on_a_utf8_boundary(void)
{
	/* 10 x "ü" (2 bytes each); a 7-byte limit keeps 3 whole characters */
	const char *msg = "Subject: t\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
			  "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
			  "\xc3\xbc\r\n";
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(parse(msg, 7, &m), 0);
	CU_ASSERT_TRUE(m.body_truncated);
	CU_ASSERT_EQUAL(m.body_len, 6);
	CU_ASSERT_STRING_EQUAL(m.body, "\xc3\xbc\xc3\xbc\xc3\xbc");
	rfx_email_msg_free(&m);
}

/* Every prefix of a multipart message parses, with valid output: what a
 * max_size cut or a dropped connection leaves. */
static void test_every_truncation_of_a_multipart_parses(void)
{
	const char *msg = "From: a@b.c\r\nSubject: =?utf-8?q?x=C3=A4?=\r\n"
			  "Content-Type: multipart/alternative; boundary=Q\r\n\r\n"
			  "--Q\r\nContent-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
			  "--Q\r\nContent-Type: text/html\r\n\r\n<b>x</b>\r\n--Q--\r\n";
	size_t n = strlen(msg);
	unsigned bad = 0;

	for (size_t i = 0; i <= n; i++) {
		struct rfx_email_msg m;
		if (rfx_email_parse(msg, i, 64, &m) != 0) {
			bad++;
			continue;
		}
		if (m.body == NULL || strlen(m.body) != m.body_len)
			bad++;
		rfx_email_msg_free(&m);
	}
	CU_ASSERT_EQUAL(bad, 0);
	struct rfx_email_msg m;
	CU_ASSERT_EQUAL_FATAL(rfx_email_parse(msg, n, 64, &m), 0);
	CU_ASSERT_STRING_EQUAL(m.body, "hello world");
	rfx_email_msg_free(&m);
}

static void test_hostile_input_yields_clean_utf8(void)
{
	/* NULs, control characters, invalid UTF-8, a broken encoded word, a
	 * boundary that never comes, deep nesting */
	char msg[8192];
	size_t o = 0;
	o += (size_t)snprintf(msg + o, sizeof(msg) - o,
			      "Subject: =?utf-8?B?####?= \x01\x7f\xff\xfe end\r\n"
			      "From: <<<@@@>>>\r\n"
			      "Message-ID: <a b\x01>\r\n"
			      "Date: Thu, 99 Foo 99999 99:99:99 +9999\r\n");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o,
				      "Content-Type: multipart/mixed; boundary=L%d\r\n\r\n--L%d\r\n", i,
				      i);
	memcpy(msg + o, "te\0xt\x80\r\n", 9);
	o += 9;
	struct rfx_email_msg m;

	CU_ASSERT_EQUAL_FATAL(rfx_email_parse(msg, o, 4096, &m), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m.body);
	CU_ASSERT_FALSE(m.has_date);
	const char *texts[] = {m.subject, m.from, m.to, m.message_id, m.body};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (texts[i] == NULL)
			continue;
		for (const unsigned char *p = (const unsigned char *)texts[i]; *p; p++)
			CU_ASSERT_FALSE(*p < 0x20 && *p != '\n' && *p != '\t');
		char *again = rfx_email_to_utf8("utf-8", texts[i], strlen(texts[i]));
		CU_ASSERT_STRING_EQUAL(again, texts[i]); /* already clean: unchanged */
		free(again);
	}
	rfx_email_msg_free(&m);
}

static void test_to_utf8_replaces_invalid_sequences(void)
{
	char *s = rfx_email_to_utf8("utf-8", "a\xc3(b\xed\xa0\x80" "c", 8);
	CU_ASSERT_STRING_EQUAL(s, "a\xef\xbf\xbd(b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c");
	free(s);
	s = rfx_email_to_utf8("windows-1252", "\x80 5", 3);
	CU_ASSERT_STRING_EQUAL(s, "\xe2\x82\xac 5");
	free(s);
}

/* ---- rules ---------------------------------------------------------------- */

static struct rfx_email_msg alert_msg(void)
{
	struct rfx_email_msg m;
	CU_ASSERT_EQUAL(parse("From: Nagios <nagios@mon.example.com>\r\n"
			      "Subject: PROBLEM: web01/HTTP is CRITICAL\r\n\r\n"
			      "Service: HTTP\nHost: web01.example.com\nState: CRITICAL\n",
			      4096, &m),
			0);
	return m;
}

static void test_rules_take_named_group_first_group_or_fixed_value(void)
{
	struct rfx_email_rule_conf conf[] = {
		{RFX_EMAIL_BODY, "Host: (?<host>\\S+)", RFX_EMAIL_SET_HOST, NULL},
		{RFX_EMAIL_SUBJECT, "is (CRITICAL|WARNING)", RFX_EMAIL_SET_SEVERITY, NULL},
		{RFX_EMAIL_SUBJECT, "^PROBLEM", RFX_EMAIL_SET_STATUS, "firing"},
		{RFX_EMAIL_BODY, "Service: (\\w+)", RFX_EMAIL_SET_SERVICE, NULL},
		{RFX_EMAIL_FROM, "nagios@", RFX_EMAIL_SET_CHECK, "nagios-alert"},
	};
	struct rfx_email_rules *r = NULL;
	char err[256] = "", *out[RFX_EMAIL_SET__COUNT];
	struct rfx_email_msg m = alert_msg();

	CU_ASSERT_EQUAL_FATAL(rfx_email_rules_compile(conf, 5, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rfx_email_rules_apply(r, &m, out), 0);
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_HOST], "web01.example.com");
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_SEVERITY], "CRITICAL");
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_STATUS], "firing");
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_SERVICE], "HTTP");
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_CHECK], "nagios-alert");
	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++)
		free(out[t]);
	rfx_email_rules_free(r);
	rfx_email_msg_free(&m);
}

static void test_rules_first_match_per_target_wins_and_misses_set_nothing(void)
{
	struct rfx_email_rule_conf conf[] = {
		{RFX_EMAIL_SUBJECT, "RECOVERY", RFX_EMAIL_SET_STATUS, "resolved"},
		{RFX_EMAIL_SUBJECT, "(web\\d+)", RFX_EMAIL_SET_HOST, NULL},
		{RFX_EMAIL_BODY, "Host: (\\S+)", RFX_EMAIL_SET_HOST, NULL},
		{RFX_EMAIL_TO, "x", RFX_EMAIL_SET_SERVICE, NULL},
	};
	struct rfx_email_rules *r = NULL;
	char err[256], *out[RFX_EMAIL_SET__COUNT];
	struct rfx_email_msg m = alert_msg();

	CU_ASSERT_EQUAL_FATAL(rfx_email_rules_compile(conf, 4, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rfx_email_rules_apply(r, &m, out), 0);
	CU_ASSERT_STRING_EQUAL(out[RFX_EMAIL_SET_HOST], "web01");
	CU_ASSERT_PTR_NULL(out[RFX_EMAIL_SET_STATUS]);
	CU_ASSERT_PTR_NULL(out[RFX_EMAIL_SET_SERVICE]); /* no To header at all */
	CU_ASSERT_PTR_NULL(out[RFX_EMAIL_SET_SEVERITY]);
	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++)
		free(out[t]);
	rfx_email_rules_free(r);
	rfx_email_msg_free(&m);
}

static void test_rules_bad_regex_names_the_rule(void)
{
	struct rfx_email_rule_conf conf[] = {
		{RFX_EMAIL_SUBJECT, "ok", RFX_EMAIL_SET_HOST, NULL},
		{RFX_EMAIL_SUBJECT, "(unclosed", RFX_EMAIL_SET_HOST, NULL},
	};
	struct rfx_email_rules *r = NULL;
	char err[256] = "";

	CU_ASSERT_NOT_EQUAL(rfx_email_rules_compile(conf, 2, &r, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "rules[1]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "(unclosed"));
}

static void test_rules_catastrophic_regex_is_bounded_not_stuck(void)
{
	struct rfx_email_rule_conf conf[] = {
		{RFX_EMAIL_BODY, "^(a+)+$", RFX_EMAIL_SET_HOST, NULL},
	};
	struct rfx_email_rules *r = NULL;
	char err[256], *out[RFX_EMAIL_SET__COUNT], body[200];
	struct rfx_email_msg m = {0};

	memset(body, 'a', sizeof(body) - 2);
	body[sizeof(body) - 2] = 'b';
	body[sizeof(body) - 1] = '\0';
	m.body = body;
	CU_ASSERT_EQUAL_FATAL(rfx_email_rules_compile(conf, 1, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rfx_email_rules_apply(r, &m, out), 0);
	CU_ASSERT_PTR_NULL(out[RFX_EMAIL_SET_HOST]);
	rfx_email_rules_free(r);
}

static void test_status_words_map_to_firing_and_resolved(void)
{
	CU_ASSERT_EQUAL(rfx_email_status_parse("PROBLEM"), 0);
	CU_ASSERT_EQUAL(rfx_email_status_parse("firing"), 0);
	CU_ASSERT_EQUAL(rfx_email_status_parse("Recovery"), 1);
	CU_ASSERT_EQUAL(rfx_email_status_parse("OK"), 1);
	CU_ASSERT_EQUAL(rfx_email_status_parse("maybe"), -1);
	CU_ASSERT_EQUAL(rfx_email_status_parse(NULL), -1);
}

/* ---- ids ------------------------------------------------------------------- */

static void test_ulid_is_deterministic_and_encodes_time_first(void)
{
	unsigned char h1[10], h2[10], h3[10];
	char a[27], b[27], c[27];

	rfx_email_hash80("imap\nacct\nINBOX\n1\n7", 19, h1);
	rfx_email_hash80("imap\nacct\nINBOX\n1\n7", 19, h2);
	rfx_email_hash80("imap\nacct\nINBOX\n1\n8", 19, h3);
	CU_ASSERT_EQUAL(memcmp(h1, h2, 10), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(h1, h3, 10), 0);
	rfx_email_ulid(1748851200000LL, h1, a);
	rfx_email_ulid(1748851200000LL, h2, b);
	rfx_email_ulid(1748851200000LL, h3, c);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_STRING_NOT_EQUAL(a, c);
	CU_ASSERT_EQUAL(strlen(a), 26);
	CU_ASSERT_TRUE(a[0] >= '0' && a[0] <= '7');
	CU_ASSERT_EQUAL(strspn(a, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
	/* the time part: 1748851200000 ms -> "01JWQTF400" (python-checked) */
	CU_ASSERT_EQUAL(strncmp(a, "01JWQTF400", 10), 0);
	unsigned char zero[10] = {0}, ones[10];
	memset(ones, 0xff, sizeof(ones));
	rfx_email_ulid(0, zero, a);
	CU_ASSERT_STRING_EQUAL(a, "00000000000000000000000000");
	rfx_email_ulid(-5, ones, a);
	CU_ASSERT_STRING_EQUAL(a, "0000000000ZZZZZZZZZZZZZZZZ");
	rfx_email_ulid(INT64_MAX, ones, a);
	CU_ASSERT_STRING_EQUAL(a, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_multipart_alternative_prefers_plain_over_html),
		RFX_TEST(test_html_only_is_stripped_of_tags_scripts_and_entities),
		RFX_TEST(test_quoted_printable_latin1_body_becomes_utf8),
		RFX_TEST(test_base64_utf8_body_in_a_mixed_message_skips_the_attachment),
		RFX_TEST(test_encoded_word_subject_and_from_are_decoded),
		RFX_TEST(test_raw_latin1_header_and_unknown_charset_stay_readable),
		RFX_TEST(test_missing_headers_are_null_and_body_kept),
		RFX_TEST(test_body_is_cut_at_body_max_on_a_utf8_boundary),
		RFX_TEST(test_every_truncation_of_a_multipart_parses),
		RFX_TEST(test_hostile_input_yields_clean_utf8),
		RFX_TEST(test_to_utf8_replaces_invalid_sequences),
		RFX_TEST(test_rules_take_named_group_first_group_or_fixed_value),
		RFX_TEST(test_rules_first_match_per_target_wins_and_misses_set_nothing),
		RFX_TEST(test_rules_bad_regex_names_the_rule),
		RFX_TEST(test_rules_catastrophic_regex_is_bounded_not_stuck),
		RFX_TEST(test_status_words_map_to_firing_and_resolved),
		RFX_TEST(test_ulid_is_deterministic_and_encodes_time_first),
		{NULL, NULL},
	};
	return rfx_run_suite("email_mime", tests);
}
