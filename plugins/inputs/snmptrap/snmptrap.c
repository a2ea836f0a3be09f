/*
 * plugins/inputs/snmptrap/snmptrap.c - the SNMP trap input: UDP listeners
 * (net-snmp sessions) that receive v1/v2c traps, v2c/v3 informs and v3
 * traps, admit them (communities, v3 USM users) and emit events built by
 * trapmap.c.
 *
 * net-snmp is one library-wide state (USM users, engine id, MIB tree) and
 * is not thread safe: it is initialised once per process for every
 * instance, and every call into it runs under `snmp_lock`. One receiver
 * thread per instance polls its sockets without the lock and takes it to
 * read a burst of datagrams; the session callback converts and queues, and
 * emitting happens after the lock is released, so a full pipeline never
 * holds up another instance's net-snmp work.
 *
 * Traps are lossy like UDP syslog: emitted without an ack, dropped and
 * counted when the pipeline is full. An inform is answered only once its
 * event is durable: emitted with an ack that the thread polls, and the
 * Response PDU goes out when the ack succeeds; a store failure or timeout
 * sends nothing, so the sender retransmits. A retransmission gets the same
 * event id (remembered per request), which the store ignores as a
 * duplicate.
 */
#include <dlfcn.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/library/large_fd_set.h>

#include "trapmap.h"

#define SNMPTRAP_LISTENERS_MAX 16
#define SNMPTRAP_USERS_MAX 256
#define SNMPTRAP_BURST 64       /* datagrams read per wakeup and listener */
#define SNMPTRAP_RECENT 1024    /* informs remembered for retransmissions */
#define SNMPTRAP_RECENT_MS 600000
#define SNMPTRAP_POLL_PENDING_MS 2 /* how often pending inform acks are checked */
#define SNMPTRAP_APP "reflex-snmptrap"

enum { AUTH_NONE, AUTH_MD5, AUTH_SHA, AUTH_SHA224, AUTH_SHA256, AUTH_SHA384, AUTH_SHA512 };
enum { PRIV_NONE, PRIV_DES, PRIV_AES, PRIV_AES192, PRIV_AES256 };
enum { LEVEL_AUTO, LEVEL_NOAUTH, LEVEL_AUTH, LEVEL_PRIV };

static const char *const auth_names[] = {"none",    "MD5",     "SHA",     "SHA-224",
					 "SHA-256", "SHA-384", "SHA-512", NULL};
static const char *const priv_names[] = {"none", "DES", "AES", "AES-192", "AES-256", NULL};
static const char *const level_names[] = {"auto", "noAuthNoPriv", "authNoPriv", "authPriv", NULL};
static const char *const status_names[] = {"firing", "resolved", NULL};

struct snmptrap_user_cfg {
	char *name;
	int auth;
	char *auth_password;
	int priv;
	char *priv_password;
	char *engine_id;
	int level;
};

struct snmptrap_config {
	struct rfx_strlist listen;
	struct rfx_strlist communities;
	struct rfx_seclist users;
	char *engine_id;
	struct rfx_strlist mibs;
	struct rfx_strlist mib_dirs;
	struct rfx_seclist traps;
	int64_t inform_timeout_ms;
	int64_t max_pending_informs;
};

struct snmptrap_input;

struct listener {
	struct snmptrap_input *s;
	void *sessp; /* net-snmp single session; owns its transport */
	int fd;
	char spec[128];
};

/* An inform whose event is on its way to the store. */
struct pending {
	rfx_ack *ack;
	netsnmp_pdu *reply; /* the Response to send once durable */
	struct listener *l;
	int64_t deadline_ms;
};

/* What the session callback hands to the thread after the lock. */
struct received {
	rfx_event *ev;
	netsnmp_pdu *reply; /* NULL for a trap */
	struct listener *l;
};

struct recent {
	uint64_t h[2];
	int64_t first_ms; /* the id's time: that of the first copy */
	int64_t seen_ms;
};

struct snmptrap_input {
	rfx_instance *inst;
	const rfx_host *host;
	struct snmptrap_config *cfg;
	struct trapmap *map;
	struct trap_user *users;
	struct trap_policy policy;
	struct usmUser *added[2 * SNMPTRAP_USERS_MAX]; /* ours in the global USM list */
	size_t nadded;
	bool lib_ref;
	size_t nl;
	struct listener l[SNMPTRAP_LISTENERS_MAX];
	int wake[2];
	atomic_bool stopping;
	bool running;
	pthread_t th;
	/* receiver thread only: */
	struct received batch[SNMPTRAP_BURST];
	size_t nbatch;
	struct pending *pending;
	size_t npending;
	struct recent recent[SNMPTRAP_RECENT];
	size_t recent_next;
	rfx_metric *m_traps, *m_informs, *m_rejected, *m_dropped, *m_inform_failed, *m_malformed,
		*m_pending;
};

/* ---- the library, shared by all instances --------------------------------- */

