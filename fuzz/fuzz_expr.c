/*
 * fuzz/fuzz_expr.c - libFuzzer target for the condition language
 * (core/expr_parse.c, core/expr_eval.c). Arbitrary text is compiled; what
 * compiles is evaluated against one fixed event that has every field,
 * labels and a nested attrs tree, so that field lookups, comparisons and
 * regexes all run. A failed compile must say why and where.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rfx_event *ev_fixed;

static const char ATTRS_JSON[] =
	"{\"http\":{\"status\":503,\"method\":\"GET\",\"ok\":false,\"latency\":0.25},"
	"\"tags\":[\"a\",\"b\",7],\"items\":[{\"name\":\"x\"}],\"nothing\":null,"
	"\"big\":1e308,\"neg\":-9223372036854775808}";

/* The event is built once and never changed: evaluation is read-only. */
static rfx_event *make_event(void)
{
	rfx_event *ev = rfx_event_new();
	struct json_object *attrs = json_tokener_parse(ATTRS_JSON);

	if (!ev || !attrs)
		abort();
	rfx_event_set(ev, RFX_F_HOST, "web-01");
	rfx_event_set(ev, RFX_F_SERVICE, "nginx");
	rfx_event_set(ev, RFX_F_CHECK, "http");
	rfx_event_set(ev, RFX_F_MESSAGE, "disk full on /var");
	rfx_event_set(ev, RFX_F_KIND, "alert");
	rfx_event_set(ev, RFX_F_SOURCE, "hook");
	rfx_event_set(ev, RFX_F_FINGERPRINT, "0123456789abcdef");
	ev->severity = RFX_SEV_WARNING;
	ev->status = RFX_STATUS_FIRING;
	ev->value = 42.5;
	ev->has_value = true;
	if (rfx_time_parse("2026-11-28T03:22:45Z", &ev->occurred_ns) != 0)
		abort();
	ev->received_ns = ev->occurred_ns + 1000000;
	rfx_event_id_new(ev->id);
	rfx_event_label_set(ev, "team", "db");
	rfx_event_label_set(ev, "env", "prod");
	rfx_event_label_set(ev, "count", "17");
	rfx_event_label_set(ev, "app.kubernetes.io/name", "api");
	rfx_event_label_set(ev, "empty", "");
	json_object_put(ev->attrs);
	ev->attrs = attrs;
	return ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int col = -1;
	char *src;
	rfx_expr *e;

	if (!ev_fixed)
		ev_fixed = make_event();
	src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	err[0] = '\0';
	e = rfx_expr_compile(src, err, sizeof(err), &col);
	if (!e) {
		/* Columns are 1-based and may point just past the end. */
		if (err[0] == '\0' || col < 1 || (size_t)col > strlen(src) + 1)
			__builtin_trap();
		goto out;
	}
	if (strcmp(rfx_expr_source(e), src) != 0)
		__builtin_trap();
	bool a = rfx_expr_eval(e, ev_fixed);
	/* Evaluation is pure: the same event gives the same answer. */
	if (rfx_expr_eval(e, ev_fixed) != a)
		__builtin_trap();
	rfx_expr_free(e);
out:
	free(src);
	return 0;
}
