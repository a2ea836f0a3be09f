/*
 * tests/unit/test_syslog_parse.c - the syslog parser (plugins/inputs/syslog/
 * parse.c, compiled in): RFC 5424 with structured data, BOM and NILVALUE,
 * RFC 3164 and its variants, and hostile input that must come out as a raw
 * message without crashing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugins/inputs/syslog/parse.h"
#include "testutil.h"

static struct syslog_msg M;

static void parse(const char *s)
{
	CU_ASSERT_EQUAL_FATAL(rfx_syslog_parse(s, strlen(s), &M), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(M.message);
}

static void done(void)
{
	rfx_syslog_msg_free(&M);
}

static void test_5424_full_header_and_fraction_with_offset(void)
{
	parse("<165>1 2003-10-11T22:14:15.003+02:00 mymachine.example.com evntslog 1234 ID47 - "
	      "An application event");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_5424);
	CU_ASSERT_EQUAL(M.facility, 20);
	CU_ASSERT_EQUAL(M.severity, 5);
	CU_ASSERT_TRUE(M.has_time);
	/* 2003-10-11T20:14:15.003Z */
	CU_ASSERT_EQUAL(M.time_ns, 1065903255003000000LL);
	CU_ASSERT_STRING_EQUAL(M.hostname, "mymachine.example.com");
	CU_ASSERT_STRING_EQUAL(M.appname, "evntslog");
	CU_ASSERT_STRING_EQUAL(M.procid, "1234");
	CU_ASSERT_STRING_EQUAL(M.msgid, "ID47");
	CU_ASSERT_EQUAL(M.nsd, 0);
	CU_ASSERT_STRING_EQUAL(M.message, "An application event");
	done();
}

static void test_5424_nilvalues_are_null_and_time_absent(void)
{
	parse("<13>1 - - - - - -");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_5424);
	CU_ASSERT_FALSE(M.has_time);
	CU_ASSERT_PTR_NULL(M.hostname);
	CU_ASSERT_PTR_NULL(M.appname);
	CU_ASSERT_PTR_NULL(M.procid);
	CU_ASSERT_PTR_NULL(M.msgid);
	CU_ASSERT_EQUAL(M.message_len, 0);
	done();
}

/* fuzz_syslog_parse found that a far year overflowed the ns conversion */
static void test_5424_far_year_is_kept_as_a_message_not_a_time(void)
{
	parse("<1>1 1000-01-01T00:00:00Z - - - - -");
	CU_ASSERT_FALSE(M.has_time);
	done();
	parse("<1>1 9999-01-01T00:00:00Z host app - - - msg");
	CU_ASSERT_FALSE(M.has_time);
	CU_ASSERT_PTR_NOT_NULL(M.message); /* still kept, never dropped */
	done();
}

static void test_5424_structured_data_escapes_are_unescaped(void)
{
	parse("<14>1 2026-01-01T00:00:00Z h a - - [exampleSDID@32473 iut=\"3\" "
	      "eventSource=\"App \\\"q\\\" \\\\ \\] \\n\"][meta]"
	      " \xEF\xBB\xBFhello");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_5424);
	CU_ASSERT_EQUAL_FATAL(M.nsd, 3);
	CU_ASSERT_STRING_EQUAL(M.sd[0].id, "exampleSDID@32473");
	CU_ASSERT_STRING_EQUAL(M.sd[0].name, "iut");
	CU_ASSERT_STRING_EQUAL(M.sd[0].value, "3");
	CU_ASSERT_STRING_EQUAL(M.sd[1].name, "eventSource");
	CU_ASSERT_STRING_EQUAL(M.sd[1].value, "App \"q\" \\ ] \\n");
	CU_ASSERT_STRING_EQUAL(M.sd[2].id, "meta");
	CU_ASSERT_PTR_NULL(M.sd[2].name);
	CU_ASSERT_STRING_EQUAL(M.message, "hello"); /* BOM stripped */
	CU_ASSERT_EQUAL(M.time_ns, 1767225600LL * 1000000000LL);
	done();
}

