/*
 * bench/loadgen.c - HTTP/1.1 load generator for reflex's webhook input
 * (POST /api/v1/events/webhook). libc and pthreads only.
 *
 * Each thread owns an epoll loop and a share of the keep-alive connections;
 * a connection has at most one request in flight. Without -r the test is
 * closed-loop (a connection sends again as soon as its answer is in). With
 * -r the test is open-loop: requests are due at fixed 1/rate intervals and
 * their latency counts from the time they were due, not from when a free
 * connection picked them up, so a stalled server shows up in the tail
 * instead of being hidden (coordinated omission).
 *
 * It only ever talks to loopback addresses: this machine must never send
 * load anywhere else.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define POOL_SIZE 64        /* distinct request bodies */
#define MAX_THREADS 64
#define MAX_CONNS 10000
#define MAX_BATCH 10000
#define RX_MAX 4096         /* status line + headers must fit */
#define DRAIN_NS (2 * NS)   /* how long in-flight requests may finish after the end */
#define RETRY_NS (50 * MS)  /* reconnect backoff after a connection error */
#define NS 1000000000LL
#define MS 1000000LL

/* Log-bucket latency histogram: values below 2^8 ns are exact, above that
 * each power of two has 128 buckets, so a bucket's midpoint is within 0.4%
 * of every value in it. */
#define H_SUB 128
#define H_LINEAR 256
#define H_BUCKETS (H_LINEAR + 56 * H_SUB)

struct hist {
	uint64_t count[H_BUCKETS];
	uint64_t n, max;
	double sum;
};

struct config {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *url;
	int conns, threads, batch;
	double duration, warmup, rate;
	long long total; /* -n; 0 = run for duration */
	int64_t timeout_ns;
};

/* The shared, read-only request pool: complete HTTP requests. */
static char *pool[POOL_SIZE];
static size_t pool_len[POOL_SIZE];
static struct config cfg;
static volatile sig_atomic_t interrupted;

enum cstate { C_DOWN, C_CONNECTING, C_IDLE, C_SENDING, C_READING };

struct conn {
	int fd;
	enum cstate state;
	const char *req;      /* pool entry being sent */
	size_t req_len, sent;
	int64_t start_ns;     /* due time (open loop) or send time */
	int64_t retry_at;     /* C_DOWN: reconnect not before */
	char rx[RX_MAX];
	size_t rx_len;
	bool headers_done, close_after, until_eof;
	bool in_idle;         /* listed in worker.idle (maybe stale: check state) */
	int status;
	long long body_left;  /* -1 = unknown */
};

struct worker {
	pthread_t tid;
	int id, nconns, epfd, tfd;
	struct conn *conns;
	int *idle;            /* stack of idle connection indexes */
	int nidle;
	double rate;          /* this thread's share of -r */
	long long quota;      /* measured requests to issue (-n), else -1 */
	long long issued, warm_issued;
	int64_t t0, measure_at, end_at, next_due;
	int64_t stop_at;      /* when issuing stopped; 0 while running */
	int64_t armed_at;     /* what the timerfd is set to */
	unsigned pool_next;
	/* results */
	struct hist h;
	uint64_t ok, non2xx, st503, errors, timeouts, unsent, refused;
	uint64_t by_status[600];
	int64_t last_done;
	char first_error[200];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static int hist_index(uint64_t v)
{
	int e, shift;

	if (v < H_LINEAR)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	shift = e - 7;
	return H_LINEAR + (shift - 1) * H_SUB + (int)((v >> shift) - H_SUB);
}

/* Midpoint of bucket i: the value reported for every sample in it. */
static uint64_t hist_value(int i)
{
	int shift;

	if (i < H_LINEAR)
		return (uint64_t)i;
	shift = (i - H_LINEAR) / H_SUB + 1;
	return (((uint64_t)((i - H_LINEAR) % H_SUB + H_SUB)) << shift) + (1ull << (shift - 1));
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n), seen = 0;

	if (rank < 1)
		rank = 1;
	for (int i = 0; i < H_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank)
			return hist_value(i) < h->max ? hist_value(i) : h->max;
	}
	return h->max;
}

