/*
 * core/templates.c - the online template miner (see templates.h): line
 * normalisation and masking, the shape cache, the Drain-style template
 * search and widening, and the generic header stripper.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "templates.h"

#include <pcre2.h>
#include <reflex/plugin.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MARK '\x01'             /* a masked part inside normalised text */
#define WILD UINT64_C(0x9e3779b97f4a7c15) /* token hash of a whole <*> token */
#define FNV_OFF UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)
#define XLEN_MAX 48             /* longest line the cross-length match aligns */
#define XLEN_DIFF 8             /* most tokens two variants of a template differ by */
#define MASK_MATCH_LIMIT 100000 /* a pathological user regex fails the mask, not the agent */

enum { C_OTHER, C_SPACE, C_DELIM, C_DIGIT, C_MARK };

/* One token of the current line: bytes [off, off+len) of m->norm. */
struct tok {
	uint64_t h;
	uint32_t off;
	uint32_t len;
	uint32_t var; /* holds a masked part */
};

struct cluster {
	uint64_t count;
	uint64_t hash;     /* of text */
	uint64_t *th;      /* ntok token hashes; WILD where the template has <*> */
	uint32_t *toff;    /* token text of the first line, in norm */
	uint32_t *tlen;
	uint8_t *tvar;     /* token holds a masked part */
	char *norm;
	char *text;        /* rendered template */
	uint32_t ntok;
	uint32_t next;     /* next cluster index + 1 in the same bucket, 0 ends */
	uint32_t next_ft;  /* next cluster index + 1 with the same first token */
	/* Index of the cluster whose id and text this one reports: itself, or
	 * the template of another length it was found to be a variant of. */
	uint32_t group;
	uint32_t id;
};

struct shape {
	uint64_t h1, h2;
	uint32_t cl; /* cluster index + 1; UINT32_MAX: overflow; 0: empty slot */
};

struct bucket {
	uint64_t key;
	uint32_t head; /* cluster index + 1; 0: empty slot */
};

struct rfx_tmpl_miner {
	rfx_tmpl_opts o;
	pcre2_code *re[RFX_TMPL_MASKS_MAX];
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	char *masked;         /* line with user-mask matches replaced by MARK */
	char *norm;           /* normalised tokens of the current line */
	struct tok *toks;
	uint32_t ntok;
	struct cluster *cl;
	uint32_t ncl, capcl;
	struct bucket *bk;    /* capacity 2 * max_templates, power of two */
	struct bucket *fk;    /* first token -> clusters of any length; same size */
	uint32_t bkmask;
	uint32_t *ids;        /* template id - 1 -> cluster index */
	uint32_t nids;
	uint32_t *dp;         /* alignment table for the cross-length match */
	struct shape *sh;
	uint32_t shmask, nsh;
	uint64_t overflow_count;
	char *scratch;        /* rendering buffer */
	size_t scratch_len;
};

static uint8_t cls[256];

static void init_classes(void)
{
	static const char delims[] = "=:,;()[]{}<>@#|'\"";

	if (cls[' '] == C_SPACE)
		return;
	for (int c = 0; c < 256; c++)
		cls[c] = c < 0x20 || c == ' ' || c == 0x7f ? C_SPACE : C_OTHER;
	for (const char *d = delims; *d; d++)
		cls[(unsigned char)*d] = C_DELIM;
	for (int c = '0'; c <= '9'; c++)
		cls[c] = C_DIGIT;
	cls[(unsigned char)MARK] = C_MARK;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = FNV_OFF;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
	return h;
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 16;

	while (p < n && p < (UINT32_C(1) << 31))
		p <<= 1;
	return p;
}

void rfx_tmpl_opts_init(rfx_tmpl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sim_threshold = 0.7;
	o->max_templates = 10000;
	o->max_tokens = 128;
	o->max_line = 4096;
	o->max_shapes = 65536;
}

void rfx_tmpl_miner_free(rfx_tmpl_miner *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < RFX_TMPL_MASKS_MAX; i++)
		pcre2_code_free(m->re[i]);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	for (uint32_t i = 0; i < m->ncl; i++) {
		free(m->cl[i].th);
		free(m->cl[i].text);
	}
	free(m->cl);
	free(m->bk);
	free(m->fk);
	free(m->ids);
	free(m->dp);
	free(m->sh);
	free(m->masked);
	free(m->norm);
	free(m->toks);
	free(m->scratch);
	free(m);
}

