/*
 * plugins/outputs/zabbix/zabbix.c - the Zabbix output: sends events as
 * values of trapper items with the Zabbix sender protocol (what
 * zabbix_sender speaks): a TCP connection to the server or proxy (port
 * 10051), a packet "ZBXD" 0x01 + 4-byte little-endian data length + 4
 * reserved zero bytes (Zabbix 4.0+) + JSON
 *   {"request":"sender data","data":[{"host","key","value","clock","ns"}]}
 * and the answer {"response":"success","info":"processed: 1; failed: 0;
 * total: 1; seconds spent: ..."} in the same framing. A value the server
 * did not process (failed > 0: unknown host or item, not a trapper item,
 * sender not allowed) is a permanent failure; no connection or no answer
 * is transient. One attempt per handle(): the core owns retries.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "../../common/template.h"

#define ZBX_HEADER_LEN 13
#define ZBX_FLAG_PROTOCOL 0x01
#define ZBX_MAX_ANSWER (64 * 1024)
#define ZBX_MAX_VALUES 1000
#define ZBX_VALUE_BYTES 65536 /* Zabbix text items hold 64 KiB */
#define ZBX_NAME_BYTES 2048
#define ZBX_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct zbx_config {
	char *server;
	int64_t port;
	char *host;
	char *key;
	char *value;
	int64_t timeout_ms;
};

struct zbx_out {
	rfx_instance *inst;
	const rfx_host *host;
	const struct zbx_config *cfg;
	rfx_otpl *t_host, *t_key, *t_value;
	struct rfx_otpl_buf buf; /* handle() is serial */
	rfx_metric *sent, *failed, *retried;
};

/* Frames json (len bytes) as a sender packet into out (len + 13 bytes). */
static void zbx_frame(const char *json, size_t len, unsigned char *out)
{
	memcpy(out, "ZBXD", 4);
	out[4] = ZBX_FLAG_PROTOCOL;
	for (int i = 0; i < 4; i++)
		out[5 + i] = (unsigned char)((uint32_t)len >> (8 * i));
	memset(out + 9, 0, 4); /* reserved: the uncompressed size, 0 when not compressed */
	memcpy(out + ZBX_HEADER_LEN, json, len);
}

/* Reads the counts out of "processed: 1; failed: 0; total: 1; ...". */
static int zbx_info(const char *info, long *processed, long *failed, long *total)
{
	const char *p = strstr(info, "processed: "), *f = strstr(info, "failed: "),
		   *t = strstr(info, "total: ");

	if (p == NULL || f == NULL || t == NULL)
		return RFX_EINVAL;
	*processed = strtol(p + 11, NULL, 10);
	*failed = strtol(f + 8, NULL, 10);
	*total = strtol(t + 7, NULL, 10);
	return 0;
}

/*
 * Reads an answer (header + JSON) and decides: success with failed == 0
 * OK; a refusal or failed > 0 FAIL with the server's info in msg.
 */
static rfx_result zbx_answer(const unsigned char *buf, size_t len, size_t nvalues, char *msg,
			     size_t msglen)
{
	struct json_object *o = NULL, *v;
	const char *resp, *info = "";
	uint32_t dl;
	long processed = 0, failed = 0, total = 0;
	rfx_result res = RFX_FAIL;

	if (len < ZBX_HEADER_LEN || memcmp(buf, "ZBXD", 4) != 0) {
		snprintf(msg, msglen, "the answer is not a Zabbix packet (is the port a trapper?)");
		return RFX_FAIL;
	}
	if (buf[4] != ZBX_FLAG_PROTOCOL) {
		snprintf(msg, msglen, "unsupported Zabbix answer flags 0x%02x", buf[4]);
		return RFX_FAIL;
	}
	dl = (uint32_t)buf[5] | (uint32_t)buf[6] << 8 | (uint32_t)buf[7] << 16 |
	     (uint32_t)buf[8] << 24;
	if (dl != len - ZBX_HEADER_LEN) {
		snprintf(msg, msglen, "a truncated Zabbix answer (%zu of %" PRIu32 " bytes)",
			 len - ZBX_HEADER_LEN, dl);
		return RFX_RETRY;
	}
	o = json_tokener_parse((const char *)buf + ZBX_HEADER_LEN);
	if (o == NULL || !json_object_object_get_ex(o, "response", &v) ||
	    (resp = json_object_get_string(v)) == NULL) {
		snprintf(msg, msglen, "a Zabbix answer without a response");
		goto out;
	}
	if (json_object_object_get_ex(o, "info", &v) && json_object_get_string(v) != NULL)
		info = json_object_get_string(v);
	if (strcmp(resp, "success") != 0) {
		snprintf(msg, msglen, "Zabbix answered %.40s: %.180s", resp, info);
		goto out;
	}
	if (zbx_info(info, &processed, &failed, &total) != 0) {
		snprintf(msg, msglen, "Zabbix answered success without counts: %.180s", info);
		goto out;
	}
	if (failed > 0 || processed < (long)nvalues) {
		/* cut to fit delivery->error; the hint matters more than the tail */
		if (snprintf(msg, msglen, "Zabbix did not process %ld of %zu value(s): %.100s (is "
			     "the host monitored, the item a trapper item, the sender allowed?)",
			     failed > 0 ? failed : (long)nvalues - processed, nvalues,
			     info) >= (int)msglen)
			msg[msglen - 1] = '\0';
		goto out;
	}
	res = RFX_OK;
out:
	json_object_put(o);
	return res;
}

