/*
 * bench/am_load.c - load driver for bench/am_bench.sh: posts batches of
 * Alertmanager-shaped alerts over HTTP/1.1 keep-alive, either as the
 * Alertmanager webhook body (version "4") that reflex's alertmanager input
 * reads, or as the alert array Alertmanager's own POST /api/v2/alerts takes,
 * so both servers see the same alerts in the same batches.
 *
 * Closed loop: each connection (one thread each) sends its next request as
 * soon as the previous answer is complete. Only loopback addresses are
 * accepted. libc and pthreads only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define POOL 64            /* distinct request bodies per run */
#define MAX_CONNS 256
#define MAX_BATCH 1000
#define MAX_SAMPLES (1 << 16) /* latency samples kept per connection */
#define RX_MAX 16384
#define NS 1000000000LL

enum shape { SHAPE_WEBHOOK, SHAPE_AMAPI };

struct opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[128];
	char path[512];
	const char *url, *token;
	enum shape shape;
	int conns, batch;
	double seconds, warmup;
};

struct worker {
	pthread_t tid;
	int id;
	uint64_t ok, non2xx, errors;
	uint64_t *lat; /* ns, measured window only */
	size_t nlat;
	char first_error[160];
};

static struct opts o;
static char *pool[POOL];
static size_t pool_len[POOL];
static int64_t t_measure, t_end;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("am_load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* ---- request bodies ------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("formatting failed");
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			die("out of memory");
	}
	b->len += (size_t)n;
}

static const char *const sevs[] = {"critical", "warning", "info", "page"};
static const char *const names[] = {"DiskFull", "NodeDown", "HighLatency", "TargetMissing"};

/* One alert, numbered n: the same labels in both shapes. */
static void add_alert(struct buf *b, unsigned n, const char *now)
{
	buf_add(b,
		"{%s\"labels\":{\"alertname\":\"%s\",\"instance\":\"host-%u:9100\","
		"\"job\":\"node\",\"severity\":\"%s\",\"team\":\"t%u\"},"
		"\"annotations\":{\"summary\":\"%s on host-%u\",\"description\":\"bench alert %u\"},"
		"\"startsAt\":\"%s\",%s\"generatorURL\":\"http://prom:9090/graph?g0.expr=up%%3D%%3D0\"",
		o.shape == SHAPE_WEBHOOK ? "\"status\":\"firing\"," : "", names[n % 4], n,
		sevs[n % 4], n % 7, names[n % 4], n, n, now,
		o.shape == SHAPE_WEBHOOK ? "\"endsAt\":\"0001-01-01T00:00:00Z\"," : "");
	if (o.shape == SHAPE_WEBHOOK)
		buf_add(b, ",\"fingerprint\":\"%016x\"", n * 2654435761u);
	buf_add(b, "}");
}

static void build_pool(void)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int k = 0; k < POOL; k++) {
		struct buf body = {0}, req = {0};

		if (o.shape == SHAPE_WEBHOOK)
			buf_add(&body, "{\"version\":\"4\",\"groupKey\":\"{}:{bench=\\\"%d\\\"}\","
				       "\"truncatedAlerts\":0,\"status\":\"firing\",\"receiver\":"
				       "\"reflex\",\"groupLabels\":{},\"commonLabels\":{\"job\":"
				       "\"node\"},\"commonAnnotations\":{},\"externalURL\":"
				       "\"http://am:9093\",\"alerts\":[",
				k);
		else
			buf_add(&body, "[");
		for (int i = 0; i < o.batch; i++) {
			if (i > 0)
				buf_add(&body, ",");
			add_alert(&body, (unsigned)(k * o.batch + i), now);
		}
		buf_add(&body, o.shape == SHAPE_WEBHOOK ? "]}" : "]");
		buf_add(&req,
			"POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: reflex-am-load\r\n"
			"Content-Type: application/json\r\nContent-Length: %zu\r\n",
			o.path, o.host, body.len);
		if (o.token != NULL)
			buf_add(&req, "Authorization: Bearer %s\r\n", o.token);
		buf_add(&req, "\r\n%s", body.p);
		pool[k] = req.p;
		pool_len[k] = req.len;
		free(body.p);
	}
}

/* ---- HTTP ------------------------------------------------------------------ */

