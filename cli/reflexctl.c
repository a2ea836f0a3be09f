/*
 * cli/reflexctl.c - reflexctl, the command-line client of reflex's REST API.
 * It talks HTTP only (libcurl + json-c) and links no core code except the
 * self-contained template miner (core/templates.c), which 'reflexctl
 * templates' runs offline, so it can run on any machine that can reach an
 * agent.
 *
 * Exit codes: 0 success, 1 the API answered with an error, 2 the API could
 * not be reached, 64 usage error.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "../core/templates.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define EX_OK 0
#define EX_API 1
#define EX_CONN 2
#define EX_USAGE 64

#define DEFAULT_URL "http://127.0.0.1:3009"
#define RESPONSE_MAX (64u << 20) /* a larger answer is not from reflex */
#define QUERY_MAX 8192
#define ALL_PAGES_MAX 10000      /* --all stops here even if the server loops */
#define TABLE_WIDTH 160

struct opts {
	const char *url;
	const char *token;
	bool json;
	long timeout;
	CURL *curl; /* one handle for the run, so --all pages reuse the connection */
	struct curl_slist *headers;
};

struct buf {
	char *data;
	size_t len;
	bool overflow;
};

__attribute__((format(printf, 2, 3), noreturn)) static void usage_error(const char *topic, const char *fmt, ...)
{
	va_list ap;

	fputs("reflexctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'reflexctl %s%s--help'.\n", topic ? topic : "", topic ? " " : "");
	exit(EX_USAGE);
}

static const char main_help[] =
	"Usage: reflexctl [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Command-line client of the reflex REST API.\n"
	"\n"
	"Commands:\n"
	"  events list      list stored events, newest first\n"
	"  events show ID   show one event with its labels and attributes\n"
	"  health           check that the agent is up\n"
	"  templates FILE   mine log templates from FILE ('-': stdin), offline\n"
	"\n"
	"Options:\n"
	"  --url URL          API base URL (env REFLEX_URL, default " DEFAULT_URL ")\n"
	"  --token TOKEN      bearer token (env REFLEX_TOKEN)\n"
	"  -o, --output FMT   table (default) or json\n"
	"  --timeout SECONDS  give up on a request after this long (default 10)\n"
	"  -h, --help         show this help; COMMAND --help shows a command's help\n"
	"  --version          print the version\n"
	"\n"
	"Exit status: 0 ok, 1 API error, 2 cannot reach the API, 64 usage error.\n";

static const char events_help[] =
	"Usage: reflexctl events list [FILTERS]\n"
	"       reflexctl events show ID\n"
	"\n"
	"Filters of 'events list':\n"
	"  --host H          events of this host\n"
	"  --service S       events of this service\n"
	"  --check C         events of this check\n"
	"  --severity SEV    at least this severe (emergency ... debug, or 0-7)\n"
	"  --status STATUS   firing or resolved\n"
	"  --since T         newer than T: RFC 3339 time or age like 15m, 2h, 7d\n"
	"  --until T         older than T (same forms)\n"
	"  -q, --query TEXT  full-text search in messages\n"
	"  --limit N         at most N events per page\n"
	"  --cursor C        continue from the next_cursor of an earlier page\n"
	"  --all             follow next_cursor until every page is fetched\n";

static const char health_help[] =
	"Usage: reflexctl health\n"
	"\n"
	"Prints the agent's health; exits 1 if it is not ok.\n";

static const char templates_help[] =
	"Usage: reflexctl templates [OPTIONS] FILE|-\n"
	"\n"
	"Mines log templates from FILE (or stdin for '-'), one message per line,\n"
	"without a server. Prints, for every input line in order,\n"
	"<template id><TAB><template> with the template as it is after the whole\n"
	"input was read (id 0 is the overflow template).\n"
	"\n"
	"Options:\n"
	"  --sim-threshold X  share of equal tokens to join a template (0-1, default 0.7)\n"
	"  --mask REGEX       PCRE2 pattern whose matches become <*> (repeatable, max 32)\n"
	"  --strip-header     drop a leading timestamp/level/host/program header first\n"
	"  --max-templates N  at most N templates (default 10000); then overflow\n"
	"  --stream           print each line at once, with its template as it was then\n"
	"                     (for endless input; ids are the same, texts may be narrower)\n"
	"  --json             print one JSON summary of the templates instead:\n"
	"                     {\"lines\": N, \"templates\": [{id, hash, count, template}]}\n";

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	b->overflow = b->len + n + 1 > RESPONSE_MAX;
	if (b->overflow || !(p = realloc(b->data, b->len + n + 1)))
		return 0; /* makes curl abort the transfer */
	memcpy(p + b->len, ptr, n);
	b->data = p;
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * GETs base+path (path already escaped) and parses the JSON answer into
 * *out (caller puts it). Prints the error and returns an exit code unless
 * the answer was 2xx JSON, or any JSON at all when accept_any_status.
 */
