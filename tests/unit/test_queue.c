/*
 * tests/unit/test_queue.c - the bounded ingress queue: all-or-nothing
 * batches, blocking with a timeout, oversized batches, closing and
 * draining, and many producers/consumers losing nothing.
 */
#include <pthread.h>
#include <string.h>

#include <reflex/plugin.h>
#include "event.h"
#include "queue.h"
#include "testutil.h"

static void fill(struct rfx_queue_item *it, size_t n)
{
	memset(it, 0, n * sizeof(*it));
	for (size_t i = 0; i < n; i++)
		it[i].ev = rfx_event_new();
}

static void release(struct rfx_queue_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rfx_event_unref(it[i].ev);
}

static void test_queue_batch_is_all_or_nothing(void)
{
	rfx_queue *q = rfx_queue_new(10);
	struct rfx_queue_item a[8], b[5], out[16];
	fill(a, 8);
	fill(b, 5);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 8, 0), 0);
	CU_ASSERT_EQUAL(rfx_queue_push(q, b, 5, 0), RFX_EFULL); /* 8 + 5 > 10 */
	CU_ASSERT_EQUAL(rfx_queue_depth(q), 8);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 16, 0), 8);
	CU_ASSERT_PTR_EQUAL(out[0].ev, a[0].ev); /* FIFO */
	CU_ASSERT_PTR_EQUAL(out[7].ev, a[7].ev);
	CU_ASSERT_EQUAL(rfx_queue_push(q, b, 5, 0), 0);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 16, 0), 5);
	release(a, 8);
	release(b, 5);
	rfx_queue_free(q);
}

static void test_queue_push_times_out_when_full(void)
{
	rfx_queue *q = rfx_queue_new(2);
	struct rfx_queue_item a[3];
	fill(a, 3);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 2, 0), 0);
	int64_t t0 = rfx_now_ns();
	CU_ASSERT_EQUAL(rfx_queue_push(q, a + 2, 1, 50), RFX_EFULL);
	CU_ASSERT_TRUE(rfx_now_ns() - t0 >= 45 * 1000000LL);
	release(a, 3);
	rfx_queue_free(q);
}

static void test_queue_oversized_batch_enters_empty_queue_only(void)
{
	rfx_queue *q = rfx_queue_new(4);
	struct rfx_queue_item a[10], one[1], out[16];
	fill(a, 10);
	fill(one, 1);
	CU_ASSERT_EQUAL(rfx_queue_push(q, one, 1, 0), 0);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 10, 0), RFX_EFULL);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 16, 0), 1);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 10, 0), 0);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 16, 0), 10);
	CU_ASSERT_PTR_EQUAL(out[9].ev, a[9].ev);
	release(a, 10);
	release(one, 1);
	rfx_queue_free(q);
}

static void test_queue_close_drains_then_reports_end(void)
{
	rfx_queue *q = rfx_queue_new(4);
	struct rfx_queue_item a[2], out[4];
	fill(a, 2);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 2, 0), 0);
	rfx_queue_close(q);
	CU_ASSERT_EQUAL(rfx_queue_push(q, a, 1, 0), RFX_ESTOPPED);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 4, 100), 2);
	CU_ASSERT_EQUAL(rfx_queue_pop(q, out, 4, 100), -1);
	release(a, 2);
	rfx_queue_free(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static rfx_event *tokens[PRODUCERS * PER_PRODUCER];

struct prod {
	rfx_queue *q;
	int id;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	for (int i = 0; i < PER_PRODUCER; i += 10) {
		struct rfx_queue_item it[10];
		memset(it, 0, sizeof(it));
		for (int k = 0; k < 10; k++)
			it[k].ev = tokens[p->id * PER_PRODUCER + i + k];
		while (rfx_queue_push(p->q, it, 10, 1000) != 0)
			;
	}
	return NULL;
}

static unsigned seen[PRODUCERS * PER_PRODUCER];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void *consumer(void *arg)
{
	rfx_queue *q = arg;
	struct rfx_queue_item out[64];
	ssize_t n;
	while ((n = rfx_queue_pop(q, out, 64, 100)) != -1) {
		pthread_mutex_lock(&seen_lock);
		for (ssize_t i = 0; i < n; i++)
			seen[out[i].ev->severity]++;
		pthread_mutex_unlock(&seen_lock);
	}
	return NULL;
}

static void test_queue_many_producers_and_consumers_lose_nothing(void)
{
	rfx_queue *q = rfx_queue_new(100);
	pthread_t pt[PRODUCERS], ct[2];
	struct prod ps[PRODUCERS];
	for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
		tokens[i] = rfx_event_new();
		tokens[i]->severity = i; /* abused as a unique token */
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&ct[i], NULL, consumer, q);
	for (int i = 0; i < PRODUCERS; i++) {
		ps[i] = (struct prod){q, i};
		pthread_create(&pt[i], NULL, producer, &ps[i]);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(pt[i], NULL);
	rfx_queue_close(q);
	for (int i = 0; i < 2; i++)
		pthread_join(ct[i], NULL);
	unsigned missing = 0, dup = 0;
	for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++) {
		missing += seen[i] == 0;
		dup += seen[i] > 1;
		rfx_event_unref(tokens[i]);
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(dup, 0);
	rfx_queue_free(q);
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_queue_batch_is_all_or_nothing),
		RFX_TEST(test_queue_push_times_out_when_full),
		RFX_TEST(test_queue_oversized_batch_enters_empty_queue_only),
		RFX_TEST(test_queue_close_drains_then_reports_end),
		RFX_TEST(test_queue_many_producers_and_consumers_lose_nothing),
		{NULL, NULL},
	};
	return rfx_run_suite("queue", tests);
}
