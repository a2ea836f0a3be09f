/*
 * plugins/common/outhttp.h - the HTTP client side every SaaS output and
 * ITSM plugin needs, on libcurl: one client per instance with the standard
 * options (url, timeout, connect_timeout, ca_file, tls_verify, proxy), kept
 * alive connections, bounded responses, Retry-After parsing, the mapping of
 * an HTTP outcome onto rfx_result + rfx_delivery, and redaction of secrets
 * in everything it writes to logs or errors.
 *
 * Compiled into each plugin that uses it (not part of the core ABI).
 * Usage:
 *  - embed struct rfx_outhttp_config in the plugin's config struct and put
 *    RFX_OUTHTTP_OPTIONS(config type, member, default url, url flags) into
 *    the option table;
 *  - init(): rfx_outhttp_new(); register tokens with rfx_outhttp_secret();
 *  - handle(): rfx_outhttp_request(), then rfx_outhttp_result() (or the
 *    plugin's own reading of the body), rfx_outhttp_response_free();
 *  - destroy(): rfx_outhttp_free().
 *
 * Threads: requests may run from several threads at once; each uses a CURL
 * easy handle of its own from a small pool, so connections stay alive per
 * handle without two threads sharing one.
 */
#ifndef RFX_OUTHTTP_H
#define RFX_OUTHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <reflex/plugin.h>

#define RFX_OUTHTTP_HIDDEN __attribute__((visibility("hidden")))

#define RFX_OUTHTTP_MAX_SECRETS 8
#define RFX_OUTHTTP_POOL 8                 /* handles kept for reuse */
#define RFX_OUTHTTP_MAX_RETRY_AFTER_MS (24LL * 3600 * 1000)

struct rfx_outhttp_config {
	char *url;
	int64_t timeout_ms;
	int64_t connect_timeout_ms;
	char *ca_file;
	bool tls_verify;
	char *proxy;
	uint64_t max_response;
};

/*
 * The shared option entries, for a plugin's table:
 *   RFX_OUTHTTP_OPTIONS(struct my_config, http, "https://api.example.com/x", 0),
 * `member` is the struct rfx_outhttp_config inside the plugin's config.
 * url_default NULL with RFX_OPT_REQUIRED in url_flags makes url required.
 */
#define RFX_OUTHTTP_OPTIONS(cfgtype, member, url_default, url_flags)                         \
	{.name = "url", .type = RFX_OPT_STRING, .default_value = (url_default),            \
	 .flags = (url_flags),                                                             \
	 .description = "Endpoint the requests go to (http or https). Logged with its "    \
			"path and query hidden.",                                          \
	 .offset = offsetof(cfgtype, member.url)},                                            \
	{.name = "timeout", .type = RFX_OPT_DURATION, .default_value = "10s",              \
	 .flags = RFX_OPT_RANGE, .min = 100, .max = 300000,                                \
	 .description = "Whole request, connecting included; past it the attempt is "      \
			"retried.",                                                        \
	 .offset = offsetof(cfgtype, member.timeout_ms)},                                     \
	{.name = "connect_timeout", .type = RFX_OPT_DURATION, .default_value = "5s",       \
	 .flags = RFX_OPT_RANGE, .min = 100, .max = 300000,                                \
	 .description = "Connecting (TCP and TLS handshake).",                             \
	 .offset = offsetof(cfgtype, member.connect_timeout_ms)},                             \
	{.name = "ca_file", .type = RFX_OPT_STRING,                                        \
	 .description = "PEM file of CA certificates to verify the server with, instead "  \
			"of the system's.",                                                \
	 .offset = offsetof(cfgtype, member.ca_file)},                                        \
	{.name = "tls_verify", .type = RFX_OPT_BOOL, .default_value = "true",              \
	 .description = "Verify the server's certificate and name. false is for tests "    \
			"only and is logged as a warning.",                                \
	 .offset = offsetof(cfgtype, member.tls_verify)},                                     \
	{.name = "proxy", .type = RFX_OPT_STRING, .flags = RFX_OPT_SECRET,                 \
	 .description = "Proxy URL, e.g. http://proxy:3128. Unset: no proxy (the "         \
			"environment's http_proxy is ignored).",                           \
	 .offset = offsetof(cfgtype, member.proxy)},                                          \
	{.name = "max_response", .type = RFX_OPT_SIZE, .default_value = "64KiB",           \
	 .flags = RFX_OPT_RANGE, .min = 1024, .max = 16777216,                             \
	 .description = "Bound on the response body kept (the rest is read and dropped).", \
	 .offset = offsetof(cfgtype, member.max_response)}