/* ---- request bodies ---------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: deterministic, so runs use the same bodies */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32) % n;
}

#define PICK(a) (a[rnd(sizeof(a) / sizeof(a[0]))])

struct body {
	char *p;
	size_t len, cap;
};

static void body_add(struct body *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void body_add(struct body *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die(1, "cannot format a request body");
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n;
		if (!(b->p = realloc(b->p, b->cap)))
			die(1, "out of memory");
	}
	b->len += (size_t)n;
}

/* One event in the generic JSON form the webhook input accepts. */
static void add_event(struct body *b)
{
	static const char *const roles[] = { "web", "api", "db", "cache", "queue", "lb" };
	static const char *const envs[] = { "prod", "prod", "prod", "staging", "dev" };
	static const char *const regions[] = { "eu-west-1", "eu-central-1", "us-east-1", "ap-south-1" };
	static const char *const teams[] = { "sre", "platform", "payments", "search" };
	static const char *const sevs[] = { "critical", "error", "warning", "warning", "warning",
					    "notice", "info", "info", "alert" };
	static const struct { const char *service, *check, *fmt; double lo, hi; } checks[] = {
		{ "nginx", "http_5xx_rate", "5xx rate %.1f%% above threshold on %s", 1, 40 },
		{ "nginx", "http_latency_p99", "p99 latency %.0f ms over SLO on %s", 300, 5000 },
		{ "postgres", "replication_lag", "replication lag %.0f s on %s", 5, 900 },
		{ "postgres", "connections", "%.0f connections in use on %s", 80, 500 },
		{ "redis", "memory_used", "memory used %.1f%% on %s", 70, 99 },
		{ "node", "disk_usage", "disk /var %.1f%% full on %s", 80, 100 },
		{ "node", "cpu_load", "load average %.2f on %s", 4, 64 },
		{ "kafka", "consumer_lag", "consumer lag %.0f messages on %s", 1000, 900000 },
		{ "systemd", "unit_failed", "unit failed (restart count %.0f) on %s", 1, 20 },
		{ "blackbox", "ping", "packet loss %.0f%% to %s", 5, 100 },
	};
	char host[48];
	int ci = (int)rnd(sizeof(checks) / sizeof(checks[0]));
	double v = checks[ci].lo + (checks[ci].hi - checks[ci].lo) * rnd(10000) / 10000.0;

	snprintf(host, sizeof(host), "%s-%02u.%s", PICK(roles), rnd(24) + 1, PICK(regions));
	body_add(b, "{\"kind\":\"alert\",\"host\":\"%s\",\"service\":\"%s\",\"check\":\"%s\","
		    "\"severity\":\"%s\",\"status\":\"%s\",\"value\":%.2f,\"message\":\"",
		 host, checks[ci].service, checks[ci].check, PICK(sevs), rnd(5) ? "firing" : "resolved", v);
	body_add(b, checks[ci].fmt, v, host);
	body_add(b, "\",\"labels\":{\"env\":\"%s\",\"team\":\"%s\",\"region\":\"%s\"",
		 PICK(envs), PICK(teams), PICK(regions));
	if (rnd(2))
		body_add(b, ",\"rack\":\"r%u\",\"instance\":\"%s:9100\"", rnd(40), host);
	body_add(b, "},\"attrs\":{\"generator\":\"loadgen\",\"seq\":%u}}", rnd(1000000));
}

static void build_pool(const char *hostport, const char *path, const char *token)
{
	for (int i = 0; i < POOL_SIZE; i++) {
		struct body body = { .cap = 1024 }, req = { .cap = 512 };

		if (!(body.p = malloc(body.cap)) || !(req.p = malloc(req.cap)))
			die(1, "out of memory");
		if (cfg.batch > 1)
			body_add(&body, "[");
		for (int e = 0; e < cfg.batch; e++) {
			if (e)
				body_add(&body, ",");
			add_event(&body);
		}
		if (cfg.batch > 1)
			body_add(&body, "]");
		body_add(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: reflex-loadgen\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			 path, hostport, body.len);
		if (token)
			body_add(&req, "Authorization: Bearer %s\r\n", token);
		body_add(&req, "\r\n%s", body.p);
		pool[i] = req.p;
		pool_len[i] = req.len;
		free(body.p);
	}
}

