/*
 * bench/expr_bench.c - how fast the condition language (core/expr_parse.c,
 * core/expr_eval.c)
 * evaluates: compiles a few representative expressions and runs each over
 * the same set of pre-built events, printing evaluations per second (median
 * of five runs). Not a test; it only prints.
 *
 *   expr_bench [EVENTS]    (default 1000000)
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "event.h"
#include "expr.h"

#define RUNS 5

static const char *const exprs[] = {
	"severity >= warning and labels.team == \"db\"",
	"message matches \"disk (full|quota) on /(var|home)\"",
	"host in [\"web-01\", \"web-03\", \"web-05\", \"db-01\", \"db-02\", \"cache-07\", \"lb-01\", \"lb-02\"]",
	"attrs.http.status >= 500 and attrs.http.status < 600",
	"labels.env != \"dev\" and (host startswith \"web\" or message contains \"timeout\")",
	"not labels.runbook exists",
};

static const char *const hosts[] = { "web-01", "web-02", "web-03", "db-01", "db-02", "cache-07", "lb-01", "mail-01" };
static const char *const msgs[] = {
	"disk full on /var", "disk quota on /home exceeded", "connection timeout to upstream",
	"cpu temperature high", "service restarted", "GET /index.html 200",
};
static const char *const teams[] = { "db", "web", "ops" };
static const char *const envs[] = { "prod", "staging", "dev" };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Deterministic variety without rand(): a small LCG per event index. */
static rfx_event *make_event(size_t i)
{
	rfx_event *ev = rfx_event_new();
	struct json_object *http;
	unsigned long r = (unsigned long)i * 2654435761u;

	if (!ev)
		return NULL;
	http = json_object_new_object();
	if (!http || rfx_event_set(ev, RFX_F_HOST, hosts[r % 8]) < 0 ||
	    rfx_event_set(ev, RFX_F_MESSAGE, msgs[(r >> 3) % 6]) < 0 ||
	    rfx_event_label_set(ev, "team", teams[(r >> 6) % 3]) < 0 ||
	    rfx_event_label_set(ev, "env", envs[(r >> 8) % 3]) < 0) {
		json_object_put(http);
		rfx_event_unref(ev);
		return NULL;
	}
	ev->severity = (int)((r >> 10) % 8);
	json_object_object_add(http, "status", json_object_new_int(200 + (int)((r >> 13) % 4) * 100));
	json_object_object_add(ev->attrs, "http", http);
	return ev;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	rfx_event **events;
	int rc = 1;

	if (n == 0)
		n = 1;
	if (!(events = calloc(n, sizeof(*events))))
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (!(events[i] = make_event(i))) {
			fprintf(stderr, "expr_bench: out of memory at event %zu\n", i);
			goto out;
		}
	}
	printf("expr_bench: %zu events, median of %d runs\n", n, RUNS);
	for (size_t x = 0; x < sizeof(exprs) / sizeof(exprs[0]); x++) {
		char err[256];
		int col;
		rfx_expr *e = rfx_expr_compile(exprs[x], err, sizeof(err), &col);
		double rates[RUNS];
		size_t matched = 0;

		if (!e) {
			fprintf(stderr, "expr_bench: %s: column %d: %s\n", exprs[x], col, err);
			goto out;
		}
		for (int run = 0; run < RUNS; run++) {
			double t0 = now_s(), dt;

			matched = 0;
			for (size_t i = 0; i < n; i++)
				matched += rfx_expr_eval(e, events[i]);
			dt = now_s() - t0;
			rates[run] = dt > 0 ? (double)n / dt : 0;
		}
		qsort(rates, RUNS, sizeof(rates[0]), cmp_double);
		printf("%12.0f evals/s  %5.1f%% matched  %s\n", rates[RUNS / 2],
		       100.0 * (double)matched / (double)n, exprs[x]);
		rfx_expr_free(e);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(events[i]);
	free(events);
	return rc;
}
