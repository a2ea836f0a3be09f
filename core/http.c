/*
 * core/http.c - the embedded HTTP server (see http.h): listen address
 * parsing, the route table, bearer-token roles, bounded request bodies and
 * turning a handler's rfx_http_response into a libmicrohttpd response.
 *
 * libmicrohttpd runs one thread per connection, so a handler may block
 * (e.g. waiting for a durability ack) without stalling other clients; the
 * number of connections, hence of threads, is bounded by max_connections.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"

#define HTTP_COMPONENT "http"
#define HTTP_MAX_ROUTES 256
#define HTTP_MAX_METHOD 16
#define HTTP_MAX_PATH 256
#define HTTP_DEFAULT_CONNECTIONS 64
#define HTTP_MAX_TOKEN 4096 /* longer bearer tokens are simply unknown */
#define HTTP_ERROR_MESSAGE_MAX 1024

struct http_route {
	char method[HTTP_MAX_METHOD];
	char *path;   /* without the "/{}" (and what follows it) when has_param */
	bool has_param;
	char *suffix; /* "retry" of ".../{}/retry"; NULL when "{}" is last */
	rfx_role min_role;
	rfx_http_handler fn;
	void *arg;
	char *owner;
};

struct rfx_http {
	char *listen;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int port; /* configured, then the bound one */
	uint64_t max_body;
	unsigned timeout_s;
	unsigned max_connections;
	const struct rfx_http_token *tokens;
	size_t ntokens;

	struct http_route *routes;
	size_t nroutes;

	struct MHD_Daemon *daemon;

	/* Guards last_log: MHD may log from any connection thread; start()
	 * reads it to say why binding failed. */
	pthread_mutex_t log_lock;
	char last_log[256];
};

/* One request, kept in MHD's per-connection closure between calls. */
struct rfx_http_request {
	struct rfx_http *h;
	struct MHD_Connection *conn;
	const struct http_route *route;
	const char *method; /* owned by MHD for the request */
	const char *path;   /* decoded by MHD; owned by MHD */
	char *param;        /* the "{}" segment */
	char *body;
	size_t body_len, body_cap;
	bool too_large; /* body went past max_body: the rest is discarded */
	bool responded; /* a response is queued; ignore further calls */
	rfx_role role;
};

/* ---- listen address ----------------------------------------------------- */

static int parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (!*s || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* "127.0.0.1:3009", "[::1]:3009", "localhost:3009", ":3009" (all IPv4
 * interfaces). Names resolve to their first IPv4 address if they have one,
 * so "localhost" means 127.0.0.1 as users expect. */
static int parse_listen(struct rfx_http *h, const char *listen, char *err, size_t errlen)
{
	char host[256];
	const char *colon, *portstr;
	struct addrinfo hints, *res = NULL, *pick = NULL;
	int port, rc;

	if (!listen || !*listen) {
		snprintf(err, errlen, "listen: empty address; expected host:port like 127.0.0.1:3009");
		return RFX_EINVAL;
	}
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "listen '%s': expected [ipv6]:port like [::1]:3009",
				 listen);
			return RFX_EINVAL;
		}
		if ((size_t)(close - listen - 1) >= sizeof(host)) {
			snprintf(err, errlen, "listen '%s': address too long", listen);
			return RFX_EINVAL;
		}
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
		portstr = close + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon) {
			snprintf(err, errlen,
				 "listen '%s': expected host:port like 127.0.0.1:3009 "
				 "(IPv6 addresses go in brackets: [::1]:3009)",
				 listen);
			return RFX_EINVAL;
		}
		if ((size_t)(colon - listen) >= sizeof(host)) {
			snprintf(err, errlen, "listen '%s': address too long", listen);
			return RFX_EINVAL;
		}
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		portstr = colon + 1;
	}
	if (parse_port(portstr, &port) != 0) {
		snprintf(err, errlen, "listen '%s': port '%s' is not a number from 0 to 65535",
			 listen, portstr);
		return RFX_EINVAL;
	}

	memset(&h->addr, 0, sizeof(h->addr));
	if (!host[0]) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&h->addr;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons((uint16_t)port);
		h->addrlen = sizeof(*sin);
		h->port = port;
		return 0;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "listen '%s': cannot resolve '%s': %s", listen, host,
			 rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return RFX_EINVAL;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			pick = ai;
			break;
		}
		if (!pick && ai->ai_family == AF_INET6)
			pick = ai;
	}
	if (!pick || pick->ai_addrlen > sizeof(h->addr)) {
		snprintf(err, errlen, "listen '%s': '%s' has no IPv4 or IPv6 address", listen,
			 host);
		freeaddrinfo(res);
		return RFX_EINVAL;
	}
	memcpy(&h->addr, pick->ai_addr, pick->ai_addrlen);
	h->addrlen = (socklen_t)pick->ai_addrlen;
	h->port = port;
	freeaddrinfo(res);
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