rfx_tmpl_miner *rfx_tmpl_miner_new(const rfx_tmpl_opts *o, char *err, size_t errlen)
{
	rfx_tmpl_miner *m = NULL;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE eoff;
	int ec;

	init_classes();
	if (!o || !(o->sim_threshold >= 0.0 && o->sim_threshold <= 1.0) || o->max_templates < 1 ||
	    o->max_templates > 10000000 || o->max_tokens < 1 || o->max_tokens > 65536 || o->max_line < 16 ||
	    o->max_line > (1u << 24) || o->max_shapes < 16 || o->max_shapes > (1u << 26) ||
	    o->n_masks > RFX_TMPL_MASKS_MAX) {
		snprintf(err, errlen, "template miner: option out of range (sim_threshold 0..1, max_templates "
				      "1..10000000, max_tokens 1..65536, max_line 16..16777216, max_shapes "
				      "16..67108864, at most %d masks)", RFX_TMPL_MASKS_MAX);
		return NULL;
	}
	if (!(m = calloc(1, sizeof(*m))))
		goto nomem;
	m->o = *o;
	memset(m->o.masks, 0, sizeof(m->o.masks)); /* borrowed: do not keep */
	for (size_t i = 0; i < o->n_masks; i++) {
		if (!o->masks[i]) {
			snprintf(err, errlen, "template miner: mask %zu is NULL", i + 1);
			goto fail;
		}
		m->re[i] = pcre2_compile((PCRE2_SPTR)o->masks[i], PCRE2_ZERO_TERMINATED, 0, &ec, &eoff, NULL);
		if (!m->re[i]) {
			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "template miner: mask '%s': %s at offset %zu", o->masks[i],
				 (char *)msg, (size_t)eoff);
			goto fail;
		}
		(void)pcre2_jit_compile(m->re[i], PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
	}
	if (o->n_masks) {
		m->md = pcre2_match_data_create(1, NULL);
		m->mctx = pcre2_match_context_create(NULL);
		m->masked = malloc(o->max_line + 1);
		if (!m->md || !m->mctx || !m->masked)
			goto nomem;
		pcre2_set_match_limit(m->mctx, MASK_MATCH_LIMIT);
	}
	/* Normalising never lengthens a line except by the separators the
	 * last, catch-all token gets: at most one per input byte. */
	m->norm = malloc((size_t)o->max_line * 2 + 16);
	m->toks = malloc(sizeof(*m->toks) * o->max_tokens);
	m->bkmask = pow2_at_least((uint64_t)o->max_templates * 2) - 1;
	m->bk = calloc((size_t)m->bkmask + 1, sizeof(*m->bk));
	m->fk = calloc((size_t)m->bkmask + 1, sizeof(*m->fk));
	m->ids = malloc(sizeof(*m->ids) * o->max_templates);
	m->dp = malloc(sizeof(*m->dp) * (XLEN_MAX + 1) * (XLEN_MAX + 1));
	m->shmask = pow2_at_least((uint64_t)o->max_shapes * 2) - 1;
	m->sh = calloc((size_t)m->shmask + 1, sizeof(*m->sh));
	m->scratch_len = (size_t)o->max_line * 6 + 64;
	m->scratch = malloc(m->scratch_len);
	if (!m->norm || !m->toks || !m->bk || !m->fk || !m->ids || !m->dp || !m->sh || !m->scratch)
		goto nomem;
	return m;
nomem:
	snprintf(err, errlen, "template miner: out of memory");
fail:
	rfx_tmpl_miner_free(m);
	return NULL;
}

/* Copies s into m->masked with every user-mask match replaced by one MARK;
 * returns the new length. A mask that errors (match limit) is skipped. */
static size_t apply_masks(rfx_tmpl_miner *m, const char *s, size_t len)
{
	memcpy(m->masked, s, len);
	for (size_t i = 0; i < m->o.n_masks; i++) {
		size_t start = 0, out;
		char *b = m->masked;

		while (start <= len) {
			int rc = pcre2_match(m->re[i], (PCRE2_SPTR)b, len, start, 0, m->md, m->mctx);
			PCRE2_SIZE *ov;
			size_t ms, me;

			if (rc < 0)
				break;
			ov = pcre2_get_ovector_pointer(m->md);
			ms = ov[0];
			me = ov[1];
			if (me <= ms) { /* empty match: nothing to mask, step on */
				start = ms + 1;
				continue;
			}
			b[ms] = MARK;
			memmove(b + ms + 1, b + me, len - me);
			out = len - (me - ms - 1);
			len = out;
			start = ms + 1;
		}
	}
	return len;
}