static int api_get(const struct opts *o, const char *path, bool accept_any_status,
		   json_object **out, long *status)
{
	char url[QUERY_MAX + 640], errbuf[CURL_ERROR_SIZE] = "";
	struct buf b = { 0 };
	json_object *doc = NULL, *err, *msg;
	size_t blen = strlen(o->url);
	CURLcode rc;
	int ret = EX_API;

	*out = NULL;
	*status = 0;
	while (blen > 0 && o->url[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof(url), "%.*s%s", (int)blen, o->url, path);
	curl_easy_setopt(o->curl, CURLOPT_URL, url);
	curl_easy_setopt(o->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(o->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(o->curl);
	if (rc != CURLE_OK) {
		if (b.overflow)
			fprintf(stderr, "reflexctl: %s: response larger than %u MiB\n", url, RESPONSE_MAX >> 20);
		else
			fprintf(stderr, "reflexctl: cannot reach %s: %s\n", url, *errbuf ? errbuf : curl_easy_strerror(rc));
		ret = b.overflow ? EX_API : EX_CONN;
		goto out;
	}
	curl_easy_getinfo(o->curl, CURLINFO_RESPONSE_CODE, status);
	doc = b.data ? json_tokener_parse(b.data) : NULL;
	if ((*status < 200 || *status > 299) && !accept_any_status) {
		if (json_object_object_get_ex(doc, "error", &err) && json_object_object_get_ex(err, "message", &msg))
			fprintf(stderr, "reflexctl: %s (HTTP %ld)\n", json_object_get_string(msg), *status);
		else
			fprintf(stderr, "reflexctl: %s answered HTTP %ld\n", url, *status);
	} else if (!json_object_is_type(doc, json_type_object)) {
		fprintf(stderr, "reflexctl: %s: answer is not a JSON object (HTTP %ld)\n", url, *status);
	} else {
		*out = doc;
		doc = NULL;
		ret = EX_OK;
	}
out:
	curl_easy_setopt(o->curl, CURLOPT_ERRORBUFFER, NULL);
	json_object_put(doc);
	free(b.data);
	return ret;
}

static void print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Field named like the column head ("HOST" -> host) as display text; "-"
 * when absent or null. Borrowed from obj. */
static const char *field(json_object *obj, const char *head)
{
	char key[16];
	json_object *v;
	size_t i;

	for (i = 0; head[i] && i < sizeof(key) - 1; i++)
		key[i] = (char)(head[i] | 0x20);
	key[i] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || !v)
		return "-";
	return json_object_get_string(v);
}

/* Scalars as text, objects and arrays as one-line JSON. Borrowed from v. */
static const char *value_text(json_object *v)
{
	if (v && (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)))
		return json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	return v ? json_object_get_string(v) : "null";
}

static bool is_help(int argc, char **argv)
{
	return argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
}

/* Display columns of a UTF-8 string (code points; good enough for a table). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/*
 * Prints s in exactly width columns: control characters become spaces (a
 * newline in a message must not break the table), longer text is cut on a
 * code point boundary and ends in "~".
 */
static void put_cell(const char *s, size_t width, bool last)
{
	size_t w = text_width(s), used = 0;
	bool cut = w > width;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		bool lead = (ch & 0xC0) != 0x80;

		if (lead && used >= width - (cut ? 1 : 0))
			break;
		used += lead;
		putchar(ch < 0x20 || ch == 0x7f ? ' ' : ch);
	}
	if (cut) {
		putchar('~');
		used++;
	}
	if (!last)
		for (; used < width + 2; used++)
			putchar(' ');
}

