/*
 * tests/unit/testutil.h - the few helpers every CUnit test binary shares:
 * running the registered suites and turning failures into the exit status.
 */
#ifndef RFX_TESTUTIL_H
#define RFX_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdlib.h>

#define RFX_TEST(fn) { #fn, fn }

struct rfx_test {
	const char *name;
	void (*fn)(void);
};

/* Registers one suite with the tests (terminated by {NULL, NULL}), runs it
 * verbosely and returns the process exit status. */
static inline int rfx_run_suite(const char *suite, const struct rfx_test *tests)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite s = CU_add_suite(suite, NULL, NULL);
	if (!s)
		return 2;
	for (const struct rfx_test *t = tests; t->name; t++)
		if (!CU_add_test(s, t->name, t->fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned ran = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	if (ran == 0)
		return 1; /* a suite that ran nothing is not a pass */
	return failed ? 1 : 0;
}

#endif
