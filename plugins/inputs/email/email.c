/*
 * plugins/inputs/email/email.c - the email input: reads a mailbox over
 * IMAP (IDLE when the server offers it, else polling) or POP3 (polling)
 * and turns each mail into an event (mime.c decodes, map.c applies the
 * rules and derives the event id).
 *
 * Exactly once: a mail is flagged or moved (IMAP) or deleted (POP3) only
 * after its event is durable (emit with an ack, then ack_wait). A crash in
 * between makes the mail be read again; its event id is derived from the
 * mail's identity (account, mailbox, UIDVALIDITY and UID, or the POP3
 * UIDL), so the store ignores the second copy.
 *
 * TLS comes from libetpan (GnuTLS). libetpan does not verify certificates,
 * so we verify the peer's chain ourselves with GnuTLS, against the CA file
 * or the system's trust store and the URL's host name, before any
 * credential is sent.
 *
 * One thread. stop() wakes its waits through a pipe and, when a network
 * call does not return within a few seconds, shuts the socket down.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include <reflex/plugin.h>

#include "map.h"
#include "mime.h"

#define STOP_GRACE_MS 3000  /* a network call may finish this long after stop */
#define IDLE_MAX_MS 1500000 /* re-issue IDLE within the 29 min of RFC 2177 */
#define BACKOFF_MAX_MS 60000
#define ID_MAX 1280         /* bytes of the identity an event id hashes */

enum proto { P_IMAP, P_POP3 };
enum after { AFTER_FLAG = 0, AFTER_MOVE };
static const char *const after_names[] = {"flag", "move", NULL};

struct email_config {
	char *url;
	bool starttls;
	char *username;
	char *password;
	char *mailbox;
	int64_t poll_ms;
	bool idle;
	int after;
	char *keyword;
	char *move_to;
	char *tls_ca_file;
	bool tls_verify;
	uint64_t max_size;
	uint64_t max_body;
	int64_t batch;
	int64_t timeout_ms;
	char *severity;
	struct rfx_seclist rules;
};

struct email_input {
	rfx_instance *inst;
	const rfx_host *host;
	struct email_config *cfg;
	enum proto proto;
	bool implicit_tls;
	char hostname[256];
	uint16_t port;
	char mailbox[512];
	char account[640]; /* user@host:port, part of every identity */
	int severity;
	struct rfx_email_rules *rules;
	gnutls_x509_trust_list_t trust;
	int wake[2];
	atomic_bool stopping;
	pthread_mutex_t fd_lock; /* guards cur_fd against close while stop shuts it */
	int cur_fd;
	pthread_t th;
	bool running;
	rfx_metric *m_mails, *m_errors, *m_truncated, *m_connected, *m_marked;
};

static void metric_add(struct email_input *s, rfx_metric *m, double v)
{
	if (m != NULL)
		s->host->metric_add(m, v);
}

static void connected(struct email_input *s, int fd)
{
	pthread_mutex_lock(&s->fd_lock);
	s->cur_fd = fd;
	pthread_mutex_unlock(&s->fd_lock);
	if (s->m_connected)
		s->host->metric_set(s->m_connected, fd >= 0 ? 1 : 0);
}

/* Waits up to ms for the wake pipe or fd (-1: none): 1 fd readable, 0
 * timeout, -1 stopping. */
static int wait_ms(struct email_input *s, int64_t ms, int fd)
{
	struct pollfd p[2] = {{s->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};

	if (atomic_load(&s->stopping))
		return -1;
	int r = poll(p, fd >= 0 ? 2 : 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
	if (atomic_load(&s->stopping) || (r > 0 && p[0].revents))
		return -1;
	return r > 0 && fd >= 0 && p[1].revents ? 1 : 0;
}

/* ---- TLS ------------------------------------------------------------------ */

static bool is_ip_literal(const char *h)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static void tls_setup(struct mailstream_ssl_context *ctx, void *arg)
{
	struct email_input *s = arg;

	if (!is_ip_literal(s->hostname))
		mailstream_ssl_set_server_name(ctx, s->hostname);
}

/* Verifies the peer's chain on an established TLS stream: 0, or -1 after
 * logging why. */
static int tls_verify(struct email_input *s, mailstream *stream)
{
	carray *chain = NULL;
	gnutls_x509_crt_t crts[16];
	unsigned n = 0, status = 0;
	int rc = -1;

	if (!s->cfg->tls_verify)
		return 0;
	chain = stream ? mailstream_get_certificate_chain(stream) : NULL;
	if (chain == NULL || carray_count(chain) == 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "%s: TLS: the server sent no certificate",
			     s->hostname);
		goto out;
	}
	for (unsigned i = 0; i < carray_count(chain) && n < 16; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str, (unsigned)der->len};
		if (gnutls_x509_crt_init(&crts[n]) != 0)
			goto out;
		if (gnutls_x509_crt_import(crts[n], &d, GNUTLS_X509_FMT_DER) != 0) {
			gnutls_x509_crt_deinit(crts[n]);
			s->host->log(s->inst, RFX_LOG_ERROR, "%s: TLS: unreadable certificate",
				     s->hostname);
			goto out;
		}
		n++;
	}
	gnutls_typed_vdata_st vd[2] = {
		{GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)s->hostname, 0},
		{GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0},
	};
	int vr = gnutls_x509_trust_list_verify_crt2(s->trust, crts, n, vd, 2, 0, &status, NULL);
	if (vr != 0 || status != 0) {
		gnutls_datum_t msg = {NULL, 0};
		if (vr == 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &msg, 0);
		s->host->log(s->inst, RFX_LOG_ERROR,
			     "%s: TLS certificate not trusted: %s (give tls_ca_file, or "
			     "tls_verify: false for a test server)",
			     s->hostname, msg.data ? (char *)msg.data : gnutls_strerror(vr));
		gnutls_free(msg.data);
		goto out;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	return rc;
}

/* ---- events --------------------------------------------------------------- */

/*
 * Emits one event with an ack and waits until it is durable. On RFX_EFULL
 * it is offered again. Returns 0 once durable, -1 otherwise (stopping, store
 * failure): the caller then leaves the mail where it is.
 */
