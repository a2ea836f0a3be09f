/*
 * bench/store_bench.c - write throughput of a store plugin: events per
 * second put_events() makes durable, by batch size and sync mode.
 *
 * The plugin is loaded and configured the way reflexd does it (dlopen, the
 * descriptor, the core's schema code and host table), so the numbers include
 * everything the store thread pays per batch. Each run writes to a fresh
 * database; the table shows the median of the runs.
 *
 *   store_bench [-n EVENTS] [-b 1,10,100,1000] [-r RUNS] [-t MAX_TXNS]
 *               [-d DIR] [-p PLUGIN.so] [-c CONFIG]
 *
 * -c (or $REFLEX_STORE_CONFIG) gives the store's YAML options for plugins
 * other than SQLite; every "%s" in it is replaced by a name unique to the
 * run (a schema name for PostgreSQL), e.g.
 *   -p store_postgres.so -c 'conninfo: "host=127.0.0.1 dbname=bench"
 *   schema: "%s"'
 * Without it the SQLite store is measured with synchronous full and normal.
 *
 * -t bounds the transactions of one run (default 5000), so batch size 1 with
 * synchronous=full finishes in seconds on a disk that syncs for real; the
 * "events" column says how many events a run wrote. -d should name a
 * directory on the disk you care about: on tmpfs fsync costs nothing.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <reflex/plugin.h>
#include "config.h"
#include "event.h"
#include "host.h"
#include "log.h"
#include "schema.h"

#define TMPFS_MAGIC_NUMBER 0x01021994
#define MAX_BATCH_SIZES 8
#define MAX_RUNS 15

struct bench {
	const rfx_plugin *desc;
	const char *config; /* YAML template, "%s" = run name; NULL for SQLite */
	const char *dir;
	rfx_event **events;
	size_t nevents;
	size_t max_txns;
	int runs;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Looks for store_sqlite.so: -p, then $REFLEX_STORE_PLUGIN, then each
 * directory of $REFLEX_PLUGIN_PATH, then the build tree. */
static const rfx_plugin *load_plugin(const char *path)
{
	static char buf[1024];
	void *h = NULL;
	rfx_plugin_entry_fn entry;

	if (!path)
		path = getenv("REFLEX_STORE_PLUGIN");
	if (path && *path) {
		h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	} else {
		const char *pp = getenv("REFLEX_PLUGIN_PATH");
		while (pp && *pp && !h) {
			size_t len = strcspn(pp, ":");
			snprintf(buf, sizeof buf, "%.*s/store_sqlite.so", (int)len, pp);
			if (access(buf, R_OK) == 0)
				h = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
			pp += len + (pp[len] == ':');
		}
		if (!h) {
			snprintf(buf, sizeof buf, "plugins/stores/sqlite/.libs/store_sqlite.so");
			h = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
		}
		path = buf;
	}
	if (!h) {
		fprintf(stderr, "store_bench: cannot load %s: %s\n", path, dlerror());
		return NULL;
	}
	entry = (rfx_plugin_entry_fn)dlsym(h, RFX_PLUGIN_ENTRY_SYMBOL);
	if (!entry || !entry() || entry()->kind != RFX_KIND_STORE || !entry()->store) {
		fprintf(stderr, "store_bench: %s is not a store plugin\n", path);
		return NULL;
	}
	return entry();
}

