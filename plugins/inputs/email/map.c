/*
 * plugins/inputs/email/map.c - the email input's `rules:` (compiled PCRE2
 * regexes that pick host, severity, status, service or check out of a
 * mail) and its deterministic event ids (see map.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map.h"

/* Bounds on one regex run, so a rule with catastrophic backtracking costs
 * a bounded amount of time per mail instead of stalling the input. */
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 10000

const char *const rfx_email_field_names[] = {"subject", "from", "to", "body", NULL};
const char *const rfx_email_target_names[] = {"host", "severity", "status", "service",
					      "check", NULL};

struct rule {
	pcre2_code *re;
	int field, set;
	const char *value; /* borrowed from the config */
	int group;         /* capture group whose text is the value; 0 = whole */
};

struct rfx_email_rules {
	size_t n;
	pcre2_match_context *mctx;
	struct rule r[];
};

void rfx_email_rules_free(struct rfx_email_rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		pcre2_code_free(r->r[i].re);
	pcre2_match_context_free(r->mctx);
	free(r);
}

int rfx_email_rules_compile(const struct rfx_email_rule_conf *conf, size_t n,
			    struct rfx_email_rules **out, char *err, size_t errlen)
{
	struct rfx_email_rules *r = NULL;
	int rc = -1;

	*out = NULL;
	if (n > RFX_EMAIL_RULES_MAX) {
		snprintf(err, errlen, "rules: at most %d rules", RFX_EMAIL_RULES_MAX);
		return -1;
	}
	r = calloc(1, sizeof(*r) + n * sizeof(r->r[0]));
	if (r == NULL) {
		snprintf(err, errlen, "rules: out of memory");
		return -2;
	}
	r->mctx = pcre2_match_context_create(NULL);
	if (r->mctx == NULL) {
		snprintf(err, errlen, "rules: out of memory");
		rc = -2;
		goto fail;
	}
	pcre2_set_match_limit(r->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(r->mctx, DEPTH_LIMIT);
	for (size_t i = 0; i < n; i++) {
		const struct rfx_email_rule_conf *c = &conf[i];
		struct rule *ru = &r->r[i];
		int ec;
		PCRE2_SIZE eo;
		uint32_t ncap = 0;

		if (c->regex == NULL) {
			snprintf(err, errlen, "rules[%zu]: regex is required", i);
			goto fail;
		}
		if (c->field < 0 || c->field > RFX_EMAIL_BODY || c->set < 0 ||
		    c->set >= RFX_EMAIL_SET__COUNT) {
			snprintf(err, errlen, "rules[%zu]: bad field or set", i);
			goto fail;
		}
		ru->re = pcre2_compile((PCRE2_SPTR)c->regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec,
				       &eo, NULL);
		if (ru->re == NULL) {
			PCRE2_UCHAR msg[160];
			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "rules[%zu]: regex '%s': %s at offset %zu", i, c->regex,
				 (const char *)msg, (size_t)eo);
			goto fail;
		}
		r->n = i + 1;
		ru->field = c->field;
		ru->set = c->set;
		ru->value = c->value;
		pcre2_pattern_info(ru->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
		int named = pcre2_substring_number_from_name(
			ru->re, (PCRE2_SPTR)rfx_email_target_names[c->set]);
		ru->group = named > 0 ? named : ncap > 0 ? 1 : 0;
	}
	*out = r;
	return 0;
fail:
	rfx_email_rules_free(r);
	return rc;
}

static const char *field_text(const struct rfx_email_msg *m, int field)
{
	const char *s = NULL;

	switch (field) {
	case RFX_EMAIL_SUBJECT:
		s = m->subject;
		break;
	case RFX_EMAIL_FROM:
		s = m->from;
		break;
	case RFX_EMAIL_TO:
		s = m->to;
		break;
	case RFX_EMAIL_BODY:
		s = m->body;
		break;
	default:
		break;
	}
	return s ? s : "";
}

/* Trimmed copy of s[0..n) of at most RFX_EMAIL_VALUE_MAX bytes, cut on a
 * UTF-8 boundary; NULL when out of memory. */
static char *value_dup(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
		n--;
	if (n > RFX_EMAIL_VALUE_MAX) {
		n = RFX_EMAIL_VALUE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

int rfx_email_rules_apply(const struct rfx_email_rules *r, const struct rfx_email_msg *m,
			  char *out[RFX_EMAIL_SET__COUNT])
{
	pcre2_match_data *md = NULL;
	int rc = 0;

	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++)
		out[t] = NULL;
	if (r == NULL || r->n == 0)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct rule *ru = &r->r[i];
		if (out[ru->set] != NULL)
			continue;
		pcre2_match_data_free(md);
		md = pcre2_match_data_create_from_pattern(ru->re, NULL);
		if (md == NULL) {
			rc = -2;
			goto fail;
		}
		const char *s = field_text(m, ru->field);
		/* Texts come from mime.c, which guarantees valid UTF-8. */
		int mr = pcre2_match(ru->re, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_NO_UTF_CHECK, md,
				     r->mctx);
		if (mr < 0)
			continue; /* no match, or a limit hit: the rule does not apply */
		if (ru->value != NULL) {
			out[ru->set] = strdup(ru->value);
		} else {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			int g = ru->group;
			if (g >= mr || ov[2 * g] == PCRE2_UNSET)
				g = 0; /* the group did not take part in the match */
			out[ru->set] = value_dup(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
		}
		if (out[ru->set] == NULL) {
			rc = -2;
			goto fail;
		}
		if (out[ru->set][0] == '\0') {
			/* An empty capture sets nothing: a later rule may. */
			free(out[ru->set]);
			out[ru->set] = NULL;
		}
	}
	pcre2_match_data_free(md);
	return 0;
fail:
	pcre2_match_data_free(md);
	for (int t = 0; t < RFX_EMAIL_SET__COUNT; t++) {
		free(out[t]);
		out[t] = NULL;
	}
	return rc;
}

int rfx_email_status_parse(const char *s)
{
	static const char *const firing[] = {"firing", "problem", "down", "alert", "critical",
					     "failed", "failure", "open", NULL};
	static const char *const resolved[] = {"resolved", "ok", "recovery", "recovered", "up",
					       "cleared", "closed", NULL};
	if (s == NULL)
		return -1;
	for (size_t i = 0; firing[i]; i++)
		if (strcasecmp(s, firing[i]) == 0)
			return 0;
	for (size_t i = 0; resolved[i]; i++)
		if (strcasecmp(s, resolved[i]) == 0)
			return 1;
	return -1;
}

static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* Two FNV-1a passes with different bases, each finalised; ids only need
 * to tell different mails apart, not resist an adversary. */
void rfx_email_hash80(const void *data, size_t len, unsigned char out[10])
{
	const unsigned char *p = data;
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL ^ (uint64_t)len;

	for (size_t i = 0; i < len; i++) {
		a = (a ^ p[i]) * 0x100000001b3ULL;
		b = (b ^ p[len - 1 - i]) * 0x100000001b3ULL;
	}
	a = fmix64(a);
	b = fmix64(b ^ a);
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(a >> (56 - 8 * i));
	out[8] = (unsigned char)(b >> 56);
	out[9] = (unsigned char)(b >> 48);
}

void rfx_email_ulid(int64_t ms, const unsigned char rnd[10], char out[27])
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char b[16];
	uint64_t t;

	if (ms < 0)
		ms = 0;
	t = (uint64_t)ms;
	if (t > 0xffffffffffffULL)
		t = 0xffffffffffffULL;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(t >> (40 - 8 * i));
	memcpy(b + 6, rnd, 10);
	/* 26 characters carry 130 bits: the first two are always zero. */
	for (int i = 0; i < 26; i++) {
		int v = 0;
		for (int k = 0; k < 5; k++) {
			int bit = i * 5 + k - 2;
			v <<= 1;
			if (bit >= 0)
				v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
		}
		out[i] = alphabet[v];
	}
	out[26] = '\0';
}
