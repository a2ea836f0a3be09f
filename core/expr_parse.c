/*
 * core/expr_parse.c - owns compiling the condition language (core/expr.h): a
 * lexer and recursive-descent parser that turn source text into the tree of
 * core/expr_impl.h, resolving every field, label key, attribute path, literal
 * and regex up front, with error messages that point at a column. Also owns
 * freeing that tree. Evaluation lives in core/expr_eval.c.
 */
#include "expr_impl.h"
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds on what a configuration may ask us to compile. */
#define EXPR_SRC_MAX 65536   /* bytes of source */
#define EXPR_DEPTH_MAX 64    /* nesting of parentheses and 'not' */
#define EXPR_LIST_MAX 4096   /* items in one 'in [...]' list */
#define EXPR_PATH_MAX 32     /* segments in one attrs path */

/* ---- tokens --------------------------------------------------------------- */

enum tok_type {
	T_END,
	T_ERR,
	T_IDENT,
	T_STRING,
	T_NUMBER,
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_EQ,
	T_NE,
	T_LT,
	T_LE,
	T_GT,
	T_GE,
	T_AND,
	T_OR,
	T_NOT,
};

struct tok {
	enum tok_type t;
	size_t pos; /* byte offset of the first character */
	size_t len;
	double num; /* T_NUMBER */
};

/* ---- field table ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum fkind k;
	int idx;
} field_names[] = {
	{ "id", FK_ID, 0 },
	{ "host", FK_STR, RFX_F_HOST },
	{ "service", FK_STR, RFX_F_SERVICE },
	{ "check", FK_STR, RFX_F_CHECK },
	{ "message", FK_STR, RFX_F_MESSAGE },
	{ "fingerprint", FK_STR, RFX_F_FINGERPRINT },
	{ "source", FK_STR, RFX_F_SOURCE },
	{ "kind", FK_STR, RFX_F_KIND },
	{ "severity", FK_SEV, 0 },
	{ "status", FK_STATUS, 0 },
	{ "value", FK_VALUE, 0 },
	{ "time", FK_TIME, 0 },
	{ "received", FK_RECEIVED, 0 },
	{ "labels", FK_LABEL, 0 },
	{ "attrs", FK_ATTR, 0 },
};
#define NFIELDS (sizeof(field_names) / sizeof(field_names[0]))

static const char *field_kind_name(enum fkind k)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (field_names[i].k == k && k != FK_STR)
			return field_names[i].name;
	return "text";
}

/* ---- parser state and errors ---------------------------------------------- */

struct parser {
	const char *src;
	size_t len;
	size_t pos; /* next byte to lex */
	struct tok tk;
	char *err;
	size_t errlen;
	bool failed;
	size_t err_pos;
	int depth;
};

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

/* Label keys such as app.kubernetes.io/name must lex as one word. */
static bool is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/';
}

/* Columns count characters, not bytes, so they line up under UTF-8 text. */
static int column_of(const char *src, size_t pos)
{
	int col = 1;

	for (size_t i = 0; i < pos && src[i]; i++)
		if (((unsigned char)src[i] & 0xC0) != 0x80)
			col++;
	return col;
}

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Only the first error is reported: later ones are usually its echoes. */
static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->err_pos = pos;
	if (p->err && p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
}

/* Quotes the current token for a message, shortened when long. */
static void tok_desc(const struct parser *p, char *buf, size_t n)
{
	const struct tok *t = &p->tk;

	if (t->t == T_END) {
		snprintf(buf, n, "end of expression");
		return;
	}
	if (t->len > 40)
		snprintf(buf, n, "'%.37s...'", p->src + t->pos);
	else
		snprintf(buf, n, "'%.*s'", (int)t->len, p->src + t->pos);
}

static void expected(struct parser *p, const char *what)
{
	char d[64];

	tok_desc(p, d, sizeof(d));
	if (p->tk.t == T_END)
		fail(p, p->tk.pos, "unexpected end of expression, expected %s", what);
	else
		fail(p, p->tk.pos, "unexpected %s, expected %s", d, what);
}

static bool tok_is_word(const struct parser *p, const char *word)
{
	size_t n = strlen(word);

	return p->tk.t == T_IDENT && p->tk.len == n &&
	       strncasecmp(p->src + p->tk.pos, word, n) == 0;
}

