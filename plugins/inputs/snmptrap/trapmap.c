/*
 * plugins/inputs/snmptrap/trapmap.c - turns SNMP notifications into events:
 * admission (community, v3 user and level), RFC 3584 trap OIDs for v1,
 * varbinds as labels and attrs, the OID map (severity, title template,
 * status, fingerprint) and built-in defaults for the generic traps.
 *
 * Names: a handful of well-known objects are known without MIBs (the
 * generic traps, sysUpTime, snmpTrapOID, the ifTable columns used by
 * linkDown/linkUp), so the defaults and the docs' examples work on a host
 * without MIB files; everything else is named from net-snmp's MIB tree when
 * MIBs were loaded, and numeric otherwise.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trapmap.h"

#define RULE_FP_MAX 16 /* fingerprint entries per rule */
#define NAME_MAX_LEN 256
#define OID_TEXT_MAX (MAX_OID_LEN * 11 + 1)
#define RAW_MAX 16384

/* ---- bounded text -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap; /* cap includes the NUL */
	bool truncated;
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->truncated = false;
	p[0] = '\0';
}

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		n = b->cap - b->len - 1;
		b->truncated = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (h ^ 0x1f) * 1099511628211ULL; /* separator: "ab","c" != "a","bc" */
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) : 0);
}

/* ---- OIDs and names ------------------------------------------------------ */

static void oid_text(const oid *o, size_t len, char *out, size_t outlen)
{
	struct sbuf b;
	char num[24];

	sb_init(&b, out, outlen);
	for (size_t i = 0; i < len; i++) {
		snprintf(num, sizeof(num), i ? ".%lu" : "%lu", (unsigned long)o[i]);
		sb_add(&b, num);
	}
}

/* "1.3.6.1" or ".1.3.6.1"; false for anything else. */
static bool oid_parse_numeric(const char *s, oid *o, size_t *len)
{
	size_t n = 0;

	if (*s == '.')
		s++;
	if (*s == '\0')
		return false;
	while (*s) {
		char *end;
		if (*s < '0' || *s > '9' || n >= MAX_OID_LEN)
			return false;
		unsigned long long v = strtoull(s, &end, 10);
		if (v > 0xffffffffULL)
			return false;
		o[n++] = (oid)v;
		s = end;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				return false;
		} else if (*s != '\0') {
			return false;
		}
	}
	*len = n;
	return true;
}

static bool oid_has_prefix(const oid *o, size_t len, const oid *pre, size_t plen)
{
	return plen <= len && memcmp(o, pre, plen * sizeof(oid)) == 0;
}

struct builtin_name {
	const char *name;
	const char *numeric;
};

/* Known without MIBs: what the built-in rules and common maps refer to. */
static const struct builtin_name builtin_names[] = {
	{"coldStart", "1.3.6.1.6.3.1.1.5.1"},
	{"warmStart", "1.3.6.1.6.3.1.1.5.2"},
	{"linkDown", "1.3.6.1.6.3.1.1.5.3"},
	{"linkUp", "1.3.6.1.6.3.1.1.5.4"},
	{"authenticationFailure", "1.3.6.1.6.3.1.1.5.5"},
	{"egpNeighborLoss", "1.3.6.1.6.3.1.1.5.6"},
	{"sysUpTime", "1.3.6.1.2.1.1.3"},
	{"sysName", "1.3.6.1.2.1.1.5"},
	{"snmpTrapOID", "1.3.6.1.6.3.1.1.4.1"},
	{"snmpTrapEnterprise", "1.3.6.1.6.3.1.1.4.3"},
	{"snmpTrapAddress", "1.3.6.1.6.3.18.1.3"},
	{"snmpTrapCommunity", "1.3.6.1.6.3.18.1.4"},
	{"ifIndex", "1.3.6.1.2.1.2.2.1.1"},
	{"ifDescr", "1.3.6.1.2.1.2.2.1.2"},
	{"ifType", "1.3.6.1.2.1.2.2.1.3"},
	{"ifAdminStatus", "1.3.6.1.2.1.2.2.1.7"},
	{"ifOperStatus", "1.3.6.1.2.1.2.2.1.8"},
	{"ifName", "1.3.6.1.2.1.31.1.1.1.1"},
	{"ifAlias", "1.3.6.1.2.1.31.1.1.1.18"},
};
#define NBUILTIN (sizeof(builtin_names) / sizeof(builtin_names[0]))

