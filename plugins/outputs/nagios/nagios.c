/*
 * plugins/outputs/nagios/nagios.c - the Nagios output: submits events as
 * passive check results through Nagios' external command file (a FIFO):
 *   [TIME] PROCESS_SERVICE_CHECK_RESULT;HOST;SERVICE;CODE;OUTPUT
 *   [TIME] PROCESS_HOST_CHECK_RESULT;HOST;CODE;OUTPUT
 * The return code comes from the status and severity (resolved 0 OK,
 * warning 1, critical and worse 2, out of range 3 UNKNOWN); host, service
 * and output are templates.
 *
 * Each line is one write() of at most PIPE_BUF bytes, so it reaches Nagios
 * whole even with other writers on the FIFO. The FIFO is opened per record
 * with O_NONBLOCK: no reader (ENXIO: Nagios is not running), a missing
 * file or a full pipe are transient (RETRY), never a blocked thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <reflex/plugin.h>

#include "../../common/template.h"

#define NG_LINE_MAX PIPE_BUF
#define NG_NAME_BYTES 256

enum ng_mode { NG_AUTO, NG_SERVICE, NG_HOST };
static const char *const ng_modes[] = {"auto", "service", "host", NULL};

struct ng_config {
	char *command_file;
	int mode;
	char *host;
	char *service;
	char *output;
	char *critical_severity;
	char *warning_severity;
};

struct ng_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct ng_config *cfg;
	rfx_otpl *t_host, *t_service, *t_output;
	struct rfx_otpl_buf b_host, b_service, b_output; /* handle() is serial */
	int crit, warn;
	rfx_metric *sent, *retried, *failed;
};

/* Nagios return code of an event: a resolution is OK; a firing event by
 * severity (a smaller number is more severe). */
static int ng_code(const rfx_event *ev, int crit, int warn)
{
	if (ev->status == RFX_STATUS_RESOLVED)
		return 0;
	if (ev->severity < RFX_SEV_EMERGENCY || ev->severity > RFX_SEV_DEBUG)
		return 3;
	if (ev->severity <= crit)
		return 2;
	if (ev->severity <= warn)
		return 1;
	return 0;
}

/* A host result is a host state, not a plugin code: Nagios takes a passive
 * host result's code as UP (0), DOWN (1) or UNREACHABLE (2). Like Nagios
 * does for active host checks, WARNING counts as UP and CRITICAL or
 * UNKNOWN as DOWN. */
static int ng_host_state(int code)
{
	return code <= 1 ? 0 : 1;
}

/* Copies a name field: ';' would end the field and a newline the command,
 * so both become '_'; surrounding spaces go. */
static void clean_name(const char *s, size_t n, char *out, size_t len)
{
	size_t o = 0;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] = s[i] == ';' || (unsigned char)s[i] < 0x20 ? '_' : s[i];
	out[o] = '\0';
}

/*
 * Formats one command line (ending with '\n', at most NG_LINE_MAX bytes)
 * into out. service NULL or "" makes a host check result. Newlines in the
 * output become the two characters "\n" (Nagios' long output separator),
 * other control characters spaces; an output too long is cut on a UTF-8
 * boundary. Returns the length, or -1 when host is empty.
 */
static int ng_format(char *out, int64_t t, const char *host, const char *service, int code,
		     const char *output, size_t output_len)
{
	char h[NG_NAME_BYTES], s[NG_NAME_BYTES];
	int n;
	size_t room, o;

	clean_name(host, strlen(host), h, sizeof h);
	clean_name(service ? service : "", service ? strlen(service) : 0, s, sizeof s);
	if (h[0] == '\0')
		return -1;
	if (s[0] != '\0')
		n = snprintf(out, NG_LINE_MAX, "[%" PRId64 "] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;",
			     t, h, s, code);
	else
		n = snprintf(out, NG_LINE_MAX, "[%" PRId64 "] PROCESS_HOST_CHECK_RESULT;%s;%d;", t,
			     h, code);
	o = (size_t)n;
	room = NG_LINE_MAX - 1; /* the final newline */
	for (size_t i = 0; i < output_len && o < room; i++) {
		unsigned char c = (unsigned char)output[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (o + 2 > room)
				break;
			out[o++] = '\\';
			out[o++] = 'n';
			continue;
		}
		if (c >= 0x80 && (c & 0xC0) == 0xC0) {
			/* a UTF-8 lead byte: the whole character fits or none of it */
			size_t cl = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

			if (o + cl > room || i + cl > output_len)
				break;
			memcpy(out + o, output + i, cl);
			o += cl;
			i += cl - 1;
			continue;
		}
		out[o++] = c < 0x20 ? ' ' : (char)c;
	}
	while (o > (size_t)n && out[o - 1] == ' ')
		o--;
	out[o++] = '\n';
	out[o] = '\0';
	return (int)o;
}