/* Waits for fd to be ready for ev until the deadline (monotonic ms). */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct timespec ts;
	struct pollfd p = {.fd = fd, .events = ev};
	int64_t now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (now >= deadline)
		return RFX_ETIMEDOUT;
	do
		r = poll(&p, 1, (int)(deadline - now));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return RFX_ETIMEDOUT;
	return r < 0 ? RFX_EIO : 0;
}

/* Connects, sends the packet, reads the answer into *ans (malloc'd). */
static rfx_result zbx_exchange(struct zbx_out *z, const unsigned char *pkt, size_t plen,
			       unsigned char **ans, size_t *alen, char *msg, size_t msglen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	struct timespec ts;
	char port[16];
	unsigned char *buf = NULL;
	size_t off = 0, want = ZBX_HEADER_LEN;
	int64_t deadline;
	int fd = -1, rc, err = 0;
	rfx_result res = RFX_RETRY;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + z->cfg->timeout_ms;
	snprintf(port, sizeof port, "%" PRId64, z->cfg->port);
	rc = getaddrinfo(z->cfg->server, port, &hints, &ai);
	if (rc != 0) {
		snprintf(msg, msglen, "%s: %s", z->cfg->server, gai_strerror(rc));
		return RFX_RETRY;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		socklen_t sl = sizeof err;

		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
			break;
		if (err == EINPROGRESS)
			err = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(msg, msglen, "connecting to %s:%s: %s", z->cfg->server, port,
			 strerror(err ? err : ECONNREFUSED));
		return RFX_RETRY;
	}
	while (off < plen) {
		ssize_t w = send(fd, pkt + off, plen - off, MSG_NOSIGNAL);

		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
				goto io_error;
		} else {
			rc = RFX_EIO;
			goto io_error;
		}
	}
	buf = malloc(ZBX_MAX_ANSWER + 1);
	if (buf == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto out;
	}
	off = 0;
	while (off < want) {
		ssize_t r = recv(fd, buf + off, want - off, 0);

		if (r > 0) {
			off += (size_t)r;
			if (off == ZBX_HEADER_LEN && want == ZBX_HEADER_LEN &&
			    memcmp(buf, "ZBXD", 4) == 0) {
				uint32_t dl = (uint32_t)buf[5] | (uint32_t)buf[6] << 8 |
					      (uint32_t)buf[7] << 16 | (uint32_t)buf[8] << 24;

				want = ZBX_HEADER_LEN + (dl < ZBX_MAX_ANSWER - ZBX_HEADER_LEN
								 ? dl : ZBX_MAX_ANSWER - ZBX_HEADER_LEN);
			}
		} else if (r == 0) {
			break; /* closed: what came is judged below */
		} else if (errno == EAGAIN || errno == EINTR) {
			if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
				goto io_error;
		} else {
			rc = RFX_EIO;
			goto io_error;
		}
	}
	if (off == 0) {
		snprintf(msg, msglen, "%s:%s closed the connection without an answer",
			 z->cfg->server, port);
		goto out;
	}
	buf[off] = '\0';
	*ans = buf;
	*alen = off;
	buf = NULL;
	res = RFX_OK;
	goto out;
io_error:
	snprintf(msg, msglen, "%s:%s: %s", z->cfg->server, port,
		 rc == RFX_ETIMEDOUT ? "no answer within timeout" : strerror(errno));