/* ---- lexer ---------------------------------------------------------------- */

static void lex_error(struct parser *p, size_t pos, const char *msg)
{
	fail(p, pos, "%s", msg);
	p->tk.t = T_ERR;
	p->tk.pos = pos;
	p->tk.len = 0;
}

static void next(struct parser *p)
{
	const char *s = p->src;
	size_t i = p->pos;
	int c;

	if (p->failed) {
		p->tk.t = T_ERR;
		return;
	}
	while (i < p->len && isspace((unsigned char)s[i]))
		i++;
	p->tk.pos = i;
	p->tk.len = 1;
	if (i >= p->len) {
		p->tk.t = T_END;
		p->tk.len = 0;
		p->pos = i;
		return;
	}
	c = (unsigned char)s[i];
	switch (c) {
	case '(': p->tk.t = T_LPAREN; break;
	case ')': p->tk.t = T_RPAREN; break;
	case '[': p->tk.t = T_LBRACK; break;
	case ']': p->tk.t = T_RBRACK; break;
	case ',': p->tk.t = T_COMMA; break;
	case '=':
		if (s[i + 1] != '=') {
			lex_error(p, i, "unexpected '='; did you mean '=='?");
			return;
		}
		p->tk.t = T_EQ;
		p->tk.len = 2;
		break;
	case '!':
		if (s[i + 1] == '=') {
			p->tk.t = T_NE;
			p->tk.len = 2;
		} else {
			p->tk.t = T_NOT;
		}
		break;
	case '<':
	case '>':
		p->tk.t = c == '<' ? T_LT : T_GT;
		if (s[i + 1] == '=') {
			p->tk.t = c == '<' ? T_LE : T_GE;
			p->tk.len = 2;
		}
		break;
	case '&':
	case '|':
		if (s[i + 1] != c) {
			lex_error(p, i, c == '&' ? "unexpected '&'; did you mean '&&' or 'and'?"
						 : "unexpected '|'; did you mean '||' or 'or'?");
			return;
		}
		p->tk.t = c == '&' ? T_AND : T_OR;
		p->tk.len = 2;
		break;
	case '"':
	case '\'': {
		size_t j = i + 1;

		while (j < p->len && s[j] != c) {
			if (s[j] == '\\' && j + 1 < p->len)
				j++;
			j++;
		}
		if (j >= p->len) {
			lex_error(p, i, "unterminated string");
			return;
		}
		p->tk.t = T_STRING;
		p->tk.len = j + 1 - i;
		break;
	}
	default:
		if (isdigit(c) || ((c == '-' || c == '+' || c == '.') &&
				   (isdigit((unsigned char)s[i + 1]) ||
				    (s[i + 1] == '.' && isdigit((unsigned char)s[i + 2]))))) {
			char *end;

			errno = 0;
			p->tk.num = strtod(s + i, &end);
			if (end == s + i || is_ident_char((unsigned char)*end) ||
			    errno == ERANGE || !isfinite(p->tk.num)) {
				size_t j = i + 1;

				while (j < p->len && is_ident_char((unsigned char)s[j]))
					j++;
				fail(p, i, "invalid number '%.*s'", (int)(j - i > 40 ? 40 : j - i), s + i);
				p->tk.t = T_ERR;
				return;
			}
			p->tk.t = T_NUMBER;
			p->tk.len = (size_t)(end - (s + i));
		} else if (is_ident_start(c)) {
			size_t j = i + 1;

			while (j < p->len && is_ident_char((unsigned char)s[j]))
				j++;
			p->tk.t = T_IDENT;
			p->tk.len = j - i;
			if (tok_is_word(p, "and"))
				p->tk.t = T_AND;
			else if (tok_is_word(p, "or"))
				p->tk.t = T_OR;
			else if (tok_is_word(p, "not"))
				p->tk.t = T_NOT;
		} else {
			char msg[64];

			if (c < 0x20 || c >= 0x7f)
				snprintf(msg, sizeof(msg), "unexpected character 0x%02x", c);
			else
				snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
			lex_error(p, i, msg);
			return;
		}
	}
	p->pos = i + p->tk.len;
}

/* Decodes the current T_STRING token. Unknown escapes are kept as written so
 * that regex classes like "\d" survive without doubling the backslash. */