static int emit_durable(struct email_input *s, rfx_event *ev)
{
	const rfx_host *h = s->host;
	rfx_ack *ack = NULL;
	int rc;

	for (;;) {
		ack = h->ack_new();
		if (ack == NULL)
			goto fail;
		h->event_ref(ev);
		rc = h->emit(s->inst, &ev, 1, ack);
		if (rc == 0)
			break;
		h->ack_free(ack);
		ack = NULL;
		if (rc != RFX_EFULL || wait_ms(s, 200, -1) < 0)
			goto fail;
	}
	/* The pipeline drains what was queued even while stopping, so this
	 * wait ends; a grace bound keeps stop prompt with a stuck store. */
	int64_t waited = 0;
	while ((rc = h->ack_wait(ack, 500)) == RFX_ETIMEDOUT) {
		waited += 500;
		if (atomic_load(&s->stopping) && waited >= STOP_GRACE_MS)
			break;
	}
	h->ack_free(ack);
	if (rc == RFX_EIO)
		h->log(s->inst, RFX_LOG_ERROR, "a mail could not be stored; it stays unread");
	h->event_unref(ev);
	return rc == 0 ? 0 : -1;
fail:
	h->event_unref(ev);
	return -1;
}

struct mail_src {
	const char *raw;
	size_t len;
	bool truncated;   /* larger than max_size, cut */
	uint64_t size;    /* size the server reported; 0 unknown */
	int64_t fallback_ms; /* time when the mail has no Date; 0 = none */
	const char *identity; /* what the event id hashes */
	json_object *attrs;   /* source identity attributes; consumed */
};

static void attr_str(json_object *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* Builds the event of one mail; NULL when out of memory. */
static rfx_event *mail_event(struct email_input *s, const struct mail_src *src)
{
	const rfx_host *h = s->host;
	struct rfx_email_msg m;
	char *set[RFX_EMAIL_SET__COUNT] = {NULL};
	rfx_event *ev = NULL;
	char *raw = NULL;
	unsigned char hash[10];

	if (rfx_email_parse(src->raw, src->len, (size_t)s->cfg->max_body, &m) != 0)
		return NULL;
	if (rfx_email_rules_apply(s->rules, &m, set) != 0)
		goto fail;
	ev = h->event_new();
	raw = rfx_email_to_utf8(NULL, src->raw, src->len);
	if (ev == NULL || raw == NULL)
		goto fail;

	const char *subject = m.subject && *m.subject ? m.subject : "(no subject)";
	const char *host = set[RFX_EMAIL_SET_HOST]       ? set[RFX_EMAIL_SET_HOST]
			   : m.from_addr ? m.from_addr
			   : m.from     ? m.from
					: s->hostname;
	if (h->event_set(ev, RFX_F_KIND, "mail") != 0 ||
	    h->event_set(ev, RFX_F_HOST, host) != 0 ||
	    h->event_set(ev, RFX_F_CHECK,
			 set[RFX_EMAIL_SET_CHECK] ? set[RFX_EMAIL_SET_CHECK] : subject) != 0 ||
	    h->event_set(ev, RFX_F_MESSAGE, *m.body ? m.body : subject) != 0 ||
	    h->event_set(ev, RFX_F_RAW, raw) != 0)
		goto fail;
	if (set[RFX_EMAIL_SET_SERVICE] &&
	    h->event_set(ev, RFX_F_SERVICE, set[RFX_EMAIL_SET_SERVICE]) != 0)
		goto fail;
	ev->severity = s->severity;
	if (set[RFX_EMAIL_SET_SEVERITY]) {
		int sev = h->severity_parse(set[RFX_EMAIL_SET_SEVERITY]);
		if (sev >= 0)
			ev->severity = sev;
		else
			h->log(s->inst, RFX_LOG_DEBUG, "rule severity '%s' is no severity; using %s",
			       set[RFX_EMAIL_SET_SEVERITY], h->severity_name(s->severity));
	}
	ev->status = RFX_STATUS_FIRING;
	if (set[RFX_EMAIL_SET_STATUS] && rfx_email_status_parse(set[RFX_EMAIL_SET_STATUS]) == 1)
		ev->status = RFX_STATUS_RESOLVED;

	int64_t ms = m.has_date ? m.date_ms : src->fallback_ms;
	ev->occurred_ns = ms > 0 ? ms * 1000000 : h->now_ns();
	/* The id's time must be as deterministic as its hash: never "now". */
	rfx_email_hash80(src->identity, strlen(src->identity), hash);
	rfx_email_ulid(ms, hash, ev->id);

	json_object *a = ev->attrs;
	if (a != NULL) {
		json_object_object_foreach(src->attrs, k, v)
		{
			json_object_object_add(a, k, json_object_get(v));
		}
		attr_str(a, "message_id", m.message_id);
		attr_str(a, "from", m.from);
		attr_str(a, "to", m.to);
		attr_str(a, "subject", m.subject);
		attr_str(a, "date", m.date);
		attr_str(a, "body_format", m.body_html ? "html" : "plain");
		if (src->size > 0)
			json_object_object_add(a, "size", json_object_new_int64((int64_t)src->size));
		if (src->truncated)
			json_object_object_add(a, "truncated", json_object_new_boolean(1));
		if (m.body_truncated)
			json_object_object_add(a, "body_truncated", json_object_new_boolean(1));
		if (m.mime_failed)
			json_object_object_add(a, "mime_failed", json_object_new_boolean(1));
	}
	if (src->truncated)
		metric_add(s, s->m_truncated, 1);
	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++)
		free(set[t]);
	free(raw);
	rfx_email_msg_free(&m);
	return ev;
fail:
	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++)
		free(set[t]);
	free(raw);
	if (ev != NULL)
		h->event_unref(ev);
	rfx_email_msg_free(&m);
	return NULL;
}

/* Emits one mail; 0 once its event is durable. */
static int mail_emit(struct email_input *s, struct mail_src *src)
{
	rfx_event *ev = mail_event(s, src);

	json_object_put(src->attrs);
	src->attrs = NULL;
	if (ev == NULL) {
		s->host->log(s->inst, RFX_LOG_ERROR, "out of memory; mail left for later");
		return -1;
	}
	if (emit_durable(s, ev) != 0)
		return -1;
	metric_add(s, s->m_mails, 1);
	return 0;
}

