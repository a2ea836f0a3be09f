/*
 * plugins/inputs/syslog/syslog.c - the syslog input: UDP and TCP listeners
 * (RFC 5426, RFC 6587 with LF framing or octet counting) that turn syslog
 * messages into events.
 *
 * One thread per listener. UDP is lossy by nature: datagrams are read in
 * batches with recvmmsg and emitted without an ack; when the pipeline is
 * full the batch is dropped and counted. TCP is not: a batch read from one
 * connection is emitted with an ack and the thread waits for it before it
 * reads more, retrying on RFX_EFULL, so a full pipeline stops reading and
 * the kernel's flow control slows the sender instead of losing messages.
 *
 * stop() writes to a pipe every thread polls on; the loops that wait (ack,
 * EFULL retry) also check `stopping`, so stop never blocks on a sender.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <reflex/plugin.h>

#include "parse.h"

#define SYSLOG_LISTENERS_MAX 16
#define SYSLOG_UDP_VLEN_MAX 64 /* datagrams per recvmmsg: bounds buffer memory */
#define SYSLOG_UDP_DGRAM_MAX 65535
#define SYSLOG_POLL_MS 500 /* how often waits re-check `stopping` */

struct syslog_config {
	struct rfx_strlist listen;
	uint64_t max_message;
	uint64_t rcvbuf;
	int64_t max_connections;
	int64_t idle_timeout_ms;
	int64_t batch;
};

struct syslog_input;

struct listener {
	struct syslog_input *s;
	int fd;
	bool tcp;
	bool running;
	pthread_t th;
	char spec[128];
};

struct conn {
	int fd;
	char peer[INET6_ADDRSTRLEN + 8];
	char *buf;
	size_t used;
	size_t skip;         /* bytes of an oversized octet-counted frame still to discard */
	bool discard_to_lf;  /* an LF-framed line outgrew the buffer: drop up to the LF */
	int64_t last_ms;
};

