/*
 * core/http.h - the embedded HTTP server (libmicrohttpd) behind the API and
 * the routes input plugins register.
 *
 * Routes are exact paths, or paths ending in "/{}" which match one more
 * path segment (available as rfx_http_req_param()). Unknown paths are 404,
 * a known path with another method 405 (with Allow). Request bodies are
 * collected up to max_body (413 past it, checked on Content-Length first).
 * With tokens configured, every route whose min_role is not RFX_ROLE_NONE
 * needs "Authorization: Bearer TOKEN": missing or unknown token 401 (with
 * WWW-Authenticate), too small a role 403. Without tokens every route is
 * open (the config layer only allows that on loopback). Handlers run on
 * connection threads (one per connection, bounded) and may block.
 */
#ifndef RFX_CORE_HTTP_H
#define RFX_CORE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>

typedef struct rfx_http rfx_http;

struct rfx_http_token {
	const char *token;
	rfx_role role;
};

struct rfx_http_opts {
	const char *listen;       /* "127.0.0.1:3009", "[::1]:3009", ":3009" */
	uint64_t max_body;        /* bytes */
	int64_t timeout_ms;       /* idle connection timeout */
	unsigned max_connections;
	const struct rfx_http_token *tokens; /* borrowed until rfx_http_free */
	size_t ntokens;
};

/* Creates the server (not listening yet). NULL with err filled. */
rfx_http *rfx_http_new(const struct rfx_http_opts *o, char *err, size_t errlen);
/* Registers a route; before rfx_http_start only. 0 or RFX_EINVAL
 * (duplicate method+path, bad path). `owner` names who registered it in
 * errors. */
int rfx_http_route(rfx_http *h, const char *method, const char *path, rfx_role min_role,
		   rfx_http_handler fn, void *arg, const char *owner);
/* Binds and starts serving. 0 or negative with err filled (e.g. address in
 * use). */
int rfx_http_start(rfx_http *h, char *err, size_t errlen);
/* Stops accepting, waits for running handlers. Safe to call twice. */
void rfx_http_stop(rfx_http *h);
void rfx_http_free(rfx_http *h);
/* The port actually bound (useful with port 0). */
int rfx_http_port(const rfx_http *h);

/* Request accessors (also exposed to plugins via the host table). */
const char *rfx_http_req_header(const rfx_http_request *r, const char *name);
const char *rfx_http_req_query(const rfx_http_request *r, const char *name);
const char *rfx_http_req_body(const rfx_http_request *r, size_t *len);
const char *rfx_http_req_method(const rfx_http_request *r);
const char *rfx_http_req_path(const rfx_http_request *r);
const char *rfx_http_req_param(const rfx_http_request *r); /* the "{}" segment, decoded */
rfx_role rfx_http_req_role(const rfx_http_request *r);

/* Sets status and a JSON body {"error":{"status":N,"code":"...","message":"..."}}. */
void rfx_http_error(rfx_http_response *resp, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rfx_http_errorv(rfx_http_response *resp, int status, const char *code, const char *fmt,
		     va_list ap);
/* Sets status and body to the JSON text of obj (json-c; not consumed). */
struct json_object;
void rfx_http_json(rfx_http_response *resp, int status, struct json_object *obj);

/* Addition (http.c owner, for GET /api/v1/events rejecting unknown query
 * parameters): calls fn for every query parameter in request order (value
 * "" when given without '='); stops at the first non-zero return, which it
 * returns. 0 when fn accepted them all. */
int rfx_http_req_query_each(const rfx_http_request *r,
			    int (*fn)(void *arg, const char *key, const char *value), void *arg);

#endif