/* The time column drops the fraction: 2026-11-28T03:22:45.123Z -> ...45Z. */
static void short_time(const char *t, char *out, size_t len)
{
	const char *dot = strchr(t, '.');

	if (dot && strlen(t) < len)
		snprintf(out, len, "%.*s%s", (int)(dot - t), t, dot + strcspn(dot, "Z+-"));
	else
		snprintf(out, len, "%s", t);
}

enum { C_ID, C_TIME, C_SEV, C_STATUS, C_HOST, C_SERVICE, C_CHECK, C_MSG, C__N };

static void print_event_table(json_object *events)
{
	static const char *const head[C__N] = { "ID", "TIME", "SEVERITY", "STATUS",
						"HOST", "SERVICE", "CHECK", "MESSAGE" };
	static const size_t cap[C__N] = { 26, 24, 9, 8, 24, 20, 24, 0 };
	size_t width[C__N], n = json_object_array_length(events), used = 0;
	char tbuf[64];
	int c;

	for (c = 0; c < C__N; c++)
		width[c] = text_width(head[c]);
	/* Pass 0 sizes the columns to the data, pass 1 prints. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			json_object *ev = json_object_array_get_idx(events, i);

			for (c = 0; c < C__N; c++) {
				const char *v = field(ev, head[c]);
				size_t w;

				if (c == C_TIME) {
					short_time(v, tbuf, sizeof(tbuf));
					v = tbuf;
				}
				w = text_width(v);
				if (pass == 1)
					put_cell(v, width[c], c == C_MSG);
				else if (c != C_MSG && w > width[c])
					width[c] = w < cap[c] ? w : cap[c];
			}
			if (pass == 1)
				putchar('\n');
		}
		if (pass == 1)
			break;
		for (c = 0; c < C_MSG; c++)
			used += width[c] + 2;
		width[C_MSG] = used + 16 < TABLE_WIDTH ? TABLE_WIDTH - used : 16;
		for (c = 0; c < C__N; c++)
			put_cell(head[c], width[c], c == C_MSG);
		putchar('\n');
	}
}

/* "15m", "2h", "7d", "30s" -> RFC 3339 UTC time that long ago; anything
 * else is passed to the server unchanged. */
static const char *resolve_time(const char *arg, char *buf, size_t len)
{
	static const char units[] = "smhdw";
	static const long secs[] = { 1, 60, 3600, 86400, 604800 };
	const char *u;
	char *end;
	long n = strtol(arg, &end, 10);
	time_t t;
	struct tm tm;

	if (end == arg || n < 0 || !*end || end[1] || !(u = strchr(units, *end)) ||
	    n > 100L * 366 * 86400 / secs[u - units])
		return arg;
	t = time(NULL) - (time_t)(n * secs[u - units]);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	return buf;
}

/* Appends "&key=escaped(value)" to q; usage error if the query gets too long. */
static void query_add(const struct opts *o, char *q, const char *key, const char *value)
{
	char *esc;
	size_t len = strlen(q);
	bool first = !strchr(q, '?');

	if (!value)
		return;
	esc = curl_easy_escape(o->curl, value, 0);
	if (!esc || len + strlen(key) + strlen(esc) + 3 >= QUERY_MAX) {
		curl_free(esc);
		usage_error("events list", "filter values are too long");
	}
	snprintf(q + len, QUERY_MAX - len, "%c%s=%s", first ? '?' : '&', key, esc);
	curl_free(esc);
}

/* Filters of 'events list': the option name is also the query key. */
enum { F_HOST, F_SERVICE, F_CHECK, F_SEVERITY, F_STATUS, F_SINCE, F_UNTIL, F_Q, F_LIMIT, F_CURSOR, F__N };
static const char *const filter_key[F__N] = { "host", "service", "check", "severity", "status",
					      "since", "until", "q", "limit", "cursor" };

static int cmd_events_list(const struct opts *o, int argc, char **argv)
{
	enum { O_ALL = 256 + F__N };
	static const struct option lopts[] = {
		{ "host", required_argument, NULL, 256 + F_HOST }, { "service", required_argument, NULL, 256 + F_SERVICE },
		{ "check", required_argument, NULL, 256 + F_CHECK }, { "severity", required_argument, NULL, 256 + F_SEVERITY },
		{ "status", required_argument, NULL, 256 + F_STATUS }, { "since", required_argument, NULL, 256 + F_SINCE },
		{ "until", required_argument, NULL, 256 + F_UNTIL }, { "query", required_argument, NULL, 'q' },
		{ "limit", required_argument, NULL, 256 + F_LIMIT }, { "cursor", required_argument, NULL, 256 + F_CURSOR },
		{ "all", no_argument, NULL, O_ALL }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *val[F__N] = { NULL };
	char *cursor = NULL; /* heap copy: the page it came from is freed */
	char since[32], until[32], path[QUERY_MAX + 64], *end;
	json_object *all = NULL, *page = NULL, *events, *next;
	bool follow = false;
	long status;
	int opt, pages = 0, ret = EX_API;

	optind = 1;
	opterr = 0; /* our own message names the option and the help */
	while ((opt = getopt_long(argc, argv, "+q:h", lopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(events_help, stdout);
			return EX_OK;
		} else if (opt == 'q' || (opt >= 256 && opt < 256 + F__N)) {
			val[opt == 'q' ? F_Q : opt - 256] = optarg;
		} else if (opt == O_ALL) {
			follow = true;
		} else {
			usage_error("events list", "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("events list", "unexpected argument '%s'", argv[optind]);
	if (val[F_STATUS] && strcmp(val[F_STATUS], "firing") != 0 && strcmp(val[F_STATUS], "resolved") != 0)
		usage_error("events list", "--status must be 'firing' or 'resolved', not '%s'", val[F_STATUS]);
	if (val[F_LIMIT] && (strtol(val[F_LIMIT], &end, 10) < 1 || *end || strlen(val[F_LIMIT]) > 6))
		usage_error("events list", "--limit must be a number from 1 to 999999");
	if (val[F_SINCE])
		val[F_SINCE] = resolve_time(val[F_SINCE], since, sizeof(since));
	if (val[F_UNTIL])
		val[F_UNTIL] = resolve_time(val[F_UNTIL], until, sizeof(until));
	if (val[F_CURSOR] && !(cursor = strdup(val[F_CURSOR])))
		goto out;
	if (!(all = json_object_new_array()))
		goto out;

	for (;;) {
		snprintf(path, sizeof(path), "/api/v1/events");
		val[F_CURSOR] = cursor;
		for (int i = 0; i < F__N; i++)
			query_add(o, path, filter_key[i], val[i]);
		json_object_put(page);
		if ((ret = api_get(o, path, false, &page, &status)) != EX_OK)
			goto out;
		ret = EX_API;
		if (!json_object_object_get_ex(page, "events", &events) ||
		    !json_object_is_type(events, json_type_array)) {
			fprintf(stderr, "reflexctl: answer of %s has no \"events\" array\n", path);
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(events); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(events, i)));
		if (!json_object_object_get_ex(page, "next_cursor", &next) ||
		    !json_object_is_type(next, json_type_string)) {
			free(cursor);
			cursor = NULL;
			break;
		}
		if (cursor && strcmp(cursor, json_object_get_string(next)) == 0) {
			fprintf(stderr, "reflexctl: server returned the same cursor twice; stopping\n");
			goto out;
		}
		free(cursor);
		if (!(cursor = strdup(json_object_get_string(next))))
			goto out;
		if (!follow)
			break;
		if (++pages >= ALL_PAGES_MAX) {
			fprintf(stderr, "reflexctl: stopped after %d pages; narrow the filters\n", pages);
			goto out;
		}
	}
	if (o->json && follow) {
		/* One document for all pages, shaped like a single page. */
		json_object_put(page);
		if (!(page = json_object_new_object()))
			goto out;
		json_object_object_add(page, "events", json_object_get(all));
		json_object_object_add(page, "next_cursor", NULL);
	}
	if (o->json) {
		print_json(page);
	} else {
		print_event_table(all);
		if (json_object_array_length(all) == 0)
			fprintf(stderr, "no events match\n");
		if (cursor)
			fprintf(stderr, "more events: add --cursor %s (or --all)\n", cursor);
	}
	ret = EX_OK;
out:
	free(cursor);
	json_object_put(page);
	json_object_put(all);
	return ret;
}

/* Prints "key: value" with the key padded to pad columns; lines after the
 * first of a multi-line value are indented under the value. */
static void print_kv(int indent, const char *key, int pad, const char *value)
{
	int n = printf("%*s%s:", indent, "", key);

	printf("%*s", n < indent + pad ? indent + pad - n + 1 : 1, "");
	for (; *value; value++) {
		putchar(*value);
		if (*value == '\n')
			printf("%*s", indent + pad + 1, "");
	}
	putchar('\n');
}

static int cmd_events_show(const struct opts *o, int argc, char **argv)
{
	static const char *const keys[] = { "id", "time", "received", "source", "kind", "host",
					    "service", "check", "severity", "status", "fingerprint",
					    "value", "message" };
	char path[512];
	json_object *ev = NULL, *v;
	long status;
	char *esc;
	int ret;

	if (is_help(argc, argv)) {
		fputs(events_help, stdout);
		return EX_OK;
	}
	if (argc != 2 || argv[1][0] == '\0')
		usage_error("events", "'events show' takes exactly one event ID");
	if (strlen(argv[1]) > 128)
		usage_error("events", "'%.20s...' is not an event ID", argv[1]);
	if (!(esc = curl_easy_escape(o->curl, argv[1], 0)))
		return EX_API;
	snprintf(path, sizeof(path), "/api/v1/events/%s", esc);
	curl_free(esc);
	ret = api_get(o, path, false, &ev, &status);
	if (ret != EX_OK)
		return ret;
	if (o->json) {
		print_json(ev);
	} else {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (json_object_object_get_ex(ev, keys[i], &v) && v)
				print_kv(0, keys[i], 12, value_text(v));
		for (int i = 0; i < 2; i++) {
			const char *name = i ? "attrs" : "labels";

			if (!json_object_object_get_ex(ev, name, &v) || !json_object_is_type(v, json_type_object) ||
			    json_object_object_length(v) == 0)
				continue;
			printf("%s:\n", name);
			json_object_object_foreach(v, k, sub)
				print_kv(2, k, 0, value_text(sub));
		}
	}
	json_object_put(ev);
	return EX_OK;
}

static int cmd_health(const struct opts *o, int argc, char **argv)
{
	json_object *doc = NULL, *st;
	const char *state;
	long status;
	int ret;

	if (is_help(argc, argv)) {
		fputs(health_help, stdout);
		return EX_OK;
	}
	if (argc != 1)
		usage_error("health", "'health' takes no arguments");
	/* An unhealthy agent answers 503 with the same document: show it. */
	ret = api_get(o, "/healthz", true, &doc, &status);
	if (ret != EX_OK)
		return ret;
	state = json_object_object_get_ex(doc, "status", &st) ? json_object_get_string(st) : "unknown";
	if (o->json) {
		print_json(doc);
	} else {
		printf("%s", state);
		json_object_object_foreach(doc, k, v)
			if (strcmp(k, "status") != 0)
				printf("  %s=%s", k, value_text(v));
		putchar('\n');
	}
	ret = status >= 200 && status <= 299 && strcmp(state, "ok") == 0 ? EX_OK : EX_API;
	json_object_put(doc);
	return ret;
}

#define TEMPLATES_LINES_MAX (256u << 20) /* ids kept for the final pass, 4 bytes each */

static int add_template_json(const rfx_tmpl_info *t, void *arg)
{
	json_object *o = json_object_new_object();
	char hash[17];

	if (!o)
		return -1;
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)t->hash);
	json_object_object_add(o, "id", json_object_new_int64(t->id == RFX_TMPL_OVERFLOW_ID ? 0 : t->id));
	json_object_object_add(o, "hash", json_object_new_string(hash));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)t->count));
	json_object_object_add(o, "template", json_object_new_string(t->template));
	return json_object_array_add(arg, o) == 0 ? 0 : -1;
}