static void test_5424_structured_data_is_bounded(void)
{
	char buf[8192];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "<14>1 - h a - - [x");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " p%d=\"%d\"", i, i);
	snprintf(buf + n, sizeof(buf) - n, "] m");
	parse(buf);
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_5424);
	CU_ASSERT_EQUAL(M.nsd, SYSLOG_SD_MAX);
	CU_ASSERT_TRUE(M.sd_truncated);
	CU_ASSERT_STRING_EQUAL(M.sd[63].name, "p63");
	CU_ASSERT_STRING_EQUAL(M.message, "m");
	done();
}

static void test_5424_broken_sd_falls_back_to_lenient_reading(void)
{
	parse("<11>1 2026-01-01T00:00:00Z h a - - [unterminated x=\"y\" msg");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_EQUAL(M.severity, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(M.message, "unterminated"));
	done();
}

static void check_local(int64_t ns, int mon, int mday, int h, int mi, int s)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	localtime_r(&t, &tm);
	CU_ASSERT_EQUAL(tm.tm_mon, mon);
	CU_ASSERT_EQUAL(tm.tm_mday, mday);
	CU_ASSERT_EQUAL(tm.tm_hour, h);
	CU_ASSERT_EQUAL(tm.tm_min, mi);
	CU_ASSERT_EQUAL(tm.tm_sec, s);
}

static void test_3164_host_tag_and_pid(void)
{
	parse("<13>Nov 28 03:22:45 host app[123]: msg text");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_EQUAL(M.facility, 1);
	CU_ASSERT_EQUAL(M.severity, 5);
	CU_ASSERT_TRUE(M.has_time);
	check_local(M.time_ns, 10, 28, 3, 22, 45);
	CU_ASSERT_STRING_EQUAL(M.hostname, "host");
	CU_ASSERT_STRING_EQUAL(M.appname, "app");
	CU_ASSERT_STRING_EQUAL(M.procid, "123");
	CU_ASSERT_STRING_EQUAL(M.message, "msg text");
	done();
}

static void test_3164_missing_hostname(void)
{
	parse("<13>Nov  8 03:22:45 app: msg");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	check_local(M.time_ns, 10, 8, 3, 22, 45);
	CU_ASSERT_PTR_NULL(M.hostname);
	CU_ASSERT_STRING_EQUAL(M.appname, "app");
	CU_ASSERT_PTR_NULL(M.procid);
	CU_ASSERT_STRING_EQUAL(M.message, "msg");
	done();
}

static void test_3164_iso_timestamp(void)
{
	parse("<30>2026-11-28T03:22:45.5Z web1 nginx[99]: GET /\n");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_EQUAL(M.facility, 3);
	CU_ASSERT_EQUAL(M.severity, 6);
	CU_ASSERT_EQUAL(M.time_ns, 1795836165500000000LL);
	CU_ASSERT_STRING_EQUAL(M.hostname, "web1");
	CU_ASSERT_STRING_EQUAL(M.appname, "nginx");
	CU_ASSERT_STRING_EQUAL(M.procid, "99");
	CU_ASSERT_STRING_EQUAL(M.message, "GET /");
	done();
}

static void test_3164_without_tag_keeps_text_as_message(void)
{
	parse("<12>Nov 28 03:22:45 host just some words");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_EQUAL(M.severity, 4);
	CU_ASSERT_STRING_EQUAL(M.hostname, "host");
	CU_ASSERT_PTR_NULL(M.appname);
	CU_ASSERT_STRING_EQUAL(M.message, "just some words");
	done();
}

static void test_3164_without_timestamp(void)
{
	parse("<13>sshd[7]: Accepted key");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_FALSE(M.has_time);
	CU_ASSERT_STRING_EQUAL(M.appname, "sshd");
	CU_ASSERT_STRING_EQUAL(M.procid, "7");
	CU_ASSERT_STRING_EQUAL(M.message, "Accepted key");
	done();
}

static void test_no_pri_is_raw_with_default_priority(void)
{
	parse("hello world");
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_RAW);
	CU_ASSERT_FALSE(M.has_pri);
	CU_ASSERT_EQUAL(M.facility, 1);
	CU_ASSERT_EQUAL(M.severity, 5);
	CU_ASSERT_STRING_EQUAL(M.message, "hello world");
	done();
}

static void test_bad_pri_is_raw(void)
{
	const char *cases[] = {"<192>1 - - - - - - x", "<>x", "<1a>x", "<013>x", "<9999>x", "<",
			       "<13", ""};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(cases[i]);
		CU_ASSERT_EQUAL(M.rfc, SYSLOG_RAW);
		CU_ASSERT_EQUAL(M.message_len, strlen(cases[i]));
		done();
	}
}