static char *decode_string(struct parser *p)
{
	const char *s = p->src + p->tk.pos + 1;
	size_t n = p->tk.len - 2, o = 0;
	char *out = malloc(n + 1);

	if (!out) {
		fail(p, p->tk.pos, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 >= n) {
			out[o++] = s[i];
			continue;
		}
		switch (s[++i]) {
		case '\\': out[o++] = '\\'; break;
		case '"': out[o++] = '"'; break;
		case '\'': out[o++] = '\''; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		default:
			out[o++] = '\\';
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- freeing -------------------------------------------------------------- */

static void field_clear(struct field *f)
{
	free(f->label);
	for (size_t i = 0; i < f->nsegs; i++)
		free(f->segs[i]);
	free(f->segs);
	free(f->segidx);
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	field_clear(&n->f);
	for (size_t i = 0; i < n->nlits; i++)
		if (n->lits[i].owned)
			free(n->lits[i].s);
	free(n->lits);
	if (n->re)
		pcre2_code_free(n->re);
	free(n);
}

static struct node *node_new(struct parser *p, enum nkind k)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		fail(p, p->tk.pos, "out of memory");
	else
		n->k = k;
	return n;
}

/* ---- field resolution ----------------------------------------------------- */

/* Plain Levenshtein distance; both names are short and bounded by the caller. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[33], prev, tmp;

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = prev + cost;

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static void unknown_field(struct parser *p, const char *word, size_t wlen, size_t headlen)
{
	size_t best = SIZE_MAX, bi = 0;

	for (size_t i = 0; i < NFIELDS; i++) {
		const char *name = field_names[i].name;
		size_t d = edit_distance(word, headlen, name, strlen(name));

		/* A dotted word can only have meant a field that takes a path. */
		if (headlen < wlen && field_names[i].k != FK_LABEL && field_names[i].k != FK_ATTR)
			continue;
		if (d < best) {
			best = d;
			bi = i;
		}
	}
	if (best <= 2 && best < headlen)
		fail(p, p->tk.pos, "unknown field '%.*s'; did you mean '%s%.*s'?", (int)wlen, word,
		     field_names[bi].name, (int)(wlen - headlen), word + headlen);
	else
		fail(p, p->tk.pos, "unknown field '%.*s'", (int)wlen, word);
}

static int split_attr_path(struct parser *p, struct field *f, const char *path, size_t n)
{
	size_t nsegs = 1;

	for (size_t i = 0; i < n; i++)
		if (path[i] == '.')
			nsegs++;
	if (nsegs > EXPR_PATH_MAX) {
		fail(p, p->tk.pos, "attribute path has more than %d segments", EXPR_PATH_MAX);
		return -1;
	}
	f->segs = calloc(nsegs, sizeof(*f->segs));
	f->segidx = calloc(nsegs, sizeof(*f->segidx));
	if (!f->segs || !f->segidx) {
		fail(p, p->tk.pos, "out of memory");
		return -1;
	}
	for (size_t i = 0, start = 0; i <= n; i++) {
		char *end;

		if (i < n && path[i] != '.')
			continue;
		if (i == start) {
			fail(p, p->tk.pos, "empty segment in attribute path '%.*s'", (int)p->tk.len,
			     p->src + p->tk.pos);
			return -1;
		}
		if (!(f->segs[f->nsegs] = strndup(path + start, i - start))) {
			fail(p, p->tk.pos, "out of memory");
			return -1;
		}
		/* Numeric segments also index arrays: attrs.items.0.name. */
		f->segidx[f->nsegs] = -1;
		if (isdigit((unsigned char)path[start])) {
			long v = strtol(f->segs[f->nsegs], &end, 10);

			if (*end == '\0')
				f->segidx[f->nsegs] = v;
		}
		f->nsegs++;
		start = i + 1;
	}
	return 0;
}