/* Guards every net-snmp call and the fields below. */
static pthread_mutex_t snmp_lock = PTHREAD_MUTEX_INITIALIZER;
static int lib_refs;
static char lib_engine_id[2 * 32 + 3]; /* the hex text it was set from, "" = default */
static struct snmptrap_input *log_to;  /* receives net-snmp's log lines */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void metric_add(struct snmptrap_input *s, rfx_metric *m, double v)
{
	if (m != NULL)
		s->host->metric_add(m, v);
}

/* net-snmp's own messages (MIB parse errors, USM complaints): into the
 * instance log, warnings and worse as warnings, the rest as debug. */
static int lib_log(int major, int minor, void *server, void *client)
{
	struct snmp_log_message *msg = server;
	struct snmptrap_input *s = log_to;

	if (s == NULL || msg == NULL || msg->msg == NULL)
		return 0;
	size_t n = strlen(msg->msg);
	while (n > 0 && msg->msg[n - 1] == '\n')
		n--;
	if (n > 0)
		s->host->log(s->inst, msg->priority <= LOG_WARNING ? RFX_LOG_WARNING : RFX_LOG_DEBUG,
			     "net-snmp: %.*s", (int)n, msg->msg);
	return 0;
}

static bool hex_engine_id(const char *text, u_char *out, size_t *len)
{
	const char *p = text;
	size_t n = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (strlen(p) % 2 != 0 || strlen(p) < 10 || strlen(p) > 64)
		return false;
	for (; *p; p += 2) {
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1 || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return false;
		out[n++] = (u_char)v;
	}
	*len = n;
	return true;
}

/* Called with snmp_lock held. The first instance initialises the library
 * with no MIBs, no config files and persistent state under its data dir. */
static int lib_acquire(struct snmptrap_input *s, char *err, size_t errlen)
{
	const char *eid = s->cfg->engine_id ? s->cfg->engine_id : "";

	if (lib_refs > 0) {
		if (strcmp(eid, lib_engine_id) != 0) {
			snprintf(err, errlen,
				 "engine_id '%s' differs from another snmptrap instance's '%s': "
				 "one process has one SNMP engine id",
				 eid, lib_engine_id);
			return RFX_EINVAL;
		}
		lib_refs++;
		return 0;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/snmp", s->host->data_dir(s->inst));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return RFX_EIO;
	}
	u_char eidb[32];
	size_t eidlen = 0;
	if (*eid && !hex_engine_id(eid, eidb, &eidlen)) {
		snprintf(err, errlen, "engine_id '%s': expected 5 to 32 bytes in hex, e.g. "
				      "0x8000000001020304",
			 eid);
		return RFX_EINVAL;
	}
	/* Keep libnetsnmp mapped for the life of the process, even when this
	 * plugin is unloaded: its snmp_shutdown() leaves a table allocated
	 * (see .ci/lsan.supp), and a library that stays loaded keeps that
	 * attributable and its global state consistent across reloads. */
	Dl_info dli;
	if (dladdr((void *)init_snmp, &dli) && dli.dli_fname)
		dlopen(dli.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, dir);
	/* Route the library's logging through ours instead of stderr. */
	snmp_disable_log();
	netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, lib_log, NULL);
	/* No MIBs unless configured: the default list prints pages of
	 * "Cannot find module" on hosts without the MIB files. */
	register_mib_handlers();
	char mibs_line[] = "mibs :";
	netsnmp_config(mibs_line);
	/* Before init_snmp: USM takes its local engine id during init. */
	if (eidlen > 0 && set_exact_engineID(eidb, eidlen) != SNMPERR_SUCCESS) {
		snprintf(err, errlen, "engine_id '%s' was refused by net-snmp", eid);
		return RFX_EINVAL;
	}
	init_snmp(SNMPTRAP_APP);
	if (eidlen > 0) {
		u_char now[32];
		size_t nl = snmpv3_get_engineID(now, sizeof(now));
		if (nl != eidlen || memcmp(now, eidb, eidlen) != 0) {
			snmp_shutdown(SNMPTRAP_APP);
			snprintf(err, errlen, "engine_id '%s' was not taken by net-snmp", eid);
			return RFX_EINVAL;
		}
	}
	snprintf(lib_engine_id, sizeof(lib_engine_id), "%s", eid);
	lib_refs = 1;
	return 0;
}

static void lib_release(void)
{
	if (--lib_refs == 0) {
		snmp_shutdown(SNMPTRAP_APP);
		snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, lib_log, NULL,
					 1);
		lib_engine_id[0] = '\0';
	}
}

/* ---- USM users ------------------------------------------------------------- */

/* Appends a double-quoted copy of s (net-snmp's config word syntax). */
static bool quote_word(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(out);

	if (n + 3 > outlen)
		return false;
	out[n++] = '"';
	for (; *s; s++) {
		if (n + 4 > outlen)
			return false;
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n++] = ' ';
	out[n] = '\0';
	return true;
}

/* Adds one USM user for engine id `eid` (NULL: ours) through net-snmp's
 * own createUser parser, which derives and localises the keys for every
 * protocol it supports. Called with snmp_lock held. */