/* ---- URL and address --------------------------------------------------- */

/* Accepts http://HOST[:PORT]/PATH with HOST localhost, an address in
 * 127.0.0.0/8 or [::1]; anything else is refused. */
static void parse_url(const char *url, char *hostport, size_t hplen, char *path, size_t plen)
{
	char host[64];
	const char *p, *hend, *slash;
	long port = 80;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg.addr;

	if (strncmp(url, "http://", 7) != 0)
		die(64, "--url must start with http:// (https is not supported): %s", url);
	p = url + 7;
	slash = p + strcspn(p, "/");
	if (*p == '[') {
		hend = strchr(p, ']');
		if (!hend || hend > slash)
			die(64, "bad IPv6 address in %s", url);
		snprintf(host, sizeof(host), "%.*s", (int)(hend - p - 1), p + 1);
		hend++;
	} else {
		hend = p + strcspn(p, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)(hend - p), p);
	}
	if (*hend == ':') {
		char *end;

		port = strtol(hend + 1, &end, 10);
		if (end != slash || port < 1 || port > 65535)
			die(64, "bad port in %s", url);
	} else if (hend != slash) {
		die(64, "bad host in %s", url);
	}
	snprintf(hostport, hplen, "%.*s", (int)(slash - p), p);
	snprintf(path, plen, "%s", *slash ? slash : "/");
	memset(&cfg.addr, 0, sizeof(cfg.addr));
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			die(64, "refusing %s: only loopback targets (127.0.0.0/8, ::1, localhost) are allowed", host);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		cfg.addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			die(64, "refusing %s: only loopback targets (127.0.0.0/8, ::1, localhost) are allowed", host);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		cfg.addrlen = sizeof(*sin6);
	} else {
		die(64, "refusing '%s': give localhost or a loopback address, not a name", host);
	}
}

/* ---- connections ------------------------------------------------------- */

static void push_idle(struct worker *w, struct conn *c)
{
	c->state = C_IDLE;
	if (!c->in_idle) {
		c->in_idle = true;
		w->idle[w->nidle++] = (int)(c - w->conns);
	}
}

/* An idle connection, or NULL. Entries of connections that were closed
 * while listed are dropped here. */
static struct conn *pop_idle(struct worker *w)
{
	while (w->nidle > 0) {
		struct conn *c = &w->conns[w->idle[--w->nidle]];

		c->in_idle = false;
		if (c->state == C_IDLE)
			return c;
	}
	return NULL;
}

static void conn_close(struct worker *w, struct conn *c, int64_t now)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_DOWN;
	c->retry_at = now;
}

static void conn_error(struct worker *w, struct conn *c, const char *what, int64_t now)
{
	bool in_flight = c->state == C_SENDING || c->state == C_READING;

	if (in_flight ? c->start_ns >= w->measure_at && c->start_ns < w->end_at
		      : c->state == C_CONNECTING && now >= w->measure_at && now < w->end_at)
		w->errors++;
	if (!w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "%s", what);
	conn_close(w, c, now);
	c->retry_at = now + RETRY_NS;
}

static void conn_open(struct worker *w, struct conn *c, int64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)(c - w->conns) };
	int one = 1;

	c->fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_error(w, c, strerror(errno), now);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = C_CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0 && errno != EINPROGRESS) {
		w->refused += errno == ECONNREFUSED && now >= w->measure_at;
		conn_error(w, c, strerror(errno), now);
		return;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		conn_error(w, c, strerror(errno), now);
}

/* An orderly close (Connection: close, idle timeout): reconnect at once. */
static void conn_reopen(struct worker *w, struct conn *c, int64_t now)
{
	conn_close(w, c, now);
	if (!w->stop_at)
		conn_open(w, c, now);
}