rfx_http *rfx_http_new(const struct rfx_http_opts *o, char *err, size_t errlen)
{
	struct rfx_http *h;

	if (!o) {
		snprintf(err, errlen, "http: no options");
		return NULL;
	}
	for (size_t i = 0; i < o->ntokens; i++) {
		if (!o->tokens || !o->tokens[i].token || !o->tokens[i].token[0]) {
			snprintf(err, errlen, "http: token %zu is empty", i);
			return NULL;
		}
		if (o->tokens[i].role < RFX_ROLE_VIEWER || o->tokens[i].role > RFX_ROLE_ADMIN) {
			snprintf(err, errlen, "http: token %zu has no valid role", i);
			return NULL;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "http: out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->log_lock, NULL);
	if (parse_listen(h, o->listen, err, errlen) != 0)
		goto fail;
	h->listen = strdup(o->listen);
	if (!h->listen) {
		snprintf(err, errlen, "http: out of memory");
		goto fail;
	}
	h->max_body = o->max_body;
	/* MHD counts idle time in whole seconds; round up so a short timeout
	 * never becomes "no timeout". */
	h->timeout_s = o->timeout_ms > 0 ? (unsigned)((o->timeout_ms + 999) / 1000) : 0;
	h->max_connections = o->max_connections ? o->max_connections : HTTP_DEFAULT_CONNECTIONS;
	h->tokens = o->tokens;
	h->ntokens = o->ntokens;
	return h;

fail:
	pthread_mutex_destroy(&h->log_lock);
	free(h->listen);
	free(h);
	return NULL;
}

static bool valid_method(const char *m)
{
	size_t n = 0;

	for (; m[n]; n++)
		if (m[n] < 'A' || m[n] > 'Z')
			return false;
	return n > 0 && n < HTTP_MAX_METHOD;
}

int rfx_http_route(rfx_http *h, const char *method, const char *path, rfx_role min_role,
		   rfx_http_handler fn, void *arg, const char *owner)
{
	struct http_route r, *grown;
	size_t len;

	if (!owner)
		owner = "?";
	if (!h || !method || !path || !fn) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT, "%s: route: missing method, path or handler",
			owner);
		return RFX_EINVAL;
	}
	if (h->daemon) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
			"%s: route %s %s: routes must be registered before the server starts",
			owner, method, path);
		return RFX_EINVAL;
	}
	if (!valid_method(method)) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
			"%s: route %s %s: method must be an upper-case token like GET", owner,
			method, path);
		return RFX_EINVAL;
	}
	len = strlen(path);
	if (path[0] != '/' || len >= HTTP_MAX_PATH || strpbrk(path, "?#% \t")) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
			"%s: route %s %s: path must start with '/' and have no query, spaces "
			"or escapes",
			owner, method, path);
		return RFX_EINVAL;
	}
	memset(&r, 0, sizeof(r));
	const char *suffix = NULL, *mid = strstr(path, "/{}/");
	if (len >= 3 && strcmp(path + len - 3, "/{}") == 0) {
		r.has_param = true;
		len -= 3;
	} else if (mid) {
		/* one parameter segment followed by one literal segment */
		r.has_param = true;
		suffix = mid + 4;
		len = (size_t)(mid - path);
	}
	if (memchr(path, '{', len) || memchr(path, '}', len) || strstr(path, "//") ||
	    (r.has_param && len == 0) ||
	    (suffix && (!*suffix || strpbrk(suffix, "{}/")))) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
			"%s: route %s %s: a parameter must be the \"/{}\" segment, last or "
			"followed by one literal segment", owner, method, path);
		return RFX_EINVAL;
	}
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *o = &h->routes[i];
		if (o->has_param == r.has_param && strcmp(o->method, method) == 0 &&
		    strlen(o->path) == len && strncmp(o->path, path, len) == 0 &&
		    !o->suffix == !suffix && (!suffix || strcmp(o->suffix, suffix) == 0)) {
			rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
				"%s: route %s %s is already registered by %s", owner, method, path,
				o->owner);
			return RFX_EINVAL;
		}
	}
	if (h->nroutes >= HTTP_MAX_ROUTES) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT, "%s: route %s %s: more than %d routes",
			owner, method, path, HTTP_MAX_ROUTES);
		return RFX_EINVAL;
	}
	snprintf(r.method, sizeof(r.method), "%s", method);
	r.path = strndup(path, len);
	r.owner = strdup(owner);
	if (suffix && !(r.suffix = strdup(suffix))) {
		free(r.path);
		r.path = NULL; /* reported as out of memory below */
	}
	r.min_role = min_role;
	r.fn = fn;
	r.arg = arg;
	grown = realloc(h->routes, (h->nroutes + 1) * sizeof(*grown));
	if (!r.path || !r.owner || !grown) {
		free(r.path);
		free(r.owner);
		free(r.suffix);
		if (grown)
			h->routes = grown;
		return RFX_ENOMEM;
	}
	h->routes = grown;
	h->routes[h->nroutes++] = r;
	return 0;
}