/* Events shaped like webhook alerts: a few labels, a small attrs tree. */
static int make_events(struct bench *b)
{
	static const char *checks[] = {"disk_usage", "http_5xx", "cpu_load", "replication_lag"};

	b->events = calloc(b->nevents, sizeof *b->events);
	if (!b->events)
		return -1;
	for (size_t i = 0; i < b->nevents; i++) {
		char host[32], msg[128];
		rfx_event *ev = rfx_event_new();
		if (!ev)
			return -1;
		b->events[i] = ev;
		rfx_event_id_new(ev->id);
		ev->received_ns = rfx_now_ns();
		ev->occurred_ns = ev->received_ns - 1000000;
		ev->severity = (int)(i % 8);
		ev->status = (int)(i % 5 == 0);
		ev->value = (double)(i % 100);
		ev->has_value = true;
		snprintf(host, sizeof host, "web-%03zu.example.com", i % 500);
		snprintf(msg, sizeof msg, "%s above threshold on %s (sample %zu)",
			 checks[i % 4], host, i);
		rfx_event_set(ev, RFX_F_SOURCE, "webhook");
		rfx_event_set(ev, RFX_F_KIND, "alert");
		rfx_event_set(ev, RFX_F_HOST, host);
		rfx_event_set(ev, RFX_F_SERVICE, "nginx");
		rfx_event_set(ev, RFX_F_CHECK, checks[i % 4]);
		rfx_event_set(ev, RFX_F_MESSAGE, msg);
		rfx_event_label_set(ev, "team", "web");
		rfx_event_label_set(ev, "env", "prod");
		rfx_event_label_set(ev, "region", "eu-west-1");
		json_object_object_add(ev->attrs, "threshold", json_object_new_int(90));
		json_object_object_add(ev->attrs, "runbook",
				       json_object_new_string("https://wiki/runbooks/web"));
		if (rfx_event_default_fingerprint(ev) != 0)
			return -1;
	}
	return 0;
}

static void remove_db(const char *dir, const char *name)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", NULL};
	char path[1024];

	for (int i = 0; suffixes[i]; i++) {
		snprintf(path, sizeof path, "%s/%s%s", dir, name, suffixes[i]);
		unlink(path);
	}
}

/* Fills buf with the config template, each "%s" replaced by name (the
 * template is user input, so it is never used as a format string). */