static void conn_send(struct worker *w, struct conn *c, int64_t now)
{
	while (c->sent < c->req_len) {
		ssize_t n = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT will resume */
		if (n <= 0) {
			conn_error(w, c, n < 0 ? strerror(errno) : "send returned 0", now);
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = C_READING;
}

static void start_request(struct worker *w, struct conn *c, int64_t start, int64_t now)
{
	unsigned i = w->pool_next++ % POOL_SIZE;

	c->req = pool[i];
	c->req_len = pool_len[i];
	c->sent = 0;
	c->start_ns = start;
	c->rx_len = 0;
	c->headers_done = c->close_after = c->until_eof = false;
	c->status = 0;
	c->body_left = -1;
	c->state = C_SENDING;
	conn_send(w, c, now);
}

static void finish_response(struct worker *w, struct conn *c, int64_t now)
{
	if (c->start_ns >= w->measure_at && c->start_ns < w->end_at) {
		hist_add(&w->h, (uint64_t)(now - c->start_ns));
		w->last_done = now;
		if (c->status >= 200 && c->status <= 299) {
			w->ok++;
		} else {
			w->non2xx++;
			w->st503 += c->status == 503;
			w->by_status[c->status < 600 ? c->status : 0]++;
		}
	}
	if (c->close_after)
		conn_reopen(w, c, now);
	else
		push_idle(w, c);
}

/* Case-insensitive header match; returns the value or NULL. */
static const char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/* Parses the status line and headers once they are complete. 0 when more
 * bytes are needed or the head was parsed, -1 on a malformed answer. */
static int parse_head(struct worker *w, struct conn *c)
{
	char *end = memmem(c->rx, c->rx_len, "\r\n\r\n", 4), *line, *eol;
	size_t head_len;
	bool chunked = false;

	if (!end)
		return c->rx_len >= RX_MAX - 1 ? -1 : 0;
	head_len = (size_t)(end - c->rx) + 4;
	*end = '\0';
	if (strncmp(c->rx, "HTTP/1.", 7) != 0 || strlen(c->rx) < 12 || sscanf(c->rx + 9, "%3d", &c->status) != 1 ||
	    c->status < 100 || c->status > 999)
		return -1;
	c->close_after = c->rx[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
	for (line = strstr(c->rx, "\r\n"); line; line = eol) {
		const char *v;
		size_t len;

		line += 2;
		eol = strstr(line, "\r\n");
		len = eol ? (size_t)(eol - line) : strlen(line);
		if ((v = header_value(line, len, "content-length")))
			c->body_left = strtoll(v, NULL, 10);
		else if ((v = header_value(line, len, "connection")))
			c->close_after = strncasecmp(v, "close", 5) == 0;
		else if ((v = header_value(line, len, "transfer-encoding")))
			chunked = strncasecmp(v, "identity", 8) != 0;
	}
	if (chunked)
		return -1; /* reflex sends Content-Length; chunked is not needed */
	if (c->status == 204 || c->status == 304 || c->status < 200)
		c->body_left = 0;
	if (c->body_left < 0) {
		c->until_eof = c->close_after = true;
		c->body_left = 0;
	}
	if ((c->status < 200 || c->status > 299) && !w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "HTTP %d: %.*s", c->status,
			 (int)(c->rx_len - head_len < 120 ? c->rx_len - head_len : 120), end + 4);
	c->body_left -= (long long)(c->rx_len - head_len);
	c->headers_done = true;
	return 0;
}

static void conn_read(struct worker *w, struct conn *c, int64_t now)
{
	for (;;) {
		char sink[RX_MAX];
		char *dst = c->headers_done ? sink : c->rx + c->rx_len;
		size_t room = c->headers_done ? sizeof(sink) : RX_MAX - 1 - c->rx_len;
		ssize_t n = recv(c->fd, dst, room, 0);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			conn_error(w, c, strerror(errno), now);
			return;
		}
		if (n == 0) {
			if (c->state == C_READING && c->until_eof && c->headers_done) {
				c->close_after = true;
				finish_response(w, c, now);
			} else if (c->state == C_READING || c->state == C_SENDING) {
				conn_error(w, c, "server closed the connection mid-request", now);
			} else {
				conn_reopen(w, c, now); /* idle keep-alive closed */
			}
			return;
		}
		if (c->state != C_READING && c->state != C_SENDING) {
			conn_error(w, c, "unexpected bytes from server", now);
			return;
		}
		if (!c->headers_done) {
			c->rx_len += (size_t)n;
			c->rx[c->rx_len] = '\0';
			if (parse_head(w, c) < 0) {
				conn_error(w, c, "malformed or chunked HTTP response", now);
				return;
			}
		} else if (!c->until_eof) {
			c->body_left -= n;
		}
		if (c->headers_done && !c->until_eof && c->body_left <= 0) {
			if (c->body_left < 0) {
				conn_error(w, c, "more bytes than Content-Length (pipelining?)", now);
				return;
			}
			/* Keep reading to EAGAIN: edge-triggered epoll will not
			 * report a close that already arrived. */
			finish_response(w, c, now);
			if (c->fd < 0)
				return;
		}
	}
}

/* ---- the worker loop --------------------------------------------------- */

/* The timerfd wakes the loop when the next open-loop request is due;
 * epoll_wait's millisecond timeout is too coarse for high rates. */
static void arm_timer(struct worker *w, int64_t at)
{
	struct itimerspec its = { .it_value = { .tv_sec = at / NS, .tv_nsec = at % NS } };

	if (at == w->armed_at)
		return;
	w->armed_at = at;
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		die(1, "timerfd_settime: %s", strerror(errno));
}

/* Whether another request may start, and at what time it counts from. */
static bool next_start(struct worker *w, int64_t now, int64_t *start)
{
	bool warm = now < w->measure_at;

	if (w->stop_at)
		return false;
	if (!warm && w->quota >= 0 && w->issued >= w->quota)
		return false;
	if (w->rate > 0) {
		if (w->next_due > now)
			return false;
		*start = w->next_due;
		w->next_due = w->t0 + (int64_t)((double)(w->issued + w->warm_issued + 1) * NS / w->rate);
	} else {
		*start = now;
	}
	if (*start >= w->measure_at)
		w->issued++;
	else
		w->warm_issued++;
	return true;
}

static void housekeeping(struct worker *w, int64_t now)
{
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (c->state == C_DOWN && now >= c->retry_at && !w->stop_at) {
			conn_open(w, c, now);
		} else if ((c->state == C_SENDING || c->state == C_READING) && now - c->start_ns > cfg.timeout_ns) {
			if (c->start_ns >= w->measure_at)
				w->timeouts++;
			conn_error(w, c, "request timed out", now);
		}
	}
}

static int busy_conns(const struct worker *w)
{
	int n = 0;

	for (int i = 0; i < w->nconns; i++)
		n += w->conns[i].state == C_SENDING || w->conns[i].state == C_READING;
	return n;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256], tev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	int64_t now = now_ns(), hk_at = 0, start;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->tfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &tev) < 0)
		die(1, "epoll/timerfd: %s", strerror(errno));
	w->next_due = w->t0;
	/* Connect now, start all threads' clocks together at t0. */
	housekeeping(w, now);
	hk_at = w->t0;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
			       &(struct timespec){ .tv_sec = w->t0 / NS, .tv_nsec = w->t0 % NS }, NULL) == EINTR)
		;
	for (;;) {
		int timeout_ms, n;

		now = now_ns();
		if (now >= hk_at) {
			housekeeping(w, now);
			hk_at = now + 10 * MS;
		}
		if (!w->stop_at && (now >= w->end_at || interrupted || (w->quota >= 0 && w->issued >= w->quota)))
			w->stop_at = now;
		if (w->stop_at && (busy_conns(w) == 0 || now >= w->stop_at + DRAIN_NS))
			break;
		for (;;) {
			struct conn *c = w->nidle > 0 && !w->stop_at ? pop_idle(w) : NULL;

			if (!c)
				break;
			if (!next_start(w, now, &start)) {
				push_idle(w, c);
				break;
			}
			start_request(w, c, start, now);
		}
		/* Due with no free connection: the backlog waits for an answer,
		 * and its latency already runs. */
		if (w->rate > 0 && !w->stop_at && w->next_due > now)
			arm_timer(w, w->next_due);
		timeout_ms = (int)((hk_at - now + MS - 1) / MS);
		n = epoll_wait(w->epfd, evs, 256, timeout_ms > 0 ? timeout_ms : 0);
		if (n < 0 && errno != EINTR)
			die(1, "epoll_wait: %s", strerror(errno));
		now = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *c;

			if (evs[i].data.u32 == UINT32_MAX) {
				uint64_t ticks;

				if (read(w->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					die(1, "timerfd: %s", strerror(errno));
				continue;
			}
			c = &w->conns[evs[i].data.u32];
			if (c->fd < 0)
				continue;
			if (c->state == C_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					/* Refused on loopback: nothing listens any more. */
					w->refused += err == ECONNREFUSED && now >= w->measure_at;
					conn_error(w, c, strerror(err), now);
					continue;
				}
				push_idle(w, c);
			}
			if (c->state == C_SENDING && (evs[i].events & EPOLLOUT))
				conn_send(w, c, now);
			if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				conn_read(w, c, now);
		}
	}
	/* Due before the stop but never sent: the rate was not sustained. */
	if (w->rate > 0 && w->quota < 0) {
		int64_t stop = w->stop_at < w->end_at ? w->stop_at : w->end_at;
		long long due = (long long)ceil((double)(stop - w->t0) * w->rate / NS);

		/* One slot may fall between the last dispatch and the stop. */
		if (due > w->issued + w->warm_issued + 1)
			w->unsent = (uint64_t)(due - w->issued - w->warm_issued);
	}
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if ((c->state == C_SENDING || c->state == C_READING) && c->start_ns >= w->measure_at &&
		    c->start_ns < w->end_at)
			w->timeouts++, w->errors++;
		if (c->fd >= 0)
			close(c->fd);
	}
	close(w->epfd);
	close(w->tfd);
	return NULL;
}

