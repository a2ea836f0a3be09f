/*
 * tests/unit/test_pipeline.c - the pipeline with an in-memory store and
 * output: acknowledgement only after the store committed, a failing store
 * fails the acks, the full-queue policies (block with timeout, shed by
 * severity), routing by match:, RETRY handling, draining on stop; and the
 * timer service of the host table.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <reflex/plugin.h>
#include "event.h"
#include "expr.h"
#include "host.h"
#include "pipeline.h"
#include "timer.h"
#include "testutil.h"

/* ---- a store whose behaviour the test controls ---------------------------- */

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the fields below */
static pthread_cond_t mem_cond = PTHREAD_COND_INITIALIZER;
static bool mem_gate_closed;  /* put_events waits while true */
static int mem_fail;          /* put_events fails while > 0 (counts down) */
static size_t mem_stored;

static int mem_put(void *state, rfx_event *const *evs, size_t n)
{
	pthread_mutex_lock(&mem_lock);
	while (mem_gate_closed)
		pthread_cond_wait(&mem_cond, &mem_lock);
	int rc = 0;
	if (mem_fail > 0) {
		mem_fail--;
		rc = RFX_EIO;
	} else {
		mem_stored += n;
	}
	pthread_mutex_unlock(&mem_lock);
	return rc;
}

static void gate(bool closed)
{
	pthread_mutex_lock(&mem_lock);
	mem_gate_closed = closed;
	pthread_cond_broadcast(&mem_cond);
	pthread_mutex_unlock(&mem_lock);
}

static size_t stored(void)
{
	pthread_mutex_lock(&mem_lock);
	size_t n = mem_stored;
	pthread_mutex_unlock(&mem_lock);
	return n;
}

static const rfx_store_ops mem_ops = {.size = sizeof(rfx_store_ops), .put_events = mem_put};

/* ---- an output that records and can ask for retries ---------------------- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the fields below */
static size_t out_seen, out_attempts;
static int out_retry_first; /* answer RETRY this many times first */
static char out_last_host[64];

static rfx_result out_handle(void *state, const rfx_record *rec)
{
	pthread_mutex_lock(&out_lock);
	out_attempts++;
	if (out_retry_first > 0) {
		out_retry_first--;
		pthread_mutex_unlock(&out_lock);
		return RFX_RETRY;
	}
	out_seen++;
	snprintf(out_last_host, sizeof(out_last_host), "%s",
		 rfx_event_host(rec->u.event) ? rfx_event_host(rec->u.event) : "");
	pthread_mutex_unlock(&out_lock);
	return RFX_OK;
}

static const rfx_plugin out_plugin = {RFX_PLUGIN_ABI, .name = "mem", .kind = RFX_KIND_OUTPUT,
				      .accepts = RFX_REC_EVENT, .handle = out_handle};

static void reset(void)
{
	mem_gate_closed = false;
	mem_fail = 0;
	mem_stored = 0;
	out_seen = out_attempts = 0;
	out_retry_first = 0;
	out_last_host[0] = '\0';
}

static struct rfx_pipeline *make(size_t queue, int policy, int64_t block_ms, const char *match,
				 rfx_expr **compiled)
{
	struct rfx_pipeline_opts o = {.queue_size = queue, .full_policy = policy,
				      .drop_below = RFX_SEV_WARNING, .block_timeout_ms = block_ms,
				      .batch_size = 100, .workers = 1};
	struct rfx_pipeline *p = rfx_pipeline_new(&o, &mem_ops, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	*compiled = NULL;
	if (match) {
		char err[256];
		*compiled = rfx_expr_compile(match, err, sizeof(err), NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(*compiled);
	}
	static const struct rfx_delivery_conf fast = {
		.max_attempts = 4, .initial_backoff_ms = 10, .max_backoff_ms = 40,
		.max_retry_after_ms = 1000, .breaker_failures = 0, .breaker_cooldown_ms = 100,
		.drain_timeout_ms = 1000};
	struct rfx_output_spec spec = {.name = "mem", .plugin = &out_plugin, .match = *compiled,
				       .delivery = &fast};
	CU_ASSERT_EQUAL(rfx_pipeline_add_output(p, &spec), 0);
	CU_ASSERT_EQUAL(rfx_pipeline_start(p), 0);
	return p;
}

static rfx_event *ev_of(const char *host, int sev)
{
	rfx_event *ev = rfx_event_new();
	rfx_event_set(ev, RFX_F_HOST, host);
	rfx_event_set(ev, RFX_F_CHECK, "c");
	ev->severity = sev;
	return ev;
}

static void test_pipeline_acks_only_after_the_store_committed(void)
{
	rfx_expr *m;
	reset();
	rfx_instance *inst = rfx_instance_new(RFX_KIND_INPUT, "test", "in", "/tmp");
	struct rfx_pipeline *p = make(100, RFX_FULL_BLOCK, 100, NULL, &m);
	gate(true);
	rfx_ack *ack = rfx_ack_new();
	rfx_event *evs[2] = {ev_of("a", 3), ev_of("b", 3)};
	rfx_event *keep = rfx_event_ref(evs[0]);
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, inst, evs, 2, ack), 0);
	CU_ASSERT_EQUAL(strlen(keep->id), RFX_EVENT_ID_LEN); /* id assigned by emit */
	CU_ASSERT_STRING_EQUAL(rfx_event_source(keep), "in");
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 100), RFX_ETIMEDOUT); /* store held back */
	gate(false);
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 5000), 0);
	CU_ASSERT_EQUAL(stored(), 2);
	rfx_ack_free(ack);
	rfx_event_unref(keep);
	rfx_pipeline_free(p);
	rfx_instance_free(inst);
}