/* A lowercase dotted name ending in a common top-level domain: a host. */
static bool is_hostname(const char *s, size_t n)
{
	static const char *const tlds[] = { "com", "net", "org", "edu", "gov", "mil", "biz", "asia", "io",
					    "local", "lan", "internal", "arpa", "uk", "de", "cn", "hk", "jp",
					    "fr", "ru", "nl", "au", "ca", "br", "kr", "tw",
					    "info", "us", "eu", "pl", "it", "es", "se", "no", "fi", "dk", "ch", "at", "be",
					    "cz", "pt", "gr", "ie", "in", "mx", "ar", "za", "nz", "sg", "tr", "il", "ua", NULL };
	size_t dots = 0, last = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			dots++;
			last = i + 1;
		} else if (!((c >= 'a' && c <= 'z') || c == '-' || (c >= '0' && c <= '9'))) {
			return false;
		}
	}
	if (dots < 1 || last >= n)
		return false;
	for (const char *const *t = tlds; *t; t++)
		if (strlen(*t) == n - last && memcmp(*t, s + last, n - last) == 0)
			return true;
	return false;
}

/* "ssh2", "SOCKS5", "utf8": a name with a version, not a value. */
static bool is_versioned_word(const char *s, size_t n)
{
	size_t i = 0, d;
	bool hex = true; /* "fe80", "beef01": hex digits, a value after all */

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
		hex &= (s[i] | 0x20) <= 'f';
		i++;
	}
	for (d = i; d < n && s[d] >= '0' && s[d] <= '9'; d++)
		;
	return !hex && i >= 2 && d == n && n - i >= 1 && n - i <= 2;
}

/*
 * Splits s into tokens in m->toks with their normalised text in m->norm:
 * parts between delimiters that hold a digit or a MARK, and host names,
 * become one MARK. A token that is only a MARK hashes to WILD.
 */
static void normalise(rfx_tmpl_miner *m, const unsigned char *s, size_t len)
{
	const bool digits = !m->o.no_digit_mask;
	uint32_t max = m->o.max_tokens, n = 0;
	char *out = m->norm;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t tstart;
		uint32_t tvar = 0;

		while (i < len && cls[s[i]] == C_SPACE)
			i++;
		if (i >= len)
			break;
		if (n == max) {
			/* Catch-all last token: the rest of the line joins it. */
			out[o++] = ' ';
			n--;
			tvar = m->toks[n].var;
		} else {
			m->toks[n].off = (uint32_t)o;
		}
		tstart = m->toks[n].off;
		while (i < len && cls[s[i]] != C_SPACE) {
			size_t seg = o;
			bool var = false, dot = false;
			uint8_t c;

			while (i < len && (c = cls[s[i]]) != C_SPACE && c != C_DELIM) {
				var |= c == C_MARK || (digits && c == C_DIGIT);
				dot |= s[i] == '.';
				out[o++] = (char)s[i++];
			}
			if ((var && !is_versioned_word(out + seg, o - seg)) || (dot && is_hostname(out + seg, o - seg))) {
				o = seg;
				out[o++] = MARK;
				tvar = 1;
			}
			while (i < len && cls[s[i]] == C_DELIM)
				out[o++] = (char)s[i++];
		}
		m->toks[n].len = (uint32_t)(o - tstart);
		m->toks[n].var = tvar;
		m->toks[n].h = m->toks[n].len == 1 && out[tstart] == MARK ? WILD
									  : hash_bytes(out + tstart, o - tstart);
		n++;
	}
	m->ntok = n;
}

/* Renders the template of c into c->text and sets c->hash. */
static int render(rfx_tmpl_miner *m, struct cluster *c)
{
	char *p = m->scratch, *t;

	for (uint32_t i = 0; i < c->ntok; i++) {
		if (i)
			*p++ = ' ';
		if (c->th[i] == WILD) {
			memcpy(p, "<*>", 3);
			p += 3;
			continue;
		}
		for (uint32_t k = 0; k < c->tlen[i]; k++) {
			char ch = c->norm[c->toff[i] + k];

			if (ch == MARK) {
				memcpy(p, "<*>", 3);
				p += 3;
			} else {
				*p++ = ch;
			}
		}
	}
	*p = '\0';
	if (!(t = malloc((size_t)(p - m->scratch) + 1)))
		return RFX_ENOMEM;
	memcpy(t, m->scratch, (size_t)(p - m->scratch) + 1);
	free(c->text);
	c->text = t;
	c->hash = hash_bytes(t, (size_t)(p - m->scratch));
	return 0;
}