/* ---- main -------------------------------------------------------------- */

static const char usage[] =
	"Usage: loadgen [OPTIONS]\n"
	"Sends events to reflex's webhook input and reports throughput and latency.\n"
	"\n"
	"  --url URL        target (default http://127.0.0.1:3009/api/v1/events/webhook);\n"
	"                   only localhost, 127.0.0.0/8 and [::1] are accepted\n"
	"  -c N             connections, one request in flight each (default 32)\n"
	"  -t N             threads (default 1)\n"
	"  -d SECONDS       measured duration (default 10)\n"
	"  -n N             measured requests instead of a duration\n"
	"  -b N             events per request: 1 sends an object, more an array (default 1)\n"
	"  -r RATE          requests/s over all connections, latency counted from the\n"
	"                   scheduled time; 0 = as fast as possible (default 0)\n"
	"  --token T        send Authorization: Bearer T\n"
	"  --warmup SECONDS run this long before measuring (default 0)\n"
	"  --timeout SECONDS a request unanswered this long is an error (default 10)\n"
	"\n"
	"Prints a summary and one line 'RESULT key=value ...'. Exits 1 when more than\n"
	"1% of the requests failed, 2 when the target cannot be reached, 64 on bad usage.\n";

static double num_arg(const char *opt, const char *arg, double lo, double hi)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= lo && v <= hi))
		die(64, "%s wants a number from %g to %g, not '%s'", opt, lo, hi, arg);
	return v;
}