static void test_pipeline_keeps_a_valid_preset_id_and_replaces_a_bad_one(void)
{
	rfx_expr *m;
	reset();
	rfx_instance *inst = rfx_instance_new(RFX_KIND_INPUT, "test", "in", "/tmp");
	struct rfx_pipeline *p = make(100, RFX_FULL_BLOCK, 100, NULL, &m);
	rfx_ack *ack = rfx_ack_new();
	rfx_event *evs[3] = {ev_of("a", 3), ev_of("b", 3), ev_of("c", 3)};
	strcpy(evs[0]->id, "01JDQ7ZKXG5M3N8P9R2S4T6V7W");  /* a ULID: kept */
	strcpy(evs[1]->id, "01jdq7zkxg5m3n8p9r2s4t6v7w");  /* lower case: not canonical */
	strcpy(evs[2]->id, "81JDQ7ZKXG5M3N8P9R2S4T6V7W");  /* more than 128 bits */
	rfx_event *keep[3];
	for (int i = 0; i < 3; i++)
		keep[i] = rfx_event_ref(evs[i]);
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, inst, evs, 3, ack), 0);
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 5000), 0);
	CU_ASSERT_STRING_EQUAL(keep[0]->id, "01JDQ7ZKXG5M3N8P9R2S4T6V7W");
	for (int i = 1; i < 3; i++) {
		CU_ASSERT_TRUE(rfx_event_id_valid(keep[i]->id));
		CU_ASSERT_STRING_NOT_EQUAL(keep[i]->id + 1, "1JDQ7ZKXG5M3N8P9R2S4T6V7W");
	}
	CU_ASSERT_FALSE(rfx_event_id_valid("01JDQ7ZKXG5M3N8P9R2S4T6V7")); /* 25 chars */
	CU_ASSERT_FALSE(rfx_event_id_valid("01JDQ7ZKXG5M3N8P9R2S4T6V7WX"));
	CU_ASSERT_FALSE(rfx_event_id_valid("01JDQ7ZKXG5M3N8P9R2S4T6V7U")); /* U is not Crockford */
	CU_ASSERT_FALSE(rfx_event_id_valid(""));
	for (int i = 0; i < 3; i++)
		rfx_event_unref(keep[i]);
	rfx_ack_free(ack);
	rfx_pipeline_free(p);
	rfx_instance_free(inst);
}

static void test_pipeline_failing_store_fails_the_ack(void)
{
	rfx_expr *m;
	reset();
	mem_fail = 100; /* more than the pipeline's attempts */
	struct rfx_pipeline *p = make(100, RFX_FULL_BLOCK, 100, NULL, &m);
	rfx_ack *ack = rfx_ack_new();
	rfx_event *evs[1] = {ev_of("a", 3)};
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, evs, 1, ack), 0);
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 10000), RFX_EIO);
	CU_ASSERT_EQUAL(stored(), 0);
	pthread_mutex_lock(&out_lock);
	CU_ASSERT_EQUAL(out_seen, 0); /* nothing unstored is delivered */
	pthread_mutex_unlock(&out_lock);
	rfx_ack_free(ack);
	rfx_pipeline_free(p);
}

static void test_pipeline_store_retry_succeeds(void)
{
	rfx_expr *m;
	reset();
	mem_fail = 1; /* one failure, then success */
	struct rfx_pipeline *p = make(100, RFX_FULL_BLOCK, 100, NULL, &m);
	rfx_ack *ack = rfx_ack_new();
	rfx_event *evs[1] = {ev_of("a", 3)};
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, evs, 1, ack), 0);
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 10000), 0);
	CU_ASSERT_EQUAL(stored(), 1);
	rfx_ack_free(ack);
	rfx_pipeline_free(p);
}

static void fill_queue(struct rfx_pipeline *p, size_t n)
{
	/* the worker holds one batch inside put_events; the rest waits */
	for (size_t i = 0; i < n; i++) {
		rfx_event *e[1] = {ev_of("fill", RFX_SEV_ERROR)};
		CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, e, 1, NULL), 0);
	}
}