/* ---- IMAP ----------------------------------------------------------------- */

static int64_t imap_date_ms(const struct mailimap_date_time *d)
{
	struct mailimf_date_time t = {d->dt_day,  d->dt_month, d->dt_year, d->dt_hour,
				      d->dt_min, d->dt_sec,   d->dt_zone};
	struct tm tm = {0};
	if (t.dt_year < 1970 || t.dt_month < 1 || t.dt_month > 12)
		return 0;
	tm.tm_year = t.dt_year - 1900;
	tm.tm_mon = t.dt_month - 1;
	tm.tm_mday = t.dt_day;
	tm.tm_hour = t.dt_hour;
	tm.tm_min = t.dt_min;
	tm.tm_sec = t.dt_sec;
	int sign = t.dt_zone < 0 ? -1 : 1, z = sign * t.dt_zone;
	return ((int64_t)timegm(&tm) - (int64_t)sign * (z / 100 * 60 + z % 100) * 60) * 1000;
}

static const char *imap_why(mailimap *imap)
{
	return imap && imap->imap_response ? imap->imap_response : "connection error";
}

static int imap_connect(struct email_input *s, mailimap *imap)
{
	int r;

	if (s->implicit_tls)
		r = mailimap_ssl_connect_with_callback(imap, s->hostname, s->port, tls_setup, s);
	else
		r = mailimap_socket_connect(imap, s->hostname, s->port);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s:%u: cannot connect (libetpan error %d)",
			     s->hostname, s->port, r);
		return -1;
	}
	connected(s, mailimap_idle_get_fd(imap));
	if (s->implicit_tls && tls_verify(s, imap->imap_stream) != 0)
		return -1;
	if (s->cfg->starttls) {
		struct mailimap_capability_data *cap = NULL;
		if (mailimap_capability(imap, &cap) == MAILIMAP_NO_ERROR)
			mailimap_capability_data_free(cap);
		/* Never fall back to plain text when TLS was asked for. */
		if (!mailimap_has_extension(imap, "STARTTLS")) {
			s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: server offers no STARTTLS",
				     s->hostname);
			return -1;
		}
		if (mailimap_socket_starttls(imap) != MAILIMAP_NO_ERROR) {
			s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: STARTTLS failed: %s",
				     s->hostname, imap_why(imap));
			return -1;
		}
		if (tls_verify(s, imap->imap_stream) != 0)
			return -1;
	}
	if (mailimap_login(imap, s->cfg->username, s->cfg->password) != MAILIMAP_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: login as %s failed: %s", s->hostname,
			     s->cfg->username, imap_why(imap));
		return -1;
	}
	struct mailimap_capability_data *cap = NULL;
	if (mailimap_capability(imap, &cap) == MAILIMAP_NO_ERROR)
		mailimap_capability_data_free(cap);
	if (s->cfg->after == AFTER_MOVE)
		mailimap_create(imap, s->cfg->move_to); /* fails harmlessly when it exists */
	if (mailimap_select(imap, s->mailbox) != MAILIMAP_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: cannot select '%s': %s", s->hostname,
			     s->mailbox, imap_why(imap));
		return -1;
	}
	return 0;
}

/* The mail is durable: flag or move it. 0, or -1 (connection trouble). */
static int imap_mark(struct email_input *s, mailimap *imap, uint32_t uid)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	int r = -1;

	if (set == NULL)
		return -1;
	if (s->cfg->after == AFTER_FLAG) {
		struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
		char *kw = strdup(s->cfg->keyword);
		struct mailimap_flag *seen = mailimap_flag_new_seen();
		struct mailimap_flag *kwf = kw ? mailimap_flag_new_flag_keyword(kw) : NULL;
		if (fl == NULL || seen == NULL || kwf == NULL) {
			if (kwf == NULL)
				free(kw);
			if (seen)
				mailimap_flag_free(seen);
			if (kwf)
				mailimap_flag_free(kwf);
			if (fl)
				mailimap_flag_list_free(fl);
			goto out;
		}
		mailimap_flag_list_add(fl, seen);
		mailimap_flag_list_add(fl, kwf);
		struct mailimap_store_att_flags *sf = mailimap_store_att_flags_new_add_flags_silent(fl);
		if (sf == NULL) {
			mailimap_flag_list_free(fl);
			goto out;
		}
		r = mailimap_uid_store(imap, set, sf);
		mailimap_store_att_flags_free(sf);
	} else if (mailimap_has_extension(imap, "MOVE")) {
		r = mailimap_uid_move(imap, set, s->cfg->move_to);
	} else {
		r = mailimap_uid_copy(imap, set, s->cfg->move_to);
		if (r == MAILIMAP_NO_ERROR) {
			struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
			struct mailimap_flag *del = mailimap_flag_new_deleted();
			if (fl == NULL || del == NULL) {
				if (del)
					mailimap_flag_free(del);
				if (fl)
					mailimap_flag_list_free(fl);
				r = -1;
				goto out;
			}
			mailimap_flag_list_add(fl, del);
			struct mailimap_store_att_flags *sf =
				mailimap_store_att_flags_new_add_flags_silent(fl);
			if (sf == NULL) {
				mailimap_flag_list_free(fl);
				r = -1;
				goto out;
			}
			r = mailimap_uid_store(imap, set, sf);
			mailimap_store_att_flags_free(sf);
			if (r == MAILIMAP_NO_ERROR)
				r = mailimap_has_extension(imap, "UIDPLUS")
					    ? mailimap_uid_expunge(imap, set)
					    : mailimap_expunge(imap);
		}
	}
	if (r != MAILIMAP_NO_ERROR)
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: cannot %s uid %u: %s", s->hostname,
			     after_names[s->cfg->after], uid, imap_why(imap));
	else
		metric_add(s, s->m_marked, 1);
	r = r == MAILIMAP_NO_ERROR ? 0 : -1;
out:
	mailimap_set_free(set);
	return r;
}