static int connect_once(void)
{
	int fd = socket(o.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct timeval tv = {10, 0};

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&o.addr, o.addrlen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one response; returns the status, or -1 on a connection error or a
 * response this driver does not handle (chunked). *keep is false when the
 * server closes the connection after it.
 */
static int read_response(int fd, bool *keep)
{
	char rx[RX_MAX + 1];
	size_t have = 0;
	char *hend = NULL, *p;
	long long clen = -1, left;
	int status;

	while (hend == NULL) {
		ssize_t n = recv(fd, rx + have, RX_MAX - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
		rx[have] = '\0';
		hend = strstr(rx, "\r\n\r\n");
		if (hend == NULL && have == RX_MAX)
			return -1;
	}
	if (sscanf(rx, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*keep = true;
	for (p = strstr(rx, "\r\n"); p != NULL && p < hend; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, "Content-Length:", 15) == 0)
			clen = strtoll(h + 15, NULL, 10);
		else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
			return -1;
		else if (strncasecmp(h, "Connection: close", 17) == 0)
			*keep = false;
	}
	if (clen < 0)
		return -1;
	left = clen - (long long)(have - (size_t)(hend + 4 - rx));
	while (left > 0) {
		ssize_t n = recv(fd, rx, left < RX_MAX ? (size_t)left : RX_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= n;
	}
	return status;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned next = (unsigned)w->id * 7;
	int fd = -1;

	while (mono_ns() < t_end) {
		bool keep = true;
		int64_t t0, t1;
		int st;

		if (fd < 0 && (fd = connect_once()) < 0) {
			if (w->first_error[0] == '\0')
				snprintf(w->first_error, sizeof w->first_error, "connect: %s",
					 strerror(errno));
			w->errors++;
			usleep(50000);
			continue;
		}
		next = (next + 1) % POOL;
		t0 = mono_ns();
		st = send_all(fd, pool[next], pool_len[next]) == 0 ? read_response(fd, &keep) : -1;
		t1 = mono_ns();
		if (st < 0 || !keep) {
			close(fd);
			fd = -1;
		}
		if (t0 < t_measure || t1 > t_end)
			continue; /* warm-up, or finished after the window */
		if (st < 0) {
			w->errors++;
			if (w->first_error[0] == '\0')
				snprintf(w->first_error, sizeof w->first_error,
					 "connection error or unreadable response");
		} else if (st >= 200 && st < 300) {
			w->ok++;
			if (w->nlat < MAX_SAMPLES)
				w->lat[w->nlat++] = (uint64_t)(t1 - t0);
		} else {
			w->non2xx++;
			if (w->first_error[0] == '\0')
				snprintf(w->first_error, sizeof w->first_error, "HTTP %d", st);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Accepts http://127.x.y.z:PORT/PATH and http://[::1]:PORT/PATH only. */
static void parse_url(const char *url)
{
	const char *p, *hs, *he, *slash;
	char hostonly[64];
	long port;

	if (strncmp(url, "http://", 7) != 0)
		die("--url must start with http:// (got %s)", url);
	hs = url + 7;
	slash = strchr(hs, '/');
	if (slash == NULL)
		die("--url needs a path");
	snprintf(o.path, sizeof o.path, "%s", slash);
	snprintf(o.host, sizeof o.host, "%.*s", (int)(slash - hs), hs);
	if (*hs == '[') {
		he = strchr(hs, ']');
		if (he == NULL || he > slash)
			die("bad IPv6 address in --url");
		snprintf(hostonly, sizeof hostonly, "%.*s", (int)(he - hs - 1), hs + 1);
		p = he + 1;
	} else {
		he = strchr(hs, ':');
		if (he == NULL || he > slash)
			die("--url needs a port");
		snprintf(hostonly, sizeof hostonly, "%.*s", (int)(he - hs), hs);
		p = he;
	}
	if (*p != ':' || (port = strtol(p + 1, NULL, 10)) <= 0 || port > 65535)
		die("--url needs a port");
	memset(&o.addr, 0, sizeof o.addr);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o.addr;
	if (inet_pton(AF_INET, hostonly, &a4->sin_addr) == 1) {
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			die("only loopback addresses (127.0.0.0/8, ::1) are allowed, got %s",
			    hostonly);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		o.addrlen = sizeof *a4;
	} else if (inet_pton(AF_INET6, hostonly, &a6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			die("only loopback addresses (127.0.0.0/8, ::1) are allowed, got %s",
			    hostonly);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		o.addrlen = sizeof *a6;
	} else {
		die("--url host must be a loopback IP address, got %s", hostonly);
	}
}

static void usage(void)
{
	printf("usage: am_load --url http://127.0.0.1:PORT/PATH --shape webhook|amapi\n"
	       "               [-c CONNS] [-b BATCH] [-d SECONDS] [--warmup SECONDS] [--token T]\n"
	       "  webhook: Alertmanager webhook v4 bodies (reflex's alertmanager input)\n"
	       "  amapi:   alert arrays for Alertmanager's POST /api/v2/alerts\n"
	       "Prints a summary and a RESULT line; exits 1 when more than 1%% of the\n"
	       "requests failed.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"url", required_argument, NULL, 'u'},   {"shape", required_argument, NULL, 's'},
		{"token", required_argument, NULL, 'T'}, {"warmup", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	struct worker *ws;
	uint64_t ok = 0, non2xx = 0, errors = 0, *all;
	size_t nall = 0;
	const char *shape = NULL, *first_error = "";
	int opt;

	o.conns = 16;
	o.batch = 10;
	o.seconds = 5;
	o.warmup = 1;
	while ((opt = getopt_long(argc, argv, "c:b:d:h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'u': o.url = optarg; break;
		case 's': shape = optarg; break;
		case 'T': o.token = optarg; break;
		case 'w': o.warmup = atof(optarg); break;
		case 'c': o.conns = atoi(optarg); break;
		case 'b': o.batch = atoi(optarg); break;
		case 'd': o.seconds = atof(optarg); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (o.url == NULL || shape == NULL) {
		usage();
		return 2;
	}
	if (strcmp(shape, "webhook") == 0)
		o.shape = SHAPE_WEBHOOK;
	else if (strcmp(shape, "amapi") == 0)
		o.shape = SHAPE_AMAPI;
	else
		die("--shape must be webhook or amapi, got %s", shape);
	if (o.conns < 1 || o.conns > MAX_CONNS)
		die("-c must be 1..%d", MAX_CONNS);
	if (o.batch < 1 || o.batch > MAX_BATCH)
		die("-b must be 1..%d", MAX_BATCH);
	if (o.seconds <= 0 || o.seconds > 600 || o.warmup < 0 || o.warmup > 60)
		die("-d must be in (0, 600] and --warmup in [0, 60]");
	parse_url(o.url);
	build_pool();

	ws = calloc((size_t)o.conns, sizeof *ws);
	if (ws == NULL)
		die("out of memory");
	t_measure = mono_ns() + (int64_t)(o.warmup * NS);
	t_end = t_measure + (int64_t)(o.seconds * NS);
	for (int i = 0; i < o.conns; i++) {
		ws[i].id = i;
		ws[i].lat = malloc(MAX_SAMPLES * sizeof *ws[i].lat);
		if (ws[i].lat == NULL || pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			die("cannot start connection thread %d", i);
	}
	for (int i = 0; i < o.conns; i++)
		pthread_join(ws[i].tid, NULL);

	for (int i = 0; i < o.conns; i++)
		nall += ws[i].nlat;
	all = malloc((nall + 1) * sizeof *all);
	if (all == NULL)
		die("out of memory");
	nall = 0;
	for (int i = 0; i < o.conns; i++) {
		ok += ws[i].ok;
		non2xx += ws[i].non2xx;
		errors += ws[i].errors;
		memcpy(all + nall, ws[i].lat, ws[i].nlat * sizeof *all);
		nall += ws[i].nlat;
		if (first_error[0] == '\0' && ws[i].first_error[0] != '\0')
			first_error = ws[i].first_error;
	}
	qsort(all, nall, sizeof *all, cmp_u64);
	double p50 = nall ? (double)all[nall / 2] / 1e6 : 0;
	double p99 = nall ? (double)all[(size_t)((double)(nall - 1) * 0.99)] / 1e6 : 0;
	printf("target %s shape=%s conns=%d batch=%d: %llu ok, %llu non-2xx, %llu errors%s%s\n",
	       o.url, shape, o.conns, o.batch, (unsigned long long)ok,
	       (unsigned long long)non2xx, (unsigned long long)errors,
	       first_error[0] ? "; first: " : "", first_error);
	printf("RESULT shape=%s batch=%d conns=%d req_s=%.0f alerts_s=%.0f p50_ms=%.2f "
	       "p99_ms=%.2f non2xx=%llu errors=%llu\n",
	       shape, o.batch, o.conns, (double)ok / o.seconds,
	       (double)ok * o.batch / o.seconds, p50, p99, (unsigned long long)non2xx,
	       (unsigned long long)errors);
	for (int i = 0; i < o.conns; i++)
		free(ws[i].lat);
	free(ws);
	free(all);
	for (int k = 0; k < POOL; k++)
		free(pool[k]);
	return (non2xx + errors) * 100 > ok + non2xx + errors ? 1 : 0;
}