static void on_signal(int sig)
{
	interrupted = 1;
}

/* Each connection needs a descriptor: raise the soft limit or say so now
 * rather than report EMFILE as server errors. */
static void ensure_fds(void)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg.conns + 2 * (rlim_t)cfg.threads + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need <= rl.rlim_max ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < need)
		die(64, "-c %d needs %llu open files; the limit is %llu (ulimit -n)", cfg.conns,
		    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

/* Fails fast with exit 2 when nothing listens, instead of a run of errors. */
static void probe(void)
{
	int fd = socket(cfg.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&cfg.addr, cfg.addrlen) < 0)
		die(2, "cannot connect to %s: %s", cfg.url, strerror(errno));
	close(fd);
}

static void merge(struct worker *all, struct worker *w)
{
	for (int i = 0; i < H_BUCKETS; i++)
		all->h.count[i] += w->h.count[i];
	all->h.n += w->h.n;
	all->h.sum += w->h.sum;
	if (w->h.max > all->h.max)
		all->h.max = w->h.max;
	for (int i = 0; i < 600; i++)
		all->by_status[i] += w->by_status[i];
	all->ok += w->ok;
	all->non2xx += w->non2xx;
	all->st503 += w->st503;
	all->errors += w->errors;
	all->timeouts += w->timeouts;
	all->unsent += w->unsent;
	all->refused += w->refused;
	if (w->last_done > all->last_done)
		all->last_done = w->last_done;
	if (w->stop_at > all->stop_at)
		all->stop_at = w->stop_at;
	if (!all->first_error[0] && w->first_error[0])
		memcpy(all->first_error, w->first_error, sizeof(all->first_error));
}