/* Writes the lines (each ending with '\n') to the FIFO, one write each. */
static rfx_result ng_write(struct ng_out *g, char *const *lines, size_t nlines, char *msg,
			   size_t msglen)
{
	const char *path = g->cfg->command_file;
	struct stat st;
	int fd, e;
	rfx_result res = RFX_OK;

	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENXIO)
			snprintf(msg, msglen, "%s has no reader: is Nagios running?", path);
		else
			snprintf(msg, msglen, "cannot open %s: %s", path, strerror(e));
		/* ENOENT: Nagios makes the FIFO when it starts; EACCES may be
		 * fixed by the admin: all worth another try */
		return RFX_RETRY;
	}
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		snprintf(msg, msglen, "%s is not a FIFO (command_file must be Nagios' "
			 "external command file)", path);
		close(fd);
		return RFX_FAIL;
	}
	for (size_t i = 0; i < nlines; i++) {
		size_t len = strlen(lines[i]);
		ssize_t w = write(fd, lines[i], len);

		if (w == (ssize_t)len)
			continue;
		e = w < 0 ? errno : EIO;
		snprintf(msg, msglen, "writing to %s: %s", path,
			 e == EAGAIN ? "the pipe is full (Nagios is not reading)" : strerror(e));
		res = RFX_RETRY; /* results written before are harmless to repeat */
		break;
	}
	close(fd);
	return res;
}