/* Resolves the current T_IDENT into f. */
static int resolve_field(struct parser *p, struct field *f)
{
	const char *w = p->src + p->tk.pos;
	size_t wlen = p->tk.len, headlen = 0;

	while (headlen < wlen && w[headlen] != '.')
		headlen++;
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *name = field_names[i].name;

		if (strlen(name) != headlen || strncasecmp(w, name, headlen) != 0)
			continue;
		f->k = field_names[i].k;
		f->idx = field_names[i].idx;
		if (f->k == FK_LABEL || f->k == FK_ATTR) {
			if (headlen + 1 >= wlen) {
				fail(p, p->tk.pos, "'%s' needs a name: %s", name,
				     f->k == FK_LABEL ? "labels.team" : "attrs.http.status");
				return -1;
			}
			if (f->k == FK_ATTR)
				return split_attr_path(p, f, w + headlen + 1, wlen - headlen - 1);
			/* The rest is the key as written, dots included. */
			if (!(f->label = strndup(w + headlen + 1, wlen - headlen - 1))) {
				fail(p, p->tk.pos, "out of memory");
				return -1;
			}
			return 0;
		}
		if (headlen != wlen) {
			fail(p, p->tk.pos, "field '%s' has no subfields", name);
			return -1;
		}
		return 0;
	}
	unknown_field(p, w, wlen, headlen);
	return -1;
}

/* ---- literals ------------------------------------------------------------- */

static int parse_lit_text(struct parser *p, struct lit *l)
{
	if (p->tk.t == T_STRING) {
		if (!(l->s = decode_string(p)))
			return -1;
		l->t = L_STR;
		l->owned = true;
		l->has_num = rfx_expr_parse_number(l->s, &l->num);
		return 0;
	}
	if (p->tk.t == T_NUMBER) {
		l->t = L_NUM;
		l->num = p->tk.num;
		return 0;
	}
	if (tok_is_word(p, "true") || tok_is_word(p, "false")) {
		l->t = L_BOOL;
		l->b = tok_is_word(p, "true");
		l->s = l->b ? "true" : "false";
		return 0;
	}
	if (p->tk.t == T_IDENT) {
		fail(p, p->tk.pos, "expected a quoted string or number, not the bare word '%.*s' (write \"%.*s\")",
		     (int)(p->tk.len > 40 ? 40 : p->tk.len), p->src + p->tk.pos,
		     (int)(p->tk.len > 40 ? 40 : p->tk.len), p->src + p->tk.pos);
		return -1;
	}
	expected(p, "a value");
	return -1;
}

/* A severity or status name may be written bare or quoted. Returns a
 * malloc'd copy of the name, or NULL when the token is not a word. */
static char *lit_word(struct parser *p)
{
	if (p->tk.t == T_IDENT)
		return strndup(p->src + p->tk.pos, p->tk.len);
	if (p->tk.t == T_STRING)
		return decode_string(p);
	return NULL;
}

static int parse_lit_severity(struct parser *p, struct lit *l)
{
	char *w;
	int sev;

	l->t = L_INT;
	if (p->tk.t == T_NUMBER) {
		if (p->tk.num < 0 || p->tk.num > 7 || p->tk.num != (int)p->tk.num) {
			fail(p, p->tk.pos, "severity number must be 0-7 (syslog: 0 emergency .. 7 debug)");
			return -1;
		}
		l->i = (int)p->tk.num;
		return 0;
	}
	if (!(w = lit_word(p))) {
		expected(p, "a severity name (critical, error, warning, ...)");
		return -1;
	}
	sev = rfx_severity_parse(w);
	if (sev < 0) {
		size_t best = SIZE_MAX, d;
		int bi = 0;

		for (int i = 0; i < 8; i++) {
			const char *name = rfx_severity_name(i);

			d = edit_distance(w, strlen(w), name, strlen(name));
			if (d < best) {
				best = d;
				bi = i;
			}
		}
		if (best <= 2 && best < strlen(w))
			fail(p, p->tk.pos, "unknown severity '%.40s'; did you mean '%s'?", w,
			     rfx_severity_name(bi));
		else
			fail(p, p->tk.pos, "unknown severity '%.40s'; expected emergency, alert, critical, "
			     "error, warning, notice, info or debug", w);
	}
	free(w);
	l->i = sev;
	return sev < 0 ? -1 : 0;
}

static int parse_lit_status(struct parser *p, struct lit *l)
{
	char *w = lit_word(p);

	l->t = L_INT;
	if (!w) {
		expected(p, "a status (firing or resolved)");
		return -1;
	}
	if (strcasecmp(w, "firing") == 0)
		l->i = RFX_STATUS_FIRING;
	else if (strcasecmp(w, "resolved") == 0)
		l->i = RFX_STATUS_RESOLVED;
	else
		fail(p, p->tk.pos, "unknown status '%.40s'; expected firing or resolved", w);
	free(w);
	return p->failed ? -1 : 0;
}