/* Offline: never touches the network. */
static int cmd_templates(int argc, char **argv)
{
	enum { O_SIM = 256, O_MASK, O_STRIP, O_MAXT, O_STREAM, O_JSON };
	static const struct option lopts[] = {
		{ "sim-threshold", required_argument, NULL, O_SIM }, { "mask", required_argument, NULL, O_MASK },
		{ "strip-header", no_argument, NULL, O_STRIP },     { "max-templates", required_argument, NULL, O_MAXT },
		{ "stream", no_argument, NULL, O_STREAM },           { "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },                  { NULL, 0, NULL, 0 },
	};
	bool strip = false, stream = false, json = false;
	rfx_tmpl_opts to;
	rfx_tmpl_miner *m = NULL;
	rfx_tmpl_match mt;
	rfx_tmpl_info ti;
	uint32_t *ids = NULL;
	size_t n = 0, cap = 0, linecap = 0;
	char *line = NULL, *end, err[512];
	json_object *doc = NULL, *arr = NULL;
	FILE *in = NULL;
	ssize_t len;
	int opt, ret = EX_API;

	rfx_tmpl_opts_init(&to);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(templates_help, stdout);
			return EX_OK;
		} else if (opt == O_SIM) {
			to.sim_threshold = strtod(optarg, &end);
			if (*end || end == optarg || !(to.sim_threshold >= 0 && to.sim_threshold <= 1))
				usage_error("templates", "--sim-threshold must be a number from 0 to 1");
		} else if (opt == O_MASK) {
			if (to.n_masks >= RFX_TMPL_MASKS_MAX)
				usage_error("templates", "at most %d --mask options", RFX_TMPL_MASKS_MAX);
			to.masks[to.n_masks++] = optarg;
		} else if (opt == O_STRIP) {
			strip = true;
		} else if (opt == O_MAXT) {
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 10000000)
				usage_error("templates", "--max-templates must be 1 to 10000000");
			to.max_templates = (uint32_t)v;
		} else if (opt == O_STREAM) {
			stream = true;
		} else if (opt == O_JSON) {
			json = true;
		} else {
			usage_error("templates", "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		usage_error("templates", "give exactly one FILE, or '-' for stdin");
	if (stream && json)
		usage_error("templates", "--stream and --json exclude each other");
	if (!(m = rfx_tmpl_miner_new(&to, err, sizeof(err)))) {
		fprintf(stderr, "reflexctl: %s\n", err);
		return EX_USAGE;
	}
	in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "r");
	if (!in) {
		fprintf(stderr, "reflexctl: cannot open %s: %s\n", argv[optind], strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &linecap, in)) >= 0) {
		size_t h = strip ? rfx_tmpl_header_len(line, (size_t)len) : 0;

		if (rfx_tmpl_add(m, line + h, (size_t)len - h, &mt) != 0) {
			fprintf(stderr, "reflexctl: out of memory at line %zu\n", n + 1);
			goto out;
		}
		if (stream) {
			printf("%u\t%s\n", mt.id == RFX_TMPL_OVERFLOW_ID ? 0 : mt.id, mt.template);
		} else if (!json) {
			if (n == cap) {
				uint32_t *v;

				cap = cap ? cap * 2 : 4096;
				if (cap > TEMPLATES_LINES_MAX || !(v = realloc(ids, cap * sizeof(*ids)))) {
					fprintf(stderr, "reflexctl: more than %u lines; use --stream or --json\n",
						TEMPLATES_LINES_MAX);
					goto out;
				}
				ids = v;
			}
			ids[n] = mt.id;
		}
		n++;
	}
	if (ferror(in)) {
		fprintf(stderr, "reflexctl: reading %s: %s\n", argv[optind], strerror(errno));
		goto out;
	}
	if (json) {
		if (!(doc = json_object_new_object()) || !(arr = json_object_new_array()))
			goto out;
		json_object_object_add(doc, "lines", json_object_new_int64((int64_t)n));
		json_object_object_add(doc, "templates", arr);
		if (rfx_tmpl_foreach(m, add_template_json, arr) != 0)
			goto out;
		print_json(doc);
	} else if (!stream) {
		for (size_t i = 0; i < n; i++) {
			if (rfx_tmpl_get(m, ids[i], &ti) != 0)
				goto out;
			printf("%u\t%s\n", ti.id == RFX_TMPL_OVERFLOW_ID ? 0 : ti.id, ti.template);
		}
	}
	ret = fflush(stdout) == 0 ? EX_OK : EX_API;