/* Fetches, emits and marks one mail. 0, or -1 to end the session. */
static int imap_one(struct email_input *s, mailimap *imap, uint32_t uidvalidity, uint32_t uid)
{
	struct mailimap_set *set = mailimap_set_new_single(uid);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	clist *res = NULL;
	int rc = -1;

	if (set == NULL || ft == NULL)
		goto out;
	struct mailimap_section *sec = mailimap_section_new(NULL);
	struct mailimap_fetch_att *body =
		sec ? mailimap_fetch_att_new_body_peek_section_partial(
			      sec, 0, (uint32_t)s->cfg->max_size)
		    : NULL;
	if (body == NULL) {
		if (sec)
			mailimap_section_free(sec);
		goto out;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, body);
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_internaldate());
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	if (mailimap_uid_fetch(imap, set, ft, &res) != MAILIMAP_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: fetch uid %u: %s", s->hostname, uid,
			     imap_why(imap));
		goto out;
	}
	const char *data = NULL;
	size_t len = 0;
	uint32_t size = 0, got_uid = 0;
	int64_t internal_ms = 0;
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		const char *d = NULL;
		size_t l = 0;
		uint32_t u = 0, sz = 0;
		int64_t ims = 0;
		for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
			struct mailimap_msg_att_item *item = clist_content(j);
			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			struct mailimap_msg_att_static *st = item->att_data.att_static;
			switch (st->att_type) {
			case MAILIMAP_MSG_ATT_UID:
				u = st->att_data.att_uid;
				break;
			case MAILIMAP_MSG_ATT_RFC822_SIZE:
				sz = st->att_data.att_rfc822_size;
				break;
			case MAILIMAP_MSG_ATT_INTERNALDATE:
				if (st->att_data.att_internal_date)
					ims = imap_date_ms(st->att_data.att_internal_date);
				break;
			case MAILIMAP_MSG_ATT_BODY_SECTION:
				if (st->att_data.att_body_section) {
					d = st->att_data.att_body_section->sec_body_part;
					l = st->att_data.att_body_section->sec_length;
				}
				break;
			default:
				break;
			}
		}
		/* Unsolicited FETCH responses about other mails may come too. */
		if (u == uid && d != NULL) {
			data = d;
			len = l;
			size = sz;
			got_uid = u;
			internal_ms = ims;
		}
	}
	if (got_uid == 0) {
		rc = 0; /* expunged meanwhile: nothing to do */
		goto out;
	}
	char identity[ID_MAX];
	snprintf(identity, sizeof(identity), "imap\n%s\n%s\n%u\n%u", s->account, s->mailbox,
		 uidvalidity, uid);
	struct mail_src src = {
		.raw = data,
		.len = len > s->cfg->max_size ? (size_t)s->cfg->max_size : len,
		.truncated = size > s->cfg->max_size || len > s->cfg->max_size,
		.size = size,
		.fallback_ms = internal_ms,
		.identity = identity,
		.attrs = json_object_new_object(),
	};
	if (src.attrs == NULL)
		goto out;
	json_object_object_add(src.attrs, "protocol", json_object_new_string("imap"));
	json_object_object_add(src.attrs, "account", json_object_new_string(s->account));
	json_object_object_add(src.attrs, "mailbox", json_object_new_string(s->mailbox));
	json_object_object_add(src.attrs, "uid", json_object_new_int64(uid));
	json_object_object_add(src.attrs, "uidvalidity", json_object_new_int64(uidvalidity));
	if (mail_emit(s, &src) != 0)
		goto out;
	rc = imap_mark(s, imap, uid);
out:
	if (res)
		mailimap_fetch_list_free(res);
	if (ft)
		mailimap_fetch_type_free(ft);
	if (set)
		mailimap_set_free(set);
	return rc;
}

/* UIDs still to process, ascending, at most `max`. -1 on error. */
static int imap_search(struct email_input *s, mailimap *imap, uint32_t *uids, size_t max,
		       size_t *n)
{
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	clist *res = NULL;
	int rc = -1;

	*n = 0;
	if (key == NULL)
		return -1;
	struct mailimap_search_key *k1 = mailimap_search_key_new(
		MAILIMAP_SEARCH_KEY_UNDELETED, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
		NULL);
	if (k1 == NULL || mailimap_search_key_multiple_add(key, k1) != MAILIMAP_NO_ERROR) {
		if (k1)
			mailimap_search_key_free(k1);
		goto out;
	}
	if (s->cfg->after == AFTER_FLAG) {
		char *kw = strdup(s->cfg->keyword);
		struct mailimap_search_key *k2 = kw ? mailimap_search_key_new_unkeyword(kw) : NULL;
		if (k2 == NULL || mailimap_search_key_multiple_add(key, k2) != MAILIMAP_NO_ERROR) {
			if (k2)
				mailimap_search_key_free(k2);
			else
				free(kw);
			goto out;
		}
	}
	if (mailimap_uid_search(imap, NULL, key, &res) != MAILIMAP_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: search: %s", s->hostname,
			     imap_why(imap));
		goto out;
	}
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t u = *(uint32_t *)clist_content(it);
		/* keep the lowest `max` UIDs: the oldest mails first */
		size_t i = *n;
		if (i == max) {
			if (u >= uids[max - 1])
				continue;
			i = max - 1;
		} else {
			(*n)++;
		}
		while (i > 0 && uids[i - 1] > u) {
			uids[i] = uids[i - 1];
			i--;
		}
		uids[i] = u;
	}
	rc = 0;
out:
	if (res)
		mailimap_search_result_free(res);
	mailimap_search_key_free(key);
	return rc;
}