static int parse_lit_time(struct parser *p, struct lit *l)
{
	char *w;
	int rc;

	l->t = L_INT;
	if (p->tk.t == T_NUMBER) {
		/* Unix seconds, fractions allowed. */
		if (fabs(p->tk.num) > 9.2e9) {
			fail(p, p->tk.pos, "time out of range");
			return -1;
		}
		l->i = (int64_t)(p->tk.num * 1e9);
		return 0;
	}
	if (p->tk.t != T_STRING) {
		if (p->tk.t == T_IDENT)
			fail(p, p->tk.pos, "expected a quoted RFC 3339 time such as \"2026-11-28T03:22:45Z\"");
		else
			expected(p, "a quoted RFC 3339 time");
		return -1;
	}
	if (!(w = decode_string(p)))
		return -1;
	rc = rfx_time_parse(w, &l->i);
	if (rc < 0)
		fail(p, p->tk.pos, "invalid time '%.40s'; expected RFC 3339 such as \"2026-11-28T03:22:45Z\"", w);
	free(w);
	return rc < 0 ? -1 : 0;
}

/* Parses the current token as a value for field f and consumes it. */
static int parse_lit(struct parser *p, const struct field *f, struct lit *l)
{
	int rc;

	switch (f->k) {
	case FK_SEV:
		rc = parse_lit_severity(p, l);
		break;
	case FK_STATUS:
		rc = parse_lit_status(p, l);
		break;
	case FK_TIME:
	case FK_RECEIVED:
		rc = parse_lit_time(p, l);
		break;
	case FK_VALUE:
		if (p->tk.t != T_NUMBER) {
			expected(p, "a number");
			return -1;
		}
		l->t = L_NUM;
		l->num = p->tk.num;
		rc = 0;
		break;
	default:
		rc = parse_lit_text(p, l);
	}
	if (rc == 0)
		next(p);
	return rc;
}

/* ---- predicates ----------------------------------------------------------- */

static int compile_regex(struct parser *p, struct node *n, const char *pattern, size_t tokpos)
{
	int errcode;
	PCRE2_SIZE erroff;
	uint32_t opts = PCRE2_UTF;

#ifdef PCRE2_MATCH_INVALID_UTF
	/* Log text is not always valid UTF-8; such subjects must still match. */
	opts |= PCRE2_MATCH_INVALID_UTF;
#endif
	n->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, NULL);
	if (!n->re) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		fail(p, tokpos, "invalid regex: %s at offset %zu of the pattern", (char *)msg, (size_t)erroff);
		return -1;
	}
	/* Without JIT support pcre2_match() interprets; the result is the same. */
	(void)pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
	return 0;
}

static bool field_is_text(enum fkind k)
{
	return k == FK_STR || k == FK_ID || k == FK_LABEL || k == FK_ATTR;
}

static int parse_in_list(struct parser *p, struct node *n)
{
	size_t cap = 0;

	if (p->tk.t != T_LBRACK) {
		expected(p, "'[' to start the list");
		return -1;
	}
	next(p);
	if (p->tk.t == T_RBRACK) {
		fail(p, p->tk.pos, "empty list");
		return -1;
	}
	for (;;) {
		if (n->nlits == cap) {
			struct lit *nl;

			if (cap == EXPR_LIST_MAX) {
				fail(p, p->tk.pos, "list has more than %d items", EXPR_LIST_MAX);
				return -1;
			}
			cap = cap ? cap * 2 : 4;
			if (cap > EXPR_LIST_MAX)
				cap = EXPR_LIST_MAX;
			if (!(nl = realloc(n->lits, cap * sizeof(*nl)))) {
				fail(p, p->tk.pos, "out of memory");
				return -1;
			}
			n->lits = nl;
		}
		memset(&n->lits[n->nlits], 0, sizeof(n->lits[0]));
		if (parse_lit(p, &n->f, &n->lits[n->nlits]) < 0) {
			/* A failed literal may still own its text. */
			if (n->lits[n->nlits].owned)
				free(n->lits[n->nlits].s);
			return -1;
		}
		n->nlits++;
		if (p->tk.t == T_COMMA) {
			next(p);
			if (p->tk.t == T_RBRACK) /* trailing comma */
				break;
			continue;
		}
		if (p->tk.t == T_RBRACK)
			break;
		expected(p, "',' or ']'");
		return -1;
	}
	next(p);
	return 0;
}

