/*
 * plugins/outputs/stdout/stdout.c - the stdout output: writes each event as
 * JSON to standard output, one object per line (or pretty-printed), for
 * debugging pipelines and for running under a supervisor that collects
 * stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

struct stdout_config {
	bool pretty;
	bool flush;
};

struct stdout_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct stdout_config *cfg; /* borrowed from the core */
	FILE *out; /* stdout; a field so the stream is chosen in one place */
};

static rfx_result stdout_handle(void *state, const rfx_record *rec)
{
	struct stdout_out *s = state;
	struct json_object *obj;
	const char *text;
	size_t len;
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
	rfx_result res = RFX_OK;
	int failed, err = 0;

	if (rec->type != RFX_REC_EVENT || rec->u.event == NULL)
		return RFX_DROP;
	obj = s->host->event_to_json(rec->u.event);
	if (obj == NULL) {
		s->host->log(s->inst, RFX_LOG_WARNING, "cannot render event as JSON (out of memory)");
		return RFX_RETRY;
	}
	flags |= s->cfg->pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN;
	text = json_object_to_json_string_length(obj, flags, &len);
	if (text == NULL) {
		res = RFX_RETRY;
		goto out;
	}

	/* The stdio stream lock makes the object and its newline one unit:
	 * every stdout instance (and any other stdio writer in the process)
	 * shares this one stream, so a per-instance mutex would not be enough
	 * to keep lines from interleaving. The lock is recursive, so the
	 * locking stdio calls below simply take it again. */
	flockfile(s->out);
	failed = fwrite(text, 1, len, s->out) != len ||
		 putc('\n', s->out) == EOF ||
		 (s->cfg->flush && fflush(s->out) != 0);
	if (failed) {
		err = errno;
		clearerr(s->out);
	}
	funlockfile(s->out);

	if (failed) {
		/* A closed stdout or broken pipe will not heal: do not retry. */
		res = (err == EPIPE || err == EBADF) ? RFX_FAIL : RFX_RETRY;
		s->host->log(s->inst, RFX_LOG_WARNING, "cannot write to stdout: %s",
			     strerror(err));
	}
out:
	json_object_put(obj);
	return res;
}

static int stdout_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		       char *err, size_t errlen)
{
	struct stdout_out *s = calloc(1, sizeof *s);

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	s->inst = inst;
	s->host = host;
	s->cfg = config;
	s->out = stdout;
	*state = s;
	return 0;
}

static void stdout_stop(void *state)
{
	struct stdout_out *s = state;

	fflush(s->out);
}

static void stdout_destroy(void *state)
{
	free(state);
}

static const rfx_option stdout_options[] = {
	{
		.name = "pretty",
		.type = RFX_OPT_BOOL,
		.default_value = "false",
		.description = "Pretty-print each event over several indented lines instead of "
			       "one compact JSON line.",
		.offset = offsetof(struct stdout_config, pretty),
	},
	{
		.name = "flush",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Flush stdout after every event, so a pipe or log collector sees "
			       "it at once. false buffers for throughput.",
		.offset = offsetof(struct stdout_config, flush),
	},
	RFX_OPTION_END,
};

static const rfx_plugin stdout_plugin = {
	RFX_PLUGIN_ABI,
	.name = "stdout",
	.version = "1.0.0",
	.description = "Writes events as JSON to standard output, one per line.",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT,
	.emits = 0,
	.caps = 0,
	.options = stdout_options,
	.config_size = sizeof(struct stdout_config),
	.init = stdout_init,
	.handle = stdout_handle,
	.stop = stdout_stop,
	.destroy = stdout_destroy,
};

RFX_PLUGIN_DEFINE(stdout_plugin)
