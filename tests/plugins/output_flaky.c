/*
 * tests/plugins/output_flaky.c - an output whose answers the test decides,
 * for the delivery tests (tests/integration/test_outbox.sh). Each attempt
 * reads the first line of the `control` file:
 *   ok               RFX_OK: the event is appended to `path` as one JSON
 *                    line with the attempt number and the delivery id
 *   retry            RFX_RETRY with an error message
 *   retry-after MS   RFX_RETRY asking for MS milliseconds (Retry-After)
 *   fail             RFX_FAIL (a permanent error)
 *   drop             RFX_DROP (declined)
 * and every attempt, whatever the answer, is appended to `path`.attempts.
 * A notice (an output with group.by) is recorded as one line with its group
 * key, sequence, counts and the ids and statuses of its events.
 * Built for `make check` only, never installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <reflex/plugin.h>

struct flaky_config {
	char *path;
	char *control;
};

struct flaky {
	const rfx_host *host;
	const struct flaky_config *cfg;
};

static void read_control(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, len, "ok");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		snprintf(buf, len, "ok");
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
}

static void append(const char *path, const char *suffix, const char *line)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof p, "%s%s", path, suffix);
	if ((f = fopen(p, "a"))) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
}

static rfx_result flaky_handle(void *state, const rfx_record *rec)
{
	struct flaky *s = state;
	rfx_delivery *d = rec->delivery;
	char ctl[128], line[4096];
	rfx_result r = RFX_OK;

	read_control(s->cfg->control, ctl, sizeof ctl);
	if (rec->type == RFX_REC_NOTICE) {
		const rfx_notice *n = rec->u.notice;
		size_t o = (size_t)snprintf(line, sizeof line,
					    "{\"group\":\"%s\",\"sequence\":%llu,\"nfiring\":%zu,"
					    "\"attempt\":%u,\"answer\":\"%s\",\"events\":[",
					    n->group_key, (unsigned long long)n->sequence, n->nfiring,
					    d ? d->attempt : 0, ctl);
		for (size_t i = 0; i < n->nevents && o < sizeof line; i++)
			o += (size_t)snprintf(line + o, sizeof line - o, "%s{\"host\":\"%s\",\"status\":\"%s\"}",
					      i ? "," : "", rfx_event_host(n->events[i]),
					      n->events[i]->status == RFX_STATUS_RESOLVED ? "resolved"
											 : "firing");
		if (o < sizeof line)
			snprintf(line + o, sizeof line - o, "]}");
	} else if (rec->type == RFX_REC_EVENT) {
		snprintf(line, sizeof line,
			 "{\"event\":\"%s\",\"host\":\"%s\",\"attempt\":%u,\"delivery\":%llu,"
			 "\"answer\":\"%s\"}",
			 rec->u.event->id,
			 rfx_event_host(rec->u.event) ? rfx_event_host(rec->u.event) : "",
			 d ? d->attempt : 0, d ? (unsigned long long)d->id : 0ULL, ctl);
	} else {
		return RFX_DROP;
	}
	append(s->cfg->path, ".attempts", line);
	if (strncmp(ctl, "retry-after ", 12) == 0) {
		r = RFX_RETRY;
		if (d) {
			d->retry_after_ms = atoll(ctl + 12);
			snprintf(d->error, sizeof d->error, "receiver said 429, Retry-After %s ms",
				 ctl + 12);
		}
	} else if (strcmp(ctl, "retry") == 0) {
		r = RFX_RETRY;
		if (d)
			snprintf(d->error, sizeof d->error, "receiver said 503");
	} else if (strcmp(ctl, "fail") == 0) {
		r = RFX_FAIL;
		if (d)
			snprintf(d->error, sizeof d->error, "receiver said 400: bad payload");
	} else if (strcmp(ctl, "drop") == 0) {
		r = RFX_DROP;
	}
	if (r == RFX_OK)
		append(s->cfg->path, "", line);
	return r;
}

static int flaky_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		      char *err, size_t errlen)
{
	struct flaky *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	s->host = host;
	s->cfg = config;
	*state = s;
	return 0;
}

static void flaky_destroy(void *state)
{
	free(state);
}

static const rfx_option flaky_options[] = {
	{"path", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL, "delivered events (JSON lines)",
	 offsetof(struct flaky_config, path), NULL},
	{"control", RFX_OPT_STRING, NULL, RFX_OPT_REQUIRED, 0, 0, NULL,
	 "file whose first line decides the answer", offsetof(struct flaky_config, control), NULL},
	RFX_OPTION_END,
};

static const rfx_plugin flaky_plugin = {
	RFX_PLUGIN_ABI,
	.name = "flaky",
	.version = "test",
	.description = "test output answering what a control file says",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	/* each call opens, appends one line and closes: safe concurrently */
	.caps = RFX_CAP_CONCURRENT,
	.options = flaky_options,
	.config_size = sizeof(struct flaky_config),
	.init = flaky_init,
	.handle = flaky_handle,
	.destroy = flaky_destroy,
};

RFX_PLUGIN_DEFINE(flaky_plugin)
