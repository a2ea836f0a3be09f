/*
 * plugins/outputs/file/file.c - the file output: appends each event as one
 * line of JSON to a file, rotating it by size (path -> path.1 -> ... ->
 * path.N, the oldest dropped).
 *
 * handle() of one instance runs on one thread at a time, so the state needs
 * no lock. Failed writes return RFX_RETRY (the core retries with backoff); a
 * partly written line is cut off again first so a retry never leaves a torn
 * line in the file.
 */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

struct file_config {
	char *path;
	uint64_t max_size;
	int64_t max_files;
	bool fsync;
	char *mode;
};

struct file_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct file_config *cfg; /* borrowed from the core */
	char *path;   /* absolute or data_dir-relative resolved path */
	mode_t mode;
	int fd;       /* -1 while closed (after a failed rotation or stop) */
	uint64_t size; /* bytes in the current file */
	rfx_metric *lines;
	rfx_metric *errors;
	rfx_metric *rotations;
};

#define FILE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parses an octal permission string ("0640", "640"). 0 or -1. */
static int file_parse_mode(const char *s, mode_t *out)
{
	unsigned long v = 0;
	size_t n = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '7' || n >= 5)
			return -1;
		v = v * 8 + (unsigned long)(s[n] - '0');
	}
	if (v > 07777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

/* Opens (creating with the configured mode) the current file and reads its
 * size. 0 or a negative errno. */
static int file_open(struct file_out *f)
{
	struct stat st;
	int fd;

	fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, f->mode);
	if (fd >= 0) {
		/* We created it: apply the mode exactly, whatever the umask. An
		 * existing file keeps the permissions the operator gave it. */
		if (fchmod(fd, f->mode) != 0)
			f->host->log(f->inst, RFX_LOG_WARNING, "%s: cannot set mode %04o: %s",
				     f->path, (unsigned)f->mode, strerror(errno));
	} else if (errno == EEXIST) {
		fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	return 0;
}

static void file_close(struct file_out *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* "path.N" into buf. 0 or -1 when it does not fit. */
static int file_numbered(const struct file_out *f, int64_t i, char *buf, size_t len)
{
	int r = snprintf(buf, len, "%s.%lld", f->path, (long long)i);

	return r < 0 || (size_t)r >= len ? -1 : 0;
}

/*
 * Shifts path.(N-1) .. path.1 up by one (the rename onto path.N drops the
 * oldest), moves path to path.1 and opens a fresh path. With max_files 0 the
 * current file is removed instead. Returns 0 or a negative errno; the file
 * is closed on return only if reopening failed.
 */
static int file_rotate(struct file_out *f)
{
	char from[PATH_MAX], to[PATH_MAX];
	int64_t n = f->cfg->max_files;

	file_close(f);
	for (int64_t i = n - 1; i >= 1; i--) {
		if (file_numbered(f, i, from, sizeof from) != 0 ||
		    file_numbered(f, i + 1, to, sizeof to) != 0)
			return -ENAMETOOLONG;
		if (rename(from, to) != 0 && errno != ENOENT)
			f->host->log(f->inst, RFX_LOG_WARNING, "rotate: cannot rename %s to %s: %s",
				     from, to, strerror(errno));
	}
	if (n == 0) {
		if (unlink(f->path) != 0 && errno != ENOENT)
			f->host->log(f->inst, RFX_LOG_WARNING, "rotate: cannot remove %s: %s",
				     f->path, strerror(errno));
	} else {
		if (file_numbered(f, 1, to, sizeof to) != 0)
			return -ENAMETOOLONG;
		if (rename(f->path, to) != 0 && errno != ENOENT)
			/* Keep appending to the old file rather than lose events;
			 * the next write tries again. */
			f->host->log(f->inst, RFX_LOG_WARNING, "rotate: cannot rename %s to %s: %s",
				     f->path, to, strerror(errno));
	}
	f->host->metric_add(f->rotations, 1);
	return file_open(f);
}

/* Writes all of buf, retrying partial writes and EINTR. 0 or a negative
 * errno; *done says how much reached the file. */
static int file_write_all(int fd, const char *buf, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t w = write(fd, buf + *done, len - *done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		*done += (size_t)w;
	}
	return 0;
}

static rfx_result file_handle(void *state, const rfx_record *rec)
{
	struct file_out *f = state;
	struct json_object *obj = NULL;
	const char *text;
	char *line = NULL;
	size_t len, done = 0;
	rfx_result res = RFX_RETRY;
	int rc;

	if (rec->type != RFX_REC_EVENT || rec->u.event == NULL)
		return RFX_DROP;

	obj = f->host->event_to_json(rec->u.event);
	if (obj == NULL) {
		f->host->log(f->inst, RFX_LOG_WARNING, "cannot render event as JSON (out of memory)");
		goto out;
	}
	text = json_object_to_json_string_length(obj, FILE_JSON_FLAGS, &len);
	if (text == NULL || (line = malloc(len + 1)) == NULL) {
		f->host->log(f->inst, RFX_LOG_WARNING, "cannot render event as JSON (out of memory)");
		goto out;
	}
	memcpy(line, text, len);
	line[len++] = '\n';

	if (f->fd >= 0 && f->cfg->max_size > 0 && f->size > 0 &&
	    f->size + len > f->cfg->max_size) {
		rc = file_rotate(f);
		if (rc != 0) {
			f->host->log(f->inst, RFX_LOG_WARNING, "%s: cannot reopen after rotation: %s",
				     f->path, strerror(-rc));
			goto out;
		}
	}
	if (f->fd < 0) {
		rc = file_open(f);
		if (rc != 0) {
			f->host->log(f->inst, RFX_LOG_WARNING, "%s: cannot open: %s", f->path,
				     strerror(-rc));
			goto out;
		}
	}

	rc = file_write_all(f->fd, line, len, &done);
	if (rc == 0 && f->cfg->fsync && fdatasync(f->fd) != 0)
		rc = -errno;
	if (rc != 0) {
		f->host->log(f->inst, RFX_LOG_WARNING, "%s: write failed: %s", f->path,
			     strerror(-rc));
		/* Cut off what reached the file (a torn line, or a whole one
		 * that failed to sync) so the retry appends exactly one line. */
		if (done > 0 && ftruncate(f->fd, (off_t)f->size) != 0) {
			f->host->log(f->inst, RFX_LOG_WARNING,
				     "%s: cannot remove a partly written line: %s", f->path,
				     strerror(errno));
			f->size += done;
		}
		goto out;
	}
	f->size += len;
	f->host->metric_add(f->lines, 1);
	res = RFX_OK;
out:
	if (res != RFX_OK)
		f->host->metric_add(f->errors, 1);
	free(line);
	json_object_put(obj);
	return res;
}

static int file_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		     char *err, size_t errlen)
{
	const struct file_config *cfg = config;
	struct file_out *f = NULL;
	const char *dir;
	int rc, r;

	if (cfg->path == NULL || cfg->path[0] == '\0') {
		snprintf(err, errlen, "path: required, e.g. path: events.jsonl");
		return RFX_EINVAL;
	}
	if (cfg->max_files < 0 || cfg->max_files > 1000) {
		snprintf(err, errlen, "max_files: %lld is out of range 0..1000",
			 (long long)cfg->max_files);
		return RFX_EINVAL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	f->inst = inst;
	f->host = host;
	f->cfg = cfg;
	f->fd = -1;
	if (file_parse_mode(cfg->mode, &f->mode) != 0) {
		snprintf(err, errlen, "mode: '%s' is not an octal file mode such as 0640",
			 cfg->mode != NULL ? cfg->mode : "");
		rc = RFX_EINVAL;
		goto fail;
	}

	if (cfg->path[0] == '/') {
		r = asprintf(&f->path, "%s", cfg->path);
	} else {
		dir = host->data_dir(inst);
		r = asprintf(&f->path, "%s/%s", dir != NULL ? dir : ".", cfg->path);
	}
	if (r < 0) {
		f->path = NULL;
		snprintf(err, errlen, "out of memory");
		rc = RFX_ENOMEM;
		goto fail;
	}
	/* Room for the largest rotation suffix, so rotation cannot fail on
	 * length later. */
	if (strlen(f->path) + sizeof ".1000" > PATH_MAX) {
		snprintf(err, errlen, "path: '%s' is too long", f->path);
		rc = RFX_EINVAL;
		goto fail;
	}

	f->lines = host->counter(inst, "lines_total", "Events written as JSON lines");
	f->errors = host->counter(inst, "errors_total", "Events whose write failed (retried)");
	f->rotations = host->counter(inst, "rotations_total", "File rotations");
	if (f->lines == NULL || f->errors == NULL || f->rotations == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		rc = RFX_ENOMEM;
		goto fail;
	}

	/* Open now so a bad path or permission is a startup error that names
	 * the file, not a stream of retries later. */
	rc = file_open(f);
	if (rc != 0) {
		snprintf(err, errlen, "path: cannot open %s: %s", f->path, strerror(-rc));
		rc = RFX_EIO;
		goto fail;
	}
	*state = f;
	return 0;
fail:
	free(f->path);
	free(f);
	return rc;
}

static void file_stop(void *state)
{
	file_close(state);
}

static void file_destroy(void *state)
{
	struct file_out *f = state;

	if (f == NULL)
		return;
	file_close(f);
	free(f->path);
	free(f);
}

static const rfx_option file_options[] = {
	{
		.name = "path",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "File to append JSON lines to. A relative path is taken relative "
			       "to the instance's data directory. Created if missing.",
		.offset = offsetof(struct file_config, path),
	},
	{
		.name = "max_size",
		.type = RFX_OPT_SIZE,
		.default_value = "100MiB",
		.description = "Rotate the file before a line would take it past this size. "
			       "0 never rotates.",
		.offset = offsetof(struct file_config, max_size),
	},
	{
		.name = "max_files",
		.type = RFX_OPT_INT,
		.default_value = "5",
		.flags = RFX_OPT_RANGE,
		.min = 0,
		.max = 1000,
		.description = "Rotated files kept as path.1 (newest) .. path.N (oldest); older "
			       "ones are removed. 0 keeps none: rotation starts the file afresh.",
		.offset = offsetof(struct file_config, max_files),
	},
	{
		.name = "fsync",
		.type = RFX_OPT_BOOL,
		.default_value = "false",
		.description = "Flush each line to disk (fdatasync) before reporting it written. "
			       "Safer across power loss, much slower.",
		.offset = offsetof(struct file_config, fsync),
	},
	{
		.name = "mode",
		.type = RFX_OPT_STRING,
		.default_value = "0640",
		.description = "Permissions, in octal, of files this output creates (not applied "
			       "to an existing file).",
		.offset = offsetof(struct file_config, mode),
	},
	RFX_OPTION_END,
};

static const rfx_plugin file_plugin = {
	RFX_PLUGIN_ABI,
	.name = "file",
	.version = "1.0.0",
	.description = "Appends events as JSON lines to a file, rotating it by size.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT,
	.emits = 0,
	.caps = 0,
	.options = file_options,
	.config_size = sizeof(struct file_config),
	.init = file_init,
	.handle = file_handle,
	.stop = file_stop,
	.destroy = file_destroy,
};

RFX_PLUGIN_DEFINE(file_plugin)