static int user_add(struct snmptrap_input *s, const struct snmptrap_user_cfg *u, const char *eid,
		    char *err, size_t errlen)
{
	char line[1024] = "";
	u_char eidb[32];
	size_t eidlen = 0;

	if (eid != NULL) {
		if (!hex_engine_id(eid, eidb, &eidlen)) {
			snprintf(err, errlen, "users: '%s': engine_id '%s': expected 5 to 32 bytes in hex",
				 u->name, eid);
			return RFX_EINVAL;
		}
		snprintf(line, sizeof(line), "-e %s%s ", (eid[0] == '0' && (eid[1] | 0x20) == 'x') ? "" : "0x",
			 eid);
	} else {
		eidlen = snmpv3_get_engineID(eidb, sizeof(eidb));
	}
	bool ok = quote_word(line, sizeof(line), u->name);
	if (u->auth != AUTH_NONE) {
		ok = ok && quote_word(line, sizeof(line), auth_names[u->auth]) &&
		     quote_word(line, sizeof(line), u->auth_password);
		if (u->priv != PRIV_NONE)
			ok = ok && quote_word(line, sizeof(line), priv_names[u->priv]) &&
			     quote_word(line, sizeof(line), u->priv_password);
	}
	if (!ok) {
		snprintf(err, errlen, "users: '%s': name or passwords too long", u->name);
		return RFX_EINVAL;
	}
	if (usm_get_user(eidb, eidlen, (char *)u->name) != NULL) {
		snprintf(err, errlen,
			 "users: '%s' is already defined for this engine id (by this or another "
			 "snmptrap instance)",
			 u->name);
		return RFX_EINVAL;
	}
	usm_parse_create_usmUser("createUser", line);
	struct usmUser *made = usm_get_user(eidb, eidlen, (char *)u->name);
	if (made == NULL) {
		snprintf(err, errlen, "users: '%s': net-snmp refused the user (unsupported protocol?)",
			 u->name);
		return RFX_EINVAL;
	}
	s->added[s->nadded++] = made;
	return 0;
}

static int users_setup(struct snmptrap_input *s, char *err, size_t errlen)
{
	const struct snmptrap_user_cfg *uc = s->cfg->users.v;
	size_t n = s->cfg->users.n;

	if (n > SNMPTRAP_USERS_MAX) {
		snprintf(err, errlen, "users: at most %d", SNMPTRAP_USERS_MAX);
		return RFX_EINVAL;
	}
	s->users = calloc(n ? n : 1, sizeof(*s->users));
	if (s->users == NULL)
		return RFX_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct snmptrap_user_cfg *u = &uc[i];
		if (u->auth != AUTH_NONE && (!u->auth_password || strlen(u->auth_password) < 8)) {
			snprintf(err, errlen, "users: '%s': auth_password needs at least 8 characters",
				 u->name);
			return RFX_EINVAL;
		}
		if (u->priv != PRIV_NONE && u->auth == AUTH_NONE) {
			snprintf(err, errlen, "users: '%s': privacy needs an auth_protocol", u->name);
			return RFX_EINVAL;
		}
		if (u->priv != PRIV_NONE && (!u->priv_password || strlen(u->priv_password) < 8)) {
			snprintf(err, errlen, "users: '%s': priv_password needs at least 8 characters",
				 u->name);
			return RFX_EINVAL;
		}
		int implied = u->priv != PRIV_NONE   ? TRAP_LEVEL_PRIV
			      : u->auth != AUTH_NONE ? TRAP_LEVEL_AUTH
						     : TRAP_LEVEL_NOAUTH;
		int level = u->level == LEVEL_AUTO ? implied : u->level - LEVEL_NOAUTH;
		if (level > implied) {
			snprintf(err, errlen, "users: '%s': security_level %s needs %s", u->name,
				 level_names[u->level],
				 level == TRAP_LEVEL_PRIV ? "auth and priv protocols" : "an auth protocol");
			return RFX_EINVAL;
		}
		s->users[i].name = u->name;
		s->users[i].level = level;
		/* Informs are authenticated with our engine id, traps with the
		 * sender's: a user may need both entries. */
		int rc = user_add(s, u, NULL, err, errlen);
		if (rc == 0 && u->engine_id)
			rc = user_add(s, u, u->engine_id, err, errlen);
		if (rc != 0)
			return rc;
	}
	s->policy.users = s->users;
	s->policy.nusers = n;
	return 0;
}

static void users_remove(struct snmptrap_input *s)
{
	for (size_t i = 0; i < s->nadded; i++) {
		usm_remove_user(s->added[i]);
		usm_free_user(s->added[i]);
	}
	s->nadded = 0;
}

/* ---- receiving ------------------------------------------------------------- */

