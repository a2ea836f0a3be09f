/*
 * plugins/outputs/nagios/nagios_test.c - unit tests of the Nagios output's
 * return codes, command lines (fields, escaping, the PIPE_BUF bound) and
 * FIFO writes (no reader is a retry). The plugin is included whole so its
 * static functions are reachable.
 */
#include "nagios.c"

#include <CUnit/Basic.h>

static void test_code_maps_resolved_warning_critical_unknown(void)
{
	rfx_event ev = {0};

	ev.status = RFX_STATUS_RESOLVED;
	ev.severity = RFX_SEV_CRITICAL;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 0);
	ev.status = RFX_STATUS_FIRING;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 2);
	ev.severity = RFX_SEV_EMERGENCY;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 2);
	ev.severity = RFX_SEV_ERROR;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 1);
	ev.severity = RFX_SEV_WARNING;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 1);
	ev.severity = RFX_SEV_INFO;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 0);
	ev.severity = 9;
	CU_ASSERT_EQUAL(ng_code(&ev, RFX_SEV_CRITICAL, RFX_SEV_WARNING), 3);
}

static void test_host_state_is_up_or_down(void)
{
	CU_ASSERT_EQUAL(ng_host_state(0), 0);
	CU_ASSERT_EQUAL(ng_host_state(1), 0);
	CU_ASSERT_EQUAL(ng_host_state(2), 1);
	CU_ASSERT_EQUAL(ng_host_state(3), 1);
}

static void test_format_service_and_host_results(void)
{
	char out[NG_LINE_MAX + 1];
	const char *o = "DISK CRITICAL - 97% used\nsda1: 97%\r\nsda2: 12%";

	CU_ASSERT_EQUAL(ng_format(out, 1714564800, "db1", "disk", 2, o, strlen(o)), (int)strlen(out));
	CU_ASSERT_STRING_EQUAL(out, "[1714564800] PROCESS_SERVICE_CHECK_RESULT;db1;disk;2;"
				    "DISK CRITICAL - 97% used\\nsda1: 97%\\nsda2: 12%\n");
	ng_format(out, 1714564800, "db1", "", 0, "UP", 2);
	CU_ASSERT_STRING_EQUAL(out, "[1714564800] PROCESS_HOST_CHECK_RESULT;db1;0;UP\n");
	CU_ASSERT_EQUAL(ng_format(out, 1, " ", "x", 0, "o", 1), -1);
}

static void test_format_keeps_separators_out_of_names(void)
{
	char out[NG_LINE_MAX + 1];

	ng_format(out, 5, "web;1\n", " http;s ", 1, "a;b\tc", 5);
	CU_ASSERT_STRING_EQUAL(out, "[5] PROCESS_SERVICE_CHECK_RESULT;web_1_;http_s;1;a;b c\n");
}

static void test_format_cuts_at_pipe_buf_on_a_character_boundary(void)
{
	char out[NG_LINE_MAX + 1], *big = malloc(3 * NG_LINE_MAX);
	int n;

	for (int i = 0; i < NG_LINE_MAX; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3); /* euro signs */
	n = ng_format(out, 1714564800, "db1", "disk", 2, big, 3 * NG_LINE_MAX);
	CU_ASSERT(n <= NG_LINE_MAX);
	CU_ASSERT_EQUAL(out[n - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(out, '\n', (size_t)n - 1));
	/* the output part is whole euro signs */
	CU_ASSERT_EQUAL((n - 1 - (int)strlen("[1714564800] PROCESS_SERVICE_CHECK_RESULT;db1;disk;2;")) % 3, 0);
	free(big);
}

static void test_write_without_reader_retries_and_with_one_writes_the_line(void)
{
	char dir[] = "/tmp/nagios_test.XXXXXX", path[128], buf[256], msg[256] = "";
	struct ng_config cfg = {.command_file = path};
	struct ng_out g = {.cfg = &cfg};
	char *lines[] = {"[1] PROCESS_HOST_CHECK_RESULT;db1;0;UP\n"};
	int rfd;
	ssize_t r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/nagios.cmd", dir);
	CU_ASSERT_EQUAL(ng_write(&g, lines, 1, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "No such file"));
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(ng_write(&g, lines, 1, msg, sizeof msg), RFX_RETRY);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "has no reader: is Nagios running?"));
	rfd = open(path, O_RDONLY | O_NONBLOCK);
	CU_ASSERT_FATAL(rfd >= 0);
	CU_ASSERT_EQUAL(ng_write(&g, lines, 1, msg, sizeof msg), RFX_OK);
	r = read(rfd, buf, sizeof buf - 1);
	CU_ASSERT_EQUAL(r, (ssize_t)strlen(lines[0]));
	buf[r > 0 ? r : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, lines[0]);
	close(rfd);
	unlink(path);
	/* a regular file is a configuration error */
	close(open(path, O_CREAT | O_WRONLY, 0600));
	CU_ASSERT_EQUAL(ng_write(&g, lines, 1, msg, sizeof msg), RFX_FAIL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("nagios", NULL, NULL);
	CU_add_test(s, "test_code_maps_resolved_warning_critical_unknown",
		    test_code_maps_resolved_warning_critical_unknown);
	CU_add_test(s, "test_host_state_is_up_or_down", test_host_state_is_up_or_down);
	CU_add_test(s, "test_format_service_and_host_results", test_format_service_and_host_results);
	CU_add_test(s, "test_format_keeps_separators_out_of_names",
		    test_format_keeps_separators_out_of_names);
	CU_add_test(s, "test_format_cuts_at_pipe_buf_on_a_character_boundary",
		    test_format_cuts_at_pipe_buf_on_a_character_boundary);
	CU_add_test(s, "test_write_without_reader_retries_and_with_one_writes_the_line",
		    test_write_without_reader_retries_and_with_one_writes_the_line);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