/* The first token as a search key. One with a masked part counts as a
 * variable (Drain does the same with tokens holding digits): "wpad:<*>"
 * and "<*>:<*>" as a line's leading host:port do not make two kinds. */
static uint64_t first_hash(const rfx_tmpl_miner *m)
{
	if (!m->ntok)
		return 0;
	return m->toks[0].var ? WILD : m->toks[0].h;
}

static uint64_t bucket_key(const rfx_tmpl_miner *m)
{
	return mix64(((uint64_t)m->ntok << 1 | 1) ^ first_hash(m));
}

static uint64_t first_key(const rfx_tmpl_miner *m)
{
	return mix64(first_hash(m) ^ UINT64_C(0x2545f4914f6cdd1d));
}

static struct bucket *bucket_find(struct bucket *t, uint32_t mask, uint64_t key)
{
	for (uint32_t i = (uint32_t)key & mask;; i = (i + 1) & mask)
		if (!t[i].head || t[i].key == key)
			return &t[i];
}

/* A new template from the current line, reporting as group (or as itself
 * when group < 0); its index, or -1 on ENOMEM. */
static int64_t cluster_new(rfx_tmpl_miner *m, struct bucket *b, uint64_t key, int64_t group)
{
	struct cluster *c;
	struct bucket *f;
	uint64_t fkey = first_key(m);
	uint32_t n = m->ntok, textlen = n ? m->toks[n - 1].off + m->toks[n - 1].len : 0;
	char *blk;

	if (m->ncl == m->capcl) {
		uint32_t cap = m->capcl ? m->capcl * 2 : 64;
		struct cluster *v;

		if (cap > m->o.max_templates)
			cap = m->o.max_templates;
		if (!(v = realloc(m->cl, sizeof(*v) * cap)))
			return -1;
		m->cl = v;
		m->capcl = cap;
	}
	c = &m->cl[m->ncl];
	memset(c, 0, sizeof(*c));
	/* One block: hashes, offsets, lengths, flags, text. */
	blk = malloc(sizeof(uint64_t) * n + sizeof(uint32_t) * 2 * n + n + textlen + 1);
	if (!blk)
		return -1;
	c->th = (uint64_t *)blk;
	c->toff = (uint32_t *)(blk + sizeof(uint64_t) * n);
	c->tlen = c->toff + n;
	c->tvar = (uint8_t *)(c->tlen + n);
	c->norm = (char *)(c->tvar + n);
	memcpy(c->norm, m->norm, textlen);
	for (uint32_t i = 0; i < n; i++) {
		c->th[i] = m->toks[i].h;
		c->toff[i] = m->toks[i].off;
		c->tlen[i] = m->toks[i].len;
		c->tvar[i] = (uint8_t)m->toks[i].var;
	}
	c->ntok = n;
	if (group < 0 && render(m, c) != 0) {
		free(blk);
		return -1;
	}
	c->group = group < 0 ? m->ncl : (uint32_t)group;
	if (group < 0) {
		c->id = ++m->nids;
		m->ids[c->id - 1] = m->ncl;
	}
	b->key = key;
	c->next = b->head;
	b->head = m->ncl + 1;
	f = bucket_find(m->fk, m->bkmask, fkey);
	f->key = fkey;
	c->next_ft = f->head;
	f->head = m->ncl + 1;
	return m->ncl++;
}

/* What a token (or a key=value token's value) looks like. */
enum { K_VAR, K_ENUM, K_OTHER };

/*
 * K_VAR: holds a masked part. K_ENUM: upper case letters (at least 2),
 * maybe digits and '_', no lower case: "HTTPS", "SOCKS5", "RUNNING",
 * "JOB_SETUP" - the names of states, modes and protocols that a program
 * prints as constants. Delimiters around it ("(RUNNING)") do not count.
 */