/* MHD messages end with a newline and come from any thread. */
static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rfx_http *h = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pthread_mutex_lock(&h->log_lock);
	snprintf(h->last_log, sizeof(h->last_log), "%s", msg);
	pthread_mutex_unlock(&h->log_lock);
	rfx_log(RFX_LOG_WARNING, HTTP_COMPONENT, "%s", msg);
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls);
static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe);

int rfx_http_start(rfx_http *h, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;

	if (!h) {
		snprintf(err, errlen, "http: no server");
		return RFX_EINVAL;
	}
	if (h->daemon) {
		snprintf(err, errlen, "http: already started");
		return RFX_EINVAL;
	}
	/* poll() has no FD_SETSIZE limit on descriptor numbers. */
	if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (h->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	pthread_mutex_lock(&h->log_lock);
	h->last_log[0] = '\0';
	pthread_mutex_unlock(&h->log_lock);

	/* The logger goes first so that MHD reports option errors through it. */
	h->daemon = MHD_start_daemon(
		flags, (uint16_t)h->port, NULL, NULL, http_access, h, MHD_OPTION_EXTERNAL_LOGGER,
		http_mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr,
		MHD_OPTION_CONNECTION_LIMIT, h->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
		h->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_END);
	if (!h->daemon) {
		pthread_mutex_lock(&h->log_lock);
		snprintf(err, errlen, "http: cannot listen on %s: %s", h->listen,
			 h->last_log[0] ? h->last_log : "libmicrohttpd refused to start");
		pthread_mutex_unlock(&h->log_lock);
		return RFX_EIO;
	}
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		h->port = info->port;
	rfx_log(RFX_LOG_INFO, HTTP_COMPONENT, "listening on %s (port %d, %zu routes)", h->listen,
		h->port, h->nroutes);
	return 0;
}

void rfx_http_stop(rfx_http *h)
{
	if (!h || !h->daemon)
		return;
	/* With a thread per connection this joins every connection thread,
	 * so running handlers finish first. */
	MHD_stop_daemon(h->daemon);
	h->daemon = NULL;
}

void rfx_http_free(rfx_http *h)
{
	if (!h)
		return;
	rfx_http_stop(h);
	for (size_t i = 0; i < h->nroutes; i++) {
		free(h->routes[i].path);
		free(h->routes[i].owner);
		free(h->routes[i].suffix);
	}
	free(h->routes);
	free(h->listen);
	pthread_mutex_destroy(&h->log_lock);
	free(h);
}

int rfx_http_port(const rfx_http *h)
{
	return h ? h->port : -1;
}

/* ---- request accessors -------------------------------------------------- */

const char *rfx_http_req_header(const rfx_http_request *r, const char *name)
{
	if (!r || !name)
		return NULL;
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *rfx_http_req_query(const rfx_http_request *r, const char *name)
{
	const char *v;

	if (!r || !name)
		return NULL;
	v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	/* "?flag" without '=' is present with an empty value. */
	if (!v && MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name,
						strlen(name), NULL, NULL) == MHD_YES)
		v = "";
	return v;
}

struct query_each {
	int (*fn)(void *arg, const char *key, const char *value);
	void *arg;
	int rc;
};

static enum MHD_Result query_each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct query_each *qe = cls;

	qe->rc = qe->fn(qe->arg, key, value ? value : "");
	return qe->rc == 0 ? MHD_YES : MHD_NO;
}