out:
	free(buf);
	close(fd);
	return res;
}

/* The data entry of one event. */
static int add_value(struct zbx_out *z, struct json_object *data, const rfx_event *ev)
{
	struct json_object *d = json_object_new_object();
	int64_t ns = ev->occurred_ns ? ev->occurred_ns : ev->received_ns;

	if (d == NULL)
		return RFX_ENOMEM;
	if (ns == 0)
		ns = z->host->now_ns();
	json_object_array_add(data, d);
	if (rfx_otpl_render(z->t_host, ev, NULL, &z->buf, NULL) != 0)
		return RFX_ENOMEM;
	if (z->buf.len == 0)
		return RFX_EINVAL;
	json_object_object_add(d, "host", json_object_new_string_len(z->buf.data, (int)z->buf.len));
	if (rfx_otpl_render(z->t_key, ev, NULL, &z->buf, NULL) != 0)
		return RFX_ENOMEM;
	if (z->buf.len == 0)
		return RFX_EINVAL;
	json_object_object_add(d, "key", json_object_new_string_len(z->buf.data, (int)z->buf.len));
	if (rfx_otpl_render(z->t_value, ev, NULL, &z->buf, NULL) != 0)
		return RFX_ENOMEM;
	json_object_object_add(d, "value", json_object_new_string_len(z->buf.data, (int)z->buf.len));
	json_object_object_add(d, "clock", json_object_new_int64(ns / 1000000000));
	json_object_object_add(d, "ns", json_object_new_int64(ns % 1000000000));
	return 0;
}

static rfx_result zbx_handle(void *state, const rfx_record *rec)
{
	struct zbx_out *z = state;
	const rfx_notice *nt = rec->type == RFX_REC_NOTICE ? rec->u.notice : NULL;
	size_t n = nt != NULL ? nt->nevents : 1, jlen;
	struct json_object *req = NULL, *data;
	unsigned char *pkt = NULL, *ans = NULL;
	size_t alen = 0;
	const char *json;
	char msg[256] = "";
	int64_t now = z->host->now_ns();
	rfx_result res = RFX_RETRY;
	int rc = 0;

	if ((rec->type != RFX_REC_EVENT && rec->type != RFX_REC_NOTICE) || rec->u.other == NULL)
		return RFX_DROP;
	if (n == 0)
		return RFX_DROP;
	if (n > ZBX_MAX_VALUES) {
		snprintf(msg, sizeof msg, "a notice of %zu events (at most %d values per request)", n,
			 ZBX_MAX_VALUES);
		res = RFX_FAIL;
		goto out;
	}
	req = json_object_new_object();
	data = json_object_new_array();
	if (req == NULL || data == NULL) {
		json_object_put(data);
		snprintf(msg, sizeof msg, "out of memory");
		goto out;
	}
	json_object_object_add(req, "request", json_object_new_string("sender data"));
	json_object_object_add(req, "data", data);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_value(z, data, nt != NULL ? nt->events[i] : rec->u.event);
	if (rc != 0) {
		snprintf(msg, sizeof msg, rc == RFX_EINVAL ? "the host or key template renders empty"
							   : "out of memory");
		res = rc == RFX_EINVAL ? RFX_FAIL : RFX_RETRY;
		goto out;
	}
	json_object_object_add(req, "clock", json_object_new_int64(now / 1000000000));
	json_object_object_add(req, "ns", json_object_new_int64(now % 1000000000));
	json = json_object_to_json_string_length(req, ZBX_JSON_FLAGS, &jlen);
	if (json == NULL || jlen > UINT32_MAX - ZBX_HEADER_LEN ||
	    (pkt = malloc(jlen + ZBX_HEADER_LEN)) == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		goto out;
	}
	zbx_frame(json, jlen, pkt);
	res = zbx_exchange(z, pkt, jlen + ZBX_HEADER_LEN, &ans, &alen, msg, sizeof msg);
	if (res == RFX_OK)
		res = zbx_answer(ans, alen, n, msg, sizeof msg);
out:
	if (res == RFX_OK) {
		z->host->metric_add(z->sent, (double)n);
	} else {
		z->host->metric_add(res == RFX_RETRY ? z->retried : z->failed, 1);
		if (rec->delivery != NULL) {
			rec->delivery->retry_after_ms = 0;
			snprintf(rec->delivery->error, sizeof rec->delivery->error, "%s", msg);
		}
		z->host->log(z->inst, RFX_LOG_WARNING, "%s (%s)", msg,
			     res == RFX_RETRY ? "will retry" : "not retried");
	}
	free(ans);
	free(pkt);
	json_object_put(req);
	return res;
}