/* One IMAP session: runs until an error (-1) or stop (0). */
static int imap_session(struct email_input *s, bool *worked)
{
	mailimap *imap = mailimap_new(0, NULL);
	size_t max = (size_t)s->cfg->batch, n;
	uint32_t *uids = calloc(max, sizeof(*uids));
	int rc = -1;

	if (imap == NULL || uids == NULL)
		goto out;
	mailimap_set_timeout(imap, (time_t)((s->cfg->timeout_ms + 999) / 1000));
	if (imap_connect(s, imap) != 0)
		goto out;
	*worked = true;
	uint32_t uidvalidity =
		imap->imap_selection_info ? imap->imap_selection_info->sel_uidvalidity : 0;
	bool idle = s->cfg->idle && mailimap_has_idle(imap);
	s->host->log(s->inst, RFX_LOG_INFO, "imap %s:%u/%s: connected (%s%s)", s->hostname,
		     s->port, s->mailbox, s->implicit_tls || s->cfg->starttls ? "TLS, " : "",
		     idle ? "IDLE" : "polling");
	while (!atomic_load(&s->stopping)) {
		if (imap_search(s, imap, uids, max, &n) != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			if (atomic_load(&s->stopping)) {
				rc = 0;
				goto out;
			}
			if (imap_one(s, imap, uidvalidity, uids[i]) != 0)
				goto out;
		}
		if (n == max)
			continue; /* more are waiting */
		int w;
		if (idle) {
			if (mailimap_idle(imap) != MAILIMAP_NO_ERROR) {
				s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: IDLE: %s", s->hostname,
					     imap_why(imap));
				goto out;
			}
			/* Something already buffered needs no wait. */
			w = imap->imap_stream && imap->imap_stream->read_buffer_len > 0
				    ? 1
				    : wait_ms(s,
					      s->cfg->poll_ms < IDLE_MAX_MS ? s->cfg->poll_ms
									    : IDLE_MAX_MS,
					      mailimap_idle_get_fd(imap));
			if (mailimap_idle_done(imap) != MAILIMAP_NO_ERROR) {
				if (w < 0)
					rc = 0;
				else
					s->host->log(s->inst, RFX_LOG_ERROR, "imap %s: IDLE DONE: %s",
						     s->hostname, imap_why(imap));
				goto out;
			}
		} else {
			w = wait_ms(s, s->cfg->poll_ms, -1);
			/* NOOP lets the server report new mail and keeps the session. */
			if (w >= 0 && mailimap_noop(imap) != MAILIMAP_NO_ERROR)
				goto out;
		}
		if (w < 0)
			break;
	}
	rc = 0;
out:
	if (imap != NULL) {
		if (rc == 0 && imap->imap_stream)
			mailimap_logout(imap);
		connected(s, -1);
		mailimap_free(imap);
	}
	free(uids);
	return rc;
}

/* ---- POP3 ----------------------------------------------------------------- */

static const char *pop_why(mailpop3 *p)
{
	return p && p->pop3_response ? p->pop3_response : "connection error";
}

/* First-seen time of a POP3 mail without a Date header, kept in the
 * instance's kv so that a re-read mail gets the same event id. */
static int64_t pop3_seen_ms(struct email_input *s, const char *uidl)
{
	char key[128], *v = NULL;
	int64_t ms = 0;

	snprintf(key, sizeof(key), "seen:%.100s", uidl);
	if (s->host->kv_get(s->inst, key, &v) == 0 && v != NULL) {
		ms = strtoll(v, NULL, 10);
		free(v);
		if (ms > 0)
			return ms;
	}
	char buf[32];
	ms = s->host->now_ns() / 1000000;
	snprintf(buf, sizeof(buf), "%lld", (long long)ms);
	s->host->kv_put(s->inst, key, buf);
	return ms;
}

static int pop3_connect(struct email_input *s, mailpop3 *pop)
{
	int r = s->implicit_tls
			? mailpop3_ssl_connect_with_callback(pop, s->hostname, s->port, tls_setup, s)
			: mailpop3_socket_connect(pop, s->hostname, s->port);
	if (r != MAILPOP3_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s:%u: cannot connect (libetpan error %d)",
			     s->hostname, s->port, r);
		return -1;
	}
	if (pop->pop3_stream)
		connected(s, mailstream_low_get_fd(mailstream_get_low(pop->pop3_stream)));
	if (s->implicit_tls && tls_verify(s, pop->pop3_stream) != 0)
		return -1;
	if (s->cfg->starttls) {
		/* STLS fails when the server does not offer it: no plain fallback. */
		if (mailpop3_socket_starttls(pop) != MAILPOP3_NO_ERROR) {
			s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: STLS failed: %s", s->hostname,
				     pop_why(pop));
			return -1;
		}
		if (tls_verify(s, pop->pop3_stream) != 0)
			return -1;
	}
	if (mailpop3_user(pop, s->cfg->username) != MAILPOP3_NO_ERROR ||
	    mailpop3_pass(pop, s->cfg->password) != MAILPOP3_NO_ERROR) {
		s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: login as %s failed: %s", s->hostname,
			     s->cfg->username, pop_why(pop));
		return -1;
	}
	return 0;
}

/* One POP3 session: reads up to `batch` mails, deletes the durable ones,
 * QUITs (which commits the deletions). 0, or -1 on error. */