static int tok_kind(const char *s, uint32_t n)
{
	uint32_t up = 0, other = 0;

	for (uint32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == (unsigned char)MARK)
			return K_VAR;
		if (c >= 'A' && c <= 'Z')
			up++;
		else if (c != '_' && cls[c] != C_DIGIT && cls[c] != C_DELIM)
			other++;
	}
	return up >= 2 && !other ? K_ENUM : K_OTHER;
}

/*
 * Whether position i of template c, a literal that differs from the
 * line's token there, may become a variable. Similarity alone counts a
 * differing position the same whatever it holds; these positions are
 * rather a different kind of message than a variable:
 * - two K_ENUM words ("... proxy <*> HTTPS" / "... SOCKS5", "from NEW to
 *   RUNNING" / "... to SCHEDULED");
 * - two tokens that both hold variables but differ in their constant
 *   parts ("by (uid=<*>)" / "by LOGIN(uid=<*>)", "uid=<*>" / "pid=<*>"),
 *   except the first token, which the search already treats as variable;
 * - for key=value tokens with the same key, the same rules on the values,
 *   and an empty value against a present one ("rhost=" / "rhost=<*>").
 * Differing lower case words stay mergeable: user names, file names and
 * other free words look just like constant words.
 */
static bool may_widen(const rfx_tmpl_miner *m, const struct cluster *c, uint32_t i)
{
	const char *sa = c->norm + c->toff[i], *sb = m->norm + m->toks[i].off;
	uint32_t na = c->tlen[i], nb = m->toks[i].len;
	const char *ea = memchr(sa, '=', na), *eb = memchr(sb, '=', nb);
	int a, b;

	if (ea && eb && ea - sa == eb - sb && memcmp(sa, sb, (size_t)(ea - sa)) == 0) {
		na -= (uint32_t)(ea + 1 - sa);
		nb -= (uint32_t)(eb + 1 - sb);
		sa = ea + 1;
		sb = eb + 1;
		if (!na != !nb)
			return false;
	}
	a = tok_kind(sa, na);
	b = tok_kind(sb, nb);
	if (a == K_ENUM && b == K_ENUM)
		return false;
	return !(a == K_VAR && b == K_VAR && i > 0);
}

/* Whether c may be widened to cover the current line (same length). */
static bool compatible(const rfx_tmpl_miner *m, const struct cluster *c)
{
	for (uint32_t i = 0; i < c->ntok; i++)
		if (c->th[i] != WILD && c->th[i] != m->toks[i].h && !may_widen(m, c, i))
			return false;
	return true;
}

/* The most similar template of the line's bucket: ties go to the oldest. */
static int64_t best_match(const rfx_tmpl_miner *m, const struct bucket *b, double *best_sim)
{
	int64_t best = -1;
	uint32_t n = m->ntok;

	*best_sim = -1.0;
	for (uint32_t ci = b->head; ci; ci = m->cl[ci - 1].next) {
		const struct cluster *c = &m->cl[ci - 1];
		uint32_t eq = 0;
		double sim;

		if (c->ntok != n)
			continue;
		for (uint32_t i = 0; i < n; i++)
			eq += c->th[i] == m->toks[i].h;
		sim = n ? (double)eq / n : 1.0;
		if ((sim > *best_sim || (sim == *best_sim && (int64_t)(ci - 1) < best)) && compatible(m, c)) {
			*best_sim = sim;
			best = ci - 1;
		}
	}
	return best;
}

/* A gap in one sequence that is one "( ... )" holding a variable: an
 * optional annotation of the value before it, like "(1.2 KB)". */
static bool paren_gap(const char *norm, const uint32_t *off, const uint32_t *len, const uint8_t *var,
		      uint32_t from, uint32_t to)
{
	bool v = false;

	if (to <= from || norm[off[from]] != '(' || len[to - 1] == 0)
		return false;
	for (uint32_t k = from; k < to; k++)
		v |= var[k] != 0;
	return v && norm[off[to - 1] + len[to - 1] - 1] == ')';
}

static bool gap_has_var(const uint8_t *var, uint32_t from, uint32_t to)
{
	for (uint32_t k = from; k < to; k++)
		if (var[k])
			return true;
	return false;
}

/*
 * Whether the line is a variant of c with a different token count: their
 * longest common token subsequence covers at least sim_threshold of the
 * longer one, and every stretch between common tokens is either variable
 * on both sides, or (inside the line, not at its ends) an optional
 * parenthetical with a variable. Returns the share, or -1.
 */
