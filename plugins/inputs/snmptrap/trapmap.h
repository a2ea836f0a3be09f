/*
 * plugins/inputs/snmptrap/trapmap.h - what a received SNMP notification
 * means: the admission check (community, v3 user and security level), the
 * conversion of a net-snmp PDU into a reflex event, and the map from trap
 * OIDs to severity, title, status and fingerprint.
 *
 * Nothing here touches a socket, so tests build PDUs with the net-snmp API
 * and check the events. net-snmp is not thread safe: every function here
 * must run where the caller serialises net-snmp (snmptrap.c: one lock).
 *
 * Usage: rfx_trapmap_new() once from the config (after init_snmp and after
 * any MIB was loaded, so that names resolve), then per PDU
 * rfx_trap_admit() and rfx_trap_to_event(); rfx_trapmap_free() at the end.
 */
#ifndef RFX_SNMPTRAP_TRAPMAP_H
#define RFX_SNMPTRAP_TRAPMAP_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <reflex/plugin.h>

#define TRAP_VARBINDS_MAX 128 /* varbinds kept in attrs; the rest are counted */
#define TRAP_VALUE_MAX 1024   /* bytes of one rendered value */
#define TRAP_MESSAGE_MAX 4096 /* bytes of the event message */

enum trap_status_opt { TRAP_STATUS_FIRING = 0, TRAP_STATUS_RESOLVED = 1 };

/* One element of the `traps:` option (filled by the core's schema). */
struct snmptrap_rule_cfg {
	char *oid;                     /* numeric, a built-in name or a MIB name */
	char *severity;                /* a severity name; NULL = warning */
	int status;                    /* enum trap_status_opt */
	char *title;                   /* template with {{name}}; NULL = trap name */
	char *service;                 /* optional */
	char *group;                   /* separates fingerprints of unrelated rules */
	struct rfx_strlist fingerprint; /* varbind names/OIDs whose values identify it */
};

/* v3 security levels, ordered: a message must reach the user's level. */
enum trap_level { TRAP_LEVEL_NOAUTH = 0, TRAP_LEVEL_AUTH = 1, TRAP_LEVEL_PRIV = 2 };

struct trap_user {
	const char *name;
	int level; /* enum trap_level: the least a message must have */
};

/* Who may send: borrowed arrays, valid while the map is used. */
struct trap_policy {
	char *const *communities;
	size_t ncommunities;
	const struct trap_user *users;
	size_t nusers;
};

enum trap_verdict {
	TRAP_ACCEPT = 0,
	TRAP_NOT_NOTIFICATION, /* a get/set/response: not for a trap receiver */
	TRAP_BAD_COMMUNITY,
	TRAP_BAD_USER,  /* v3 user not configured for this instance */
	TRAP_LOW_LEVEL, /* v3 message below the user's security level */
	TRAP_BAD_VERSION,
};

struct trapmap;

/*
 * Compiles rules (borrowed; not kept) into a map. `mibs` says whether MIB
 * names may be looked up in net-snmp's tree. Returns NULL with err filled
 * (naming the rule) on a bad OID, severity or template name, or no memory.
 * The map keeps `host` (for event helpers) and is freed by rfx_trapmap_free.
 */
struct trapmap *rfx_trapmap_new(const rfx_host *host, const struct snmptrap_rule_cfg *rules,
				size_t n, bool mibs, char *err, size_t errlen);
void rfx_trapmap_free(struct trapmap *m);

/* Admission of one PDU; `why` gets a short reason for a refusal. */
enum trap_verdict rfx_trap_admit(const netsnmp_pdu *pdu, const struct trap_policy *p, char *why,
				 size_t whylen);

/*
 * The event of an admitted notification (v1 Trap, v2 Trap, Inform).
 * `peer` is the sender's address text ("127.0.0.1:50123"), `peer_ip` the
 * address alone; both may be NULL. Returns a new event (the caller owns
 * the reference) or NULL when out of memory.
 */
rfx_event *rfx_trap_to_event(const struct trapmap *m, const netsnmp_pdu *pdu, const char *peer,
			     const char *peer_ip);

/* The trap OID of a PDU (RFC 3584 3.1 for v1) as numeric text; false when a
 * v2 PDU carries no snmpTrapOID.0. */
bool rfx_trap_oid(const netsnmp_pdu *pdu, char *out, size_t outlen);

/*
 * A deterministic event id for a redelivered notification: a ULID of
 * `ms` (48-bit unix ms) and 80 bits of a hash of the PDU's identity
 * (peer, request id, community or user, every varbind). Equal for a
 * retransmitted inform when given the same ms.
 */
void rfx_trap_identity(const netsnmp_pdu *pdu, const char *peer, uint64_t h[2]);
void rfx_trap_ulid(int64_t ms, const uint64_t h[2], char out[RFX_EVENT_ID_LEN + 1]);

#endif