static void test_every_truncation_parses_without_crash(void)
{
	const char *full = "<165>1 2003-10-11T22:14:15.003Z host app 12 ID [a b=\"c\\\"d\"][e] "
			   "\xEF\xBB\xBFmsg";
	size_t n = strlen(full);
	for (size_t i = 0; i <= n; i++) {
		/* A heap copy of exactly i bytes so ASan sees any overread. */
		char *p = malloc(i ? i : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, full, i);
		CU_ASSERT_EQUAL(rfx_syslog_parse(p, i, &M), 0);
		CU_ASSERT_PTR_NOT_NULL(M.message);
		CU_ASSERT_TRUE(M.message_len <= i);
		rfx_syslog_msg_free(&M);
		free(p);
	}
	const char *bsd = "<13>Nov 28 03:22:45 host app[123]: msg";
	n = strlen(bsd);
	for (size_t i = 0; i <= n; i++) {
		char *p = malloc(i ? i : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		memcpy(p, bsd, i);
		CU_ASSERT_EQUAL(rfx_syslog_parse(p, i, &M), 0);
		CU_ASSERT_PTR_NOT_NULL(M.message);
		rfx_syslog_msg_free(&M);
		free(p);
	}
}

static void test_garbage_and_oversized_input_become_messages(void)
{
	size_t n = 256 * 1024;
	char *p = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	unsigned seed = 12345;
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(rand_r(&seed) % 512);
		for (size_t i = 0; i < len; i++)
			p[i] = (char)(rand_r(&seed) & 0xff);
		if (len > 0 && round % 2)
			p[0] = '<';
		CU_ASSERT_EQUAL(rfx_syslog_parse(p, len, &M), 0);
		CU_ASSERT_PTR_NOT_NULL(M.message);
		rfx_syslog_msg_free(&M);
	}
	memset(p, 'A', n);
	memcpy(p, "<13>1 - h a - - - ", 18);
	CU_ASSERT_EQUAL(rfx_syslog_parse(p, n, &M), 0);
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_5424);
	CU_ASSERT_EQUAL(M.message_len, n - 18);
	rfx_syslog_msg_free(&M);
	/* A hostname longer than 255 breaks 5424 and still yields a message. */
	memset(p, 'A', n);
	memcpy(p, "<13>1 - ", 8);
	CU_ASSERT_EQUAL(rfx_syslog_parse(p, 2000, &M), 0);
	CU_ASSERT_EQUAL(M.rfc, SYSLOG_3164);
	CU_ASSERT_PTR_NOT_NULL(M.message);
	rfx_syslog_msg_free(&M);
	free(p);
}

static void test_facility_names(void)
{
	CU_ASSERT_STRING_EQUAL(rfx_syslog_facility_name(3), "daemon");
	CU_ASSERT_STRING_EQUAL(rfx_syslog_facility_name(23), "local7");
	CU_ASSERT_STRING_EQUAL(rfx_syslog_facility_name(24), "unknown");
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_5424_full_header_and_fraction_with_offset),
		RFX_TEST(test_5424_nilvalues_are_null_and_time_absent),
		RFX_TEST(test_5424_far_year_is_kept_as_a_message_not_a_time),
		RFX_TEST(test_5424_structured_data_escapes_are_unescaped),
		RFX_TEST(test_5424_structured_data_is_bounded),
		RFX_TEST(test_5424_broken_sd_falls_back_to_lenient_reading),
		RFX_TEST(test_3164_host_tag_and_pid),
		RFX_TEST(test_3164_missing_hostname),
		RFX_TEST(test_3164_iso_timestamp),
		RFX_TEST(test_3164_without_tag_keeps_text_as_message),
		RFX_TEST(test_3164_without_timestamp),
		RFX_TEST(test_no_pri_is_raw_with_default_priority),
		RFX_TEST(test_bad_pri_is_raw),
		RFX_TEST(test_every_truncation_parses_without_crash),
		RFX_TEST(test_garbage_and_oversized_input_become_messages),
		RFX_TEST(test_facility_names),
		{NULL, NULL},
	};
	return rfx_run_suite("syslog_parse", tests);
}