static double cross_sim(rfx_tmpl_miner *m, const struct cluster *c)
{
	uint32_t n = m->ntok, k = c->ntok, w = k + 1, i, j, pi = 0, pj = 0, match = 0;
	uint32_t *dp = m->dp;
	uint32_t loff[XLEN_MAX], llen[XLEN_MAX];
	uint8_t lvar[XLEN_MAX], cvar[XLEN_MAX];

	if (n > XLEN_MAX || k > XLEN_MAX || n == 0 || k == 0 || (n > k ? n - k : k - n) > XLEN_DIFF)
		return -1;
	for (i = 0; i < n; i++) {
		loff[i] = m->toks[i].off;
		llen[i] = m->toks[i].len;
		lvar[i] = (uint8_t)m->toks[i].var;
	}
	for (j = 0; j < k; j++)
		cvar[j] = c->tvar[j] || c->th[j] == WILD;
	/* dp[i][j]: LCS of line[i..] and template[j..]. */
	for (i = n + 1; i-- > 0;) {
		for (j = k + 1; j-- > 0;) {
			if (i == n || j == k)
				dp[i * w + j] = 0;
			else if (m->toks[i].h == c->th[j])
				dp[i * w + j] = dp[(i + 1) * w + j + 1] + 1;
			else
				dp[i * w + j] = dp[(i + 1) * w + j] > dp[i * w + j + 1] ? dp[(i + 1) * w + j]
											: dp[i * w + j + 1];
		}
	}
	/* The shorter one's share: the longer one's extra tokens are checked
	 * structurally below. */
	if ((double)dp[0] / (n < k ? n : k) < m->o.sim_threshold)
		return -1;
	/* Walk the alignment and check each gap, the tail included. */
	for (i = 0, j = 0;;) {
		bool end = i == n || j == k;

		if (!end && m->toks[i].h == c->th[j] && dp[i * w + j] == dp[(i + 1) * w + j + 1] + 1) {
			uint32_t gl = i - pi, gc = j - pj;

			if (gl || gc) {
				bool inner = match > 0;
				bool ok = (gl && gc && gap_has_var(lvar, pi, i) && gap_has_var(cvar, pj, j)) ||
					  (inner && !gc && paren_gap(m->norm, loff, llen, lvar, pi, i)) ||
					  (inner && !gl && paren_gap(c->norm, c->toff, c->tlen, c->tvar, pj, j));

				if (!ok)
					return -1;
			}
			match++;
			pi = ++i;
			pj = ++j;
			continue;
		}
		if (end) {
			uint32_t gl = n - pi, gc = k - pj;

			if ((gl || gc) && !(gl && gc && gap_has_var(lvar, pi, n) && gap_has_var(cvar, pj, k)))
				return -1;
			break;
		}
		if (dp[(i + 1) * w + j] >= dp[i * w + j + 1])
			i++;
		else
			j++;
	}
	return (double)match / (n < k ? n : k);
}

/* A template of another length that the line is a variant of, or -1. */
static int64_t cross_match(rfx_tmpl_miner *m)
{
	struct bucket *f = bucket_find(m->fk, m->bkmask, first_key(m));
	double best_sim = -1, sim;
	int64_t best = -1;

	for (uint32_t ci = f->head; ci; ci = m->cl[ci - 1].next_ft) {
		const struct cluster *c = &m->cl[ci - 1];

		if (c->ntok == m->ntok || c->group != ci - 1)
			continue;
		sim = cross_sim(m, c);
		if (sim >= 0 && (sim > best_sim || (sim == best_sim && (int64_t)(ci - 1) < best))) {
			best_sim = sim;
			best = ci - 1;
		}
	}
	return best;
}

/* Widens c so that it covers the current line; 1 when it changed. */
static int widen(rfx_tmpl_miner *m, struct cluster *c, int *err)
{
	int changed = 0;

	for (uint32_t i = 0; i < c->ntok; i++) {
		if (c->th[i] != WILD && c->th[i] != m->toks[i].h) {
			c->th[i] = WILD;
			changed = 1;
		}
	}
	*err = changed && c->group == (uint32_t)(c - m->cl) ? render(m, c) : 0;
	return changed;
}

/* Widens the positions of c that the current line leaves uncovered in a
 * cross-length match: those not in the common subsequence. */