static int pop3_session(struct email_input *s, bool *worked)
{
	mailpop3 *pop = mailpop3_new(0, NULL);
	carray *list = NULL;
	int rc = -1;
	size_t done = 0;

	if (pop == NULL)
		goto out;
	mailpop3_set_timeout(pop, (time_t)((s->cfg->timeout_ms + 999) / 1000));
	if (pop3_connect(s, pop) != 0)
		goto out;
	*worked = true;
	if (mailpop3_list(pop, &list) != MAILPOP3_NO_ERROR || list == NULL) {
		s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: LIST: %s", s->hostname, pop_why(pop));
		goto out;
	}
	for (unsigned i = 0; i < carray_count(list) && done < (size_t)s->cfg->batch; i++) {
		struct mailpop3_msg_info *mi = carray_get(list, i);
		char *data = NULL;
		size_t len = 0;
		bool trunc = mi->msg_size > s->cfg->max_size;
		int r;

		if (mi == NULL || mi->msg_deleted || atomic_load(&s->stopping))
			continue;
		if (trunc) {
			/* TOP bounds by lines, not bytes: ask for about max_size
			 * worth of 80-byte lines and cut what comes. */
			unsigned lines = (unsigned)(s->cfg->max_size / 80) + 1;
			r = mailpop3_top(pop, mi->msg_index, lines, &data, &len);
		} else {
			r = mailpop3_retr(pop, mi->msg_index, &data, &len);
		}
		if (r != MAILPOP3_NO_ERROR) {
			s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: RETR %u: %s", s->hostname,
				     mi->msg_index, pop_why(pop));
			goto quit;
		}
		char identity[ID_MAX];
		struct rfx_email_msg peek = {0};
		const char *uidl = mi->msg_uidl;
		char fallback[64];
		if (uidl == NULL) {
			/* no UIDL: the content identifies the mail */
			unsigned char h[10];
			rfx_email_hash80(data, len, h);
			snprintf(fallback, sizeof(fallback), "content-%02x%02x%02x%02x%02x%02x%02x%02x",
				 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
			uidl = fallback;
		}
		snprintf(identity, sizeof(identity), "pop3\n%s\n%s", s->account, uidl);
		int64_t fb = 0;
		if (rfx_email_parse(data, len > 65536 ? 65536 : len, 16, &peek) == 0) {
			if (!peek.has_date)
				fb = pop3_seen_ms(s, uidl);
			rfx_email_msg_free(&peek);
		}
		struct mail_src src = {
			.raw = data,
			.len = len > s->cfg->max_size ? (size_t)s->cfg->max_size : len,
			.truncated = trunc || len > s->cfg->max_size,
			.size = mi->msg_size,
			.fallback_ms = fb,
			.identity = identity,
			.attrs = json_object_new_object(),
		};
		if (src.attrs != NULL) {
			json_object_object_add(src.attrs, "protocol", json_object_new_string("pop3"));
			json_object_object_add(src.attrs, "account",
					       json_object_new_string(s->account));
			json_object_object_add(src.attrs, "uidl", json_object_new_string(uidl));
		}
		r = src.attrs ? mail_emit(s, &src) : -1;
		if (trunc)
			mailpop3_top_free(data);
		else
			mailpop3_retr_free(data);
		if (r != 0)
			goto quit;
		if (mailpop3_dele(pop, mi->msg_index) != MAILPOP3_NO_ERROR) {
			s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: DELE %u: %s", s->hostname,
				     mi->msg_index, pop_why(pop));
			goto quit;
		}
		metric_add(s, s->m_marked, 1);
		done++;
	}
	rc = 0;
quit:
	/* QUIT also after an error: it commits the deletions of the mails
	 * that are durable already. */
	if (mailpop3_quit(pop) != MAILPOP3_NO_ERROR && rc == 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "pop3 %s: QUIT: %s", s->hostname, pop_why(pop));
		rc = -1;
	}
out:
	if (pop != NULL) {
		connected(s, -1);
		mailpop3_free(pop);
	}
	if (rc == 0 && done == (size_t)s->cfg->batch)
		rc = 1; /* a full batch: more may wait, come back at once */
	return rc;
}

/* ---- thread and lifecycle --------------------------------------------------- */

static void *email_thread(void *arg)
{
	struct email_input *s = arg;
	int64_t backoff = 1000;

	while (!atomic_load(&s->stopping)) {
		bool worked = false;
		int rc = s->proto == P_IMAP ? imap_session(s, &worked) : pop3_session(s, &worked);
		if (atomic_load(&s->stopping))
			break;
		if (rc < 0) {
			metric_add(s, s->m_errors, 1);
			if (worked)
				backoff = 1000;
			s->host->log(s->inst, RFX_LOG_WARNING, "%s %s: retrying in %llds",
				     s->proto == P_IMAP ? "imap" : "pop3", s->hostname,
				     (long long)(backoff / 1000));
			if (wait_ms(s, backoff, -1) < 0)
				break;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		backoff = 1000;
		if (rc == 0 && wait_ms(s, s->cfg->poll_ms, -1) < 0)
			break;
	}
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* scheme://host[:port][/mailbox]; 0 or -1 with err filled. */
static int url_parse(struct email_input *s, const char *url, char *err, size_t errlen)
{
	static const struct {
		const char *scheme;
		enum proto proto;
		bool tls;
		uint16_t port;
	} schemes[] = {{"imap://", P_IMAP, false, 143},
		       {"imaps://", P_IMAP, true, 993},
		       {"pop3://", P_POP3, false, 110},
		       {"pop3s://", P_POP3, true, 995}};
	const char *p = NULL, *hend, *path;
	size_t i;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(url, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
			p = url + strlen(schemes[i].scheme);
			break;
		}
	if (p == NULL)
		goto bad;
	s->proto = schemes[i].proto;
	s->implicit_tls = schemes[i].tls;
	s->port = schemes[i].port;
	path = strchr(p, '/');
	if (path == NULL)
		path = p + strlen(p);
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(path - p));
		if (hend == NULL)
			goto bad;
		p++;
	} else {
		hend = memchr(p, ':', (size_t)(path - p));
		if (hend == NULL)
			hend = path;
	}
	if (hend == p || (size_t)(hend - p) >= sizeof(s->hostname))
		goto bad;
	memcpy(s->hostname, p, (size_t)(hend - p));
	s->hostname[hend - p] = '\0';
	const char *colon = hend;
	if (*colon == ']')
		colon++;
	if (*colon == ':') {
		char *e;
		long port = strtol(colon + 1, &e, 10);
		if (e != path || port < 1 || port > 65535)
			goto bad;
		s->port = (uint16_t)port;
	} else if (colon != path) {
		goto bad;
	}
	s->mailbox[0] = '\0';
	if (*path == '/' && path[1] != '\0') {
		size_t o = 0;
		for (const char *q = path + 1; *q && o < sizeof(s->mailbox) - 1; q++) {
			if (*q == '%' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
				s->mailbox[o++] = (char)(hexval(q[1]) * 16 + hexval(q[2]));
				q += 2;
			} else {
				s->mailbox[o++] = *q;
			}
		}
		s->mailbox[o] = '\0';
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "url '%s': expected imap://, imaps://, pop3:// or pop3s://HOST[:PORT][/MAILBOX]",
		 url);
	return -1;
}

static void email_destroy(void *state)
{
	struct email_input *s = state;

	if (s == NULL)
		return;
	rfx_email_rules_free(s->rules);
	if (s->trust)
		gnutls_x509_trust_list_deinit(s->trust, 1);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	pthread_mutex_destroy(&s->fd_lock);
	free(s);
}