int rfx_http_req_query_each(const rfx_http_request *r,
			    int (*fn)(void *arg, const char *key, const char *value), void *arg)
{
	struct query_each qe = {fn, arg, 0};

	if (!r || !fn)
		return RFX_EINVAL;
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_each_cb, &qe);
	return qe.rc;
}

const char *rfx_http_req_body(const rfx_http_request *r, size_t *len)
{
	if (len)
		*len = r && r->body ? r->body_len : 0;
	return r && r->body ? r->body : "";
}

const char *rfx_http_req_method(const rfx_http_request *r)
{
	return r ? r->method : NULL;
}

const char *rfx_http_req_path(const rfx_http_request *r)
{
	return r ? r->path : NULL;
}

const char *rfx_http_req_param(const rfx_http_request *r)
{
	return r ? r->param : NULL;
}

rfx_role rfx_http_req_role(const rfx_http_request *r)
{
	return r ? r->role : RFX_ROLE_NONE;
}

/* ---- responses ---------------------------------------------------------- */

static void resp_set_body(rfx_http_response *resp, char *body, size_t len)
{
	free(resp->body);
	resp->body = body;
	resp->body_len = body ? len : 0;
}

void rfx_http_errorv(rfx_http_response *resp, int status, const char *code, const char *fmt,
		     va_list ap)
{
	char msg[HTTP_ERROR_MESSAGE_MAX];
	struct json_object *root, *e;
	const char *text;
	size_t len;

	if (!resp)
		return;
	vsnprintf(msg, sizeof(msg), fmt ? fmt : "", ap);
	resp->status = status;
	resp->content_type = "application/json";
	resp_set_body(resp, NULL, 0);
	root = json_object_new_object();
	e = json_object_new_object();
	if (!root || !e) {
		json_object_put(root);
		json_object_put(e);
		return;
	}
	json_object_object_add(root, "error", e);
	json_object_object_add(e, "status", json_object_new_int(status));
	json_object_object_add(e, "code", json_object_new_string(code ? code : "error"));
	json_object_object_add(e, "message", json_object_new_string(msg));
	text = json_object_to_json_string_length(
		root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text)
		resp_set_body(resp, strndup(text, len), len);
	json_object_put(root);
}

void rfx_http_error(rfx_http_response *resp, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rfx_http_errorv(resp, status, code, fmt, ap);
	va_end(ap);
}

void rfx_http_json(rfx_http_response *resp, int status, struct json_object *obj)
{
	const char *text;
	char *copy;
	size_t len;

	if (!resp)
		return;
	resp->content_type = "application/json";
	text = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!text) {
		rfx_http_error(resp, 500, "internal", "cannot serialize the response");
		return;
	}
	copy = strndup(text, len);
	if (!copy) {
		rfx_http_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp->status = status;
	resp_set_body(resp, copy, len);
}

/* Sends resp (taking its body) and clears it. */
static enum MHD_Result send_response(struct MHD_Connection *conn, rfx_http_response *resp,
				     const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = resp->status;
	char num[32];

	if (status == 0)
		status = 200; /* the documented default, even if a handler cleared it */
	if (status < 100 || status > 599) {
		rfx_log(RFX_LOG_ERROR, HTTP_COMPONENT,
			"handler returned invalid status %d; answering 500", status);
		rfx_http_error(resp, 500, "internal", "the handler gave no valid response");
		status = 500;
	}
	if (resp->body) {
		size_t len = resp->body_len ? resp->body_len : strlen(resp->body);
		r = MHD_create_response_from_buffer(len, resp->body, MHD_RESPMEM_MUST_FREE);
		if (r)
			resp->body = NULL; /* MHD frees it now */
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	free(resp->body);
	resp->body = NULL;
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_SERVER, "reflex");
	if (resp->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", resp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (status == 401 && (!resp->www_authenticate || *resp->www_authenticate))
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					resp->www_authenticate ? resp->www_authenticate
							       : "Bearer realm=\"reflex\"");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *code,
				  const char *allow, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *code,
				  const char *allow, const char *fmt, ...)
{
	rfx_http_response resp = {0};
	va_list ap;

	va_start(ap, fmt);
	rfx_http_errorv(&resp, status, code, fmt, ap);
	va_end(ap);
	return send_response(conn, &resp, allow);
}