static void config_text(const char *tpl, const char *name, char *buf, size_t len)
{
	size_t o = 0;

	for (const char *p = tpl; *p && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 's') {
			o += (size_t)snprintf(buf + o, len - o, "%s", name);
			if (o >= len)
				o = len - 1;
			p++;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
}

/* One run: a fresh database, n events in batches of `batch`. Returns the
 * events per second, or a negative value on error. */
static double run_once(struct bench *b, const char *sync, size_t batch, size_t n, int run)
{
	const rfx_plugin *desc = b->desc;
	char name[128], yaml[1024], err[512] = "";
	rfx_diag d;
	rfx_doc *doc;
	rfx_instance *inst = NULL;
	void *cfg = NULL, *state = NULL;
	double rate = -1, t0;

	if (b->config) {
		/* a plain identifier, fresh per process and run */
		snprintf(name, sizeof name, "bench_%ld_%zu_%d", (long)getpid(), batch, run);
		config_text(b->config, name, yaml, sizeof yaml);
	} else {
		snprintf(name, sizeof name, "bench-%s-%zu-%d.db", sync, batch, run);
		remove_db(b->dir, name);
		snprintf(yaml, sizeof yaml, "path: %s\nsynchronous: %s\n", name, sync);
	}
	rfx_diag_init(&d);
	doc = rfx_doc_parse("store_bench", yaml, &d);
	cfg = calloc(1, desc->config_size ? desc->config_size : 1);
	inst = rfx_instance_new(RFX_KIND_STORE, desc->name, "store", b->dir);
	if (!doc || !rfx_doc_root(doc) || !cfg || !inst ||
	    rfx_schema_apply(desc->options, rfx_doc_root(doc), cfg, "store", NULL, &d) != 0) {
		rfx_diag_print(&d, stderr);
		goto out;
	}
	if (desc->init(inst, rfx_host_table(), cfg, &state, err, sizeof err) != 0) {
		fprintf(stderr, "store_bench: init: %s\n", err);
		state = NULL;
		goto out;
	}
	if (desc->start && desc->start(state) != 0) {
		fprintf(stderr, "store_bench: start failed\n");
		goto out;
	}
	t0 = now_s();
	for (size_t i = 0; i < n; i += batch) {
		size_t k = n - i < batch ? n - i : batch;
		if (desc->store->put_events(state, b->events + i, k) != 0) {
			fprintf(stderr, "store_bench: put_events failed\n");
			goto out;
		}
	}
	rate = (double)n / (now_s() - t0);
out:
	if (state && desc->stop)
		desc->stop(state);
	if (state && desc->destroy)
		desc->destroy(state);
	if (cfg)
		rfx_schema_free(desc->options, cfg);
	free(cfg);
	rfx_instance_free(inst);
	rfx_doc_free(doc);
	rfx_diag_free(&d);
	if (!b->config)
		remove_db(b->dir, name);
	return rate;
}

static int parse_batches(const char *s, size_t *out, int *n)
{
	char *end;

	*n = 0;
	while (*s && *n < MAX_BATCH_SIZES) {
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (errno || end == s || v == 0 || v > 100000)
			return -1;
		out[(*n)++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return *n > 0 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: store_bench [-n EVENTS] [-b 1,10,100,1000] [-r RUNS] "
			"[-t MAX_TXNS] [-d DIR] [-p PLUGIN.so] [-c CONFIG]\n");
}

int main(int argc, char **argv)
{
	static const char *const syncs[] = {"full", "normal"};
	struct bench b = {.nevents = 200000, .max_txns = 5000, .runs = 3};
	size_t batches[MAX_BATCH_SIZES] = {1, 10, 100, 1000};
	int nbatches = 4, opt, status = 1;
	const char *plugin = NULL, *dir = NULL;
	char tmpl[] = "/tmp/reflex_store_bench.XXXXXX";
	bool made_dir = false;
	struct statfs sfs;

	b.config = getenv("REFLEX_STORE_CONFIG");
	if (b.config && !*b.config)
		b.config = NULL;
	while ((opt = getopt(argc, argv, "n:b:r:t:d:p:c:h")) != -1) {
		switch (opt) {
		case 'n':
			b.nevents = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			if (parse_batches(optarg, batches, &nbatches) != 0) {
				usage();
				return 2;
			}
			break;
		case 'r':
			b.runs = atoi(optarg);
			break;
		case 't':
			b.max_txns = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'p':
			plugin = optarg;
			break;
		case 'c':
			b.config = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (b.nevents == 0 || b.nevents > 10000000 || b.runs < 1 || b.runs > MAX_RUNS ||
	    b.max_txns == 0) {
		usage();
		return 2;
	}
	rfx_log_set_level(RFX_LOG_WARNING); /* no "schema migrated" per run */
	b.desc = load_plugin(plugin);
	if (!b.desc)
		return 1;
	if (!dir) {
		if (!mkdtemp(tmpl)) {
			perror("store_bench: mkdtemp");
			return 1;
		}
		dir = tmpl;
		made_dir = true;
	}
	b.dir = dir;
	if (make_events(&b) != 0) {
		fprintf(stderr, "store_bench: out of memory\n");
		goto out;
	}

	printf("store_bench: plugin %s %s, %zu events, %d runs each, data dir %s\n",
	       b.desc->name, b.desc->version, b.nevents, b.runs, dir);
	if (statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == TMPFS_MAGIC_NUMBER)
		printf("note: %s is tmpfs, where fsync costs nothing; use -d on a disk\n", dir);
	printf("\n%-8s %7s %9s %14s %14s %14s\n", "sync", "batch", "events", "rows/s median",
	       "min", "max");
	/* a configured store runs once, with its own durability settings */
	size_t nsyncs = b.config ? 1 : sizeof syncs / sizeof syncs[0];
	for (size_t s = 0; s < nsyncs; s++) {
		for (int i = 0; i < nbatches; i++) {
			double rates[MAX_RUNS];
			size_t n = b.nevents;
			if (n / batches[i] > b.max_txns)
				n = b.max_txns * batches[i];
			for (int r = 0; r < b.runs; r++) {
				rates[r] = run_once(&b, syncs[s], batches[i], n, r);
				if (rates[r] < 0)
					goto out;
			}
			qsort(rates, (size_t)b.runs, sizeof rates[0], cmp_double);
			printf("%-8s %7zu %9zu %14.0f %14.0f %14.0f\n", b.config ? "config" : syncs[s],
			       batches[i], n,
			       rates[b.runs / 2], rates[0], rates[b.runs - 1]);
			fflush(stdout);
		}
	}
	status = 0;
out:
	for (size_t i = 0; b.events && i < b.nevents; i++)
		rfx_event_unref(b.events[i]);
	free(b.events);
	if (made_dir)
		rmdir(dir);
	return status;
}