/* The sender's address from net-snmp's transport data. */
static void peer_of(const netsnmp_pdu *pdu, char *peer, size_t peerlen, char *ip, size_t iplen)
{
	const struct sockaddr *sa = NULL;
	char host[INET6_ADDRSTRLEN] = "";
	int port = 0;

	if (pdu->transport_data &&
	    pdu->transport_data_length >= (int)sizeof(netsnmp_indexed_addr_pair))
		sa = &((const netsnmp_indexed_addr_pair *)pdu->transport_data)->remote_addr.sa;
	else if (pdu->transport_data &&
		 pdu->transport_data_length >= (int)sizeof(struct sockaddr_in))
		sa = pdu->transport_data;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	} else if (sa && sa->sa_family == AF_INET6 &&
		   pdu->transport_data_length >= (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		port = ntohs(a->sin6_port);
	}
	snprintf(ip, iplen, "%s", host);
	if (!*host)
		snprintf(peer, peerlen, "unknown");
	else
		snprintf(peer, peerlen, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* The first-seen time of this inform (for a stable id), remembering it. */
static int64_t recent_ms(struct snmptrap_input *s, const uint64_t h[2], int64_t now_ms)
{
	int64_t mono = mono_ms();

	for (size_t i = 0; i < SNMPTRAP_RECENT; i++) {
		struct recent *r = &s->recent[i];
		if (r->seen_ms && r->h[0] == h[0] && r->h[1] == h[1] &&
		    mono - r->seen_ms < SNMPTRAP_RECENT_MS) {
			r->seen_ms = mono;
			return r->first_ms;
		}
	}
	struct recent *r = &s->recent[s->recent_next];
	s->recent_next = (s->recent_next + 1) % SNMPTRAP_RECENT;
	r->h[0] = h[0];
	r->h[1] = h[1];
	r->first_ms = now_ms;
	r->seen_ms = mono;
	return now_ms;
}

/* net-snmp's session callback; runs under snmp_lock inside snmp_sess_read. */
static int on_pdu(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu, void *magic)
{
	struct listener *l = magic;
	struct snmptrap_input *s = l->s;
	char why[128], peer[INET6_ADDRSTRLEN + 8], ip[INET6_ADDRSTRLEN];

	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || pdu == NULL)
		return 1;
	peer_of(pdu, peer, sizeof(peer), ip, sizeof(ip));
	enum trap_verdict v = rfx_trap_admit(pdu, &s->policy, why, sizeof(why));
	if (v == TRAP_NOT_NOTIFICATION)
		return 1;
	if (v != TRAP_ACCEPT) {
		metric_add(s, s->m_rejected, 1);
		s->host->log(s->inst, RFX_LOG_WARNING, "%s: rejected a notification from %s: %s",
			     l->spec, peer, why);
		return 1;
	}
	bool inform = pdu->command == SNMP_MSG_INFORM;
	if (s->nbatch >= SNMPTRAP_BURST ||
	    (inform && s->npending >= (size_t)s->cfg->max_pending_informs)) {
		metric_add(s, inform ? s->m_inform_failed : s->m_dropped, 1);
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "%s: %s from %s dropped: too many informs awaiting the store", l->spec,
			     inform ? "inform" : "trap", peer);
		return 1;
	}
	rfx_event *ev = rfx_trap_to_event(s->map, pdu, peer, ip);
	netsnmp_pdu *reply = NULL;
	if (ev == NULL)
		goto nomem;
	if (inform) {
		uint64_t h[2];
		rfx_trap_identity(pdu, peer, h);
		rfx_trap_ulid(recent_ms(s, h, s->host->now_ns() / 1000000), h, ev->id);
		reply = snmp_clone_pdu(pdu);
		if (reply == NULL)
			goto nomem;
		reply->command = SNMP_MSG_RESPONSE;
		reply->errstat = 0;
		reply->errindex = 0;
	}
	s->batch[s->nbatch++] = (struct received){ev, reply, l};
	return 1;
nomem:
	if (ev)
		s->host->event_unref(ev);
	metric_add(s, s->m_dropped, 1);
	s->host->log(s->inst, RFX_LOG_ERROR, "%s: out of memory, notification from %s dropped",
		     l->spec, peer);
	return 1;
}

static uint32_t usm_rejections(void)
{
	return snmp_get_statistic(STAT_USMSTATSUNKNOWNUSERNAMES) +
	       snmp_get_statistic(STAT_USMSTATSWRONGDIGESTS) +
	       snmp_get_statistic(STAT_USMSTATSDECRYPTIONERRORS) +
	       snmp_get_statistic(STAT_USMSTATSUNSUPPORTEDSECLEVELS);
}