static rfx_result ng_handle(void *state, const rfx_record *rec)
{
	struct ng_out *g = state;
	const rfx_notice *nt = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	size_t n = nt != NULL ? nt->nevents : 1, k = 0;
	char **lines = NULL, msg[256] = "";
	rfx_result res = RFX_RETRY;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	lines = calloc(n, sizeof *lines);
	if (lines == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const rfx_event *ev = nt != NULL ? nt->events[i] : rec->u.event;
		int64_t ns = ev->occurred_ns ? ev->occurred_ns : ev->received_ns;
		const char *svc = NULL;
		int code;

		if (rfx_otpl_render(g->t_host, ev, NULL, &g->b_host, NULL) != 0 ||
		    rfx_otpl_render(g->t_service, ev, NULL, &g->b_service, NULL) != 0 ||
		    rfx_otpl_render(g->t_output, ev, NULL, &g->b_output, NULL) != 0) {
			snprintf(msg, sizeof msg, "out of memory rendering");
			goto out;
		}
		if (g->cfg->mode != NG_HOST)
			svc = g->b_service.data;
		if (g->cfg->mode == NG_SERVICE && (svc == NULL || svc[0] == '\0')) {
			snprintf(msg, sizeof msg, "event %s: the service template renders empty "
				 "(mode: service)", ev->id);
			res = RFX_FAIL;
			goto out;
		}
		lines[k] = malloc(NG_LINE_MAX + 1);
		if (lines[k] == NULL) {
			snprintf(msg, sizeof msg, "out of memory");
			goto out;
		}
		code = ng_code(ev, g->crit, g->warn);
		if (svc == NULL || svc[0] == '\0')
			code = ng_host_state(code);
		if (ng_format(lines[k], ns ? ns / 1000000000 : g->host->now_ns() / 1000000000,
			      g->b_host.data, svc, code, g->b_output.data, g->b_output.len) < 0) {
			snprintf(msg, sizeof msg, "event %s: the host template renders empty", ev->id);
			free(lines[k]);
			lines[k] = NULL;
			res = RFX_FAIL;
			goto out;
		}
		k++;
	}
	res = ng_write(g, lines, k, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		g->host->metric_add(g->sent, (double)k);
	} else {
		g->host->metric_add(res == RFX_RETRY ? g->retried : g->failed, 1);
		if (rec->delivery != NULL) {
			rec->delivery->retry_after_ms = 0;
			snprintf(rec->delivery->error, sizeof rec->delivery->error, "%s", msg);
		}
		g->host->log(g->inst, RFX_LOG_WARNING, "%s (%s)", msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	for (size_t i = 0; lines != NULL && i < k; i++)
		free(lines[i]);
	free(lines);
	return res;
}

static void ng_destroy(void *state)
{
	struct ng_out *g = state;

	if (g == NULL)
		return;
	rfx_otpl_free(g->t_host);
	rfx_otpl_free(g->t_service);
	rfx_otpl_free(g->t_output);
	rfx_otpl_buf_free(&g->b_host);
	rfx_otpl_buf_free(&g->b_service);
	rfx_otpl_buf_free(&g->b_output);
	free(g);
}

static int compile(const char *opt, const char *src, size_t max, rfx_otpl **out, char *err,
		   size_t errlen)
{
	struct rfx_otpl_error e;
	char where[200];

	*out = rfx_otpl_compile(src, RFX_OTPL_ESC_NONE, max, &e);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&e, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

static int ng_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		   char *err, size_t errlen)
{
	const struct ng_config *cfg = config;
	struct ng_out *g;
	int rc;

	g = calloc(1, sizeof *g);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	g->inst = inst;
	g->host = host;
	g->cfg = cfg;
	rc = RFX_EINVAL;
	g->crit = host->severity_parse(cfg->critical_severity);
	g->warn = host->severity_parse(cfg->warning_severity);
	if (g->crit < 0 || g->warn < 0 || g->warn < g->crit) {
		snprintf(err, errlen, "critical_severity and warning_severity: severity names "
			 "(emergency ... debug), warning_severity not more severe than "
			 "critical_severity");
		goto fail;
	}
	if (cfg->command_file[0] != '/') {
		snprintf(err, errlen, "command_file: an absolute path, e.g. "
			 "/var/lib/nagios4/rw/nagios.cmd");
		goto fail;
	}
	if ((rc = compile("host", cfg->host, NG_NAME_BYTES, &g->t_host, err, errlen)) != 0 ||
	    (rc = compile("service", cfg->service, NG_NAME_BYTES, &g->t_service, err, errlen)) != 0 ||
	    (rc = compile("output", cfg->output, NG_LINE_MAX, &g->t_output, err, errlen)) != 0)
		goto fail;
	rc = RFX_ENOMEM;
	g->sent = host->counter(inst, "sent_total", "Check results written");
	g->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	g->failed = host->counter(inst, "failed_total", "Records that cannot be written (FAIL)");
	if (g->sent == NULL || g->retried == NULL || g->failed == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = g;
	return 0;
fail:
	ng_destroy(g);
	return rc;
}

static const rfx_option ng_options[] = {
	{
		.name = "command_file",
		.type = RFX_OPT_STRING,
		.default_value = "/var/lib/nagios4/rw/nagios.cmd",
		.description = "Nagios' external command file (command_file in nagios.cfg), a FIFO.",
		.offset = offsetof(struct ng_config, command_file),
	},
	{
		.name = "mode",
		.type = RFX_OPT_ENUM,
		.default_value = "auto",
		.enum_values = ng_modes,
		.description = "auto: a service check result when the service template renders "
			       "something, else a host check result; service or host: always that.",
		.offset = offsetof(struct ng_config, mode),
	},
	{
		.name = "host",
		.type = RFX_OPT_STRING,
		.default_value = "{{host}}",
		.description = "Template of the Nagios host_name.",
		.offset = offsetof(struct ng_config, host),
	},
	{
		.name = "service",
		.type = RFX_OPT_STRING,
		.default_value = "{{#service}}{{service}}{{/service}}{{^service}}{{check}}{{/service}}",
		.description = "Template of the service_description.",
		.offset = offsetof(struct ng_config, service),
	},
	{
		.name = "output",
		.type = RFX_OPT_STRING,
		.default_value = "{{#message}}{{message}}{{/message}}{{^message}}{{check}} is "
				 "{{status}} ({{severity}}){{/message}}",
		.description = "Template of the plugin output; newlines become \\n (long output), "
			       "'|' starts performance data as with any plugin.",
		.offset = offsetof(struct ng_config, output),
	},
	{
		.name = "critical_severity",
		.type = RFX_OPT_STRING,
		.default_value = "critical",
		.description = "Firing events this severe or more are CRITICAL (2).",
		.offset = offsetof(struct ng_config, critical_severity),
	},
	{
		.name = "warning_severity",
		.type = RFX_OPT_STRING,
		.default_value = "warning",
		.description = "Firing events this severe or more (but under critical_severity) are "
			       "WARNING (1); less severe ones OK (0).",
		.offset = offsetof(struct ng_config, warning_severity),
	},
	RFX_OPTION_END,
};

static const rfx_plugin ng_plugin = {
	RFX_PLUGIN_ABI,
	.name = "nagios",
	.version = "1.0.0",
	.description = "Submits events as passive check results to Nagios' external command "
		       "file.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.options = ng_options,
	.config_size = sizeof(struct ng_config),
	.init = ng_init,
	.handle = ng_handle,
	.destroy = ng_destroy,
};

RFX_PLUGIN_DEFINE(ng_plugin)