typedef struct rfx_outhttp rfx_outhttp;

struct rfx_outhttp_response {
	long status;            /* HTTP status; 0 when no response came */
	char *body;             /* malloc'd, NUL-terminated, at most max_response */
	size_t body_len;
	bool body_truncated;
	int64_t retry_after_ms; /* from Retry-After; 0 when absent */
	int transport_error;    /* 0, or the CURLcode of a failed transfer */
	bool timed_out;
	char error[256];        /* transport error, redacted; "" when none */
};

/*
 * Creates the client. cfg is borrowed (it must outlive the client); host
 * and inst are used for the one-time tls_verify warning and may be NULL in
 * tests. A bad url, ca_file or proxy is reported in err. Returns NULL on
 * error.
 */
RFX_OUTHTTP_HIDDEN rfx_outhttp *rfx_outhttp_new(const struct rfx_outhttp_config *cfg,
						const rfx_host *host, rfx_instance *inst,
						char *err, size_t errlen);
RFX_OUTHTTP_HIDDEN void rfx_outhttp_free(rfx_outhttp *c);

/* Registers a string (a token, a webhook URL's path) that must never appear
 * in logs or errors; copied. Call from init() only. 0 or RFX_EFULL/ENOMEM. */
RFX_OUTHTTP_HIDDEN int rfx_outhttp_secret(rfx_outhttp *c, const char *secret);

/* Replaces every registered secret in buf (NUL-terminated, size len) by
 * "***", in place. */
RFX_OUTHTTP_HIDDEN void rfx_outhttp_redact(const rfx_outhttp *c, char *buf, size_t len);

/* "scheme://host[:port]/..." for logs: the path and query, which may hold a
 * token, shown as "...". Userinfo is dropped. */
RFX_OUTHTTP_HIDDEN void rfx_outhttp_url_for_log(const char *url, char *buf, size_t len);

/*
 * One request. url NULL means cfg->url. headers: NULL-terminated
 * "Name: value" strings (borrowed). body may be NULL for none. Fills *resp
 * (free with rfx_outhttp_response_free, also after an error). Returns 0
 * when a response came (any status), RFX_ETIMEDOUT or RFX_EIO when none did
 * (resp->error says why), RFX_ENOMEM.
 */
RFX_OUTHTTP_HIDDEN int rfx_outhttp_request(rfx_outhttp *c, const char *method, const char *url,
					   const char *const *headers, const char *body,
					   size_t body_len, struct rfx_outhttp_response *resp);
RFX_OUTHTTP_HIDDEN void rfx_outhttp_response_free(struct rfx_outhttp_response *resp);

/*
 * Maps an outcome (rc of rfx_outhttp_request and its response) onto a
 * result: 2xx OK; 408/425/429/5xx and transport failures RETRY with the
 * response's Retry-After; 3xx and other 4xx FAIL with the vendor's message
 * (JSON "error"/"message"/"error_description"/"errors" or the text body).
 * msg (may be NULL) receives a one-line redacted reason for the log, as
 * does d->error when d is non-NULL (d->retry_after_ms too). `what` names
 * the request in the message, e.g. "POST https://hooks.slack.com/...".
 */
RFX_OUTHTTP_HIDDEN rfx_result rfx_outhttp_result(const rfx_outhttp *c, int rc,
						 const struct rfx_outhttp_response *resp,
						 rfx_delivery *d, char *msg, size_t msglen);

/* Fills d (when non-NULL) for a result the plugin decided itself. */
RFX_OUTHTTP_HIDDEN void rfx_outhttp_delivery_set(rfx_delivery *d, int64_t retry_after_ms,
						 const char *error);

/* Parses a Retry-After value: delta seconds or an HTTP-date (relative to
 * now_s). Milliseconds, clamped to 0..RFX_OUTHTTP_MAX_RETRY_AFTER_MS; -1
 * when it is neither. */
RFX_OUTHTTP_HIDDEN int64_t rfx_outhttp_parse_retry_after(const char *v, int64_t now_s);

/* The vendor's error message from an error response body: the first of
 * JSON error (string, or object's message), message, error_description,
 * errors[0] (string or .message), detail, title; else the first line of a
 * text body. Printable, at most len-1 bytes, redacted. "" when none. */
RFX_OUTHTTP_HIDDEN void rfx_outhttp_vendor_message(const rfx_outhttp *c, const char *body,
						   size_t body_len, char *out, size_t len);

#endif