static int email_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		      char *err, size_t errlen)
{
	struct email_config *cfg = config;
	struct email_input *s = calloc(1, sizeof(*s));
	int rc = RFX_EINVAL;

	if (s == NULL)
		return RFX_ENOMEM;
	s->inst = inst;
	s->host = host;
	s->cfg = cfg;
	s->wake[0] = s->wake[1] = -1;
	s->cur_fd = -1;
	pthread_mutex_init(&s->fd_lock, NULL);
	if (url_parse(s, cfg->url, err, errlen) != 0)
		goto fail;
	if (cfg->mailbox != NULL && *cfg->mailbox != '\0')
		snprintf(s->mailbox, sizeof(s->mailbox), "%s", cfg->mailbox);
	else if (s->mailbox[0] == '\0')
		snprintf(s->mailbox, sizeof(s->mailbox), "INBOX");
	if (s->proto == P_POP3 && strcmp(s->mailbox, "INBOX") != 0) {
		snprintf(err, errlen, "mailbox: POP3 has only INBOX (got '%s')", s->mailbox);
		goto fail;
	}
	if (cfg->starttls && s->implicit_tls) {
		snprintf(err, errlen, "starttls: not with %s, which is TLS from the start",
			 s->proto == P_IMAP ? "imaps://" : "pop3s://");
		goto fail;
	}
	if (cfg->after == AFTER_MOVE && (cfg->move_to == NULL || *cfg->move_to == '\0')) {
		snprintf(err, errlen, "after: move needs move_to: FOLDER");
		goto fail;
	}
	if (cfg->after == AFTER_MOVE && strcmp(cfg->move_to, s->mailbox) == 0) {
		snprintf(err, errlen, "move_to: must differ from the mailbox read ('%s')",
			 s->mailbox);
		goto fail;
	}
	for (const char *k = cfg->keyword; *k; k++)
		if (*k <= ' ' || *k >= 0x7f || strchr("(){%*\"\\]", *k)) {
			snprintf(err, errlen, "keyword '%s': an IMAP atom, e.g. reflex_done",
				 cfg->keyword);
			goto fail;
		}
	s->severity = host->severity_parse(cfg->severity);
	if (s->severity < 0) {
		snprintf(err, errlen, "severity '%s': not a severity name", cfg->severity);
		goto fail;
	}
	snprintf(s->account, sizeof(s->account), "%s@%s:%u", cfg->username, s->hostname,
		 s->port);
	if (rfx_email_rules_compile(cfg->rules.v, cfg->rules.n, &s->rules, err, errlen) != 0)
		goto fail;
	if (gnutls_x509_trust_list_init(&s->trust, 0) != 0) {
		snprintf(err, errlen, "TLS: cannot create a trust list");
		rc = RFX_ENOMEM;
		goto fail;
	}
	if (cfg->tls_ca_file != NULL && *cfg->tls_ca_file != '\0') {
		int n = gnutls_x509_trust_list_add_trust_file(s->trust, cfg->tls_ca_file, NULL,
							      GNUTLS_X509_FMT_PEM, 0, 0);
		if (n <= 0) {
			snprintf(err, errlen, "tls_ca_file '%s': no PEM certificate could be read",
				 cfg->tls_ca_file);
			goto fail;
		}
	} else if (cfg->tls_verify && (s->implicit_tls || cfg->starttls)) {
		if (gnutls_x509_trust_list_add_system_trust(s->trust, 0, 0) <= 0)
			host->log(inst, RFX_LOG_WARNING,
				  "no system CA certificates found; give tls_ca_file");
	}
	if (!cfg->tls_verify && (s->implicit_tls || cfg->starttls))
		host->log(inst, RFX_LOG_WARNING,
			  "tls_verify: false: the server's certificate is not checked; anyone "
			  "on the path can read the password and the mail");
	if (!s->implicit_tls && !cfg->starttls)
		host->log(inst, RFX_LOG_WARNING, "%s without TLS: the password travels in clear",
			  cfg->url);
	if (pipe2(s->wake, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		rc = RFX_EIO;
		goto fail;
	}
	s->m_mails = host->counter(inst, "mails_total", "Mails turned into durable events");
	s->m_marked = host->counter(inst, "processed_total",
				    "Mails flagged, moved (IMAP) or deleted (POP3) after storing");
	s->m_errors = host->counter(inst, "errors_total", "Sessions that ended in an error");
	s->m_truncated = host->counter(inst, "truncated_total", "Mails cut at max_size");
	s->m_connected = host->gauge(inst, "connected", "1 while a session is open");
	*state = s;
	return 0;
fail:
	host->log(inst, RFX_LOG_ERROR, "%s", err);
	email_destroy(s);
	return rc;
}

static int email_start(void *state)
{
	struct email_input *s = state;

	atomic_store(&s->stopping, false);
	if (pthread_create(&s->th, NULL, email_thread, s) != 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "cannot start thread");
		return RFX_ENOMEM;
	}
	s->running = true;
	return 0;
}