static int widen_cross(rfx_tmpl_miner *m, struct cluster *c)
{
	uint32_t n = m->ntok, k = c->ntok, w = k + 1, i = 0, j = 0;
	int changed = 0;

	while (j < k) {
		if (i < n && m->toks[i].h == c->th[j] && m->dp[i * w + j] == m->dp[(i + 1) * w + j + 1] + 1) {
			i++;
			j++;
		} else if (i < n && m->dp[(i + 1) * w + j] >= m->dp[i * w + j + 1]) {
			i++;
		} else {
			if (c->th[j] != WILD) {
				c->th[j] = WILD;
				changed = 1;
			}
			j++;
		}
	}
	return changed ? render(m, c) : 0;
}

static void shapes_put(rfx_tmpl_miner *m, uint64_t h1, uint64_t h2, uint32_t cl)
{
	uint32_t i;

	if (m->nsh >= m->o.max_shapes) {
		/* A cache: forgetting only costs a slower lookup next time. */
		memset(m->sh, 0, sizeof(*m->sh) * ((size_t)m->shmask + 1));
		m->nsh = 0;
	}
	for (i = (uint32_t)h1 & m->shmask; m->sh[i].cl; i = (i + 1) & m->shmask)
		;
	m->sh[i].h1 = h1;
	m->sh[i].h2 = h2;
	m->sh[i].cl = cl;
	m->nsh++;
}

static void fill_overflow(rfx_tmpl_miner *m, rfx_tmpl_match *out)
{
	m->overflow_count++;
	out->id = RFX_TMPL_OVERFLOW_ID;
	out->template = "<overflow>";
	out->hash = hash_bytes(out->template, strlen(out->template));
}

/* Counts the line for cluster ci's group and fills *out. */
static void report(rfx_tmpl_miner *m, uint32_t ci, rfx_tmpl_match *out)
{
	struct cluster *g = &m->cl[m->cl[ci].group];

	g->count++;
	out->id = g->id;
	out->hash = g->hash;
	out->template = g->text;
}

int rfx_tmpl_add(rfx_tmpl_miner *m, const char *msg, size_t len, rfx_tmpl_match *out)
{
	uint64_t h1 = FNV_OFF, h2, key;
	struct bucket *b;
	double sim;
	int64_t ci, xi;
	int err = 0;

	if (!m || (!msg && len) || !out)
		return RFX_EINVAL;
	memset(out, 0, sizeof(*out));
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (len > m->o.max_line)
		len = m->o.max_line;
	if (m->o.n_masks)
		len = apply_masks(m, msg, len), msg = m->masked;
	normalise(m, (const unsigned char *)msg, len);

	h2 = mix64(m->ntok + UINT64_C(0x51ed270b));
	for (uint32_t i = 0; i < m->ntok; i++) {
		h1 = (h1 ^ m->toks[i].h) * FNV_PRIME;
		h2 = mix64(h2 ^ (m->toks[i].h + i));
	}
	h1 = mix64(h1 ^ m->ntok);
	for (uint32_t i = (uint32_t)h1 & m->shmask; m->sh[i].cl; i = (i + 1) & m->shmask) {
		if (m->sh[i].h1 != h1 || m->sh[i].h2 != h2)
			continue;
		if (m->sh[i].cl == UINT32_MAX)
			fill_overflow(m, out);
		else
			report(m, m->sh[i].cl - 1, out);
		return 0;
	}

	key = bucket_key(m);
	b = bucket_find(m->bk, m->bkmask, key);
	ci = b->head ? best_match(m, b, &sim) : -1;
	if (ci >= 0 && sim >= m->o.sim_threshold) {
		out->changed = widen(m, &m->cl[ci], &err);
		if (err)
			return err;
	} else if (m->ncl >= m->o.max_templates) {
		shapes_put(m, h1, h2, UINT32_MAX);
		fill_overflow(m, out);
		return 0;
	} else if ((xi = cross_match(m)) >= 0) {
		/* A variant of another length: its own cluster for the Drain
		 * search, reported as the template it varies. */
		(void)cross_sim(m, &m->cl[xi]); /* the alignment table of xi */
		if ((err = widen_cross(m, &m->cl[xi])) != 0)
			return err;
		if ((ci = cluster_new(m, b, key, xi)) < 0)
			return RFX_ENOMEM;
		out->changed = 1;
	} else {
		if ((ci = cluster_new(m, b, key, -1)) < 0)
			return RFX_ENOMEM;
		out->is_new = 1;
	}
	shapes_put(m, h1, h2, (uint32_t)ci + 1);
	report(m, (uint32_t)ci, out);
	return 0;
}