static void test_pipeline_block_policy_refuses_after_timeout(void)
{
	rfx_expr *m;
	reset();
	struct rfx_pipeline *p = make(4, RFX_FULL_BLOCK, 100, NULL, &m);
	gate(true);
	fill_queue(p, 1);
	usleep(100000); /* the worker takes it and blocks in the store */
	fill_queue(p, 4);
	rfx_event *e[1] = {ev_of("late", RFX_SEV_CRITICAL)};
	int64_t t0 = rfx_now_ns();
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, e, 1, NULL), RFX_EFULL);
	CU_ASSERT_TRUE(rfx_now_ns() - t0 >= 90 * 1000000LL); /* it waited block_timeout */
	gate(false);
	rfx_pipeline_stop(p);
	CU_ASSERT_EQUAL(stored(), 5);
	rfx_pipeline_free(p);
}

static void test_pipeline_drop_policy_sheds_low_severity_at_once(void)
{
	rfx_expr *m;
	reset();
	struct rfx_pipeline *p = make(4, RFX_FULL_DROP, 300, NULL, &m);
	gate(true);
	fill_queue(p, 1);
	usleep(100000);
	fill_queue(p, 4);
	rfx_event *lo[1] = {ev_of("info", RFX_SEV_INFO)};
	int64_t t0 = rfx_now_ns();
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, lo, 1, NULL), RFX_EFULL);
	CU_ASSERT_TRUE(rfx_now_ns() - t0 < 50 * 1000000LL); /* shed without waiting */
	rfx_event *hi[1] = {ev_of("crit", RFX_SEV_CRITICAL)};
	t0 = rfx_now_ns();
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, hi, 1, NULL), RFX_EFULL);
	CU_ASSERT_TRUE(rfx_now_ns() - t0 >= 250 * 1000000LL); /* severe ones wait */
	gate(false);
	rfx_pipeline_stop(p);
	rfx_pipeline_free(p);
}

static bool delivered(void)
{
	pthread_mutex_lock(&out_lock);
	bool d = out_seen > 0;
	pthread_mutex_unlock(&out_lock);
	return d;
}

static void test_pipeline_routes_by_match_and_retries_output(void)
{
	rfx_expr *m;
	reset();
	out_retry_first = 2;
	struct rfx_pipeline *p = make(100, RFX_FULL_BLOCK, 100, "severity >= error", &m);
	rfx_event *evs[3] = {ev_of("quiet", RFX_SEV_INFO), ev_of("loud", RFX_SEV_CRITICAL),
			     ev_of("warn", RFX_SEV_WARNING)};
	rfx_ack *ack = rfx_ack_new();
	CU_ASSERT_EQUAL(rfx_pipeline_emit(p, NULL, evs, 3, ack), 0);
	CU_ASSERT_EQUAL(rfx_ack_wait(ack, 5000), 0);
	for (int i = 0; i < 500 && !delivered(); i++)
		usleep(10000); /* two retries 5-40 ms apart */
	rfx_pipeline_stop(p);
	CU_ASSERT_EQUAL(stored(), 3); /* everything is stored */
	CU_ASSERT_EQUAL(out_seen, 1); /* only what matches is delivered */
	CU_ASSERT_EQUAL(out_attempts, 3); /* two RETRY answers, then OK */
	CU_ASSERT_STRING_EQUAL(out_last_host, "loud");
	rfx_ack_free(ack);
	rfx_pipeline_free(p);
	rfx_expr_free(m);
}

static int ticks;
static void tick(void *arg)
{
	__atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
}

static void test_timer_fires_periodically_until_cancelled(void)
{
	ticks = 0;
	rfx_timer *t = rfx_timer_add(NULL, 20, tick, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	usleep(250000);
	rfx_timer_cancel(t);
	int n = __atomic_load_n(&ticks, __ATOMIC_RELAXED);
	CU_ASSERT_TRUE(n >= 5 && n <= 14);
	usleep(100000);
	CU_ASSERT_EQUAL(__atomic_load_n(&ticks, __ATOMIC_RELAXED), n);
	CU_ASSERT_PTR_NULL(rfx_timer_add(NULL, 0, tick, NULL));
	rfx_timers_stop();
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_pipeline_acks_only_after_the_store_committed),
		RFX_TEST(test_pipeline_keeps_a_valid_preset_id_and_replaces_a_bad_one),
		RFX_TEST(test_pipeline_failing_store_fails_the_ack),
		RFX_TEST(test_pipeline_store_retry_succeeds),
		RFX_TEST(test_pipeline_block_policy_refuses_after_timeout),
		RFX_TEST(test_pipeline_drop_policy_sheds_low_severity_at_once),
		RFX_TEST(test_pipeline_routes_by_match_and_retries_output),
		RFX_TEST(test_timer_fires_periodically_until_cancelled),
		{NULL, NULL},
	};
	return rfx_run_suite("pipeline", tests);
}
