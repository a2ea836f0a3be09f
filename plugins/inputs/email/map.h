/*
 * plugins/inputs/email/map.h - what a decoded mail becomes: the `rules:`
 * of the email input (PCRE2 regexes over subject, from, to or body that set
 * host, severity, status, service or check) and the deterministic event id
 * that makes re-reading a mail store nothing twice. No sockets and no host
 * table, so unit tests call it directly.
 */
#ifndef RFX_EMAIL_MAP_H
#define RFX_EMAIL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "mime.h"

enum rfx_email_field { RFX_EMAIL_SUBJECT = 0, RFX_EMAIL_FROM, RFX_EMAIL_TO, RFX_EMAIL_BODY };
enum rfx_email_target {
	RFX_EMAIL_SET_HOST = 0,
	RFX_EMAIL_SET_SEVERITY,
	RFX_EMAIL_SET_STATUS,
	RFX_EMAIL_SET_SERVICE,
	RFX_EMAIL_SET_CHECK,
	RFX_EMAIL_SET__COUNT
};

/* Names of the enums above, NULL-terminated, in enum order (for the option
 * table and messages). */
extern const char *const rfx_email_field_names[];
extern const char *const rfx_email_target_names[];

/* One element of the `rules:` list as the config fills it. */
struct rfx_email_rule_conf {
	int field;   /* enum rfx_email_field */
	char *regex; /* PCRE2 */
	int set;     /* enum rfx_email_target */
	char *value; /* fixed value; NULL takes it from the match */
};

#define RFX_EMAIL_RULES_MAX 256
#define RFX_EMAIL_VALUE_MAX 256 /* bytes kept of a value taken from a match */

struct rfx_email_rules;

/* Compiles n rules. 0 and *out (free with rfx_email_rules_free), or -1
 * with err naming the rule ("rules[2]: regex: ... at offset 4"). */
int rfx_email_rules_compile(const struct rfx_email_rule_conf *conf, size_t n,
			    struct rfx_email_rules **out, char *err, size_t errlen);
void rfx_email_rules_free(struct rfx_email_rules *r);

/*
 * Runs the rules in order over the message. For each target the first
 * rule that matches wins. The value is the rule's fixed `value`, else the
 * capture group named like the target (?<host>...), else group 1, else the
 * whole match, trimmed and bounded. out[t] receives a malloc'd string or
 * NULL for targets no rule set; the caller frees them. 0 or -2 (memory).
 */
int rfx_email_rules_apply(const struct rfx_email_rules *r, const struct rfx_email_msg *m,
			  char *out[RFX_EMAIL_SET__COUNT]);

/* "firing"/"problem"/"down"/... -> 0, "resolved"/"ok"/"recovery"/"up"/...
 * -> 1 (enum rfx_status), anything else -1. Case-insensitive. */
int rfx_email_status_parse(const char *s);

/* Hash of `len` bytes, for event ids: 80 bits into out[10]. */
void rfx_email_hash80(const void *data, size_t len, unsigned char out[10]);

/* A ULID (26 Crockford base32 characters + NUL) of a unix ms time (clamped
 * to 0..2^48-1) and 80 bits. */
void rfx_email_ulid(int64_t ms, const unsigned char rnd[10], char out[27]);

#endif