static bool readable(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* Reads a burst from one listener. Counts what USM refused before our
 * callback could see it (unknown user, wrong password). */
static void listener_read(struct snmptrap_input *s, struct listener *l)
{
	netsnmp_large_fd_set fds;

	pthread_mutex_lock(&snmp_lock);
	log_to = s;
	uint32_t usm0 = usm_rejections(), asn0 = snmp_get_statistic(STAT_SNMPINASNPARSEERRS);
	netsnmp_large_fd_set_init(&fds, l->fd + 1);
	for (int k = 0; k < SNMPTRAP_BURST && s->nbatch < SNMPTRAP_BURST && readable(l->fd); k++) {
		NETSNMP_LARGE_FD_ZERO(&fds);
		NETSNMP_LARGE_FD_SET(l->fd, &fds);
		snmp_sess_read2(l->sessp, &fds);
	}
	netsnmp_large_fd_set_cleanup(&fds);
	uint32_t usm = usm_rejections() - usm0;
	uint32_t asn = snmp_get_statistic(STAT_SNMPINASNPARSEERRS) - asn0;
	log_to = NULL;
	pthread_mutex_unlock(&snmp_lock);
	if (usm > 0) {
		metric_add(s, s->m_rejected, usm);
		s->host->log(s->inst, RFX_LOG_WARNING,
			     "%s: rejected %u SNMPv3 message(s): unknown user, wrong password or "
			     "security level (see usmStats)",
			     l->spec, usm);
	}
	if (asn > 0) {
		metric_add(s, s->m_malformed, asn);
		s->host->log(s->inst, RFX_LOG_WARNING, "%s: %u undecodable datagram(s) dropped",
			     l->spec, asn);
	}
}

static void reply_free(netsnmp_pdu *reply)
{
	if (reply == NULL)
		return;
	pthread_mutex_lock(&snmp_lock);
	snmp_free_pdu(reply);
	pthread_mutex_unlock(&snmp_lock);
}

/* Emits what the callback queued: traps together without an ack, each
 * inform with its own ack, parked until the store answers. */
static void batch_emit(struct snmptrap_input *s)
{
	const rfx_host *h = s->host;
	rfx_event *traps[SNMPTRAP_BURST];
	size_t nt = 0;

	for (size_t i = 0; i < s->nbatch; i++) {
		struct received *r = &s->batch[i];
		if (r->reply == NULL) {
			traps[nt++] = r->ev;
			continue;
		}
		rfx_ack *ack = h->ack_new();
		int rc = ack ? h->emit(s->inst, &r->ev, 1, ack) : RFX_ENOMEM;
		if (ack == NULL)
			h->event_unref(r->ev);
		if (rc != 0) {
			if (ack)
				h->ack_free(ack);
			reply_free(r->reply);
			metric_add(s, s->m_inform_failed, 1);
			h->log(s->inst, RFX_LOG_WARNING,
			       "%s: inform not accepted (%s); no response, the sender will retry",
			       r->l->spec, rc == RFX_EFULL ? "pipeline full" : "agent stopping");
			continue;
		}
		s->pending[s->npending++] = (struct pending){
			ack, r->reply, r->l, mono_ms() + s->cfg->inform_timeout_ms};
	}
	s->nbatch = 0;
	if (nt == 0)
		return;
	int rc = h->emit(s->inst, traps, nt, NULL);
	if (rc == 0) {
		metric_add(s, s->m_traps, (double)nt);
	} else {
		metric_add(s, s->m_dropped, (double)nt);
		if (rc == RFX_EFULL)
			h->log(s->inst, RFX_LOG_WARNING, "pipeline full, dropped %zu traps", nt);
	}
}

/* Answers the informs whose events are durable; drops the failed and the
 * timed out ones without an answer. */
static void pending_check(struct snmptrap_input *s, bool give_up)
{
	const rfx_host *h = s->host;
	int64_t now = mono_ms();
	size_t keep = 0;

	for (size_t i = 0; i < s->npending; i++) {
		struct pending *p = &s->pending[i];
		int rc = h->ack_wait(p->ack, 0);
		if (rc == RFX_ETIMEDOUT && now < p->deadline_ms && !give_up) {
			s->pending[keep++] = *p;
			continue;
		}
		if (rc == 0) {
			pthread_mutex_lock(&snmp_lock);
			log_to = s;
			if (snmp_sess_send(p->l->sessp, p->reply) == 0) {
				snmp_free_pdu(p->reply);
				h->log(s->inst, RFX_LOG_WARNING, "%s: cannot send an inform response",
				       p->l->spec);
			}
			log_to = NULL;
			pthread_mutex_unlock(&snmp_lock);
			metric_add(s, s->m_informs, 1);
		} else {
			reply_free(p->reply);
			metric_add(s, s->m_inform_failed, 1);
			h->log(s->inst, RFX_LOG_WARNING,
			       "%s: inform %s; no response, the sender will retry", p->l->spec,
			       rc == RFX_EIO ? "could not be stored" : "not stored in time");
		}
		h->ack_free(p->ack);
	}
	s->npending = keep;
	if (s->m_pending)
		h->metric_set(s->m_pending, (double)s->npending);
}

static void *receiver_thread(void *arg)
{
	struct snmptrap_input *s = arg;
	struct pollfd p[SNMPTRAP_LISTENERS_MAX + 1];

	while (!atomic_load(&s->stopping)) {
		p[0] = (struct pollfd){s->wake[0], POLLIN, 0};
		for (size_t i = 0; i < s->nl; i++)
			p[i + 1] = (struct pollfd){s->l[i].fd, POLLIN, 0};
		int rc = poll(p, s->nl + 1, s->npending ? SNMPTRAP_POLL_PENDING_MS : -1);
		if (rc < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		for (size_t i = 0; rc > 0 && i < s->nl; i++) {
			if (!(p[i + 1].revents & POLLIN))
				continue;
			listener_read(s, &s->l[i]);
			batch_emit(s);
		}
		if (s->npending)
			pending_check(s, false);
	}
	/* Stopping: what is queued drains in the core; unanswered informs are
	 * retransmitted by their senders to the next run. */
	pending_check(s, true);
	return NULL;
}

/* ---- setup ----------------------------------------------------------------- */

/* "udp://HOST:PORT" -> "udp:HOST:PORT", "udp6://[V6]:PORT" -> "udp6:[V6]:PORT" */
static int listener_open(struct snmptrap_input *s, const char *spec, struct listener *l, char *err,
			 size_t errlen)
{
	char ns[160];
	netsnmp_session sess;

	if (strncmp(spec, "udp://", 6) == 0 && spec[6] != '[')
		snprintf(ns, sizeof(ns), "udp:%s", spec + 6);
	else if (strncmp(spec, "udp6://", 7) == 0 && spec[7] == '[')
		snprintf(ns, sizeof(ns), "udp6:%s", spec + 7);
	else if (strncmp(spec, "udp://", 6) == 0)
		snprintf(ns, sizeof(ns), "udp6:%s", spec + 6);
	else
		goto bad;
	const char *port = strrchr(spec, ':');
	if (port == NULL || port[1] == '\0' || strspn(port + 1, "0123456789") != strlen(port + 1) ||
	    port[-1] == '/')
		goto bad;
	netsnmp_transport *t = netsnmp_tdomain_transport(ns, 1, "udp");
	if (t == NULL) {
		snprintf(err, errlen, "listen %s: cannot bind (address in use or invalid?)", spec);
		return RFX_EIO;
	}
	snmp_sess_init(&sess);
	sess.peername = SNMP_DEFAULT_PEERNAME;
	sess.version = SNMP_DEFAULT_VERSION;
	sess.callback = on_pdu;
	sess.callback_magic = l;
	/* Informs authenticate against our engine id, traps against the
	 * sender's: net-snmp decides per message with UNKNOWNAUTH. */
	sess.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
	l->sessp = snmp_sess_add(&sess, t, NULL, NULL);
	if (l->sessp == NULL) {
		snprintf(err, errlen, "listen %s: net-snmp could not open a session", spec);
		return RFX_EIO;
	}
	l->fd = t->sock;
	l->s = s;
	snprintf(l->spec, sizeof(l->spec), "%s", spec);
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
	return 0;
bad:
	snprintf(err, errlen, "listen '%s': expected udp://HOST:PORT or udp6://[V6]:PORT", spec);
	return RFX_EINVAL;
}

static int mibs_load(struct snmptrap_input *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->cfg->mib_dirs.n; i++)
		if (add_mibdir(s->cfg->mib_dirs.v[i]) < 0)
			s->host->log(s->inst, RFX_LOG_WARNING, "mib_dirs: no MIB files read from %s",
				     s->cfg->mib_dirs.v[i]);
	for (size_t i = 0; i < s->cfg->mibs.n; i++) {
		if (netsnmp_read_module(s->cfg->mibs.v[i]) == NULL) {
			snprintf(err, errlen, "mibs: cannot load '%s' (is it in mib_dirs?)",
				 s->cfg->mibs.v[i]);
			return RFX_EINVAL;
		}
	}
	return 0;
}

static void snmptrap_destroy(void *state)
{
	struct snmptrap_input *s = state;

	if (s == NULL)
		return;
	pthread_mutex_lock(&snmp_lock);
	for (size_t i = 0; i < s->nl; i++)
		if (s->l[i].sessp)
			snmp_sess_close(s->l[i].sessp);
	users_remove(s);
	rfx_trapmap_free(s->map);
	if (s->lib_ref)
		lib_release();
	pthread_mutex_unlock(&snmp_lock);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s->users);
	free(s->pending);
	free(s);
}

