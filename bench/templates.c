/*
 * bench/templates.c - accuracy and speed of the template miner
 * (core/templates.c) on the labeled LogHub 2k sets: for each system the
 * LogPAI grouping accuracy on the Content column (what LogPAI's parsers
 * get), on the raw lines with the generic header stripper, and lines/s.
 * The ground truth (EventId) is used for scoring only.
 *
 *   bench/templates [--data DIR] [--sim X] [--mask REGEX]... [--min-seconds S]
 */
#include "../core/templates.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5
#define FIELDS_MAX 32

static const char *const systems[] = { "Apache", "HDFS", "Hadoop", "Linux", "OpenSSH", "Proxifier", "Spark",
				       "Zookeeper", NULL };

struct dataset {
	char **content; /* Content column, one per line */
	char **raw;     /* the same lines from the .log file */
	size_t *raw_len;
	uint32_t *gt;   /* dense ground-truth group per line */
	size_t n;
	size_t n_gt;    /* distinct EventIds */
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)sz + 1)) && fread(buf, 1, (size_t)sz, f) == (size_t)sz) {
		buf[sz] = '\0';
		*len = (size_t)sz;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Parses one CSV record at *p (RFC 4180 quoting, "" inside quotes) into
 * fields, unquoting in place; advances *p past the record. Field count. */
static int csv_record(char **p, char *end, char **fields)
{
	char *s = *p, *w;
	int n = 0;

	if (s >= end)
		return 0;
	for (;;) {
		char *start = w = s;

		if (*s == '"') {
			s++;
			while (s < end) {
				if (*s == '"' && s + 1 < end && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else {
					*w++ = *s++;
				}
			}
		}
		while (s < end && *s != ',' && *s != '\n' && *s != '\r')
			*w++ = *s++;
		if (n < FIELDS_MAX)
			fields[n++] = start;
		if (s >= end || *s != ',') {
			char *term = w;

			while (s < end && (*s == '\r' || *s == '\n'))
				s++;
			*term = '\0'; /* after the skip: term may be where the newline was */
			break;
		}
		*w = '\0';
		s++;
	}
	*p = s;
	return n;
}

static int load(const char *dir, const char *sys, struct dataset *d, char **keep1, char **keep2)
{
	char path[4096], *fields[FIELDS_MAX], *p, *end, *csv, *log;
	char **ids = NULL;
	size_t len, cap = 4096;
	int nf, ci = -1, ei = -1;

	snprintf(path, sizeof(path), "%s/%s/%s_2k.log_structured_corrected.csv", dir, sys, sys);
	if (!(csv = read_file(path, &len))) {
		fprintf(stderr, "templates: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	*keep1 = csv;
	p = csv;
	end = csv + len;
	nf = csv_record(&p, end, fields);
	for (int i = 0; i < nf; i++) {
		if (strcmp(fields[i], "Content") == 0)
			ci = i;
		if (strcmp(fields[i], "EventId") == 0)
			ei = i;
	}
	if (ci < 0 || ei < 0) {
		fprintf(stderr, "templates: %s: no Content or EventId column\n", path);
		return -1;
	}
	d->content = malloc(sizeof(char *) * cap);
	d->gt = malloc(sizeof(uint32_t) * cap);
	ids = malloc(sizeof(char *) * cap);
	d->n = d->n_gt = 0;
	while ((nf = csv_record(&p, end, fields)) > 0) {
		size_t g;

		if (nf <= ci || nf <= ei || d->n == cap) {
			fprintf(stderr, "templates: %s: record %zu is malformed or too many\n", path, d->n + 2);
			free(ids);
			return -1;
		}
		for (g = 0; g < d->n_gt && strcmp(ids[g], fields[ei]) != 0; g++)
			;
		if (g == d->n_gt)
			ids[d->n_gt++] = fields[ei];
		d->gt[d->n] = (uint32_t)g;
		d->content[d->n++] = fields[ci];
	}
	free(ids);

	snprintf(path, sizeof(path), "%s/%s/%s_2k.log", dir, sys, sys);
	if (!(log = read_file(path, &len))) {
		fprintf(stderr, "templates: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	*keep2 = log;
	d->raw = malloc(sizeof(char *) * d->n);
	d->raw_len = malloc(sizeof(size_t) * d->n);
	p = log;
	for (size_t i = 0; i < d->n; i++) {
		char *nl = memchr(p, '\n', (size_t)(log + len - p));

		if (!nl && p >= log + len) {
			fprintf(stderr, "templates: %s has fewer lines than the csv\n", path);
			return -1;
		}
		d->raw[i] = p;
		d->raw_len[i] = nl ? (size_t)(nl - p) : (size_t)(log + len - p);
		p = nl ? nl + 1 : log + len;
	}
	return 0;
}

/* LogPAI grouping accuracy: a line is right when the group it was put in
 * holds exactly the lines of its ground-truth group. */
static double accuracy(const uint32_t *gt, size_t n_gt, const uint32_t *pr, size_t n_pr, size_t n)
{
	size_t *cnt_g = calloc(n_gt, sizeof(size_t)), *cnt_p = calloc(n_pr, sizeof(size_t));
	uint32_t *first = malloc(sizeof(uint32_t) * n_pr);
	char *mixed = calloc(n_pr, 1);
	size_t good = 0;

	for (size_t p = 0; p < n_pr; p++)
		first[p] = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		cnt_g[gt[i]]++;
		cnt_p[pr[i]]++;
		if (first[pr[i]] == UINT32_MAX)
			first[pr[i]] = gt[i];
		else if (first[pr[i]] != gt[i])
			mixed[pr[i]] = 1;
	}
	for (size_t p = 0; p < n_pr; p++)
		if (cnt_p[p] && !mixed[p] && cnt_p[p] == cnt_g[first[p]])
			good += cnt_p[p];
	free(cnt_g);
	free(cnt_p);
	free(first);
	free(mixed);
	return n ? (double)good / (double)n : 0.0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Mines all lines with a fresh miner; pr gets dense ids (overflow last). */
static int mine(const rfx_tmpl_opts *o, struct dataset *d, int raw, uint32_t *pr, size_t *n_pr)
{
	char err[256];
	rfx_tmpl_miner *m = rfx_tmpl_miner_new(o, err, sizeof(err));
	rfx_tmpl_match mt;

	if (!m) {
		fprintf(stderr, "templates: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < d->n; i++) {
		const char *s = raw ? d->raw[i] : d->content[i];
		size_t len = raw ? d->raw_len[i] : strlen(s), h = raw ? rfx_tmpl_header_len(s, len) : 0;

		if (rfx_tmpl_add(m, s + h, len - h, &mt) != 0) {
			rfx_tmpl_miner_free(m);
			return -1;
		}
		if (pr)
			pr[i] = mt.id == RFX_TMPL_OVERFLOW_ID ? 0 : mt.id;
	}
	if (n_pr)
		*n_pr = rfx_tmpl_count(m) + 1;
	rfx_tmpl_miner_free(m);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median lines/s over RUNS runs; each run mines the set again and again,
 * a fresh miner per pass (so every pass learns its templates anew), until
 * min_s seconds passed. */
static double speed(const rfx_tmpl_opts *o, struct dataset *d, int raw, double min_s)
{
	double rate[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now(), t;
		size_t lines = 0;

		do {
			if (mine(o, d, raw, NULL, NULL) != 0)
				return 0;
			lines += d->n;
		} while ((t = now() - t0) < min_s);
		rate[r] = (double)lines / t;
	}
	qsort(rate, RUNS, sizeof(rate[0]), cmp_double);
	return rate[RUNS / 2];
}

static const char *default_data_dir(const char *argv0)
{
	static char path[4096];
	const char *slash = strrchr(argv0, '/');
	FILE *f;

	if ((f = fopen("/work/shared/data/loghub/HDFS/HDFS_2k.log", "r"))) {
		fclose(f);
		return "/work/shared/data/loghub";
	}
	/* Source tree layout: <root>/main/bench/templates next to <root>/shared. */
	snprintf(path, sizeof(path), "%.*s/../../shared/data/loghub", slash ? (int)(slash - argv0) : 1,
		 slash ? argv0 : ".");
	return path;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "data", required_argument, NULL, 'd' }, { "sim", required_argument, NULL, 's' },
		{ "mask", required_argument, NULL, 'm' }, { "min-seconds", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	double min_s = 0.5, sum_c = 0, sum_r = 0, sum_speed = 0;
	rfx_tmpl_opts o;
	int opt, ns = 0, rc = 1;

	rfx_tmpl_opts_init(&o);
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if (opt == 'd') {
			dir = optarg;
		} else if (opt == 's') {
			o.sim_threshold = atof(optarg);
		} else if (opt == 'm' && o.n_masks < RFX_TMPL_MASKS_MAX) {
			o.masks[o.n_masks++] = optarg;
		} else if (opt == 't') {
			min_s = atof(optarg);
		} else {
			fprintf(opt == 'h' ? stdout : stderr,
				"Usage: %s [--data DIR] [--sim X] [--mask REGEX]... [--min-seconds S]\n", argv[0]);
			return opt == 'h' ? 0 : 64;
		}
	}
	if (!dir)
		dir = default_data_dir(argv[0]);
	printf("LogHub 2k (corrected ground truth) from %s; sim_threshold %.2f, %zu extra masks\n", dir,
	       o.sim_threshold, o.n_masks);
	printf("content: Content column of the structured csv (as LogPAI feeds its parsers)\n");
	printf("raw:     whole .log lines, generic header stripper (same for all systems)\n");
	printf("speed:   content lines, fresh miner per pass, median of %d runs of >= %.1f s\n\n", RUNS, min_s);
	printf("%-10s %6s %6s %8s %8s %12s\n", "system", "acc", "raw", "groups", "truth", "lines/s");
	for (const char *const *s = systems; *s; s++) {
		struct dataset d = { 0 };
		char *k1 = NULL, *k2 = NULL;
		uint32_t *pr = NULL;
		size_t n_pr = 0, n_pr_raw = 0;
		double ac = 0, ar = 0, sp = 0;

		if (load(dir, *s, &d, &k1, &k2) != 0)
			goto next;
		pr = malloc(sizeof(uint32_t) * d.n);
		if (!pr || mine(&o, &d, 0, pr, &n_pr) != 0)
			goto next;
		ac = accuracy(d.gt, d.n_gt, pr, n_pr, d.n);
		{
			/* n_pr counts templates + overflow; groups actually used: */
			size_t used = 0;
			char *seen = calloc(n_pr, 1);

			for (size_t i = 0; seen && i < d.n; i++)
				if (!seen[pr[i]]) {
					seen[pr[i]] = 1;
					used++;
				}
			free(seen);
			n_pr = used;
		}
		if (mine(&o, &d, 1, pr, &n_pr_raw) != 0)
			goto next;
		ar = accuracy(d.gt, d.n_gt, pr, n_pr_raw, d.n);
		sp = speed(&o, &d, 0, min_s);
		printf("%-10s %6.3f %6.3f %8zu %8zu %12.0f\n", *s, ac, ar, n_pr, d.n_gt, sp);
		fflush(stdout);
		sum_c += ac;
		sum_r += ar;
		sum_speed += sp;
		ns++;
next:
		free(pr);
		free(d.content);
		free(d.raw);
		free(d.raw_len);
		free(d.gt);
		free(k1);
		free(k2);
	}
	if (ns)
		printf("%-10s %6.3f %6.3f %8s %8s %12.0f\n", "mean", sum_c / ns, sum_r / ns, "", "", sum_speed / ns);
	rc = ns == 8 ? 0 : 1;
	return rc;
}
