/*
 * bench/sink.c - the receiving end of the delivery benchmark
 * (bench/deliver_bench.sh): an HTTP server on libmicrohttpd with a thread
 * pool that answers every request at once (200 "ok" by default, the way a
 * Slack incoming webhook does) and counts them. A Python receiver tops out
 * at a few hundred requests per second; this one must not be what limits
 * the measurement.
 *
 *   GET  /_stats   {"count":N,"conns":C,"first":T,"last":T} (C: connections
 *                  opened; times: CLOCK_REALTIME seconds of the first and
 *                  last counted request; 0 if none)
 *   POST /_reset   zeroes the counters
 *   anything else  counted, answered with --status and --body
 *
 * Loopback only. Stops on SIGTERM/SIGINT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STATS_MAX 160

static atomic_uint_fast64_t n_count;
static atomic_uint_fast64_t n_conns; /* connections opened: shows keep-alive at work */
static atomic_int_fast64_t first_ns; /* 0 until the first counted request */
static atomic_int_fast64_t last_ns;
static volatile sig_atomic_t stop;

static unsigned answer_status = 200;
static unsigned answer_delay_ms; /* --delay: a receiver across a network */
static struct MHD_Response *answer; /* shared, never modified after start */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)c;
	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&n_conns, 1);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static int marker;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		/* first call: headers only; the body follows in later calls */
		*state = &marker;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0; /* the body is read and thrown away */
		return MHD_YES;
	}
	if (strcmp(url, "/_stats") == 0 && strcmp(method, "GET") == 0) {
		char buf[STATS_MAX];
		int64_t f = atomic_load(&first_ns), l = atomic_load(&last_ns);

		snprintf(buf, sizeof buf,
			 "{\"count\":%llu,\"conns\":%llu,\"first\":%.6f,\"last\":%.6f}\n",
			 (unsigned long long)atomic_load(&n_count),
			 (unsigned long long)atomic_load(&n_conns), (double)f / 1e9, (double)l / 1e9);
		return reply_text(c, 200, buf);
	}
	if (strcmp(url, "/_reset") == 0) {
		atomic_store(&n_count, 0);
		atomic_store(&n_conns, 0);
		atomic_store(&first_ns, 0);
		atomic_store(&last_ns, 0);
		return reply_text(c, 200, "{}\n");
	}
	int64_t t = now_ns(), zero = 0;
	atomic_compare_exchange_strong(&first_ns, &zero, t);
	/* last_ns only grows; a lost race leaves a value within a few ns */
	if (t > atomic_load(&last_ns))
		atomic_store(&last_ns, t);
	atomic_fetch_add(&n_count, 1);
	if (answer_delay_ms) {
		struct timespec ts = {answer_delay_ms / 1000, (long)(answer_delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return MHD_queue_response(c, answer_status, answer);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sink [--port N] [--port-file FILE] [--threads N] [--status CODE] "
		   "[--body TEXT] [--delay MS]\n"
		   "  --port N        listen on 127.0.0.1:N (default 0: any free port)\n"
		   "  --port-file F   write the port to F once listening\n"
		   "  --threads N     worker threads (default 4)\n"
		   "  --status CODE   answer (default 200)\n"
		   "  --body TEXT     answer body (default ok)\n"
		   "  --delay MS      wait this long before each answer (default 0)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"port", required_argument, NULL, 'p'},   {"port-file", required_argument, NULL, 'f'},
		{"threads", required_argument, NULL, 't'}, {"status", required_argument, NULL, 's'},
		{"body", required_argument, NULL, 'b'},    {"help", no_argument, NULL, 'h'},
		{"delay", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	unsigned port = 0, threads = 4;
	const char *port_file = NULL, *body = "ok";
	struct MHD_Daemon *d = NULL;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'p': port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'f': port_file = optarg; break;
		case 't': threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': answer_status = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': body = optarg; break;
		case 'd': answer_delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 64;
		}
	}
	if (port > 65535 || threads < 1 || threads > 64 || answer_status < 100 ||
	    answer_status > 599) {
		usage(stderr);
		return 64;
	}
	answer = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!answer)
		goto out;
	MHD_add_response_header(answer, "Content-Type", "text/plain");

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL,
			     NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
			     1024u, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
			     1024u, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "sink: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		goto out;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info) {
		fprintf(stderr, "sink: cannot read the bound port\n");
		goto out;
	}
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
		if (!(f = fopen(tmp, "w")) || fprintf(f, "%u\n", (unsigned)info->port) < 0 ||
		    fclose(f) != 0 || rename(tmp, port_file) != 0) {
			fprintf(stderr, "sink: cannot write %s: %s\n", port_file, strerror(errno));
			goto out;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	while (!stop)
		pause();
	rc = 0;
out:
	if (d)
		MHD_stop_daemon(d);
	if (answer)
		MHD_destroy_response(answer);
	return rc;
}