/* ---- dispatch ----------------------------------------------------------- */

/* Whether route pattern r matches path; *param_at gets the segment. */
static bool route_matches(const struct http_route *r, const char *path, const char **param_at)
{
	size_t n = strlen(r->path);

	if (!r->has_param)
		return strcmp(r->path, path) == 0;
	if (strncmp(r->path, path, n) != 0 || path[n] != '/' || !path[n + 1] ||
	    path[n + 1] == '/')
		return false;
	const char *slash = strchr(path + n + 1, '/');
	if (r->suffix ? !slash || strcmp(slash + 1, r->suffix) != 0 : slash != NULL)
		return false;
	*param_at = path + n + 1;
	return true;
}

/* Adds method to the comma-separated allow list unless it is there. */
static void allow_add(char *allow, size_t allowlen, const char *method)
{
	size_t used = strlen(allow), mlen = strlen(method);

	for (const char *p = allow; (p = strstr(p, method)); p += mlen)
		if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || !p[mlen]))
			return;
	snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", method);
}

/* Picks the route for method+path: exact routes before "{}" routes, HEAD
 * served by GET. With no match for the method, fills allow with the methods
 * the path has (empty when the path is unknown). */
static const struct http_route *route_find(const struct rfx_http *h, const char *method,
					   const char *path, const char **param,
					   char *allow, size_t allowlen)
{
	const struct http_route *best = NULL, *get = NULL;
	const char *p = NULL, *best_p = NULL, *get_p = NULL;

	allow[0] = '\0';
	for (size_t i = 0; i < h->nroutes; i++) {
		const struct http_route *r = &h->routes[i];
		if (!route_matches(r, path, &p))
			continue;
		allow_add(allow, allowlen, r->method);
		if (strcmp(r->method, method) == 0 && (!best || (best->has_param && !r->has_param))) {
			best = r;
			best_p = r->has_param ? p : NULL;
		}
		if (strcmp(r->method, "GET") == 0 && (!get || (get->has_param && !r->has_param))) {
			get = r;
			get_p = r->has_param ? p : NULL;
		}
	}
	if (get)
		allow_add(allow, allowlen, "HEAD");
	if (!best && get && strcmp(method, "HEAD") == 0) {
		best = get;
		best_p = get_p;
	}
	*param = best_p;
	return best;
}

/* Constant-time over the presented token, so response timing does not
 * reveal how much of a configured token matched. */
static bool token_equal(const char *given, size_t glen, const char *tok)
{
	size_t tlen = strlen(tok);
	volatile unsigned char diff = (unsigned char)(glen != tlen);

	for (size_t i = 0; i < glen; i++) {
		unsigned char t = i < tlen ? (unsigned char)tok[i] : 0;
		diff |= (unsigned char)((unsigned char)given[i] ^ t);
	}
	return diff == 0;
}

/* The role of the request's bearer token: RFX_ROLE_NONE when missing or
 * unknown. */
static rfx_role token_role(const struct rfx_http *h, struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tok;
	size_t len;
	rfx_role role = RFX_ROLE_NONE;

	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return RFX_ROLE_NONE;
	tok = auth + 7;
	while (*tok == ' ' || *tok == '\t')
		tok++;
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	if (len == 0 || len > HTTP_MAX_TOKEN)
		return RFX_ROLE_NONE;
	/* Every token is compared, matched or not. */
	for (size_t i = 0; i < h->ntokens; i++)
		if (token_equal(tok, len, h->tokens[i].token) && h->tokens[i].role > role)
			role = h->tokens[i].role;
	return role;
}

static void request_free(struct rfx_http_request *req)
{
	if (!req)
		return;
	free(req->param);
	free(req->body);
	free(req);
}

