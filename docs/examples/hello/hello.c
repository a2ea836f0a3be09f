/*
 * docs/examples/hello/hello.c - "hello", an example output plugin built out
 * of tree against the installed SDK (see README.md and docs/plugin-guide.md).
 *
 * For every event at least as severe as `min_severity` it appends one line
 *     PREFIX HOST CHECK SEVERITY
 * to `path`, a file under the agent's data directory. It shows the parts
 * every plugin has: an option table the core validates and fills a config
 * struct from, init() checking what the schema cannot, state owned by the
 * plugin, host->log, a counter metric, and RFX_OK / RFX_RETRY results that
 * leave retrying to the core.
 *
 * Threads: init/stop/destroy run on the main thread; handle() runs on this
 * output's delivery thread, one call at a time, so the state needs no lock.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <reflex/plugin.h>

/* Bounds a line: longer host or check names are cut, never the newline. */
#define HELLO_FIELD_MAX 512
#define HELLO_LINE_MAX (3 * HELLO_FIELD_MAX + 64)

/* Filled by the core from the YAML instance mapping; borrowed by us. */
struct hello_config {
	char *prefix;
	int min_severity; /* index into hello_severities == syslog number */
	char *path;
};

struct hello {
	rfx_instance *inst;
	const rfx_host *host;
	const struct hello_config *cfg;
	char *file; /* data_dir/path, ours */
	int fd;
	rfx_metric *lines;
	rfx_metric *skipped;
};

/* In syslog order, so the enum index is the severity number. */
static const char *const hello_severities[] = {
	"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", NULL,
};

/* A relative path that stays inside the data directory. */
static bool hello_path_ok(const char *p)
{
	const char *seg = p;

	if (p[0] == '\0' || p[0] == '/')
		return false;
	for (;;) {
		size_t len = strcspn(seg, "/");
		if (len == 2 && seg[0] == '.' && seg[1] == '.')
			return false;
		if (seg[len] == '\0')
			return true;
		seg += len + 1;
	}
}

static const char *hello_or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static rfx_result hello_handle(void *state, const rfx_record *rec)
{
	struct hello *h = state;
	const rfx_event *ev;
	char line[HELLO_LINE_MAX];
	off_t end;
	ssize_t n;
	int len;

	if (rec->type != RFX_REC_EVENT || rec->u.event == NULL)
		return RFX_DROP;
	ev = rec->u.event; /* borrowed for this call only */

	/* A configured filter is a successful delivery, not a drop: the core
	 * logs every RFX_DROP as an undelivered event. */
	if (ev->severity > h->cfg->min_severity) {
		h->host->metric_add(h->skipped, 1);
		return RFX_OK;
	}
	len = snprintf(line, sizeof line, "%.*s %.*s %.*s %s\n", HELLO_FIELD_MAX, h->cfg->prefix,
		       HELLO_FIELD_MAX, hello_or_dash(rfx_event_host(ev)), HELLO_FIELD_MAX,
		       hello_or_dash(rfx_event_check(ev)), h->host->severity_name(ev->severity));
	if (len < 0 || (size_t)len >= sizeof line)
		return RFX_FAIL; /* cannot happen with the bounds above */

	/* One write() per line; if it comes up short, cut the partial line
	 * off again so the retry the core schedules leaves no torn line. */
	end = lseek(h->fd, 0, SEEK_END);
	n = write(h->fd, line, (size_t)len);
	if (n == len) {
		h->host->metric_add(h->lines, 1);
		return RFX_OK;
	}
	h->host->log(h->inst, RFX_LOG_WARNING, "%s: write failed: %s", h->file,
		     n < 0 ? strerror(errno) : "short write");
	if (n > 0 && end >= 0 && ftruncate(h->fd, end) != 0)
		h->host->log(h->inst, RFX_LOG_ERROR, "%s: cannot remove a partial line: %s",
			     h->file, strerror(errno));
	return RFX_RETRY;
}

static int hello_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		      char *err, size_t errlen)
{
	const struct hello_config *cfg = config;
	struct hello *h = NULL;
	int rc;

	/* The schema made sure `path` is there; what it cannot know is that
	 * the file must stay inside the data directory. */
	if (!hello_path_ok(cfg->path)) {
		snprintf(err, errlen,
			 "path: '%s' must be a relative path inside the data directory "
			 "(no leading '/', no '..')", cfg->path);
		return RFX_EINVAL;
	}
	if (strchr(cfg->prefix, '\n') != NULL) {
		snprintf(err, errlen, "prefix: must be a single line");
		return RFX_EINVAL;
	}
	h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	h->inst = inst;
	h->host = host;
	h->cfg = cfg;
	h->fd = -1;
	if (asprintf(&h->file, "%s/%s", host->data_dir(inst), cfg->path) < 0) {
		h->file = NULL;
		snprintf(err, errlen, "out of memory");
		rc = RFX_ENOMEM;
		goto fail;
	}
	h->lines = host->counter(inst, "lines_total", "Lines appended to the hello file");
	h->skipped = host->counter(inst, "skipped_total",
				   "Events less severe than min_severity, not written");
	if (h->lines == NULL || h->skipped == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		rc = RFX_ENOMEM;
		goto fail;
	}
	/* Opening here turns a bad directory or permission into a startup
	 * error with the config position, not a stream of failed deliveries. */
	h->fd = open(h->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (h->fd < 0) {
		snprintf(err, errlen, "path: cannot open %s: %s", h->file, strerror(errno));
		rc = RFX_EIO;
		goto fail;
	}
	host->log(inst, RFX_LOG_INFO, "appending events at least as severe as %s to %s",
		  hello_severities[cfg->min_severity], h->file);
	*state = h;
	return 0;
fail:
	free(h->file);
	free(h);
	return rc;
}

/* Runs after the core delivered everything queued for this output. */
static void hello_stop(void *state)
{
	struct hello *h = state;

	if (h->fd >= 0 && fdatasync(h->fd) != 0)
		h->host->log(h->inst, RFX_LOG_WARNING, "%s: fdatasync: %s", h->file,
			     strerror(errno));
}

static void hello_destroy(void *state)
{
	struct hello *h = state;

	if (h->fd >= 0)
		close(h->fd);
	free(h->file);
	free(h);
}

static const rfx_option hello_options[] = {
	{
		.name = "path",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "File the lines are appended to, relative to agent.data_dir "
			       "(which it may not leave).",
		.offset = offsetof(struct hello_config, path),
	},
	{
		.name = "prefix",
		.type = RFX_OPT_STRING,
		.default_value = "hello",
		.description = "First word of every line.",
		.offset = offsetof(struct hello_config, prefix),
	},
	{
		.name = "min_severity",
		.type = RFX_OPT_ENUM,
		.default_value = "info",
		.enum_values = hello_severities,
		.description = "Least severe event written; less severe ones are counted in "
			       "skipped_total and not written.",
		.offset = offsetof(struct hello_config, min_severity),
	},
	RFX_OPTION_END,
};

static const rfx_plugin hello_plugin = {
	RFX_PLUGIN_ABI,
	.name = "hello",
	.version = "1.0.0",
	.description = "Example out-of-tree output: appends 'PREFIX host check severity' "
		       "lines to a file.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT,
	.options = hello_options,
	.config_size = sizeof(struct hello_config),
	.init = hello_init,
	.handle = hello_handle,
	.stop = hello_stop,
	.destroy = hello_destroy,
};

RFX_PLUGIN_DEFINE(hello_plugin)