out:
	if (in && in != stdin)
		fclose(in);
	json_object_put(doc);
	free(line);
	free(ids);
	rfx_tmpl_miner_free(m);
	return ret;
}

/* Sets what every request shares; EX_OK or EX_API. */
static int client_init(struct opts *o)
{
	char auth[2200];

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(o->curl = curl_easy_init()))
		goto fail;
	o->headers = curl_slist_append(NULL, "Accept: application/json");
	if (o->headers && o->token && *o->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
		if (!curl_slist_append(o->headers, auth))
			goto fail;
	}
	if (!o->headers)
		goto fail;
	curl_easy_setopt(o->curl, CURLOPT_HTTPHEADER, o->headers);
	curl_easy_setopt(o->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(o->curl, CURLOPT_TIMEOUT, o->timeout);
	curl_easy_setopt(o->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(o->curl, CURLOPT_USERAGENT, "reflexctl/" PACKAGE_VERSION);
	curl_easy_setopt(o->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	return EX_OK;
fail:
	fprintf(stderr, "reflexctl: cannot initialise libcurl\n");
	return EX_API;
}

int main(int argc, char **argv)
{
	enum { O_URL = 256, O_TOKEN, O_TIMEOUT, O_VERSION };
	static const struct option lopts[] = {
		{ "url", required_argument, NULL, O_URL }, { "token", required_argument, NULL, O_TOKEN },
		{ "output", required_argument, NULL, 'o' }, { "timeout", required_argument, NULL, O_TIMEOUT },
		{ "version", no_argument, NULL, O_VERSION }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .url = getenv("REFLEX_URL"), .token = getenv("REFLEX_TOKEN"), .timeout = 10 };
	const char *cmd;
	char *end;
	int opt, ret;

	if (!o.url || !*o.url)
		o.url = DEFAULT_URL;
	opterr = 0;
	/* "+": options after the command belong to the command. */
	while ((opt = getopt_long(argc, argv, "+o:h", lopts, NULL)) != -1) {
		if (opt == O_URL) {
			o.url = optarg;
		} else if (opt == O_TOKEN) {
			o.token = optarg;
		} else if (opt == 'o' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0)) {
			o.json = optarg[0] == 'j';
		} else if (opt == 'o') {
			usage_error(NULL, "-o must be 'table' or 'json', not '%s'", optarg);
		} else if (opt == O_TIMEOUT) {
			o.timeout = strtol(optarg, &end, 10);
			if (*end || end == optarg || o.timeout < 1 || o.timeout > 3600)
				usage_error(NULL, "--timeout must be 1 to 3600 seconds");
		} else if (opt == O_VERSION || opt == 'h') {
			fputs(opt == 'h' ? main_help : "reflexctl " PACKAGE_VERSION "\n", stdout);
			return EX_OK;
		} else {
			usage_error(NULL, "unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if ((strncmp(o.url, "http://", 7) != 0 && strncmp(o.url, "https://", 8) != 0) || strlen(o.url) > 512)
		usage_error(NULL, "--url must be an http:// or https:// URL of at most 512 bytes, not '%s'", o.url);
	if (o.token && (strpbrk(o.token, "\r\n") || strlen(o.token) > 2048))
		usage_error(NULL, "the token must be one line of at most 2048 bytes");
	if (optind >= argc)
		usage_error(NULL, "missing command");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "help") == 0) {
		fputs(main_help, stdout);
		return EX_OK;
	} else if (strcmp(cmd, "templates") == 0) {
		return cmd_templates(argc, argv);
	} else if (strcmp(cmd, "events") == 0 && is_help(argc, argv)) {
		fputs(events_help, stdout);
		return EX_OK;
	} else if (strcmp(cmd, "events") == 0 && argc < 2) {
		usage_error("events", "missing subcommand: list or show");
	} else if (strcmp(cmd, "events") == 0 && strcmp(argv[1], "list") != 0 && strcmp(argv[1], "show") != 0) {
		usage_error("events", "unknown subcommand '%s'; use list or show", argv[1]);
	} else if (strcmp(cmd, "events") != 0 && strcmp(cmd, "health") != 0) {
		usage_error(NULL, "unknown command '%s'", cmd);
	}
	ret = client_init(&o);
	if (ret == EX_OK && cmd[0] == 'h')
		ret = cmd_health(&o, argc, argv);
	else if (ret == EX_OK && argv[1][0] == 'l')
		ret = cmd_events_list(&o, argc - 1, argv + 1);
	else if (ret == EX_OK)
		ret = cmd_events_show(&o, argc - 1, argv + 1);
	curl_slist_free_all(o.headers);
	curl_easy_cleanup(o.curl);
	curl_global_cleanup();
	return ret;
}