static int snmptrap_init(rfx_instance *inst, const rfx_host *host, void *config, void **state,
			 char *err, size_t errlen)
{
	struct snmptrap_config *cfg = config;
	struct snmptrap_input *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (s == NULL)
		return RFX_ENOMEM;
	s->inst = inst;
	s->host = host;
	s->cfg = cfg;
	s->wake[0] = s->wake[1] = -1;
	if (cfg->listen.n == 0 || cfg->listen.n > SNMPTRAP_LISTENERS_MAX) {
		snprintf(err, errlen, "listen: give 1 to %d addresses", SNMPTRAP_LISTENERS_MAX);
		rc = RFX_EINVAL;
		goto fail;
	}
	if (cfg->communities.n == 0 && cfg->users.n == 0) {
		snprintf(err, errlen, "give communities (v1/v2c) or users (v3): nothing would be "
				      "accepted");
		rc = RFX_EINVAL;
		goto fail;
	}
	s->policy.communities = cfg->communities.v;
	s->policy.ncommunities = cfg->communities.n;
	s->pending = calloc((size_t)cfg->max_pending_informs, sizeof(*s->pending));
	if (s->pending == NULL) {
		rc = RFX_ENOMEM;
		goto fail;
	}
	if (pipe2(s->wake, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		rc = RFX_EIO;
		goto fail;
	}
	pthread_mutex_lock(&snmp_lock);
	log_to = s;
	rc = lib_acquire(s, err, errlen);
	if (rc == 0) {
		s->lib_ref = true;
		rc = mibs_load(s, err, errlen);
	}
	if (rc == 0)
		rc = users_setup(s, err, errlen);
	if (rc == 0) {
		s->map = rfx_trapmap_new(host, cfg->traps.v, cfg->traps.n, cfg->mibs.n > 0, err,
					 errlen);
		if (s->map == NULL)
			rc = RFX_EINVAL;
	}
	for (size_t i = 0; rc == 0 && i < cfg->listen.n; i++) {
		s->nl = i + 1;
		s->l[i].fd = -1;
		rc = listener_open(s, cfg->listen.v[i], &s->l[i], err, errlen);
	}
	log_to = NULL;
	pthread_mutex_unlock(&snmp_lock);
	if (rc != 0)
		goto fail;
	s->m_traps = host->counter(inst, "traps_total", "Traps accepted into the pipeline");
	s->m_informs = host->counter(inst, "informs_total", "Informs stored and answered");
	s->m_rejected = host->counter(inst, "rejected_total",
				      "Notifications refused: community, v3 user, password or level");
	s->m_dropped = host->counter(inst, "dropped_total",
				     "Traps dropped (pipeline full, no memory)");
	s->m_inform_failed = host->counter(inst, "informs_unanswered_total",
					   "Informs not answered (store failure, timeout, full)");
	s->m_malformed = host->counter(inst, "malformed_total", "Undecodable datagrams");
	s->m_pending = host->gauge(inst, "informs_pending", "Informs waiting for the store");
	*state = s;
	return 0;
fail:
	host->log(inst, RFX_LOG_ERROR, "%s", err);
	snmptrap_destroy(s);
	return rc;
}

static void snmptrap_stop(void *state);

static int snmptrap_start(void *state)
{
	struct snmptrap_input *s = state;

	atomic_store(&s->stopping, false);
	if (pthread_create(&s->th, NULL, receiver_thread, s) != 0) {
		s->host->log(s->inst, RFX_LOG_ERROR, "cannot start the receiver thread");
		return RFX_ENOMEM;
	}
	s->running = true;
	for (size_t i = 0; i < s->nl; i++)
		s->host->log(s->inst, RFX_LOG_INFO, "listening on %s", s->l[i].spec);
	return 0;
}

static void snmptrap_stop(void *state)
{
	struct snmptrap_input *s = state;
	char b = 1;

	atomic_store(&s->stopping, true);
	/* Never read: the pipe stays readable. */
	if (write(s->wake[1], &b, 1) < 0)
		s->host->log(s->inst, RFX_LOG_WARNING, "cannot wake the receiver thread");
	if (s->running)
		pthread_join(s->th, NULL);
	s->running = false;
}

/* ---- options --------------------------------------------------------------- */

static const rfx_option user_options[] = {
	{
		.name = "name",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "USM user (security) name.",
		.offset = offsetof(struct snmptrap_user_cfg, name),
	},
	{
		.name = "auth_protocol",
		.type = RFX_OPT_ENUM,
		.default_value = "none",
		.enum_values = auth_names,
		.description = "Authentication protocol.",
		.offset = offsetof(struct snmptrap_user_cfg, auth),
	},
	{
		.name = "auth_password",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Authentication passphrase (at least 8 characters).",
		.offset = offsetof(struct snmptrap_user_cfg, auth_password),
	},
	{
		.name = "priv_protocol",
		.type = RFX_OPT_ENUM,
		.default_value = "none",
		.enum_values = priv_names,
		.description = "Privacy (encryption) protocol; needs auth_protocol.",
		.offset = offsetof(struct snmptrap_user_cfg, priv),
	},
	{
		.name = "priv_password",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_SECRET,
		.description = "Privacy passphrase (at least 8 characters).",
		.offset = offsetof(struct snmptrap_user_cfg, priv_password),
	},
	{
		.name = "engine_id",
		.type = RFX_OPT_STRING,
		.description = "The sending agent's engine id in hex (e.g. 0x8000000001020304): "
			       "needed to accept v3 traps from it. v3 informs use our own "
			       "engine id and need no entry.",
		.offset = offsetof(struct snmptrap_user_cfg, engine_id),
	},
	{
		.name = "security_level",
		.type = RFX_OPT_ENUM,
		.default_value = "auto",
		.enum_values = level_names,
		.description = "Least level a message must have; auto = what the configured "
			       "protocols allow (authPriv with priv_protocol, ...).",
		.offset = offsetof(struct snmptrap_user_cfg, level),
	},
	RFX_OPTION_END_SIZE(struct snmptrap_user_cfg),
};

static const rfx_option rule_options[] = {
	{
		.name = "oid",
		.type = RFX_OPT_STRING,
		.flags = RFX_OPT_REQUIRED,
		.description = "Trap OID: numeric (1.3.6.1.6.3.1.1.5.3), a generic trap name "
			       "(linkDown) or a name from a loaded MIB. v1 traps are matched by "
			       "their RFC 3584 OID (enterprise.0.specific).",
		.offset = offsetof(struct snmptrap_rule_cfg, oid),
	},
	{
		.name = "severity",
		.type = RFX_OPT_STRING,
		.default_value = "warning",
		.description = "Severity name (emergency ... debug, or an alias such as critical, "
			       "major, minor).",
		.offset = offsetof(struct snmptrap_rule_cfg, severity),
	},
	{
		.name = "status",
		.type = RFX_OPT_ENUM,
		.default_value = "firing",
		.enum_values = status_names,
		.description = "firing, or resolved for a trap that clears another.",
		.offset = offsetof(struct snmptrap_rule_cfg, status),
	},
	{
		.name = "title",
		.type = RFX_OPT_STRING,
		.description = "The event's check/title; {{name}} is replaced by a varbind's value "
			       "(name or OID, a column matches its instances) or by host, peer, "
			       "trap, trap_oid. Default: the trap's name.",
		.offset = offsetof(struct snmptrap_rule_cfg, title),
	},
	{
		.name = "service",
		.type = RFX_OPT_STRING,
		.description = "The event's service.",
		.offset = offsetof(struct snmptrap_rule_cfg, service),
	},
	{
		.name = "fingerprint",
		.type = RFX_OPT_LIST,
		.description = "Varbind names/OIDs whose values, with the agent's address, make "
			       "the fingerprint: rules listing the same ones (linkDown, linkUp by "
			       "ifIndex) pair up as firing and resolved.",
		.offset = offsetof(struct snmptrap_rule_cfg, fingerprint),
	},
	{
		.name = "group",
		.type = RFX_OPT_STRING,
		.description = "Mixed into the fingerprint: give unrelated rules that list the "
			       "same varbinds different groups.",
		.offset = offsetof(struct snmptrap_rule_cfg, group),
	},
	RFX_OPTION_END_SIZE(struct snmptrap_rule_cfg),
};

static const rfx_option snmptrap_options[] = {
	{
		.name = "listen",
		.type = RFX_OPT_LIST,
		.flags = RFX_OPT_REQUIRED,
		.description = "UDP addresses, e.g. [\"udp://0.0.0.0:162\", \"udp6://[::1]:1162\"].",
		.offset = offsetof(struct snmptrap_config, listen),
	},
	{
		.name = "communities",
		.type = RFX_OPT_LIST,
		.flags = RFX_OPT_SECRET,
		.description = "v1/v2c communities accepted; other v1/v2c messages are rejected. "
			       "Empty: v1/v2c off.",
		.offset = offsetof(struct snmptrap_config, communities),
	},
	{
		.name = "users",
		.type = RFX_OPT_SECTION_LIST,
		.description = "SNMPv3 USM users accepted; without users v3 is rejected.",
		.offset = offsetof(struct snmptrap_config, users),
		.sub = user_options,
	},
	{
		.name = "engine_id",
		.type = RFX_OPT_STRING,
		.description = "Our SNMP engine id in hex (what v3 inform senders address); "
			       "default: one generated at start. Shared by all snmptrap instances.",
		.offset = offsetof(struct snmptrap_config, engine_id),
	},
	{
		.name = "mibs",
		.type = RFX_OPT_LIST,
		.description = "MIB modules to load for names (e.g. [IF-MIB]); none by default: "
			       "OIDs stay numeric except a few built-in names.",
		.offset = offsetof(struct snmptrap_config, mibs),
	},
	{
		.name = "mib_dirs",
		.type = RFX_OPT_LIST,
		.description = "Directories searched for the mibs.",
		.offset = offsetof(struct snmptrap_config, mib_dirs),
	},
	{
		.name = "traps",
		.type = RFX_OPT_SECTION_LIST,
		.description = "Map from trap OIDs to severity, title, status and fingerprint; "
			       "the first matching entry wins, then built-in defaults for the "
			       "generic traps.",
		.offset = offsetof(struct snmptrap_config, traps),
		.sub = rule_options,
	},
	{
		.name = "inform_timeout",
		.type = RFX_OPT_DURATION,
		.default_value = "5s",
		.flags = RFX_OPT_RANGE,
		.min = 100,
		.max = 300000,
		.description = "How long an inform may wait for the store before it is left "
			       "unanswered (the sender retransmits).",
		.offset = offsetof(struct snmptrap_config, inform_timeout_ms),
	},
	{
		.name = "max_pending_informs",
		.type = RFX_OPT_INT,
		.default_value = "256",
		.flags = RFX_OPT_RANGE,
		.min = 1,
		.max = 65536,
		.description = "Informs waiting for the store at once; more are left unanswered.",
		.offset = offsetof(struct snmptrap_config, max_pending_informs),
	},
	RFX_OPTION_END,
};

static const rfx_plugin snmptrap_plugin = {
	RFX_PLUGIN_ABI,
	.name = "snmptrap",
	.version = "1.0.0",
	.description = "Receives SNMP v1/v2c/v3 traps and informs (net-snmp).",
	.kind = RFX_KIND_INPUT,
	.accepts = 0,
	.emits = RFX_REC_EVENT,
	.caps = RFX_CAP_THREADS | RFX_CAP_DURABLE_ACK,
	.options = snmptrap_options,
	.config_size = sizeof(struct snmptrap_config),
	.init = snmptrap_init,
	.start = snmptrap_start,
	.stop = snmptrap_stop,
	.destroy = snmptrap_destroy,
};

RFX_PLUGIN_DEFINE(snmptrap_plugin)