static void info_of(const rfx_tmpl_miner *m, uint32_t id, rfx_tmpl_info *out)
{
	const struct cluster *c = &m->cl[m->ids[id - 1]];

	out->id = id;
	out->hash = c->hash;
	out->count = c->count;
	out->template = c->text;
}

int rfx_tmpl_get(const rfx_tmpl_miner *m, uint32_t id, rfx_tmpl_info *out)
{
	if (!m || !out)
		return RFX_EINVAL;
	if (id == RFX_TMPL_OVERFLOW_ID && m->overflow_count) {
		out->id = id;
		out->template = "<overflow>";
		out->hash = hash_bytes(out->template, strlen(out->template));
		out->count = m->overflow_count;
		return 0;
	}
	if (id < 1 || id > m->nids)
		return RFX_ENOENT;
	info_of(m, id, out);
	return 0;
}

uint32_t rfx_tmpl_count(const rfx_tmpl_miner *m)
{
	return m ? m->nids : 0;
}

int rfx_tmpl_foreach(const rfx_tmpl_miner *m, int (*fn)(const rfx_tmpl_info *t, void *arg), void *arg)
{
	rfx_tmpl_info t;
	int rc;

	if (!m || !fn)
		return RFX_EINVAL;
	for (uint32_t id = 1; id <= m->nids; id++) {
		info_of(m, id, &t);
		if ((rc = fn(&t, arg)) != 0)
			return rc;
	}
	if (m->overflow_count && rfx_tmpl_get(m, RFX_TMPL_OVERFLOW_ID, &t) == 0)
		return fn(&t, arg);
	return 0;
}

/* --- generic header stripping ------------------------------------------ */

static bool is_word(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && strncasecmp(s, *words, n) == 0)
			return true;
	return false;
}

/* Timestamps, dates, pids, levels, month and day names, lone dashes. */
static bool header_token(const char *s, size_t n)
{
	static const char *const words[] = {
		"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
		"mon", "tue", "wed", "thu", "fri", "sat", "sun", "info", "warn", "warning", "error",
		"err", "debug", "trace", "fatal", "notice", "crit", "critical", "alert", "emerg", "severe",
		"-", NULL,
	};
	bool digit = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= '0' && c <= '9')
			digit = true;
		else if (!strchr(":.,/-+TZ", c) || !c)
			return is_word(s, n, words);
	}
	return digit || is_word(s, n, words);
}

size_t rfx_tmpl_header_len(const char *line, size_t len)
{
	size_t i = 0, end = 0, ts, te;
	bool dash_last = false;
	int skipped = 0;

	/* Leading header fields: [bracketed groups] (nested, may hold spaces)
	 * and header-looking tokens, at most 12 of them. */
	for (int k = 0; k < 12; k++) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		ts = i;
		if (line[i] == '[') {
			int depth = 0;

			for (; i < len; i++) {
				depth += line[i] == '[';
				depth -= line[i] == ']';
				if (depth == 0)
					break;
			}
			if (i >= len)
				break; /* unbalanced: not a header field */
			i++;
			if (i < len && line[i] != ' ' && line[i] != '\t') {
				i = ts;
				break;
			}
		} else {
			for (te = i; te < len && line[te] != ' ' && line[te] != '\t'; te++)
				;
			if (!header_token(line + i, te - i))
				break;
			i = te;
		}
		dash_last = i - ts == 1 && line[ts] == '-';
		end = i;
		skipped++;
	}
	i = end;
	if (!skipped)
		return 0;
	if (dash_last)
		goto out;
	/* "prog[pid]:", "host prog[pid]:", "component:", "prog -", "prog *64 -". */
	for (int k = 0; k < 3; k++) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		for (te = i; te < len && line[te] != ' ' && line[te] != '\t'; te++)
			;
		if (te == i)
			break;
		if ((k < 2 && te - i > 1 && line[te - 1] == ':') || (k >= 1 && te - i == 1 && line[i] == '-'))
			end = te;
		if (end == te)
			break;
		i = te;
	}
out:
	while (end < len && (line[end] == ' ' || line[end] == '\t'))
		end++;
	return end;
}