int main(int argc, char **argv)
{
	enum { O_URL = 256, O_TOKEN, O_WARMUP, O_TIMEOUT };
	static const struct option lopts[] = {
		{ "url", required_argument, NULL, O_URL },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct worker workers[MAX_THREADS], total;
	const char *token = NULL;
	char hostport[128], path[1024];
	struct sigaction sa = { .sa_handler = on_signal };
	bool have_d = false;
	double elapsed, timeout = 10;
	long long total_done, failed;
	int64_t t0;
	long long conns_before = 0;
	int opt;

	cfg.url = "http://127.0.0.1:3009/api/v1/events/webhook";
	cfg.conns = 32;
	cfg.threads = 1;
	cfg.batch = 1;
	cfg.duration = 10;
	while ((opt = getopt_long(argc, argv, "c:t:d:n:b:r:h", lopts, NULL)) != -1) {
		switch (opt) {
		case O_URL: cfg.url = optarg; break;
		case O_TOKEN: token = optarg; break;
		case O_WARMUP: cfg.warmup = num_arg("--warmup", optarg, 0, 600); break;
		case O_TIMEOUT: timeout = num_arg("--timeout", optarg, 0.001, 600); break;
		case 'c': cfg.conns = (int)num_arg("-c", optarg, 1, MAX_CONNS); break;
		case 't': cfg.threads = (int)num_arg("-t", optarg, 1, MAX_THREADS); break;
		case 'd': cfg.duration = num_arg("-d", optarg, 0.001, 3600); have_d = true; break;
		case 'n': cfg.total = (long long)num_arg("-n", optarg, 1, 1e9); break;
		case 'b': cfg.batch = (int)num_arg("-b", optarg, 1, MAX_BATCH); break;
		case 'r': cfg.rate = num_arg("-r", optarg, 0, 1e7); break;
		case 'h': fputs(usage, stdout); return 0;
		default: die(64, "bad option; see loadgen --help");
		}
	}
	if (optind < argc)
		die(64, "unexpected argument '%s'; see loadgen --help", argv[optind]);
	if (token && (strpbrk(token, "\r\n") || strlen(token) > 2048))
		die(64, "--token must be one line of at most 2048 bytes");
	if (strlen(cfg.url) > 900)
		die(64, "--url is too long");
	if (cfg.total && !have_d)
		cfg.duration = 3600; /* -n alone still ends within an hour */
	if (cfg.threads > cfg.conns)
		cfg.threads = cfg.conns;
	cfg.timeout_ns = (int64_t)(timeout * NS);
	parse_url(cfg.url, hostport, sizeof(hostport), path, sizeof(path));
	build_pool(hostport, path, token);
	ensure_fds();
	probe();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	t0 = now_ns() + 50 * MS; /* time to start the threads and connect */
	for (int i = 0; i < cfg.threads; i++) {
		struct worker *w = &workers[i];

		w->id = i;
		w->nconns = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		w->idle = calloc((size_t)w->nconns, sizeof(*w->idle));
		if (!w->conns || !w->idle)
			die(1, "out of memory for %d connections", w->nconns);
		for (int k = 0; k < w->nconns; k++)
			w->conns[k].fd = -1;
		w->rate = cfg.rate * w->nconns / cfg.conns;
		/* -n is shared like -r, in proportion to connections, so that
		 * all threads finish together. */
		w->quota = cfg.total ? cfg.total * (conns_before + w->nconns) / cfg.conns -
					       cfg.total * conns_before / cfg.conns
				     : -1;
		conns_before += w->nconns;
		w->pool_next = (unsigned)i * 7;
		w->t0 = t0;
		w->measure_at = t0 + (int64_t)(cfg.warmup * NS);
		w->end_at = w->measure_at + (int64_t)(cfg.duration * NS);
		if (pthread_create(&w->tid, NULL, worker_run, w) != 0)
			die(1, "cannot start thread %d", i);
	}
	for (int i = 0; i < cfg.threads; i++) {
		pthread_join(workers[i].tid, NULL);
		merge(&total, &workers[i]);
		free(workers[i].conns);
		free(workers[i].idle);
	}
	for (int i = 0; i < POOL_SIZE; i++)
		free(pool[i]);

	/* -n: until the last answer; -d: the measured window (shorter if stopped). */
	elapsed = (double)((cfg.total ? total.last_done : total.stop_at) - workers[0].measure_at) / NS;
	if (!cfg.total && elapsed > cfg.duration)
		elapsed = cfg.duration;
	if (elapsed <= 0)
		elapsed = 1e-9;
	total_done = (long long)(total.ok + total.non2xx);
	failed = (long long)(total.non2xx + total.errors);
	printf("target      %s\n", cfg.url);
	printf("load        %s, %d connections, %d threads, batch %d, %.1f s measured%s\n",
	       cfg.rate > 0 ? "open loop" : "closed loop", cfg.conns, cfg.threads, cfg.batch, elapsed,
	       interrupted ? " (interrupted)" : "");
	if (cfg.rate > 0)
		printf("rate        %.0f req/s scheduled\n", cfg.rate);
	printf("requests    %lld answered: %llu 2xx, %llu non-2xx (%llu 503); %llu errors (%llu timeouts)\n",
	       total_done, (unsigned long long)total.ok, (unsigned long long)total.non2xx,
	       (unsigned long long)total.st503, (unsigned long long)total.errors,
	       (unsigned long long)total.timeouts);
	for (int i = 0; i < 600; i++)
		if (total.by_status[i] && (i < 200 || i > 299))
			printf("            HTTP %d: %llu\n", i ? i : 999, (unsigned long long)total.by_status[i]);
	if (total.unsent)
		printf("backlog     %llu scheduled requests never sent: the target rate was not sustained\n",
		       (unsigned long long)total.unsent);
	if (total.first_error[0])
		printf("first error %s\n", total.first_error);
	printf("throughput  %.1f req/s, %.1f events/s accepted\n", (double)total_done / elapsed,
	       (double)total.ok * cfg.batch / elapsed);
	printf("latency ms  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
	       hist_percentile(&total.h, 50) / 1e6, hist_percentile(&total.h, 90) / 1e6,
	       hist_percentile(&total.h, 99) / 1e6, total.h.max / 1e6,
	       total.h.n ? total.h.sum / (double)total.h.n / 1e6 : 0.0);
	printf("RESULT batch=%d conns=%d rate=%.0f req_s=%.1f events_s=%.1f p50_ms=%.3f p99_ms=%.3f "
	       "non2xx=%llu errors=%llu\n",
	       cfg.batch, cfg.conns, cfg.rate, (double)total_done / elapsed,
	       (double)total.ok * cfg.batch / elapsed, hist_percentile(&total.h, 50) / 1e6,
	       hist_percentile(&total.h, 99) / 1e6, (unsigned long long)total.non2xx,
	       (unsigned long long)total.errors);
	if (total_done + (long long)total.errors == 0) {
		fprintf(stderr, "loadgen: no request was answered\n");
		return 1;
	}
	if (total.refused) {
		fprintf(stderr, "loadgen: %s refused %llu connections during the run: did it stop?\n", cfg.url,
			(unsigned long long)total.refused);
		return 1;
	}
	return failed * 100 > total_done + (long long)total.errors ? 1 : 0;
}