struct syslog_input {
	rfx_instance *inst;
	const rfx_host *host;
	struct syslog_config *cfg;
	size_t nl;
	struct listener l[SYSLOG_LISTENERS_MAX];
	int wake[2];
	atomic_bool stopping;
	rfx_metric *m_received, *m_dropped, *m_raw, *m_truncated, *m_rejected, *m_conns;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void metric_add(struct syslog_input *s, rfx_metric *m, double v)
{
	if (m != NULL)
		s->host->metric_add(m, v);
}

static void peer_string(const struct sockaddr_storage *ss, char *out, size_t outlen, char *ip,
			size_t iplen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	if (ip != NULL)
		snprintf(ip, iplen, "%s", host);
	snprintf(out, outlen, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
}

/* The peer's address without the port, for the host of a message without
 * a hostname. */
static void peer_ip(const char *peer, char *ip, size_t iplen)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	if (n > 0 && peer[0] == '[' && peer[n - 1] == ']') {
		peer++;
		n -= 2;
	}
	if (n >= iplen)
		n = iplen - 1;
	memcpy(ip, peer, n);
	ip[n] = '\0';
}

/* Builds the event of one frame; NULL only when out of memory. */
static rfx_event *syslog_event(struct syslog_input *s, const char *line, size_t len,
			       bool truncated, const char *peer)
{
	const rfx_host *h = s->host;
	struct syslog_msg m;
	rfx_event *ev = NULL;
	char ip[INET6_ADDRSTRLEN + 2], key[96];
	char *raw = NULL;

	if (len > s->cfg->max_message) {
		len = (size_t)s->cfg->max_message;
		truncated = true;
	}
	/* Framing leftovers are not part of the message or the raw text. */
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == '\0'))
		len--;
	if (rfx_syslog_parse(line, len, &m) != 0)
		return NULL;
	ev = h->event_new();
	raw = malloc(len + 1);
	if (ev == NULL || raw == NULL)
		goto fail;
	memcpy(raw, line, len);
	raw[len] = '\0';

	peer_ip(peer, ip, sizeof(ip));
	const char *check = m.appname ? m.appname : m.msgid ? m.msgid : "syslog";
	if (h->event_set(ev, RFX_F_KIND, "log") != 0 ||
	    h->event_set(ev, RFX_F_HOST, m.hostname ? m.hostname : ip) != 0 ||
	    h->event_set(ev, RFX_F_CHECK, check) != 0 ||
	    h->event_set(ev, RFX_F_MESSAGE, m.message) != 0 ||
	    h->event_set(ev, RFX_F_RAW, raw) != 0)
		goto fail;
	if (m.appname && h->event_set(ev, RFX_F_SERVICE, m.appname) != 0)
		goto fail;
	ev->severity = m.severity;
	ev->status = RFX_STATUS_FIRING;
	ev->occurred_ns = m.has_time ? m.time_ns : h->now_ns();

	/* Label errors past RFX_LABELS_MAX are ignored: labels are bounded,
	 * the message is what matters. */
	h->event_label_set(ev, "facility", rfx_syslog_facility_name(m.facility));
	if (m.appname)
		h->event_label_set(ev, "appname", m.appname);
	if (m.procid)
		h->event_label_set(ev, "procid", m.procid);
	if (m.msgid)
		h->event_label_set(ev, "msgid", m.msgid);
	for (size_t i = 0; i < m.nsd; i++) {
		if (m.sd[i].name == NULL)
			snprintf(key, sizeof(key), "sd.%s", m.sd[i].id);
		else
			snprintf(key, sizeof(key), "sd.%s.%s", m.sd[i].id, m.sd[i].name);
		if (h->event_label_set(ev, key, m.sd[i].value ? m.sd[i].value : "") == RFX_EFULL)
			break;
	}
	if (ev->attrs != NULL) {
		static const char *const rfcs[] = {"raw", "3164", "5424"};
		json_object_object_add(ev->attrs, "rfc", json_object_new_string(rfcs[m.rfc]));
		json_object_object_add(ev->attrs, "peer", json_object_new_string(peer));
		if (truncated)
			json_object_object_add(ev->attrs, "truncated", json_object_new_boolean(1));
		if (m.sd_truncated)
			json_object_object_add(ev->attrs, "sd_truncated", json_object_new_boolean(1));
	}
	if (m.rfc == SYSLOG_RAW)
		metric_add(s, s->m_raw, 1);
	if (truncated)
		metric_add(s, s->m_truncated, 1);
	free(raw);
	rfx_syslog_msg_free(&m);
	return ev;
fail:
	free(raw);
	if (ev != NULL)
		h->event_unref(ev);
	rfx_syslog_msg_free(&m);
	return NULL;
}

/* ---- UDP ----------------------------------------------------------------- */