/* Runs the route's handler and queues its response. */
static enum MHD_Result run_handler(struct rfx_http_request *req)
{
	rfx_http_response resp = {0};

	resp.status = 200;
	resp.content_type = "application/json";
	req->route->fn(req->route->arg, req, &resp);
	return send_response(req->conn, &resp, NULL);
}

/* First call for a request: route, authorize and check Content-Length,
 * answering at once when any of them fails so no body is read. */
static enum MHD_Result request_begin(struct rfx_http *h, struct MHD_Connection *conn,
				     const char *url, const char *method, void **con_cls)
{
	struct rfx_http_request *req;
	const struct http_route *route;
	const char *param = NULL, *cl;
	char allow[128];
	rfx_http_response early = {0};

	route = route_find(h, method, url, &param, allow, sizeof(allow));
	if (!route) {
		if (allow[0])
			return send_error(conn, 405, "method_not_allowed", allow,
					  "method %s is not allowed on %s; allowed: %s", method,
					  url, allow);
		return send_error(conn, 404, "not_found", NULL, "no route for %s", url);
	}

	req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->h = h;
	req->conn = conn;
	req->route = route;
	req->method = method;
	req->path = url;
	if (param && !(req->param = strndup(param, strcspn(param, "/")))) {
		free(req);
		return MHD_NO;
	}
	*con_cls = req;

	if (h->ntokens == 0) {
		req->role = RFX_ROLE_ADMIN;
	} else {
		req->role = token_role(h, conn);
		if (route->min_role != RFX_ROLE_NONE && req->role == RFX_ROLE_NONE) {
			rfx_http_error(&early, 401, "unauthorized", "%s",
				       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								   MHD_HTTP_HEADER_AUTHORIZATION)
					       ? "unknown bearer token"
					       : "missing 'Authorization: Bearer TOKEN' header");
			goto answer;
		}
		if (req->role < route->min_role) {
			rfx_http_error(&early, 403, "forbidden", "this token's role may not %s %s",
				       method, url);
			goto answer;
		}
	}

	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (cl[0] < '0' || cl[0] > '9' || *end || errno == ERANGE) {
			rfx_http_error(&early, 400, "bad_request",
				       "Content-Length '%.32s' is not a number", cl);
			goto answer;
		}
		if (n > h->max_body) {
			rfx_http_error(&early, 413, "payload_too_large",
				       "request body of %llu bytes exceeds the limit of %llu bytes",
				       n, (unsigned long long)h->max_body);
			goto answer;
		}
	}
	return MHD_YES;

answer:
	req->responded = true;
	return send_response(conn, &early, NULL);
}

/* Appends upload data up to max_body; past it, remembers that and drops
 * the rest so the connection can still be answered cleanly. */
static void request_append(struct rfx_http_request *req, const char *data, size_t n)
{
	size_t need;

	if (req->too_large)
		return;
	if (req->body_len + n > req->h->max_body) {
		req->too_large = true;
		free(req->body);
		req->body = NULL;
		req->body_len = req->body_cap = 0;
		return;
	}
	need = req->body_len + n + 1;
	if (need > req->body_cap) {
		size_t cap = req->body_cap ? req->body_cap : 1024;
		char *p;
		while (cap < need)
			cap *= 2;
		if (cap > req->h->max_body + 1)
			cap = req->h->max_body + 1;
		p = realloc(req->body, cap);
		if (!p) {
			/* Treated like an oversized body: the client may retry. */
			req->too_large = true;
			free(req->body);
			req->body = NULL;
			req->body_len = req->body_cap = 0;
			return;
		}
		req->body = p;
		req->body_cap = cap;
	}
	memcpy(req->body + req->body_len, data, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version,
				   const char *upload_data, size_t *upload_data_size,
				   void **con_cls)
{
	struct rfx_http *h = cls;
	struct rfx_http_request *req = *con_cls;

	if (!req)
		return request_begin(h, conn, url, method, con_cls);
	if (req->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		request_append(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	req->responded = true;
	if (req->too_large)
		return send_error(conn, 413, "payload_too_large", NULL,
				  "request body exceeds the limit of %llu bytes",
				  (unsigned long long)h->max_body);
	return run_handler(req);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	request_free(*con_cls);
	*con_cls = NULL;
}