static struct node *wrap_not(struct parser *p, struct node *kid)
{
	struct node *n;

	if (!kid)
		return NULL;
	if (!(n = node_new(p, N_NOT)) || !(n->kids = malloc(sizeof(*n->kids)))) {
		free(n);
		node_free(kid);
		fail(p, p->tk.pos, "out of memory");
		return NULL;
	}
	n->kids[0] = kid;
	n->nkids = 1;
	return n;
}

static struct node *parse_predicate(struct parser *p)
{
	struct node *n = NULL;
	bool negate = false;
	size_t oppos;

	if (p->tk.t != T_IDENT) {
		expected(p, "a field name");
		return NULL;
	}
	if (!(n = node_new(p, N_PRED)))
		return NULL;
	if (resolve_field(p, &n->f) < 0)
		goto fail;
	next(p);
	oppos = p->tk.pos;
	switch (p->tk.t) {
	case T_EQ: n->op = OP_EQ; break;
	case T_NE: n->op = OP_NE; break;
	case T_LT: n->op = OP_LT; break;
	case T_LE: n->op = OP_LE; break;
	case T_GT: n->op = OP_GT; break;
	case T_GE: n->op = OP_GE; break;
	case T_NOT:
		/* "x not in [..]", "x not contains ..", "x not exists" */
		next(p);
		negate = true;
		oppos = p->tk.pos;
		/* fallthrough */
	default:
		if (tok_is_word(p, "in"))
			n->op = OP_IN;
		else if (tok_is_word(p, "contains"))
			n->op = OP_CONTAINS;
		else if (tok_is_word(p, "startswith"))
			n->op = OP_STARTS;
		else if (tok_is_word(p, "endswith"))
			n->op = OP_ENDS;
		else if (tok_is_word(p, "matches"))
			n->op = OP_MATCHES;
		else if (tok_is_word(p, "exists"))
			n->op = OP_EXISTS;
		else if (negate) {
			expected(p, "in, contains, startswith, endswith, matches or exists after 'not'");
			goto fail;
		} else {
			expected(p, "an operator (== != < <= > >= in contains startswith endswith matches exists)");
			goto fail;
		}
	}
	if (n->f.k == FK_STATUS && n->op >= OP_LT && n->op <= OP_GE) {
		fail(p, oppos, "status can only be compared with ==, != or in");
		goto fail;
	}
	if (n->op >= OP_CONTAINS && n->op <= OP_MATCHES && !field_is_text(n->f.k)) {
		fail(p, oppos, "'%.*s' needs a text field; '%s' is not text", (int)p->tk.len,
		     p->src + p->tk.pos, field_kind_name(n->f.k));
		goto fail;
	}
	next(p);
	switch (n->op) {
	case OP_EXISTS:
		break;
	case OP_IN:
		if (parse_in_list(p, n) < 0)
			goto fail;
		break;
	case OP_CONTAINS:
	case OP_STARTS:
	case OP_ENDS:
	case OP_MATCHES:
		if (p->tk.t != T_STRING) {
			expected(p, "a quoted string");
			goto fail;
		}
		if (!(n->lits = calloc(1, sizeof(*n->lits)))) {
			fail(p, p->tk.pos, "out of memory");
			goto fail;
		}
		if (!(n->lits[0].s = decode_string(p)))
			goto fail;
		n->lits[0].t = L_STR;
		n->lits[0].owned = true;
		n->lits[0].has_num = rfx_expr_parse_number(n->lits[0].s, &n->lits[0].num);
		n->nlits = 1;
		if (n->op == OP_MATCHES && compile_regex(p, n, n->lits[0].s, p->tk.pos) < 0)
			goto fail;
		next(p);
		break;
	default:
		if (!(n->lits = calloc(1, sizeof(*n->lits)))) {
			fail(p, p->tk.pos, "out of memory");
			goto fail;
		}
		n->nlits = 1;
		if (parse_lit(p, &n->f, &n->lits[0]) < 0)
			goto fail;
	}
	if (p->failed)
		goto fail;
	return negate ? wrap_not(p, n) : n;
fail:
	node_free(n);
	return NULL;
}

