/*
 * plugins/outputs/email/email_mime_test.c - unit tests of the email
 * output's message encoding: quoted-printable bodies, RFC 2047 subjects,
 * the date, addresses and the multipart/alternative layout.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "email_mime.h"

static char *qp(const char *s)
{
	struct em_buf b = {0};

	CU_ASSERT_EQUAL(em_qp(&b, s, strlen(s)), 0);
	return b.data ? b.data : strdup("");
}

static void test_qp_encodes_utf8_equals_and_line_ends(void)
{
	char *o = qp("Température = 97 °C\nline two\r\nend");

	CU_ASSERT_STRING_EQUAL(o, "Temp=C3=A9rature =3D 97 =C2=B0C\r\nline two\r\nend");
	free(o);
}

static void test_qp_encodes_trailing_space_and_leading_dot(void)
{
	char *o = qp("a \n.hidden\n\tb\t");

	CU_ASSERT_STRING_EQUAL(o, "a=20\r\n=2Ehidden\r\n\tb=09");
	free(o);
}

static void test_qp_soft_breaks_keep_lines_within_76(void)
{
	char in[301], *o, *line;

	memset(in, 'x', 300);
	in[300] = '\0';
	in[74] = '\xc3'; /* an encoded byte straddling the limit */
	o = qp(in);
	for (line = strtok(o, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		size_t n = strlen(line);

		if (n > 0 && line[n - 1] == '\r')
			n--;
		CU_ASSERT(n <= 76);
	}
	free(o);
	o = qp(in);
	CU_ASSERT_PTR_NOT_NULL(strstr(o, "=C3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(o, "=\r\n"));
	free(o);
}

static void test_header_keeps_ascii_and_encodes_utf8_as_rfc2047(void)
{
	struct em_buf b = {0};

	CU_ASSERT_EQUAL(em_header_text(&b, "Subject", "[firing] disk on db1"), 0);
	CU_ASSERT_STRING_EQUAL(b.data, "Subject: [firing] disk on db1\r\n");
	b.len = 0;
	CU_ASSERT_EQUAL(em_header_text(&b, "Subject", "Störung: Plattenplatz"), 0);
	/* base64 of "Störung: Plattenplatz" */
	CU_ASSERT_STRING_EQUAL(b.data, "Subject: =?UTF-8?B?U3TDtnJ1bmc6IFBsYXR0ZW5wbGF0eg==?=\r\n");
	em_buf_free(&b);
}

static void test_header_splits_long_utf8_into_words_without_cutting_characters(void)
{
	struct em_buf b = {0};
	char in[400] = "";
	const char *p;
	int words = 0;

	for (int i = 0; i < 40; i++)
		strcat(in, "é€"); /* 2 + 3 bytes */
	CU_ASSERT_EQUAL(em_header_text(&b, "Subject", in), 0);
	for (p = b.data; (p = strstr(p, "=?UTF-8?B?")) != NULL; p++) {
		const char *end = strstr(p, "?=");

		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		CU_ASSERT(end + 2 - p <= 75);
		words++;
	}
	CU_ASSERT(words >= 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "?=\r\n =?UTF-8?B?"));
	em_buf_free(&b);
}

static void test_header_turns_newlines_into_encoded_spaces(void)
{
	struct em_buf b = {0};

	CU_ASSERT_EQUAL(em_header_text(&b, "Subject", "a\r\nBcc: x@y"), 0);
	CU_ASSERT_PTR_NULL(strstr(b.data, "\r\nBcc"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "=?UTF-8?B?"));
	em_buf_free(&b);
}

static void test_date_is_rfc5322_in_utc(void)
{
	char d[64];

	em_date(1714564800, d, sizeof d);
	CU_ASSERT_STRING_EQUAL(d, "Wed, 01 May 2024 12:00:00 +0000");
}

static void test_addr_takes_the_angle_part_and_refuses_junk(void)
{
	char a[320];

	em_addr("Reflex <reflex@example.com>", a, sizeof a);
	CU_ASSERT_STRING_EQUAL(a, "reflex@example.com");
	em_addr(" ops@example.com ", a, sizeof a);
	CU_ASSERT_STRING_EQUAL(a, "ops@example.com");
	em_addr("no-at-sign", a, sizeof a);
	CU_ASSERT_STRING_EQUAL(a, "");
	em_addr("a b@example.com", a, sizeof a);
	CU_ASSERT_STRING_EQUAL(a, "");
}

static void test_build_writes_headers_and_two_alternative_parts(void)
{
	const char *to[] = {"ops@example.com", "Dba <dba@example.com>"};
	struct em_message m = {
		.from = "Reflex <reflex@example.com>", .to = to, .nto = 2,
		.subject = "Re: [firing] disk", .message_id = "<reflex.2.X@example.com>",
		.in_reply_to = "<reflex.1.W@example.com>", .text = "plain ü", .text_len = 8,
		.html = "<p>html</p>", .html_len = 11, .boundary = "=_b1", .date = 1714564800,
		.event_id = "X",
	};
	struct em_buf b = {0};

	CU_ASSERT_EQUAL(em_build(&b, &m), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "Date: Wed, 01 May 2024 12:00:00 +0000\r\n"
					      "From: Reflex <reflex@example.com>\r\n"
					      "To: ops@example.com,\r\n Dba <dba@example.com>\r\n"
					      "Subject: Re: [firing] disk\r\n"
					      "Message-ID: <reflex.2.X@example.com>\r\n"
					      "In-Reply-To: <reflex.1.W@example.com>\r\n"
					      "References: <reflex.1.W@example.com>\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "MIME-Version: 1.0\r\nContent-Type: multipart/"
					      "alternative;\r\n boundary=\"=_b1\"\r\n\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "--=_b1\r\nContent-Type: text/plain; charset=UTF-8\r\n"
					      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
					      "plain =C3=BC\r\n--=_b1\r\nContent-Type: text/html"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "<p>html</p>\r\n--=_b1--\r\n"));
	/* every line ends with CRLF: no bare LF */
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '\n')
			CU_ASSERT_EQUAL(b.data[i - 1], '\r');
	em_buf_free(&b);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("email_mime", NULL, NULL);
	CU_add_test(s, "test_qp_encodes_utf8_equals_and_line_ends", test_qp_encodes_utf8_equals_and_line_ends);
	CU_add_test(s, "test_qp_encodes_trailing_space_and_leading_dot",
		    test_qp_encodes_trailing_space_and_leading_dot);
	CU_add_test(s, "test_qp_soft_breaks_keep_lines_within_76", test_qp_soft_breaks_keep_lines_within_76);
	CU_add_test(s, "test_header_keeps_ascii_and_encodes_utf8_as_rfc2047",
		    test_header_keeps_ascii_and_encodes_utf8_as_rfc2047);
	CU_add_test(s, "test_header_splits_long_utf8_into_words_without_cutting_characters",
		    test_header_splits_long_utf8_into_words_without_cutting_characters);
	CU_add_test(s, "test_header_turns_newlines_into_encoded_spaces",
		    test_header_turns_newlines_into_encoded_spaces);
	CU_add_test(s, "test_date_is_rfc5322_in_utc", test_date_is_rfc5322_in_utc);
	CU_add_test(s, "test_addr_takes_the_angle_part_and_refuses_junk",
		    test_addr_takes_the_angle_part_and_refuses_junk);
	CU_add_test(s, "test_build_writes_headers_and_two_alternative_parts",
		    test_build_writes_headers_and_two_alternative_parts);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