static void zbx_destroy(void *state)
{
	struct zbx_out *z = state;

	if (z == NULL)
		return;
	rfx_otpl_free(z->t_host);
	rfx_otpl_free(z->t_key);
	rfx_otpl_free(z->t_value);
	rfx_otpl_buf_free(&z->buf);
	free(z);
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

static int zbx_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		    char *err, size_t errlen)
{
	const struct zbx_config *cfg = config;
	struct zbx_out *z;
	int rc;

	if (cfg->server[0] == '\0' || strpbrk(cfg->server, " /") != NULL) {
		snprintf(err, errlen, "server: a host name or address (the port goes in port), "
			 "e.g. zabbix.example.com");
		return RFX_EINVAL;
	}
	z = calloc(1, sizeof *z);
	if (z == NULL) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	z->inst = inst;
	z->host = host;
	z->cfg = cfg;
	if ((rc = compile("host", cfg->host, ZBX_NAME_BYTES, &z->t_host, err, errlen)) != 0 ||
	    (rc = compile("key", cfg->key, ZBX_NAME_BYTES, &z->t_key, err, errlen)) != 0 ||
	    (rc = compile("value", cfg->value, ZBX_VALUE_BYTES, &z->t_value, err, errlen)) != 0)
		goto fail;
	rc = RFX_ENOMEM;
	z->sent = host->counter(inst, "sent_total", "Values Zabbix processed");
	z->failed = host->counter(inst, "failed_total", "Requests refused for good (FAIL)");
	z->retried = host->counter(inst, "retry_total", "Attempts that failed transiently (RETRY)");
	if (z->sent == NULL || z->failed == NULL || z->retried == NULL) {
		snprintf(err, errlen, "cannot register metrics");
		goto fail;
	}
	*state = z;
	return 0;
fail:
	zbx_destroy(z);
	return rc;
}

static const rfx_option zbx_options[] = {
	{
		.name = "server",
		.type = RFX_OPT_STRING,
		.default_value = "localhost",
		.description = "Zabbix server or proxy (host name or address).",
		.offset = offsetof(struct zbx_config, server),
	},
	{
		.name = "port",
		.type = RFX_OPT_INT,
		.default_value = "10051",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 65535,
		.description = "Its trapper port.",
		.offset = offsetof(struct zbx_config, port),
	},
	{
		.name = "host",
		.type = RFX_OPT_STRING,
		.default_value = "{{host}}",
		.description = "Template of the Zabbix host name (the host's technical name).",
		.offset = offsetof(struct zbx_config, host),
	},
	{
		.name = "key",
		.type = RFX_OPT_STRING,
		.default_value = "reflex.event",
		.description = "Template of the trapper item key, e.g. 'reflex.event[{{check}}]'.",
		.offset = offsetof(struct zbx_config, key),
	},
	{
		.name = "value",
		.type = RFX_OPT_STRING,
		.default_value = "[{{status}}] {{severity}}: {{check}}{{#message}} - {{message}}"
				 "{{/message}}",
		.description = "Template of the value (a text item; '{{severity_num}}' for a "
			       "numeric one). At most 64 KiB.",
		.offset = offsetof(struct zbx_config, value),
	},
	{
		.name = "timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "5s",
		.flags = RFX_OPT_RANGE,
		.min = 100,
		.max = 300000,
		.description = "Connecting, sending and the answer together.",
		.offset = offsetof(struct zbx_config, timeout_ms),
	},
	RFX_OPTION_END,
};

static const rfx_plugin zbx_plugin = {
	RFX_PLUGIN_ABI,
	.name = "zabbix",
	.version = "1.0.0",
	.description = "Sends events as trapper item values (Zabbix sender protocol).",
	.kind = RFX_KIND_OUTPUT,
	.accepts = RFX_REC_EVENT | RFX_REC_NOTICE,
	.options = zbx_options,
	.config_size = sizeof(struct zbx_config),
	.init = zbx_init,
	.handle = zbx_handle,
	.destroy = zbx_destroy,
};

RFX_PLUGIN_DEFINE(zbx_plugin)
