/*
 * tests/unit/test_itsm_common.c - the helpers the ITSM plugins share
 * (plugins/itsm/servicenow/itsm_common.c): correlation keys, severity and
 * status of events and notices, UTF-8 cuts, percent-encoding, base64.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/itsm/servicenow/itsm_common.h"

static rfx_event make_event(const char *fp, int sev, int status)
{
	rfx_event ev;

	memset(&ev, 0, sizeof ev);
	ev.str[RFX_F_FINGERPRINT] = (char *)fp;
	ev.str[RFX_F_HOST] = (char *)"h1";
	ev.str[RFX_F_CHECK] = (char *)"c1";
	ev.severity = sev;
	ev.status = status;
	return ev;
}

static void test_itsm_corr_key_is_fnv1a_of_the_fingerprint(void)
{
	rfx_event ev = make_event("fp-sw1", RFX_SEV_ERROR, RFX_STATUS_FIRING);
	rfx_record rec = {.type = RFX_REC_EVENT, .u.event = &ev};
	char key[RFX_ITSM_KEY_LEN];

	rfx_itsm_corr_key(&rec, key, sizeof key);
	/* the value the integration tests compute in Python */
	CU_ASSERT_STRING_EQUAL(key, "reflex-04964c1480a6cd68");
	CU_ASSERT_EQUAL(strlen(key), RFX_ITSM_KEY_LEN - 1);
}

static void test_itsm_corr_key_same_for_firing_and_resolved(void)
{
	rfx_event a = make_event("x", RFX_SEV_ERROR, RFX_STATUS_FIRING);
	rfx_event b = make_event("x", RFX_SEV_DEBUG, RFX_STATUS_RESOLVED);
	rfx_record ra = {.type = RFX_REC_EVENT, .u.event = &a};
	rfx_record rb = {.type = RFX_REC_EVENT, .u.event = &b};
	char ka[RFX_ITSM_KEY_LEN], kb[RFX_ITSM_KEY_LEN];

	rfx_itsm_corr_key(&ra, ka, sizeof ka);
	rfx_itsm_corr_key(&rb, kb, sizeof kb);
	CU_ASSERT_STRING_EQUAL(ka, kb);
	CU_ASSERT_FALSE(rfx_itsm_resolved(&ra));
	CU_ASSERT_TRUE(rfx_itsm_resolved(&rb));
}

static void test_itsm_corr_key_notice_differs_from_event_with_same_text(void)
{
	rfx_event ev = make_event("g1", RFX_SEV_ERROR, RFX_STATUS_FIRING);
	rfx_event *evs[1] = {&ev};
	rfx_notice n = {.size = sizeof n, .group_key = "g1", .events = evs, .nevents = 1,
			.nfiring = 1};
	rfx_record re = {.type = RFX_REC_EVENT, .u.event = &ev};
	rfx_record rn = {.type = RFX_REC_NOTICE, .u.notice = &n};
	char ke[RFX_ITSM_KEY_LEN], kn[RFX_ITSM_KEY_LEN];

	rfx_itsm_corr_key(&re, ke, sizeof ke);
	rfx_itsm_corr_key(&rn, kn, sizeof kn);
	CU_ASSERT_STRING_NOT_EQUAL(ke, kn);
	CU_ASSERT_EQUAL(strncmp(kn, "reflex-", 7), 0);
}

static void test_itsm_severity_of_notice_is_most_severe_firing(void)
{
	rfx_event a = make_event("a", RFX_SEV_WARNING, RFX_STATUS_FIRING);
	rfx_event b = make_event("b", RFX_SEV_CRITICAL, RFX_STATUS_FIRING);
	rfx_event c = make_event("c", RFX_SEV_EMERGENCY, RFX_STATUS_RESOLVED);
	rfx_event *evs[3] = {&a, &b, &c};
	rfx_notice n = {.size = sizeof n, .group_key = "g", .events = evs, .nevents = 3,
			.nfiring = 2, .status = RFX_STATUS_FIRING};
	rfx_record r = {.type = RFX_REC_NOTICE, .u.notice = &n};

	CU_ASSERT_EQUAL(rfx_itsm_severity(&r), RFX_SEV_CRITICAL);
	n.nfiring = 0;
	n.status = RFX_STATUS_RESOLVED;
	CU_ASSERT_EQUAL(rfx_itsm_severity(&r), RFX_SEV_EMERGENCY);
	CU_ASSERT_TRUE(rfx_itsm_resolved(&r));
}

static void test_itsm_utf8_cut_never_splits_a_character(void)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac" "b"; /* a é € b */

	CU_ASSERT_EQUAL(rfx_itsm_utf8_cut(s, strlen(s), 1), 1);
	CU_ASSERT_EQUAL(rfx_itsm_utf8_cut(s, strlen(s), 2), 3);
	CU_ASSERT_EQUAL(rfx_itsm_utf8_cut(s, strlen(s), 3), 6);
	CU_ASSERT_EQUAL(rfx_itsm_utf8_cut(s, strlen(s), 10), strlen(s));
}

static void test_itsm_pct_encode_keeps_unreserved_and_refuses_overflow(void)
{
	char out[64];

	CU_ASSERT_EQUAL(rfx_itsm_pct_encode("correlation_id=r-1^state<6", out, sizeof out), 0);
	CU_ASSERT_STRING_EQUAL(out, "correlation_id%3Dr-1%5Estate%3C6");
	CU_ASSERT_EQUAL(rfx_itsm_pct_encode("p@ss&w=rd %", out, sizeof out), 0);
	CU_ASSERT_STRING_EQUAL(out, "p%40ss%26w%3Drd%20%25");
	CU_ASSERT_EQUAL(rfx_itsm_pct_encode("&&&&", out, 12), -1);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void test_itsm_base64_pads_like_rfc4648(void)
{
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	for (size_t i = 0; i < 7; i++) {
		char *b = rfx_itsm_base64(in[i], strlen(in[i]));

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_STRING_EQUAL(b, want[i]);
		free(b);
	}
}

static void test_itsm_compile_names_the_option_on_error(void)
{
	rfx_otpl *t = NULL;
	char err[256] = "";

	CU_ASSERT_EQUAL(rfx_itsm_compile("summary", "{{hots}}", 100, &t, err, sizeof err), RFX_EINVAL);
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "summary: template"));
	CU_ASSERT_EQUAL(rfx_itsm_compile("summary", "{{host}}", 100, &t, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(t);
	rfx_otpl_free(t);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("itsm_common", NULL, NULL);
	CU_add_test(s, "corr key is FNV-1a of the fingerprint", test_itsm_corr_key_is_fnv1a_of_the_fingerprint);
	CU_add_test(s, "corr key same firing/resolved", test_itsm_corr_key_same_for_firing_and_resolved);
	CU_add_test(s, "notice key differs", test_itsm_corr_key_notice_differs_from_event_with_same_text);
	CU_add_test(s, "notice severity", test_itsm_severity_of_notice_is_most_severe_firing);
	CU_add_test(s, "utf8 cut", test_itsm_utf8_cut_never_splits_a_character);
	CU_add_test(s, "pct encode", test_itsm_pct_encode_keeps_unreserved_and_refuses_overflow);
	CU_add_test(s, "base64", test_itsm_base64_pads_like_rfc4648);
	CU_add_test(s, "compile error", test_itsm_compile_names_the_option_on_error);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails > 0;
}