static void email_stop(void *state)
{
	struct email_input *s = state;
	char b = 1;
	struct timespec ts;

	if (!s->running)
		return;
	atomic_store(&s->stopping, true);
	/* Never read: the pipe stays readable and ends every wait. */
	if (write(s->wake[1], &b, 1) < 0)
		s->host->log(s->inst, RFX_LOG_WARNING, "cannot wake the mail thread");
	/* A network call in progress may finish (QUIT commits POP3 deletions);
	 * one that does not is cut off. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += STOP_GRACE_MS / 1000;
	if (pthread_timedjoin_np(s->th, NULL, &ts) != 0) {
		pthread_mutex_lock(&s->fd_lock);
		if (s->cur_fd >= 0)
			shutdown(s->cur_fd, SHUT_RDWR);
		pthread_mutex_unlock(&s->fd_lock);
		pthread_join(s->th, NULL);
	}
	s->running = false;
}

static const rfx_option email_rule_options[] = {
	{
		.name = "field",
		.type = RFX_OPT_ENUM,
		.default_value = "subject",
		.enum_values = rfx_email_field_names,
		.description = "What the regex reads: subject, from, to or body (decoded text).",
		.offset = offsetof(struct rfx_email_rule_conf, field),
	},
	{
		.name = "regex",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "PCRE2 pattern. The value is a capture group named like the "
			       "target, e.g. (?<host>\\S+), else group 1, else the whole match.",
		.offset = offsetof(struct rfx_email_rule_conf, regex),
	},
	{
		.name = "set",
		.type = RFX_OPT_ENUM,
		.flags = RFX_OPT_REQUIRED,
		.enum_values = rfx_email_target_names,
		.description = "The event field the rule sets: host, severity, status, service "
			       "or check. The first matching rule per field wins.",
		.offset = offsetof(struct rfx_email_rule_conf, set),
	},
	{
		.name = "value",
		.type = RFX_OPT_STRING,
		.description = "A fixed value to set when the regex matches, instead of the "
			       "captured text.",
		.offset = offsetof(struct rfx_email_rule_conf, value),
	},
	RFX_OPTION_END_SIZE(struct rfx_email_rule_conf),
};

static const rfx_option email_options[] = {
	{
		.name = "url",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "imap://HOST[:PORT][/MAILBOX], imaps://..., pop3://HOST[:PORT] or "
			       "pop3s://HOST[:PORT]. imaps and pop3s are TLS from the start.",
		.offset = offsetof(struct email_config, url),
	},
	{
		.name = "starttls",
		.type = RFX_OPT_BOOL,
		.default_value = "false",
		.description = "Upgrade an imap:// or pop3:// connection with STARTTLS/STLS; "
			       "fails instead of falling back to plain text.",
		.offset = offsetof(struct email_config, starttls),
	},
	{
		.name = "username",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "Login name.",
		.offset = offsetof(struct email_config, username),
	},
	{
		.name = "password",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED | RFX_OPT_SECRET,
		.description = "Password; use ${ENV_VAR} or ${file:/path} to keep it out of the "
			       "config.",
		.offset = offsetof(struct email_config, password),
	},
	{
		.name = "mailbox",
		.type = RFX_OPT_STRING,
		.description = "IMAP folder to read; overrides the URL's path. Default INBOX.",
		.offset = offsetof(struct email_config, mailbox),
	},
	{
		.name = "poll_interval",
		.type = RFX_OPT_DURATION,
		.default_value = "60s",
		.flags = RFX_OPT_RANGE,
		.min = 1000,
		.max = 86400000,
		.description = "How often to look for new mail (POP3, and IMAP without IDLE); "
			       "with IDLE, the longest wait before looking anyway.",
		.offset = offsetof(struct email_config, poll_ms),
	},
	{
		.name = "idle",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Use IMAP IDLE when the server's CAPABILITY lists it.",
		.offset = offsetof(struct email_config, idle),
	},
	{
		.name = "after",
		.type = RFX_OPT_ENUM,
		.default_value = "flag",
		.enum_values = after_names,
		.description = "IMAP, once a mail's event is stored: flag (add \\Seen and "
			       "`keyword`; mails with the keyword are skipped) or move (to "
			       "move_to). POP3 always deletes.",
		.offset = offsetof(struct email_config, after),
	},
	{
		.name = "keyword",
		.type = RFX_OPT_STRING,
		.default_value = "reflex_done",
		.description = "IMAP keyword that marks a processed mail (after: flag).",
		.offset = offsetof(struct email_config, keyword),
	},
	{
		.name = "move_to",
		.type = RFX_OPT_STRING,
		.description = "IMAP folder processed mails go to (after: move); created when "
			       "missing.",
		.offset = offsetof(struct email_config, move_to),
	},
	{
		.name = "tls_ca_file",
		.type = RFX_OPT_STRING,
		.description = "PEM file of the CAs to trust; default the system's store.",
		.offset = offsetof(struct email_config, tls_ca_file),
	},
	{
		.name = "tls_verify",
		.type = RFX_OPT_BOOL,
		.default_value = "true",
		.description = "Verify the server certificate and host name. false is logged as "
			       "a warning.",
		.offset = offsetof(struct email_config, tls_verify),
	},
	{
		.name = "max_size",
		.type = RFX_OPT_SIZE,
		.default_value = "1MiB",
		.flags = RFX_OPT_RANGE,
		.min = 4096,
		.max = 67108864,
		.description = "Bytes of a mail that are read; a larger mail still becomes an "
			       "event, from its first max_size bytes, with attrs.truncated.",
		.offset = offsetof(struct email_config, max_size),
	},
	{
		.name = "max_body",
		.type = RFX_OPT_SIZE,
		.default_value = "16KiB",
		.flags = RFX_OPT_RANGE,
		.min = 64,
		.max = 1048576,
		.description = "Bytes of the decoded body kept as the event message "
			       "(attrs.body_truncated when cut).",
		.offset = offsetof(struct email_config, max_body),
	},
	{
		.name = "batch",
		.type = RFX_OPT_INT,
		.default_value = "100",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 10000,
		.description = "Most mails handled per round before looking again.",
		.offset = offsetof(struct email_config, batch),
	},
	{
		.name = "timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "30s",
		.flags = RFX_OPT_RANGE,
		.min = 1000,
		.max = 600000,
		.description = "Network timeout of one server response.",
		.offset = offsetof(struct email_config, timeout_ms),
	},
	{
		.name = "severity",
		.type = RFX_OPT_STRING,
		.default_value = "warning",
		.description = "Severity of a mail no rule sets one for.",
		.offset = offsetof(struct email_config, severity),
	},
	{
		.name = "rules",
		.type = RFX_OPT_SECTION_LIST,
		.description = "Regex rules that set host, severity, status, service or check "
			       "from the subject, from, to or body; applied in order.",
		.offset = offsetof(struct email_config, rules),
		.sub = email_rule_options,
	},
	RFX_OPTION_END,
};

static const rfx_plugin email_plugin = {
	RFX_PLUGIN_ABI,
	.name = "email",
	.version = "1.0.0",
	.description = "Reads mail over IMAP (IDLE or polling) or POP3 and turns each mail "
		       "into an event, exactly once.",
	.kind = RFX_KIND_INPUT,
	.accepts = 0,
	.emits = RFX_REC_EVENT,
	.caps = RFX_CAP_THREADS | RFX_CAP_DURABLE_ACK,
	.options = email_options,
	.config_size = sizeof(struct email_config),
	.init = email_init,
	.start = email_start,
	.stop = email_stop,
	.destroy = email_destroy,
};

RFX_PLUGIN_DEFINE(email_plugin)