static void *udp_thread(void *arg)
{
	struct listener *l = arg;
	struct syslog_input *s = l->s;
	size_t vlen = (size_t)s->cfg->batch, dsz = SYSLOG_UDP_DGRAM_MAX;
	struct mmsghdr *msgs = NULL;
	struct iovec *iov = NULL;
	struct sockaddr_storage *addrs = NULL;
	rfx_event **evs = NULL;
	char *bufs = NULL;

	if (vlen > SYSLOG_UDP_VLEN_MAX)
		vlen = SYSLOG_UDP_VLEN_MAX;
	if (s->cfg->max_message < dsz)
		dsz = (size_t)s->cfg->max_message;
	msgs = calloc(vlen, sizeof(*msgs));
	iov = calloc(vlen, sizeof(*iov));
	addrs = calloc(vlen, sizeof(*addrs));
	evs = calloc(vlen, sizeof(*evs));
	bufs = malloc(vlen * (dsz + 1));
	if (!msgs || !iov || !addrs || !evs || !bufs) {
		s->host->log(s->inst, RFX_LOG_ERROR, "%s: out of memory", l->spec);
		goto out;
	}
	while (!atomic_load(&s->stopping)) {
		struct pollfd p[2] = {{l->fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		for (size_t i = 0; i < vlen; i++) {
			iov[i].iov_base = bufs + i * (dsz + 1);
			iov[i].iov_len = dsz;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &addrs[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(addrs[i]);
		}
		int n = recvmmsg(l->fd, msgs, (unsigned)vlen, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		size_t ne = 0;
		for (int i = 0; i < n; i++) {
			char peer[INET6_ADDRSTRLEN + 8];
			peer_string(&addrs[i], peer, sizeof(peer), NULL, 0);
			rfx_event *ev = syslog_event(s, iov[i].iov_base, msgs[i].msg_len,
						     (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0, peer);
			if (ev != NULL)
				evs[ne++] = ev;
			else
				metric_add(s, s->m_dropped, 1);
		}
		if (ne == 0)
			continue;
		int rc = s->host->emit(s->inst, evs, ne, NULL);
		if (rc == 0) {
			metric_add(s, s->m_received, (double)ne);
		} else if (rc == RFX_EFULL) {
			metric_add(s, s->m_dropped, (double)ne);
			s->host->log(s->inst, RFX_LOG_WARNING,
				     "%s: pipeline full, dropped %zu datagrams", l->spec, ne);
		} else if (rc == RFX_ESTOPPED) {
			break;
		}
	}
out:
	free(msgs);
	free(iov);
	free(addrs);
	free(evs);
	free(bufs);
	return NULL;
}

/* ---- TCP ----------------------------------------------------------------- */

/*
 * Emits a batch with an ack and waits until it is durable. On RFX_EFULL the
 * same events are offered again (we hold a reference across each attempt,
 * since emit takes one whatever it returns). Returns false when stopping.
 */
static bool emit_acked(struct syslog_input *s, const char *spec, rfx_event **evs, size_t n)
{
	const rfx_host *h = s->host;
	bool ok = true, warned = false;
	rfx_ack *ack = NULL;
	int rc;

	if (n == 0)
		return true;
	for (;;) {
		ack = h->ack_new();
		if (ack == NULL) {
			ok = false;
			break;
		}
		for (size_t i = 0; i < n; i++)
			h->event_ref(evs[i]);
		rc = h->emit(s->inst, evs, n, ack);
		if (rc == 0)
			break;
		h->ack_free(ack);
		ack = NULL;
		if (rc != RFX_EFULL || atomic_load(&s->stopping)) {
			ok = false;
			break;
		}
		if (!warned)
			h->log(s->inst, RFX_LOG_WARNING,
			       "%s: pipeline full; pausing reads until it drains", spec);
		warned = true;
		struct pollfd p = {s->wake[0], POLLIN, 0};
		poll(&p, 1, 100);
	}
	if (ack != NULL) {
		/* Bounded by stopping: the pipeline drains what was queued. */
		while ((rc = h->ack_wait(ack, SYSLOG_POLL_MS)) == RFX_ETIMEDOUT &&
		       !atomic_load(&s->stopping))
			;
		if (rc == RFX_EIO)
			h->log(s->inst, RFX_LOG_ERROR, "%s: %zu messages could not be stored", spec, n);
		else if (rc == 0)
			metric_add(s, s->m_received, (double)n);
		h->ack_free(ack);
	} else {
		h->log(s->inst, RFX_LOG_ERROR, "%s: %zu messages not accepted (agent stopping)",
		       spec, n);
	}
	for (size_t i = 0; i < n; i++)
		h->event_unref(evs[i]);
	return ok;
}

static void conn_close(struct syslog_input *s, struct conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Adds one frame to the batch, flushing it when full. */
static bool add_frame(struct syslog_input *s, struct listener *l, rfx_event **evs, size_t *ne,
		      const char *p, size_t n, bool truncated, const char *peer)
{
	rfx_event *ev = syslog_event(s, p, n, truncated, peer);

	if (ev == NULL) {
		metric_add(s, s->m_dropped, 1);
		s->host->log(s->inst, RFX_LOG_ERROR, "%s: out of memory, message dropped", l->spec);
		return true;
	}
	evs[(*ne)++] = ev;
	if (*ne == (size_t)s->cfg->batch) {
		bool ok = emit_acked(s, l->spec, evs, *ne);
		*ne = 0;
		return ok;
	}
	return true;
}

/*
 * Splits what the connection has buffered into frames. A frame starting
 * with digits and a space is octet-counted (RFC 6587 3.4.1), otherwise it
 * ends at LF (3.4.2). Returns false when stopping.
 */
static bool conn_frames(struct syslog_input *s, struct listener *l, struct conn *c,
			rfx_event **evs, size_t *ne, bool eof)
{
	size_t cap = (size_t)s->cfg->max_message, pos = 0;
	bool ok = true;

	while (ok && pos < c->used) {
		char *p = c->buf + pos;
		size_t avail = c->used - pos;

		if (c->skip > 0) {
			size_t k = avail < c->skip ? avail : c->skip;
			c->skip -= k;
			pos += k;
			continue;
		}
		if (c->discard_to_lf) {
			char *lf = memchr(p, '\n', avail);
			pos = lf ? (size_t)(lf - c->buf) + 1 : c->used;
			if (lf)
				c->discard_to_lf = false;
			continue;
		}
		size_t d = 0;
		while (d < avail && d < 10 && p[d] >= '0' && p[d] <= '9')
			d++;
		if (d > 0 && d < avail && p[d] == ' ' && p[0] != '0') {
			unsigned long long len = strtoull(p, NULL, 10);
			size_t hdr = d + 1;
			if (len <= cap) {
				if (avail - hdr < len && !eof)
					break; /* wait for the rest */
				if (avail - hdr < len) {
					ok = add_frame(s, l, evs, ne, p + hdr, avail - hdr, true,
						       c->peer);
					pos = c->used;
					continue;
				}
				ok = add_frame(s, l, evs, ne, p + hdr, (size_t)len, false, c->peer);
				pos += hdr + (size_t)len;
			} else if (avail - hdr >= cap) {
				ok = add_frame(s, l, evs, ne, p + hdr, cap, true, c->peer);
				c->skip = (size_t)(len - cap);
				pos += hdr + cap;
			} else if (eof) {
				/* The sender closed mid-frame: keep what came. */
				ok = add_frame(s, l, evs, ne, p + hdr, avail - hdr, true, c->peer);
				pos = c->used;
			} else {
				break;
			}
			continue;
		}
		if (d == avail && d < 10 && !eof)
			break; /* could still become an octet count */
		char *lf = memchr(p, '\n', avail);
		if (lf != NULL) {
			size_t n = (size_t)(lf - p);
			ok = add_frame(s, l, evs, ne, p, n > cap ? cap : n, n > cap, c->peer);
			pos += n + 1;
		} else if (avail >= cap) {
			ok = add_frame(s, l, evs, ne, p, cap, true, c->peer);
			c->discard_to_lf = true;
			pos += cap;
		} else if (eof) {
			ok = add_frame(s, l, evs, ne, p, avail, false, c->peer);
			pos = c->used;
		} else {
			break;
		}
	}
	memmove(c->buf, c->buf + pos, c->used - pos);
	c->used -= pos;
	return ok;
}

static void tcp_accept(struct syslog_input *s, struct listener *l, struct conn *conns,
		       size_t maxc, size_t *nconns)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char peer[INET6_ADDRSTRLEN + 8];

	if (fd < 0)
		return;
	peer_string(&ss, peer, sizeof(peer), NULL, 0);
	size_t i;
	for (i = 0; i < maxc && conns[i].fd >= 0; i++)
		;
	/* Room for a whole octet-counted frame plus its length header. */
	char *buf = i < maxc ? malloc((size_t)s->cfg->max_message + 16) : NULL;
	if (buf == NULL) {
		close(fd);
		metric_add(s, s->m_rejected, 1);
		s->host->log(s->inst, RFX_LOG_WARNING, "%s: connection from %s refused: %s",
			     l->spec, peer, i < maxc ? "out of memory" : "max_connections reached");
		return;
	}
	conns[i].fd = fd;
	conns[i].buf = buf;
	conns[i].used = 0;
	conns[i].skip = 0;
	conns[i].discard_to_lf = false;
	conns[i].last_ms = mono_ms();
	snprintf(conns[i].peer, sizeof(conns[i].peer), "%s", peer);
	(*nconns)++;
	if (s->m_conns)
		s->host->metric_set(s->m_conns, (double)*nconns);
}

static void *tcp_thread(void *arg)
{
	struct listener *l = arg;
	struct syslog_input *s = l->s;
	size_t maxc = (size_t)s->cfg->max_connections, nconns = 0;
	size_t bufcap = (size_t)s->cfg->max_message + 16;
	struct conn *conns = calloc(maxc, sizeof(*conns));
	struct pollfd *pfd = calloc(maxc + 2, sizeof(*pfd));
	size_t *idx = calloc(maxc + 2, sizeof(*idx));
	rfx_event **evs = calloc((size_t)s->cfg->batch, sizeof(*evs));
	size_t ne = 0;

	if (!conns || !pfd || !idx || !evs) {
		s->host->log(s->inst, RFX_LOG_ERROR, "%s: out of memory", l->spec);
		goto out;
	}
	for (size_t i = 0; i < maxc; i++)
		conns[i].fd = -1;
	while (!atomic_load(&s->stopping)) {
		size_t np = 2;
		pfd[0] = (struct pollfd){s->wake[0], POLLIN, 0};
		pfd[1] = (struct pollfd){l->fd, POLLIN, 0};
		for (size_t i = 0; i < maxc; i++) {
			if (conns[i].fd < 0)
				continue;
			pfd[np] = (struct pollfd){conns[i].fd, POLLIN, 0};
			idx[np++] = i;
		}
		int pr = poll(pfd, np, 1000);
		if (pr < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break;
		int64_t now = mono_ms();
		for (size_t k = 2; pr > 0 && k < np; k++) {
			struct conn *c = &conns[idx[k]];
			if (pfd[k].revents == 0)
				continue;
			ssize_t r = read(c->fd, c->buf + c->used, bufcap - c->used);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			bool eof = r <= 0;
			if (r > 0) {
				c->used += (size_t)r;
				c->last_ms = now;
			}
			bool ok = conn_frames(s, l, c, evs, &ne, eof);
			/* The ack before reading on: backpressure per read. */
			if (ok)
				ok = emit_acked(s, l->spec, evs, ne);
			ne = 0;
			if (!ok)
				goto out;
			if (eof) {
				conn_close(s, c);
				nconns--;
				if (s->m_conns)
					s->host->metric_set(s->m_conns, (double)nconns);
			}
		}
		if (pfd[1].revents & POLLIN)
			tcp_accept(s, l, conns, maxc, &nconns);
		for (size_t i = 0; i < maxc; i++) {
			if (conns[i].fd >= 0 && now - conns[i].last_ms > s->cfg->idle_timeout_ms) {
				s->host->log(s->inst, RFX_LOG_INFO, "%s: closing idle connection from %s",
					     l->spec, conns[i].peer);
				conn_close(s, &conns[i]);
				nconns--;
				if (s->m_conns)
					s->host->metric_set(s->m_conns, (double)nconns);
			}
		}
	}
out:
	for (size_t i = 0; i < ne; i++)
		s->host->event_unref(evs[i]);
	for (size_t i = 0; conns && i < maxc; i++)
		if (conns[i].fd >= 0)
			conn_close(s, &conns[i]);
	free(conns);
	free(pfd);
	free(idx);
	free(evs);
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

/* "udp://HOST:PORT" or "tcp://[V6]:PORT" -> a bound (and for TCP listening)
 * socket. 0 or a negative code with err filled. */
static int open_listener(struct syslog_input *s, const char *spec, struct listener *l, char *err,
			 size_t errlen)
{
	char host[128];
	const char *rest, *port;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1, rc;

	if (strncmp(spec, "udp://", 6) == 0)
		l->tcp = false;
	else if (strncmp(spec, "tcp://", 6) == 0)
		l->tcp = true;
	else
		goto bad;
	rest = spec + 6;
	if (*rest == '[') {
		const char *rb = strchr(rest, ']');
		if (rb == NULL || rb[1] != ':' || (size_t)(rb - rest - 1) >= sizeof(host))
			goto bad;
		memcpy(host, rest + 1, (size_t)(rb - rest - 1));
		host[rb - rest - 1] = '\0';
		port = rb + 2;
	} else {
		const char *colon = strrchr(rest, ':');
		if (colon == NULL || (size_t)(colon - rest) >= sizeof(host))
			goto bad;
		memcpy(host, rest, (size_t)(colon - rest));
		host[colon - rest] = '\0';
		port = colon + 1;
	}
	if (*port == '\0')
		goto bad;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = l->tcp ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s", spec, gai_strerror(rc));
		return RFX_EINVAL;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto syserr;
	int rb = s->cfg->rcvbuf > INT32_MAX ? INT32_MAX : (int)s->cfg->rcvbuf;
	/* FORCE needs CAP_NET_ADMIN; otherwise the kernel caps at rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	if (l->tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		goto syserr;
	if (l->tcp && listen(fd, 128) != 0)
		goto syserr;
	freeaddrinfo(ai);
	l->fd = fd;
	l->s = s;
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	return 0;
syserr:
	snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return RFX_EIO;
bad:
	snprintf(err, errlen,
		 "listen '%s': expected udp://HOST:PORT or tcp://HOST:PORT ([V6] for IPv6)", spec);
	return RFX_EINVAL;
}

static void syslog_destroy(void *state)
{
	struct syslog_input *s = state;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nl; i++)
		if (s->l[i].fd >= 0)
			close(s->l[i].fd);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s);
}

static int syslog_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
		       char *err, size_t errlen)
{
	struct syslog_config *cfg = config;
	struct syslog_input *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (s == NULL)
		return RFX_ENOMEM;
	s->inst = inst;
	s->host = host;
	s->cfg = cfg;
	s->wake[0] = s->wake[1] = -1;
	if (cfg->listen.n == 0 || cfg->listen.n > SYSLOG_LISTENERS_MAX) {
		snprintf(err, errlen, "listen: give 1 to %d addresses", SYSLOG_LISTENERS_MAX);
		rc = RFX_EINVAL;
		goto fail;
	}
	if (pipe2(s->wake, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		rc = RFX_EIO;
		goto fail;
	}
	for (size_t i = 0; i < cfg->listen.n; i++) {
		s->l[i].fd = -1;
		s->nl = i + 1;
		rc = open_listener(s, cfg->listen.v[i], &s->l[i], err, errlen);
		if (rc != 0)
			goto fail;
	}
	s->m_received = host->counter(inst, "messages_total", "Syslog messages accepted");
	s->m_dropped = host->counter(inst, "dropped_total",
				     "Syslog messages dropped (UDP with a full pipeline, no memory)");
	s->m_raw = host->counter(inst, "raw_total", "Messages without a valid PRI, kept raw");
	s->m_truncated = host->counter(inst, "truncated_total", "Messages cut at max_message");
	s->m_rejected = host->counter(inst, "rejected_connections_total",
				      "TCP connections refused at max_connections");
	s->m_conns = host->gauge(inst, "connections", "Open TCP connections");
	*state = s;
	return 0;
fail:
	host->log(inst, RFX_LOG_ERROR, "%s", err);
	syslog_destroy(s);
	return rc;
}

static void syslog_stop(void *state);

static int syslog_start(void *state)
{
	struct syslog_input *s = state;

	atomic_store(&s->stopping, false);
	for (size_t i = 0; i < s->nl; i++) {
		struct listener *l = &s->l[i];
		if (pthread_create(&l->th, NULL, l->tcp ? tcp_thread : udp_thread, l) != 0) {
			s->host->log(s->inst, RFX_LOG_ERROR, "%s: cannot start thread", l->spec);
			syslog_stop(s);
			return RFX_ENOMEM;
		}
		l->running = true;
		s->host->log(s->inst, RFX_LOG_INFO, "listening on %s", l->spec);
	}
	return 0;
}

static void syslog_stop(void *state)
{
	struct syslog_input *s = state;
	char b = 1;

	atomic_store(&s->stopping, true);
	/* Never read: the pipe stays readable and wakes every thread. */
	if (write(s->wake[1], &b, 1) < 0)
		s->host->log(s->inst, RFX_LOG_WARNING, "cannot wake listener threads");
	for (size_t i = 0; i < s->nl; i++) {
		if (s->l[i].running)
			pthread_join(s->l[i].th, NULL);
		s->l[i].running = false;
	}
}

static const rfx_option syslog_options[] = {
	{
		.name = "listen",
		.type = RFX_OPT_LIST,
		.flags = RFX_OPT_REQUIRED,
		.description = "Addresses to listen on, e.g. [\"udp://0.0.0.0:514\", "
			       "\"tcp://[::]:514\"]. TCP accepts LF framing and RFC 6587 octet "
			       "counting, detected per message.",
		.offset = offsetof(struct syslog_config, listen),
	},
	{
		.name = "max_message",
		.type = RFX_OPT_SIZE,
		.default_value = "64KiB",
		.flags = RFX_OPT_RANGE,
		.min = 480,
		.max = 16777216,
		.description = "Longer messages are cut (attrs.truncated) at this size.",
		.offset = offsetof(struct syslog_config, max_message),
	},
	{
		.name = "rcvbuf",
		.type = RFX_OPT_SIZE,
		.default_value = "4MiB",
		.flags = RFX_OPT_RANGE,
		.min = 4096,
		.max = 1073741824,
		.description = "Socket receive buffer (SO_RCVBUF; capped by net.core.rmem_max "
			       "unless the agent has CAP_NET_ADMIN). Absorbs UDP bursts.",
		.offset = offsetof(struct syslog_config, rcvbuf),
	},
	{
		.name = "max_connections",
		.type = RFX_OPT_INT,
		.default_value = "256",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 65536,
		.description = "Open TCP connections per listener; more are refused.",
		.offset = offsetof(struct syslog_config, max_connections),
	},
	{
		.name = "idle_timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "5m",
		.flags = RFX_OPT_RANGE,
		.min = 1000,
		.max = 86400000,
		.description = "TCP connections silent this long are closed.",
		.offset = offsetof(struct syslog_config, idle_timeout_ms),
	},
	{
		.name = "batch",
		.type = RFX_OPT_INT,
		.default_value = "256",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 65536,
		.description = "Most messages handed to the pipeline at once.",
		.offset = offsetof(struct syslog_config, batch),
	},
	RFX_OPTION_END,
};

static const rfx_plugin syslog_plugin = {
	RFX_PLUGIN_ABI,
	.name = "syslog",
	.version = "1.0.0",
	.description = "Receives syslog (RFC 5424, RFC 3164) over UDP and TCP.",
	.kind = RFX_KIND_INPUT,
	.accepts = 0,
	.emits = RFX_REC_EVENT,
	.caps = RFX_CAP_THREADS | RFX_CAP_DURABLE_ACK,
	.options = syslog_options,
	.config_size = sizeof(struct syslog_config),
	.init = syslog_init,
	.start = syslog_start,
	.stop = syslog_stop,
	.destroy = syslog_destroy,
};

RFX_PLUGIN_DEFINE(syslog_plugin)