static const oid sysuptime0[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
static const oid trapoid0[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
static const oid trapent0[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0};
static const oid trapaddr0[] = {1, 3, 6, 1, 6, 3, 18, 1, 3, 0};
static const oid generic_traps[] = {1, 3, 6, 1, 6, 3, 1, 1, 5};
#define OIDLEN(a) (sizeof(a) / sizeof(oid))

struct trapmap_names {
	oid o[NBUILTIN][16];
	size_t len[NBUILTIN];
};

struct rule {
	oid trap[MAX_OID_LEN];
	size_t trap_len;
	int severity;
	int status;
	char *title;
	char *service;
	char *group;
	size_t nfp;
	char *fp_name[RULE_FP_MAX];
	oid fp_oid[RULE_FP_MAX][MAX_OID_LEN];
	size_t fp_len[RULE_FP_MAX];
};

struct trapmap {
	const rfx_host *host;
	bool mibs;
	struct trapmap_names names;
	size_t nrules;
	struct rule *rules; /* the configured ones first, then the built-ins */
};

static bool name_lookup(const struct trapmap *m, const char *s, oid *o, size_t *len)
{
	if (oid_parse_numeric(s, o, len))
		return true;
	for (size_t i = 0; i < NBUILTIN; i++) {
		if (strcmp(s, builtin_names[i].name) == 0) {
			memcpy(o, m->names.o[i], m->names.len[i] * sizeof(oid));
			*len = m->names.len[i];
			return true;
		}
	}
	if (!m->mibs)
		return false;
	size_t n = MAX_OID_LEN;
	if (strstr(s, "::") ? read_objid(s, o, &n) : get_node(s, o, &n)) {
		*len = n;
		return true;
	}
	return false;
}

/*
 * The object name of an OID and how many subids it covers: the longest
 * built-in prefix, or a MIB leaf (or exact node) when MIBs are loaded.
 * 0 when unnamed.
 */
static size_t name_of(const struct trapmap *m, const oid *o, size_t len, char *out,
		      size_t outlen)
{
	size_t best = 0;

	for (size_t i = 0; i < NBUILTIN; i++) {
		size_t l = m->names.len[i];
		if (l > best && oid_has_prefix(o, len, m->names.o[i], l)) {
			best = l;
			snprintf(out, outlen, "%s", builtin_names[i].name);
		}
	}
	if (best > 0 || !m->mibs)
		return best;
	struct tree *t = get_tree(o, len, get_tree_head());
	if (t == NULL || t->label == NULL)
		return 0;
	size_t depth = 0;
	for (struct tree *p = t; p != NULL; p = p->parent)
		depth++;
	if (depth > len || (t->child_list != NULL && depth != len))
		return 0;
	/* get_tree answers the deepest node it reached; make sure it is on
	 * the path (a subid mismatch at the leaf would otherwise be named). */
	if (t->subid != o[depth - 1])
		return 0;
	snprintf(out, outlen, "%s", t->label);
	return depth;
}

/* ---- values -------------------------------------------------------------- */

static bool utf8_text(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

static void hex_text(const unsigned char *s, size_t n, struct sbuf *b)
{
	static const char hx[] = "0123456789abcdef";
	char two[2];

	sb_add(b, "0x");
	for (size_t i = 0; i < n && !b->truncated; i++) {
		two[0] = hx[s[i] >> 4];
		two[1] = hx[s[i] & 15];
		sb_addn(b, two, 2);
	}
}

/* Renders a varbind's value; returns its type name. */
static const char *value_text(const netsnmp_variable_list *v, char *out, size_t outlen)
{
	struct sbuf b;
	char num[48];
	const char *type = "unknown";

	sb_init(&b, out, outlen);
	switch (v->type) {
	case ASN_INTEGER:
		type = "integer";
		snprintf(num, sizeof(num), "%ld", v->val.integer ? *v->val.integer : 0L);
		sb_add(&b, num);
		break;
	case ASN_COUNTER:
	case ASN_GAUGE:
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		type = v->type == ASN_COUNTER	  ? "counter32"
		       : v->type == ASN_GAUGE	  ? "gauge32"
		       : v->type == ASN_TIMETICKS ? "timeticks"
						  : "uinteger32";
		snprintf(num, sizeof(num), "%lu",
			 v->val.integer ? (unsigned long)(uint32_t)*v->val.integer : 0UL);
		sb_add(&b, num);
		break;
	case ASN_COUNTER64:
		type = "counter64";
		if (v->val.counter64 && v->val_len >= sizeof(struct counter64)) {
			uint64_t x = ((uint64_t)(uint32_t)v->val.counter64->high << 32) |
				     (uint32_t)v->val.counter64->low;
			snprintf(num, sizeof(num), "%llu", (unsigned long long)x);
			sb_add(&b, num);
		}
		break;
	case ASN_OCTET_STR: {
		type = "octets";
		size_t n = v->val_len;
		const unsigned char *s = v->val.string;
		if (s == NULL)
			break;
		/* Many agents count a C string's NUL. */
		if (n > 0 && s[n - 1] == '\0')
			n--;
		if (utf8_text(s, n))
			sb_addn(&b, (const char *)s, n);
		else
			hex_text(v->val.string, v->val_len, &b);
		break;
	}
	case ASN_IPADDRESS:
		type = "ipaddress";
		if (v->val.string && v->val_len == 4) {
			snprintf(num, sizeof(num), "%u.%u.%u.%u", v->val.string[0],
				 v->val.string[1], v->val.string[2], v->val.string[3]);
			sb_add(&b, num);
		} else if (v->val.string) {
			hex_text(v->val.string, v->val_len, &b);
		}
		break;
	case ASN_OBJECT_ID: {
		type = "oid";
		char t[OID_TEXT_MAX];
		if (v->val.objid) {
			oid_text(v->val.objid, v->val_len / sizeof(oid), t, sizeof(t));
			sb_add(&b, t);
		}
		break;
	}
	case ASN_OPAQUE:
		type = "opaque";
		if (v->val.string)
			hex_text(v->val.string, v->val_len, &b);
		break;
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
	case ASN_OPAQUE_FLOAT:
		type = "float";
		if (v->val.floatVal) {
			snprintf(num, sizeof(num), "%g", (double)*v->val.floatVal);
			sb_add(&b, num);
		}
		break;
	case ASN_OPAQUE_DOUBLE:
		type = "double";
		if (v->val.doubleVal) {
			snprintf(num, sizeof(num), "%g", *v->val.doubleVal);
			sb_add(&b, num);
		}
		break;
#endif
	case ASN_NULL:
		type = "null";
		break;
	case SNMP_NOSUCHOBJECT:
		type = "nosuchobject";
		break;
	case SNMP_NOSUCHINSTANCE:
		type = "nosuchinstance";
		break;
	case SNMP_ENDOFMIBVIEW:
		type = "endofmibview";
		break;
	default:
		if (v->val.string)
			hex_text(v->val.string, v->val_len, &b);
		break;
	}
	if (b.truncated && b.cap > 4)
		memcpy(b.p + b.cap - 4, "...", 4);
	return type;
}

/* ---- the map ------------------------------------------------------------- */

static const char *const generic_fp[] = {"ifIndex"};

/* Used when no configured rule matches. */
static const struct snmptrap_rule_cfg builtin_rules[] = {
	{"coldStart", "notice", TRAP_STATUS_FIRING, "coldStart: {{host}} restarted", NULL, NULL, {0, NULL}},
	{"warmStart", "notice", TRAP_STATUS_FIRING, "warmStart: {{host}} reinitialised", NULL, NULL, {0, NULL}},
	{"linkDown", "warning", TRAP_STATUS_FIRING, "linkDown ifIndex {{ifIndex}}", NULL, NULL,
	 {1, (char **)generic_fp}},
	{"linkUp", "info", TRAP_STATUS_RESOLVED, "linkUp ifIndex {{ifIndex}}", NULL, NULL,
	 {1, (char **)generic_fp}},
	{"authenticationFailure", "warning", TRAP_STATUS_FIRING,
	 "authenticationFailure on {{host}}", NULL, NULL, {0, NULL}},
	{"egpNeighborLoss", "warning", TRAP_STATUS_FIRING, NULL, NULL, NULL, {0, NULL}},
};
#define NBUILTIN_RULES (sizeof(builtin_rules) / sizeof(builtin_rules[0]))

static const char *const special_tokens[] = {"host", "peer", "trap", "trap_oid", NULL};

static bool special_token(const char *s)
{
	for (int i = 0; special_tokens[i]; i++)
		if (strcmp(s, special_tokens[i]) == 0)
			return true;
	return false;
}

/* Copies the name inside "{{ name }}" starting at p (after "{{"); returns
 * the text after "}}" or NULL when unterminated. */
static const char *template_token(const char *p, char *name, size_t namelen)
{
	const char *end = strstr(p, "}}");
	size_t n;

	if (end == NULL)
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	n = (size_t)(end - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= namelen)
		n = namelen - 1;
	memcpy(name, p, n);
	name[n] = '\0';
	return end + 2;
}

static int template_check(const struct trapmap *m, const char *t, char *err, size_t errlen)
{
	const char *p = t;
	char name[NAME_MAX_LEN];
	oid o[MAX_OID_LEN];
	size_t len;

	while ((p = strstr(p, "{{")) != NULL) {
		p = template_token(p + 2, name, sizeof(name));
		if (p == NULL) {
			snprintf(err, errlen, "title '%s': '{{' without '}}'", t);
			return RFX_EINVAL;
		}
		if (!special_token(name) && !name_lookup(m, name, o, &len)) {
			snprintf(err, errlen,
				 "title '%s': unknown name '{{%s}}' (use host, peer, trap, "
				 "trap_oid, a numeric OID, or a name from a loaded MIB)",
				 t, name);
			return RFX_EINVAL;
		}
	}
	return 0;
}

static void rule_clear(struct rule *r)
{
	free(r->title);
	free(r->service);
	free(r->group);
	for (size_t i = 0; i < r->nfp; i++)
		free(r->fp_name[i]);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int rule_compile(struct trapmap *m, const struct snmptrap_rule_cfg *c, struct rule *r,
			const char *what, char *err, size_t errlen)
{
	if (c->oid == NULL || !name_lookup(m, c->oid, r->trap, &r->trap_len)) {
		snprintf(err, errlen,
			 "%s: oid '%s' is neither numeric, a built-in name nor a name from a "
			 "loaded MIB",
			 what, c->oid ? c->oid : "");
		return RFX_EINVAL;
	}
	r->severity = c->severity ? m->host->severity_parse(c->severity) : RFX_SEV_WARNING;
	if (r->severity < 0) {
		snprintf(err, errlen, "%s: unknown severity '%s'", what, c->severity);
		return RFX_EINVAL;
	}
	r->status = c->status == TRAP_STATUS_RESOLVED ? RFX_STATUS_RESOLVED : RFX_STATUS_FIRING;
	if (c->title && template_check(m, c->title, err, errlen) != 0)
		return RFX_EINVAL;
	if (c->fingerprint.n > RULE_FP_MAX) {
		snprintf(err, errlen, "%s: fingerprint lists at most %d names", what, RULE_FP_MAX);
		return RFX_EINVAL;
	}
	for (size_t i = 0; i < c->fingerprint.n; i++) {
		if (!name_lookup(m, c->fingerprint.v[i], r->fp_oid[i], &r->fp_len[i])) {
			snprintf(err, errlen, "%s: fingerprint name '%s' is unknown (use a numeric "
					      "OID or load the MIB that defines it)",
				 what, c->fingerprint.v[i]);
			return RFX_EINVAL;
		}
		r->fp_name[i] = strdup(c->fingerprint.v[i]);
		if (r->fp_name[i] == NULL)
			return RFX_ENOMEM;
		r->nfp = i + 1;
	}
	r->title = dup_or_null(c->title);
	r->service = dup_or_null(c->service);
	r->group = dup_or_null(c->group);
	if ((c->title && !r->title) || (c->service && !r->service) || (c->group && !r->group))
		return RFX_ENOMEM;
	return 0;
}

struct trapmap *rfx_trapmap_new(const rfx_host *host, const struct snmptrap_rule_cfg *rules,
				size_t n, bool mibs, char *err, size_t errlen)
{
	struct trapmap *m = calloc(1, sizeof(*m));
	char what[64];

	if (m == NULL)
		goto nomem;
	m->host = host;
	m->mibs = mibs;
	for (size_t i = 0; i < NBUILTIN; i++)
		if (!oid_parse_numeric(builtin_names[i].numeric, m->names.o[i], &m->names.len[i]))
			abort(); /* the table above is wrong */
	m->rules = calloc(n + NBUILTIN_RULES, sizeof(*m->rules));
	if (m->rules == NULL)
		goto nomem;
	for (size_t i = 0; i < n + NBUILTIN_RULES; i++) {
		const struct snmptrap_rule_cfg *c = i < n ? &rules[i] : &builtin_rules[i - n];
		if (i < n)
			snprintf(what, sizeof(what), "traps[%zu]", i);
		else
			snprintf(what, sizeof(what), "built-in rule %s", c->oid);
		m->nrules = i + 1;
		int rc = rule_compile(m, c, &m->rules[i], what, err, errlen);
		if (rc == RFX_ENOMEM)
			goto nomem;
		if (rc != 0)
			goto fail;
	}
	return m;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	rfx_trapmap_free(m);
	return NULL;
}

void rfx_trapmap_free(struct trapmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrules; i++)
		rule_clear(&m->rules[i]);
	free(m->rules);
	free(m);
}

/* ---- admission ----------------------------------------------------------- */

static bool is_notification(int command)
{
	return command == SNMP_MSG_TRAP || command == SNMP_MSG_TRAP2 ||
	       command == SNMP_MSG_INFORM;
}

enum trap_verdict rfx_trap_admit(const netsnmp_pdu *pdu, const struct trap_policy *p, char *why,
				 size_t whylen)
{
	why[0] = '\0';
	if (!is_notification(pdu->command)) {
		snprintf(why, whylen, "PDU type 0x%02x is not a notification", (unsigned)pdu->command);
		return TRAP_NOT_NOTIFICATION;
	}
	if (pdu->version == SNMP_VERSION_1 || pdu->version == SNMP_VERSION_2c) {
		for (size_t i = 0; i < p->ncommunities; i++) {
			size_t n = strlen(p->communities[i]);
			if (pdu->community && pdu->community_len == n &&
			    memcmp(pdu->community, p->communities[i], n) == 0)
				return TRAP_ACCEPT;
		}
		snprintf(why, whylen, "%s community not accepted",
			 pdu->version == SNMP_VERSION_1 ? "v1" : "v2c");
		return TRAP_BAD_COMMUNITY;
	}
	if (pdu->version != SNMP_VERSION_3) {
		snprintf(why, whylen, "SNMP version %ld not supported", pdu->version);
		return TRAP_BAD_VERSION;
	}
	for (size_t i = 0; i < p->nusers; i++) {
		size_t n = strlen(p->users[i].name);
		if (pdu->securityName == NULL || pdu->securityNameLen != n ||
		    memcmp(pdu->securityName, p->users[i].name, n) != 0)
			continue;
		int level = pdu->securityLevel == SNMP_SEC_LEVEL_AUTHPRIV   ? TRAP_LEVEL_PRIV
			    : pdu->securityLevel == SNMP_SEC_LEVEL_AUTHNOPRIV ? TRAP_LEVEL_AUTH
									      : TRAP_LEVEL_NOAUTH;
		if (level < p->users[i].level) {
			snprintf(why, whylen, "v3 user '%s' sent below its security level",
				 p->users[i].name);
			return TRAP_LOW_LEVEL;
		}
		return TRAP_ACCEPT;
	}
	snprintf(why, whylen, "v3 user not configured");
	return TRAP_BAD_USER;
}

/* ---- conversion ---------------------------------------------------------- */

static const netsnmp_variable_list *find_var(const netsnmp_pdu *pdu, const oid *o, size_t len)
{
	for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable)
		if (v->name_length == len && memcmp(v->name, o, len * sizeof(oid)) == 0)
			return v;
	return NULL;
}

/* The trap OID into o/len; false when a v2 PDU has none. */
static bool trap_oid_of(const netsnmp_pdu *pdu, oid *o, size_t *len)
{
	if (pdu->command == SNMP_MSG_TRAP) {
		/* RFC 3584 3.1: generic 0-5 map to snmpTraps.(generic+1), an
		 * enterprise-specific one to enterprise.0.specific. */
		if (pdu->trap_type >= 0 && pdu->trap_type < 6) {
			memcpy(o, generic_traps, sizeof(generic_traps));
			o[OIDLEN(generic_traps)] = (oid)pdu->trap_type + 1;
			*len = OIDLEN(generic_traps) + 1;
			return true;
		}
		size_t el = pdu->enterprise ? pdu->enterprise_length : 0;
		if (el + 2 > MAX_OID_LEN)
			el = MAX_OID_LEN - 2;
		if (el > 0)
			memcpy(o, pdu->enterprise, el * sizeof(oid));
		o[el] = 0;
		o[el + 1] = (oid)pdu->specific_type;
		*len = el + 2;
		return true;
	}
	const netsnmp_variable_list *v = find_var(pdu, trapoid0, OIDLEN(trapoid0));
	if (v == NULL || v->type != ASN_OBJECT_ID || v->val.objid == NULL)
		return false;
	*len = v->val_len / sizeof(oid);
	if (*len > MAX_OID_LEN)
		*len = MAX_OID_LEN;
	memcpy(o, v->val.objid, *len * sizeof(oid));
	return *len > 0;
}

bool rfx_trap_oid(const netsnmp_pdu *pdu, char *out, size_t outlen)
{
	oid o[MAX_OID_LEN];
	size_t len;

	if (!trap_oid_of(pdu, o, &len)) {
		if (outlen)
			out[0] = '\0';
		return false;
	}
	oid_text(o, len, out, outlen);
	return true;
}

static const struct rule *rule_find(const struct trapmap *m, const oid *o, size_t len)
{
	for (size_t i = 0; i < m->nrules; i++)
		if (m->rules[i].trap_len == len && memcmp(m->rules[i].trap, o, len * sizeof(oid)) == 0)
			return &m->rules[i];
	return NULL;
}

/* The payload varbinds: v2's sysUpTime.0 and snmpTrapOID.0 are the header. */
static bool header_var(const netsnmp_pdu *pdu, const netsnmp_variable_list *v)
{
	if (pdu->command == SNMP_MSG_TRAP)
		return false;
	return (v->name_length == OIDLEN(sysuptime0) &&
		memcmp(v->name, sysuptime0, sizeof(sysuptime0)) == 0) ||
	       (v->name_length == OIDLEN(trapoid0) &&
		memcmp(v->name, trapoid0, sizeof(trapoid0)) == 0);
}

/* The first varbind at or under o (a column matches its instances). */
static const netsnmp_variable_list *find_prefix(const netsnmp_pdu *pdu, const oid *o, size_t len)
{
	for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable)
		if (!header_var(pdu, v) && oid_has_prefix(v->name, v->name_length, o, len))
			return v;
	return NULL;
}

struct conv {
	const struct trapmap *m;
	const netsnmp_pdu *pdu;
	const char *host;
	const char *peer;
	char trap_name[OID_TEXT_MAX];
	char trap_oid[OID_TEXT_MAX];
};

static void render_title(const struct conv *c, const char *t, struct sbuf *b)
{
	const char *p = t;
	char name[NAME_MAX_LEN], val[TRAP_VALUE_MAX];
	oid o[MAX_OID_LEN];
	size_t len;

	while (*p) {
		const char *open = strstr(p, "{{");
		if (open == NULL) {
			sb_add(b, p);
			return;
		}
		sb_addn(b, p, (size_t)(open - p));
		const char *next = template_token(open + 2, name, sizeof(name));
		if (next == NULL) {
			sb_add(b, open);
			return;
		}
		p = next;
		if (strcmp(name, "host") == 0)
			sb_add(b, c->host);
		else if (strcmp(name, "peer") == 0)
			sb_add(b, c->peer ? c->peer : "");
		else if (strcmp(name, "trap") == 0)
			sb_add(b, c->trap_name);
		else if (strcmp(name, "trap_oid") == 0)
			sb_add(b, c->trap_oid);
		else if (name_lookup(c->m, name, o, &len)) {
			const netsnmp_variable_list *v = find_prefix(c->pdu, o, len);
			if (v != NULL) {
				value_text(v, val, sizeof(val));
				sb_add(b, val);
			}
		}
	}
}

static void fingerprint(const struct conv *c, const struct rule *r, char hex[17])
{
	uint64_t h = 14695981039346656037ULL;
	char val[TRAP_VALUE_MAX];

	h = fnv_str(h, "snmptrap");
	h = fnv_str(h, r->group);
	h = fnv_str(h, c->host);
	for (size_t i = 0; i < r->nfp; i++) {
		const netsnmp_variable_list *v = find_prefix(c->pdu, r->fp_oid[i], r->fp_len[i]);
		char ot[OID_TEXT_MAX];
		/* Keyed by OID, not by the name written, so that "ifIndex" and
		 * its numeric OID give the same fingerprint. */
		oid_text(r->fp_oid[i], r->fp_len[i], ot, sizeof(ot));
		h = fnv_str(h, ot);
		if (v != NULL) {
			value_text(v, val, sizeof(val));
			h = fnv_str(h, val);
		} else {
			h = fnv_str(h, NULL);
		}
	}
	snprintf(hex, 17, "%016llx", (unsigned long long)h);
}

static const char *version_name(long v)
{
	return v == SNMP_VERSION_1 ? "1" : v == SNMP_VERSION_2c ? "2c" : v == SNMP_VERSION_3 ? "3" : "?";
}

static const char *pdu_name(int command)
{
	return command == SNMP_MSG_TRAP	   ? "trap"
	       : command == SNMP_MSG_TRAP2 ? "trap2"
	       : command == SNMP_MSG_INFORM ? "inform"
					    : "other";
}

static const char *level_name(int level)
{
	return level == SNMP_SEC_LEVEL_AUTHPRIV	   ? "authPriv"
	       : level == SNMP_SEC_LEVEL_AUTHNOPRIV ? "authNoPriv"
						    : "noAuthNoPriv";
}

static json_object *jstr_n(const void *s, size_t n)
{
	return json_object_new_string_len(s ? (const char *)s : "", s ? (int)n : 0);
}

/* Adds the identity of the sender and of the PDU to attrs. */
static void attrs_identity(const struct conv *c, json_object *a)
{
	const netsnmp_pdu *pdu = c->pdu;
	char t[OID_TEXT_MAX];

	json_object_object_add(a, "version", json_object_new_string(version_name(pdu->version)));
	json_object_object_add(a, "pdu", json_object_new_string(pdu_name(pdu->command)));
	json_object_object_add(a, "trap_oid", json_object_new_string(c->trap_oid));
	json_object_object_add(a, "trap", json_object_new_string(c->trap_name));
	json_object_object_add(a, "request_id", json_object_new_int64(pdu->reqid));
	if (c->peer)
		json_object_object_add(a, "peer", json_object_new_string(c->peer));
	json_object_object_add(a, "agent_address", json_object_new_string(c->host));
	if (pdu->version == SNMP_VERSION_3) {
		json_object_object_add(a, "user", jstr_n(pdu->securityName, pdu->securityNameLen));
		json_object_object_add(a, "security_level",
				       json_object_new_string(level_name(pdu->securityLevel)));
		if (pdu->securityEngineID && pdu->securityEngineIDLen > 0) {
			char eh[2 + 2 * 64 + 1];
			struct sbuf b;
			sb_init(&b, eh, sizeof(eh));
			hex_text(pdu->securityEngineID, pdu->securityEngineIDLen, &b);
			json_object_object_add(a, "engine_id", json_object_new_string(eh));
		}
		if (pdu->contextName && pdu->contextNameLen > 0)
			json_object_object_add(a, "context",
					       jstr_n(pdu->contextName, pdu->contextNameLen));
	} else {
		json_object_object_add(a, "community", jstr_n(pdu->community, pdu->community_len));
	}
	if (pdu->command == SNMP_MSG_TRAP) {
		if (pdu->enterprise) {
			oid_text(pdu->enterprise, pdu->enterprise_length, t, sizeof(t));
			json_object_object_add(a, "enterprise", json_object_new_string(t));
		}
		json_object_object_add(a, "generic_trap", json_object_new_int64(pdu->trap_type));
		json_object_object_add(a, "specific_trap", json_object_new_int64(pdu->specific_type));
		json_object_object_add(a, "uptime", json_object_new_int64((int64_t)pdu->time));
	} else {
		const netsnmp_variable_list *v = find_var(pdu, sysuptime0, OIDLEN(sysuptime0));
		if (v && v->type == ASN_TIMETICKS && v->val.integer)
			json_object_object_add(a, "uptime",
					       json_object_new_int64((uint32_t)*v->val.integer));
		v = find_var(pdu, trapent0, OIDLEN(trapent0));
		if (v && v->type == ASN_OBJECT_ID && v->val.objid) {
			oid_text(v->val.objid, v->val_len / sizeof(oid), t, sizeof(t));
			json_object_object_add(a, "enterprise", json_object_new_string(t));
		}
	}
}

/* The agent's address: v1's agent-addr, a proxy's snmpTrapAddress.0, or
 * the sender. */
static void agent_host(const netsnmp_pdu *pdu, const char *peer_ip, char *out, size_t outlen)
{
	const unsigned char *a = pdu->agent_addr;

	if (pdu->command == SNMP_MSG_TRAP && (a[0] | a[1] | a[2] | a[3]) != 0) {
		snprintf(out, outlen, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	const netsnmp_variable_list *v = find_var(pdu, trapaddr0, OIDLEN(trapaddr0));
	if (v && v->type == ASN_IPADDRESS && v->val.string && v->val_len == 4) {
		snprintf(out, outlen, "%u.%u.%u.%u", v->val.string[0], v->val.string[1],
			 v->val.string[2], v->val.string[3]);
		return;
	}
	snprintf(out, outlen, "%s", peer_ip && *peer_ip ? peer_ip : "unknown");
}

rfx_event *rfx_trap_to_event(const struct trapmap *m, const netsnmp_pdu *pdu, const char *peer,
			     const char *peer_ip)
{
	const rfx_host *h = m->host;
	struct conv c = {.m = m, .pdu = pdu, .peer = peer};
	char host[64], fp[17], name[NAME_MAX_LEN], ot[OID_TEXT_MAX], key[OID_TEXT_MAX + 96];
	char *val = malloc(TRAP_VALUE_MAX), *msg = malloc(TRAP_MESSAGE_MAX);
	char *raw = malloc(RAW_MAX), *title = malloc(TRAP_MESSAGE_MAX);
	oid to[MAX_OID_LEN];
	size_t tolen = 0, nvb = 0;
	rfx_event *ev = NULL;
	json_object *vbs = NULL;
	struct sbuf mb, rb, tb;

	if (!val || !msg || !raw || !title)
		goto fail;
	ev = h->event_new();
	if (ev == NULL || ev->attrs == NULL)
		goto fail;
	agent_host(pdu, peer_ip, host, sizeof(host));
	c.host = host;
	bool has_oid = trap_oid_of(pdu, to, &tolen);
	if (has_oid) {
		oid_text(to, tolen, c.trap_oid, sizeof(c.trap_oid));
		if (name_of(m, to, tolen, name, sizeof(name)) == tolen)
			snprintf(c.trap_name, sizeof(c.trap_name), "%s", name);
		else
			snprintf(c.trap_name, sizeof(c.trap_name), "%s", c.trap_oid);
	} else {
		snprintf(c.trap_name, sizeof(c.trap_name), "unknownTrap");
		json_object_object_add(ev->attrs, "malformed",
				       json_object_new_string("no snmpTrapOID.0 varbind"));
	}
	const struct rule *r = has_oid ? rule_find(m, to, tolen) : NULL;

	attrs_identity(&c, ev->attrs);
	h->event_label_set(ev, "snmp_version", version_name(pdu->version));
	h->event_label_set(ev, "trap", c.trap_name);
	if (has_oid)
		h->event_label_set(ev, "trap_oid", c.trap_oid);

	/* varbinds: attrs keep the full list (bounded), labels the short keys */
	sb_init(&tb, title, TRAP_MESSAGE_MAX);
	if (r && r->title)
		render_title(&c, r->title, &tb);
	else
		sb_add(&tb, c.trap_name);
	/* A template whose last varbind is missing leaves a trailing blank. */
	while (tb.len > 0 && (title[tb.len - 1] == ' ' || title[tb.len - 1] == '\t'))
		title[--tb.len] = '\0';
	if (tb.len == 0)
		sb_add(&tb, c.trap_name);
	sb_init(&mb, msg, TRAP_MESSAGE_MAX);
	sb_add(&mb, title);
	sb_init(&rb, raw, RAW_MAX);
	snprintf(key, sizeof(key), "SNMPv%s %s from %s\n", version_name(pdu->version),
		 pdu_name(pdu->command), peer ? peer : host);
	sb_add(&rb, key);
	vbs = json_object_new_array();
	if (vbs == NULL)
		goto fail;
	bool first = true;
	for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
		const char *type = value_text(v, val, TRAP_VALUE_MAX);
		oid_text(v->name, v->name_length, ot, sizeof(ot));
		sb_add(&rb, ot);
		sb_add(&rb, " = ");
		sb_add(&rb, type);
		sb_add(&rb, ": ");
		sb_add(&rb, val);
		sb_add(&rb, "\n");
		if (nvb++ >= TRAP_VARBINDS_MAX)
			continue;
		size_t nl = name_of(m, v->name, v->name_length, name, sizeof(name));
		json_object *jv = json_object_new_object();
		if (jv == NULL)
			goto fail;
		json_object_object_add(jv, "oid", json_object_new_string(ot));
		if (nl > 0) {
			/* The name with its instance, as MIB tools print it. */
			char full[NAME_MAX_LEN + OID_TEXT_MAX + 2];
			if (nl < v->name_length) {
				char inst[OID_TEXT_MAX];
				oid_text(v->name + nl, v->name_length - nl, inst, sizeof(inst));
				snprintf(full, sizeof(full), "%s.%s", name, inst);
			} else {
				snprintf(full, sizeof(full), "%s", name);
			}
			json_object_object_add(jv, "name", json_object_new_string(full));
		}
		json_object_object_add(jv, "type", json_object_new_string(type));
		json_object_object_add(jv, "value", json_object_new_string(val));
		json_object_array_add(vbs, jv);
		if (header_var(pdu, v))
			continue;
		/* Label key: the object's name without its instance; numeric
		 * when unnamed. A full label set is not an error. */
		snprintf(key, sizeof(key), "%s", nl > 0 ? name : ot);
		h->event_label_set(ev, key, val);
		sb_add(&mb, first ? ": " : ", ");
		sb_add(&mb, key);
		sb_add(&mb, "=");
		sb_add(&mb, val);
		first = false;
	}
	json_object_object_add(ev->attrs, "varbinds", vbs);
	vbs = NULL;
	if (nvb > TRAP_VARBINDS_MAX)
		json_object_object_add(ev->attrs, "varbinds_dropped",
				       json_object_new_int64((int64_t)(nvb - TRAP_VARBINDS_MAX)));

	if (h->event_set(ev, RFX_F_KIND, "trap") != 0 || h->event_set(ev, RFX_F_HOST, host) != 0 ||
	    h->event_set(ev, RFX_F_CHECK, title) != 0 || h->event_set(ev, RFX_F_MESSAGE, msg) != 0 ||
	    h->event_set(ev, RFX_F_RAW, raw) != 0)
		goto fail;
	if (r && r->service && h->event_set(ev, RFX_F_SERVICE, r->service) != 0)
		goto fail;
	ev->severity = r ? r->severity : RFX_SEV_WARNING;
	ev->status = r ? r->status : RFX_STATUS_FIRING;
	ev->occurred_ns = h->now_ns();
	if (r && r->nfp > 0) {
		fingerprint(&c, r, fp);
		if (h->event_set(ev, RFX_F_FINGERPRINT, fp) != 0)
			goto fail;
	}
	json_object_object_add(ev->attrs, "rule",
			       json_object_new_string(r == NULL			   ? "none"
						      : r >= m->rules + m->nrules - NBUILTIN_RULES ? "builtin"
												   : "configured"));
	free(val);
	free(msg);
	free(raw);
	free(title);
	return ev;
fail:
	json_object_put(vbs);
	if (ev)
		h->event_unref(ev);
	free(val);
	free(msg);
	free(raw);
	free(title);
	return NULL;
}

/* ---- identity ------------------------------------------------------------ */

void rfx_trap_identity(const netsnmp_pdu *pdu, const char *peer, uint64_t h[2])
{
	uint64_t a = 14695981039346656037ULL, b = 0x9e3779b97f4a7c15ULL;
	long num[3] = {pdu->version, pdu->command, pdu->reqid};

	a = fnv_str(a, peer);
	b = fnv_str(b, peer);
	a = fnv(a, num, sizeof(num));
	b = fnv(b, num, sizeof(num));
	if (pdu->version == SNMP_VERSION_3) {
		a = fnv(a, pdu->securityName, pdu->securityName ? pdu->securityNameLen : 0);
		b = fnv(b, pdu->securityName, pdu->securityName ? pdu->securityNameLen : 0);
	} else {
		a = fnv(a, pdu->community, pdu->community ? pdu->community_len : 0);
		b = fnv(b, pdu->community, pdu->community ? pdu->community_len : 0);
	}
	for (const netsnmp_variable_list *v = pdu->variables; v; v = v->next_variable) {
		a = fnv(a, v->name, v->name_length * sizeof(oid));
		b = fnv(b, v->name, v->name_length * sizeof(oid));
		a = fnv(a, &v->type, sizeof(v->type));
		b = fnv(b, &v->type, sizeof(v->type));
		a = fnv(a, v->val.string, v->val.string ? v->val_len : 0);
		b = fnv(b, v->val.string, v->val.string ? v->val_len : 0);
	}
	h[0] = a;
	h[1] = b;
}

void rfx_trap_ulid(int64_t ms, const uint64_t h[2], char out[RFX_EVENT_ID_LEN + 1])
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t b[16];
	uint64_t t = (uint64_t)ms;

	for (int i = 5; i >= 0; i--) {
		b[i] = (uint8_t)(t & 0xff);
		t >>= 8;
	}
	for (int i = 0; i < 8; i++)
		b[6 + i] = (uint8_t)(h[0] >> (56 - 8 * i));
	b[14] = (uint8_t)(h[1] >> 56);
	b[15] = (uint8_t)(h[1] >> 48);
	/* 128 bits as 26 base32 digits, the first holding the top 3 bits */
	int bit = -2;
	for (int i = 0; i < RFX_EVENT_ID_LEN; i++, bit += 5) {
		unsigned v = 0;
		for (int k = 0; k < 5; k++) {
			int pos = bit + k;
			unsigned one = pos < 0 ? 0 : (b[pos / 8] >> (7 - pos % 8)) & 1;
			v = (v << 1) | one;
		}
		out[i] = b32[v];
	}
	out[RFX_EVENT_ID_LEN] = '\0';
}