/* ---- boolean structure ---------------------------------------------------- */

static struct node *parse_or(struct parser *p);

static struct node *parse_unary(struct parser *p)
{
	struct node *n;
	size_t open;

	if (p->tk.t != T_NOT && p->tk.t != T_LPAREN)
		return parse_predicate(p);
	if (++p->depth > EXPR_DEPTH_MAX) {
		fail(p, p->tk.pos, "expression nested deeper than %d levels", EXPR_DEPTH_MAX);
		return NULL;
	}
	if (p->tk.t == T_NOT) {
		next(p);
		n = wrap_not(p, parse_unary(p));
	} else {
		open = p->tk.pos;
		next(p);
		n = parse_or(p);
		if (n && p->tk.t != T_RPAREN) {
			char what[64];

			snprintf(what, sizeof(what), "')' to close '(' at column %d", column_of(p->src, open));
			expected(p, what);
			node_free(n);
			n = NULL;
		}
		if (n)
			next(p);
	}
	p->depth--;
	return n;
}

/* Parses kid (op kid)* into one flat node so long chains stay shallow. */
static struct node *parse_chain(struct parser *p, enum tok_type sep, enum nkind k,
				struct node *(*sub)(struct parser *))
{
	struct node *first, *n = NULL, *kid;
	size_t cap = 0;

	if (!(first = sub(p)))
		return NULL;
	if (p->tk.t != sep)
		return first;
	if (!(n = node_new(p, k)))
		goto fail;
	while (first || p->tk.t == sep) {
		if (first) {
			kid = first;
			first = NULL;
		} else {
			next(p);
			if (!(kid = sub(p)))
				goto fail;
		}
		if (n->nkids == cap) {
			struct node **nk;

			cap = cap ? cap * 2 : 4;
			if (!(nk = realloc(n->kids, cap * sizeof(*nk)))) {
				node_free(kid);
				fail(p, p->tk.pos, "out of memory");
				goto fail;
			}
			n->kids = nk;
		}
		n->kids[n->nkids++] = kid;
	}
	return n;
fail:
	node_free(first);
	node_free(n);
	return NULL;
}

static struct node *parse_and(struct parser *p)
{
	return parse_chain(p, T_AND, N_AND, parse_unary);
}

static struct node *parse_or(struct parser *p)
{
	return parse_chain(p, T_OR, N_OR, parse_and);
}

/* ---- public: compile/free ------------------------------------------------- */

rfx_expr *rfx_expr_compile(const char *src, char *err, size_t errlen, int *err_col)
{
	struct parser p = { .src = src, .err = err, .errlen = errlen };
	rfx_expr *e = NULL;
	struct node *root = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (err_col)
		*err_col = 0;
	if (!src) {
		p.src = "";
		fail(&p, 0, "no expression");
		goto fail;
	}
	p.len = strlen(src);
	if (p.len > EXPR_SRC_MAX) {
		fail(&p, EXPR_SRC_MAX, "expression longer than %d bytes", EXPR_SRC_MAX);
		goto fail;
	}
	rfx_expr_match_init();
	next(&p);
	if (p.tk.t == T_END) {
		fail(&p, 0, "empty expression");
		goto fail;
	}
	if (!(root = parse_or(&p)))
		goto fail;
	if (p.tk.t == T_RPAREN) {
		fail(&p, p.tk.pos, "unexpected ')' without a matching '('");
		goto fail;
	}
	if (p.tk.t != T_END) {
		char d[64];

		tok_desc(&p, d, sizeof(d));
		fail(&p, p.tk.pos, "unexpected %s, expected 'and', 'or' or the end of the expression", d);
		goto fail;
	}
	if (!(e = calloc(1, sizeof(*e))) || !(e->src = strdup(src))) {
		fail(&p, 0, "out of memory");
		goto fail;
	}
	e->root = root;
	return e;
fail:
	if (e)
		free(e->src);
	free(e);
	node_free(root);
	if (err_col)
		*err_col = column_of(p.src, p.err_pos);
	return NULL;
}

const char *rfx_expr_source(const rfx_expr *e)
{
	return e ? e->src : NULL;
}

void rfx_expr_free(rfx_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	free(e->src);
	free(e);
}
