/*
 * plugins/common/template.c - compiles and renders the output templates of
 * template.h: a flat node array built once at init, walked at render time
 * with a bounded, escaping writer into the caller's buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

#include "template.h"

#define OTPL_DEFAULT_MAX (64 * 1024)
#define OTPL_MAX_NODES 4096
#define OTPL_JSON_DEPTH 16 /* bound on attrs objects written out as JSON */

enum node_kind { N_TEXT, N_VAR, N_SECTION, N_INVERTED };

/* What a name refers to, resolved at compile time. */
enum var {
	V_FIELD,      /* ev->str[field] */
	V_SEVERITY,
	V_SEVERITY_NUM,
	V_STATUS,
	V_TIME,
	V_RECEIVED,
	V_ID,
	V_VALUE,
	V_LABELS,     /* all labels, "k=v, k=v" */
	V_LABEL,      /* labels.KEY */
	V_ATTRS,      /* the attrs object as JSON */
	V_ATTR,       /* attrs.PATH */
	V_GROUP_KEY,
	V_NFIRING,
	V_NRESOLVED,
	V_NEVENTS,
	V_SEQUENCE,
	V_GROUP_LABELS,
	V_GROUP_LABEL,
	V_EVENTS,     /* lists: sections iterate them */
	V_FIRING,
	V_RESOLVED,
};

struct node {
	enum node_kind kind;
	enum var var;
	int field;      /* V_FIELD */
	bool raw;       /* {{&x}} / {{{x}}}: no escaping */
	size_t off;     /* text, or the argument after "labels." etc. */
	size_t len;
	size_t end;     /* sections: index of the first node after the body */
};

struct rfx_otpl {
	char *src;
	rfx_otpl_escape esc;
	size_t max_out;
	struct node *nodes;
	size_t nnodes;
};

static const char *const sev_names[8] = {"emergency", "alert", "critical", "error",
					 "warning", "notice", "info", "debug"};

const char *rfx_otpl_severity_name(int sev)
{
	return sev >= 0 && sev < 8 ? sev_names[sev] : "unknown";
}

void rfx_otpl_time(int64_t ns, char *buf, size_t len)
{
	struct tm tm;
	time_t s;
	int ms;
	size_t n;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ns == 0)
		return;
	s = (time_t)(ns / 1000000000);
	ms = (int)((ns % 1000000000) / 1000000);
	if (ns < 0 && ns % 1000000000 != 0) {
		s--;
		ms = (int)((ns % 1000000000 + 1000000000) / 1000000);
	}
	if (gmtime_r(&s, &tm) == NULL)
		return;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return;
	if (ms != 0)
		snprintf(buf + n, len - n, ".%03dZ", ms);
	else
		snprintf(buf + n, len - n, "Z");
}

/* ---- compiling ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum var var;
	int field;
} names[] = {
	{"source", V_FIELD, RFX_F_SOURCE},
	{"kind", V_FIELD, RFX_F_KIND},
	{"host", V_FIELD, RFX_F_HOST},
	{"service", V_FIELD, RFX_F_SERVICE},
	{"check", V_FIELD, RFX_F_CHECK},
	{"message", V_FIELD, RFX_F_MESSAGE},
	{"fingerprint", V_FIELD, RFX_F_FINGERPRINT},
	{"raw", V_FIELD, RFX_F_RAW},
	{"severity", V_SEVERITY, 0},
	{"severity_num", V_SEVERITY_NUM, 0},
	{"status", V_STATUS, 0},
	{"time", V_TIME, 0},
	{"received", V_RECEIVED, 0},
	{"id", V_ID, 0},
	{"value", V_VALUE, 0},
	{"labels", V_LABELS, 0},
	{"attrs", V_ATTRS, 0},
	{"group_key", V_GROUP_KEY, 0},
	{"nfiring", V_NFIRING, 0},
	{"nresolved", V_NRESOLVED, 0},
	{"nevents", V_NEVENTS, 0},
	{"sequence", V_SEQUENCE, 0},
	{"group.labels", V_GROUP_LABELS, 0},
	{"events", V_EVENTS, 0},
	{"firing", V_FIRING, 0},
	{"resolved", V_RESOLVED, 0},
};

static void set_error(struct rfx_otpl_error *e, const char *src, size_t at, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct rfx_otpl_error *e, const char *src, size_t at, const char *fmt, ...)
{
	va_list ap;
	int line = 1, col = 1;

	if (e == NULL)
		return;
	for (size_t i = 0; i < at && src[i] != '\0'; i++) {
		if (src[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)src[i] & 0xC0) != 0x80) {
			col++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	e->line = line;
	e->column = col;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

void rfx_otpl_error_format(const struct rfx_otpl_error *e, char *buf, size_t len)
{
	if (e->line > 1)
		snprintf(buf, len, "line %d, column %d: %s", e->line, e->column, e->message);
	else
		snprintf(buf, len, "column %d: %s", e->column, e->message);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '/' || c == ':';
}

/* Resolves name[0..len) into n. 0, or -1 when the name is unknown. */
static int resolve(const char *src, size_t off, size_t len, struct node *n)
{
	const char *name = src + off;

	if (len > 7 && strncmp(name, "labels.", 7) == 0) {
		n->var = V_LABEL;
		n->off = off + 7;
		n->len = len - 7;
		return 0;
	}
	if (len > 6 && strncmp(name, "attrs.", 6) == 0) {
		n->var = V_ATTR;
		n->off = off + 6;
		n->len = len - 6;
		return 0;
	}
	if (len > 13 && strncmp(name, "group.labels.", 13) == 0) {
		n->var = V_GROUP_LABEL;
		n->off = off + 13;
		n->len = len - 13;
		return 0;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i].name) == len && memcmp(names[i].name, name, len) == 0) {
			n->var = names[i].var;
			n->field = names[i].field;
			n->off = off;
			n->len = len;
			return 0;
		}
	}
	return -1;
}

static bool is_list(enum var v)
{
	return v == V_EVENTS || v == V_FIRING || v == V_RESOLVED;
}

static int add_node(rfx_otpl *t, size_t *cap, const struct node *n)
{
	if (t->nnodes == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct node *v;

		if (nc > OTPL_MAX_NODES)
			return -1;
		v = realloc(t->nodes, nc * sizeof *v);
		if (v == NULL)
			return -1;
		t->nodes = v;
		*cap = nc;
	}
	t->nodes[t->nnodes++] = *n;
	return 0;
}

rfx_otpl *rfx_otpl_compile(const char *src, rfx_otpl_escape esc, size_t max_out,
			   struct rfx_otpl_error *e)
{
	rfx_otpl *t = NULL;
	size_t cap = 0, i = 0, srclen;
	size_t open[RFX_OTPL_MAX_DEPTH];   /* node index of each open section */
	size_t openat[RFX_OTPL_MAX_DEPTH]; /* its source offset, for errors */
	int depth = 0;

	if (src == NULL)
		src = "";
	srclen = strlen(src);
	if (srclen > RFX_OTPL_MAX_SOURCE) {
		set_error(e, src, 0, "template is longer than %d bytes", RFX_OTPL_MAX_SOURCE);
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (t == NULL || (t->src = strdup(src)) == NULL) {
		set_error(e, src, 0, "out of memory");
		goto fail;
	}
	t->esc = esc;
	t->max_out = max_out ? max_out : OTPL_DEFAULT_MAX;

	while (i < srclen) {
		const char *o = strstr(t->src + i, "{{");
		size_t tag, p, nstart, nend, close_len = 2;
		struct node n = {0};
		char sigil = 0;

		if (o == NULL) {
			n.kind = N_TEXT;
			n.off = i;
			n.len = srclen - i;
			if (add_node(t, &cap, &n) != 0)
				goto too_big;
			break;
		}
		tag = (size_t)(o - t->src);
		if (tag > i) {
			n.kind = N_TEXT;
			n.off = i;
			n.len = tag - i;
			if (add_node(t, &cap, &n) != 0)
				goto too_big;
			memset(&n, 0, sizeof n);
		}
		p = tag + 2;
		if (t->src[p] == '{') {
			sigil = '&';
			close_len = 3;
			p++;
		} else if (t->src[p] == '#' || t->src[p] == '^' || t->src[p] == '/' ||
			   t->src[p] == '&' || t->src[p] == '!') {
			sigil = t->src[p++];
		}
		if (sigil == '!') {
			const char *c = strstr(t->src + p, "}}");

			if (c == NULL) {
				set_error(e, src, tag, "comment '{{!' is not closed with '}}'");
				goto fail;
			}
			i = (size_t)(c - t->src) + 2;
			continue;
		}
		while (t->src[p] == ' ' || t->src[p] == '\t')
			p++;
		nstart = p;
		while (name_char(t->src[p]))
			p++;
		nend = p;
		while (t->src[p] == ' ' || t->src[p] == '\t')
			p++;
		if (nend == nstart) {
			if (t->src[p] == '}' || t->src[p] == '\0')
				set_error(e, src, tag, "empty tag: expected a name such as {{host}}");
			else
				set_error(e, src, p, "unexpected character '%c' in a tag name",
					  t->src[p]);
			goto fail;
		}
		if (strncmp(t->src + p, close_len == 3 ? "}}}" : "}}", close_len) != 0) {
			if (t->src[p] == '\0' || (t->src[p] == '}' && close_len == 3))
				set_error(e, src, tag, "tag is not closed with '%s'",
					  close_len == 3 ? "}}}" : "}}");
			else
				set_error(e, src, p, "unexpected character '%c' in a tag name",
					  t->src[p]);
			goto fail;
		}
		i = p + close_len;

		if (sigil == '/') {
			size_t at;
			struct node *s;

			if (depth == 0) {
				set_error(e, src, tag, "'{{/%.*s}}' closes no open section",
					  (int)(nend - nstart), t->src + nstart);
				goto fail;
			}
			at = open[depth - 1];
			s = &t->nodes[at];
			/* s->off/len name the resolved argument; compare the name as written */
			if (nend - nstart != s->end || memcmp(t->src + nstart, t->src + openat[depth - 1],
							      s->end) != 0) {
				set_error(e, src, tag, "'{{/%.*s}}' does not close the section '%.*s' "
					  "opened before it", (int)(nend - nstart), t->src + nstart,
					  (int)s->end, t->src + openat[depth - 1]);
				goto fail;
			}
			depth--;
			s->end = t->nnodes;
			continue;
		}
		if (resolve(t->src, nstart, nend - nstart, &n) != 0) {
			set_error(e, src, nstart, "unknown field '%.*s' (see docs/output-templates.md)",
				  (int)(nend - nstart), t->src + nstart);
			goto fail;
		}
		if (sigil == '#' || sigil == '^') {
			if (depth == RFX_OTPL_MAX_DEPTH) {
				set_error(e, src, tag, "sections nest deeper than %d", RFX_OTPL_MAX_DEPTH);
				goto fail;
			}
			n.kind = sigil == '#' ? N_SECTION : N_INVERTED;
			n.end = nend - nstart; /* the name's length until the close sets it */
			open[depth] = t->nnodes;
			openat[depth] = nstart;
			depth++;
		} else {
			if (is_list(n.var)) {
				set_error(e, src, nstart, "'%.*s' is a list: use it as a section, "
					  "{{#%.*s}}...{{/%.*s}}", (int)(nend - nstart), t->src + nstart,
					  (int)(nend - nstart), t->src + nstart, (int)(nend - nstart),
					  t->src + nstart);
				goto fail;
			}
			n.kind = N_VAR;
			n.raw = sigil == '&';
		}
		if (add_node(t, &cap, &n) != 0)
			goto too_big;
	}
	if (depth > 0) {
		set_error(e, src, openat[depth - 1], "section '%.*s' is not closed with '{{/%.*s}}'",
			  (int)t->nodes[open[depth - 1]].end, t->src + openat[depth - 1],
			  (int)t->nodes[open[depth - 1]].end, t->src + openat[depth - 1]);
		goto fail;
	}
	return t;
too_big:
	set_error(e, src, i, "template has more than %d parts (or out of memory)", OTPL_MAX_NODES);
fail:
	rfx_otpl_free(t);
	return NULL;
}

void rfx_otpl_free(rfx_otpl *t)
{
	if (t == NULL)
		return;
	free(t->nodes);
	free(t->src);
	free(t);
}

void rfx_otpl_buf_free(struct rfx_otpl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---- rendering ---------------------------------------------------------- */

struct render {
	const rfx_otpl *t;
	struct rfx_otpl_buf *b;
	size_t max;
	bool truncated;
	bool stop;  /* truncated or out of memory: write nothing more */
	int err;
	/* the notice view: a lone event is a notice of one */
	const rfx_notice *notice;
	rfx_event *const *events;
	size_t nevents;
	size_t nfiring;
	const rfx_event *cur;   /* the event fields refer to this one */
	bool in_list;           /* inside {{#events}}/{{#firing}}/{{#resolved}} */
};

/* Makes room for n more bytes (and a NUL) within max. false when it does
 * not fit (sets truncated) or memory ran out. */
static bool room(struct render *r, size_t n)
{
	struct rfx_otpl_buf *b = r->b;
	size_t need = b->len + n + 1;

	if (r->stop)
		return false;
	if (b->len + n > r->max) {
		r->truncated = true;
		r->stop = true;
		return false;
	}
	if (need > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		char *d;

		while (nc < need)
			nc *= 2;
		if (nc > r->max + 1)
			nc = r->max + 1;
		d = realloc(b->data, nc);
		if (d == NULL) {
			r->err = RFX_ENOMEM;
			r->stop = true;
			return false;
		}
		b->data = d;
		b->cap = nc;
	}
	return true;
}

static void put_raw(struct render *r, const char *s, size_t n)
{
	if (!room(r, n))
		return;
	memcpy(r->b->data + r->b->len, s, n);
	r->b->len += n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Writes s[0..n) escaped with esc; each character or escape sequence goes
 * in whole or not at all, so a cut never leaves half of one. Invalid UTF-8
 * becomes U+FFFD. */
static void put_esc(struct render *r, const char *s, size_t n, rfx_otpl_escape esc)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n && !r->stop) {
		unsigned char c = u[i];
		char tmp[8];
		const char *rep = NULL;
		size_t rl = 0, adv = 1;

		if (c >= 0x80) {
			adv = utf8_len(u + i, n - i);
			if (adv == 0) {
				rep = "\xEF\xBF\xBD";
				rl = 3;
				adv = 1;
			} else {
				rep = s + i;
				rl = adv;
			}
		} else if (esc == RFX_OTPL_ESC_JSON) {
			switch (c) {
			case '"': rep = "\\\""; break;
			case '\\': rep = "\\\\"; break;
			case '\n': rep = "\\n"; break;
			case '\r': rep = "\\r"; break;
			case '\t': rep = "\\t"; break;
			default:
				if (c < 0x20 || c == 0x7F) {
					snprintf(tmp, sizeof tmp, "\\u%04x", c);
					rep = tmp;
				}
			}
		} else if (esc == RFX_OTPL_ESC_HTML) {
			switch (c) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			}
		} else if (esc == RFX_OTPL_ESC_SLACK) {
			switch (c) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			}
		}
		if (rep == NULL) {
			/* runs of plain ASCII go in one copy */
			size_t j = i + 1;

			while (j < n && u[j] < 0x80 && u[j] >= 0x20 && u[j] != 0x7F &&
			       (esc == RFX_OTPL_ESC_NONE ||
				(esc == RFX_OTPL_ESC_JSON && u[j] != '"' && u[j] != '\\') ||
				(esc != RFX_OTPL_ESC_JSON && u[j] != '&' && u[j] != '<' && u[j] != '>' &&
				 (esc != RFX_OTPL_ESC_HTML || (u[j] != '"' && u[j] != '\'')))))
				j++;
			if (r->b->len + (j - i) <= r->max) {
				put_raw(r, s + i, j - i);
			} else {
				/* does not all fit: take what does (ASCII: any cut is
				 * on a character) */
				put_raw(r, s + i, r->max - r->b->len);
				r->truncated = true;
				r->stop = true;
			}
			i = j;
			continue;
		}
		if (rl == 0)
			rl = strlen(rep);
		put_raw(r, rep, rl);
		i += adv;
	}
}

/* Literal template text: the author's, never escaped. */
static void put_text(struct render *r, const char *s, size_t n)
{
	put_esc(r, s, n, RFX_OTPL_ESC_NONE);
}

static void put_value(struct render *r, const char *s, size_t n, rfx_otpl_escape esc)
{
	put_esc(r, s, n, esc);
}

static void put_json(struct render *r, struct json_object *o, rfx_otpl_escape esc, int depth);

static void put_json_string(struct render *r, const char *s, size_t n, rfx_otpl_escape esc)
{
	/* JSON text first (escaped as a JSON string), then escaped for the
	 * destination; staged through a small buffer per chunk. */
	char tmp[512];
	size_t tl = 0;

	put_value(r, "\"", 1, esc);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[8];
		size_t el;

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c == '\n') {
			memcpy(e, "\\n", 2);
			el = 2;
		} else if (c < 0x20) {
			el = (size_t)snprintf(e, sizeof e, "\\u%04x", c);
		} else {
			e[0] = (char)c;
			el = 1;
		}
		if (tl + el > sizeof tmp) {
			put_value(r, tmp, tl, esc);
			tl = 0;
		}
		memcpy(tmp + tl, e, el);
		tl += el;
	}
	put_value(r, tmp, tl, esc);
	put_value(r, "\"", 1, esc);
}

static void put_num(struct render *r, struct json_object *o, rfx_otpl_escape esc)
{
	char tmp[40];
	int n;

	if (json_object_is_type(o, json_type_int))
		n = snprintf(tmp, sizeof tmp, "%" PRId64, json_object_get_int64(o));
	else
		n = snprintf(tmp, sizeof tmp, "%.17g", json_object_get_double(o));
	put_value(r, tmp, (size_t)n, esc);
}

/* The JSON text of o, written without json-c's to_string (which caches
 * into the object and so is not safe on events other threads read). */
static void put_json(struct render *r, struct json_object *o, rfx_otpl_escape esc, int depth)
{
	if (depth > OTPL_JSON_DEPTH) {
		put_value(r, "null", 4, esc);
		return;
	}
	switch (json_object_get_type(o)) {
	case json_type_null:
		put_value(r, "null", 4, esc);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			put_value(r, "true", 4, esc);
		else
			put_value(r, "false", 5, esc);
		break;
	case json_type_int:
	case json_type_double:
		put_num(r, o, esc);
		break;
	case json_type_string:
		put_json_string(r, json_object_get_string(o), (size_t)json_object_get_string_len(o),
				esc);
		break;
	case json_type_array: {
		size_t n = json_object_array_length(o);

		put_value(r, "[", 1, esc);
		for (size_t i = 0; i < n && !r->stop; i++) {
			if (i > 0)
				put_value(r, ",", 1, esc);
			put_json(r, json_object_array_get_idx(o, i), esc, depth + 1);
		}
		put_value(r, "]", 1, esc);
		break;
	}
	case json_type_object: {
		bool first = true;

		put_value(r, "{", 1, esc);
		json_object_object_foreach(o, k, v) {
			if (r->stop)
				break;
			if (!first)
				put_value(r, ",", 1, esc);
			first = false;
			put_json_string(r, k, strlen(k), esc);
			put_value(r, ":", 1, esc);
			put_json(r, v, esc, depth + 1);
		}
		put_value(r, "}", 1, esc);
		break;
	}
	}
}

/* attrs.PATH: dots separate object keys; a number indexes an array. */
static struct json_object *attr_lookup(struct json_object *o, const char *path, size_t len)
{
	size_t i = 0;

	while (o != NULL && i < len) {
		char key[256];
		size_t j = i;
		struct json_object *next = NULL;

		while (j < len && path[j] != '.')
			j++;
		if (j - i >= sizeof key || j == i)
			return NULL;
		memcpy(key, path + i, j - i);
		key[j - i] = '\0';
		if (json_object_is_type(o, json_type_object)) {
			if (!json_object_object_get_ex(o, key, &next))
				return NULL;
		} else if (json_object_is_type(o, json_type_array)) {
			char *end;
			unsigned long idx = strtoul(key, &end, 10);

			if (*end != '\0' || key[0] < '0' || key[0] > '9' ||
			    idx >= json_object_array_length(o))
				return NULL;
			next = json_object_array_get_idx(o, idx);
		} else {
			return NULL;
		}
		o = next;
		i = j + 1;
	}
	return o;
}

static const char *label_lookup(const rfx_event *ev, const char *key, size_t len)
{
	for (size_t i = 0; i < ev->nlabels; i++)
		if (strlen(ev->labels[i].key) == len && memcmp(ev->labels[i].key, key, len) == 0)
			return ev->labels[i].value;
	return NULL;
}

/* A value as found, before escaping. */
struct val {
	enum { VT_NONE, VT_STR, VT_INT, VT_DBL, VT_JSON, VT_LABELS, VT_GLABELS, VT_TIME } type;
	const char *s;
	size_t n;
	int64_t i;
	double d;
	struct json_object *j;
};

static void lookup(const struct render *r, const struct node *n, struct val *v)
{
	const rfx_event *ev = r->cur;
	const char *arg = r->t->src + n->off;

	memset(v, 0, sizeof *v);
	switch (n->var) {
	case V_FIELD:
		if (ev != NULL && ev->str[n->field] != NULL) {
			v->type = VT_STR;
			v->s = ev->str[n->field];
		}
		break;
	case V_SEVERITY:
		if (ev != NULL) {
			v->type = VT_STR;
			v->s = rfx_otpl_severity_name(ev->severity);
		}
		break;
	case V_SEVERITY_NUM:
		if (ev != NULL) {
			v->type = VT_INT;
			v->i = ev->severity;
		}
		break;
	case V_STATUS: {
		int st;

		if (r->notice != NULL && !r->in_list)
			st = r->notice->status;
		else if (ev != NULL)
			st = ev->status;
		else
			break;
		v->type = VT_STR;
		v->s = st == RFX_STATUS_RESOLVED ? "resolved" : "firing";
		break;
	}
	case V_TIME:
		if (ev != NULL) {
			v->type = VT_TIME;
			v->i = ev->occurred_ns != 0 ? ev->occurred_ns : ev->received_ns;
		}
		break;
	case V_RECEIVED:
		if (ev != NULL) {
			v->type = VT_TIME;
			v->i = ev->received_ns;
		}
		break;
	case V_ID:
		if (ev != NULL && ev->id[0] != '\0') {
			v->type = VT_STR;
			v->s = ev->id;
		}
		break;
	case V_VALUE:
		if (ev != NULL && ev->has_value) {
			v->type = VT_DBL;
			v->d = ev->value;
		}
		break;
	case V_LABELS:
		if (ev != NULL && ev->nlabels > 0)
			v->type = VT_LABELS;
		break;
	case V_LABEL:
		if (ev != NULL && (v->s = label_lookup(ev, arg, n->len)) != NULL)
			v->type = VT_STR;
		break;
	case V_ATTRS:
		if (ev != NULL && ev->attrs != NULL && json_object_object_length(ev->attrs) > 0) {
			v->type = VT_JSON;
			v->j = ev->attrs;
		}
		break;
	case V_ATTR:
		if (ev != NULL && ev->attrs != NULL &&
		    (v->j = attr_lookup(ev->attrs, arg, n->len)) != NULL)
			v->type = VT_JSON;
		break;
	case V_GROUP_KEY:
		if (r->notice != NULL && r->notice->group_key != NULL) {
			v->type = VT_STR;
			v->s = r->notice->group_key;
		}
		break;
	case V_NFIRING:
		v->type = VT_INT;
		v->i = (int64_t)r->nfiring;
		break;
	case V_NRESOLVED:
		v->type = VT_INT;
		v->i = (int64_t)(r->nevents - r->nfiring);
		break;
	case V_NEVENTS:
		v->type = VT_INT;
		v->i = (int64_t)r->nevents;
		break;
	case V_SEQUENCE:
		if (r->notice != NULL) {
			v->type = VT_INT;
			v->i = (int64_t)r->notice->sequence;
		}
		break;
	case V_GROUP_LABELS:
		if (r->notice != NULL && r->notice->nlabels > 0)
			v->type = VT_GLABELS;
		break;
	case V_GROUP_LABEL:
		if (r->notice == NULL)
			break;
		for (size_t i = 0; i < r->notice->nlabels; i++) {
			const char *k = r->notice->label_keys[i];

			if (k != NULL && strlen(k) == n->len && memcmp(k, arg, n->len) == 0 &&
			    r->notice->label_values[i] != NULL) {
				v->type = VT_STR;
				v->s = r->notice->label_values[i];
				break;
			}
		}
		break;
	case V_EVENTS:
	case V_FIRING:
	case V_RESOLVED:
		break; /* lists are handled by sections */
	}
	if (v->type == VT_STR)
		v->n = strlen(v->s);
}

/* Empty: missing, "", a zero count, JSON null/false/""/[]/{}. */
static bool val_empty(const struct val *v)
{
	switch (v->type) {
	case VT_NONE:
		return true;
	case VT_STR:
		return v->n == 0;
	case VT_INT:
		return v->i == 0;
	case VT_DBL:
		return false;
	case VT_TIME:
		return v->i == 0;
	case VT_LABELS:
	case VT_GLABELS:
		return false;
	case VT_JSON:
		switch (json_object_get_type(v->j)) {
		case json_type_null:
			return true;
		case json_type_boolean:
			return !json_object_get_boolean(v->j);
		case json_type_string:
			return json_object_get_string_len(v->j) == 0;
		case json_type_array:
			return json_object_array_length(v->j) == 0;
		case json_type_object:
			return json_object_object_length(v->j) == 0;
		default:
			return false;
		}
	}
	return true;
}

static void put_val(struct render *r, const struct val *v, rfx_otpl_escape esc)
{
	char tmp[48];
	int n;

	switch (v->type) {
	case VT_NONE:
		break;
	case VT_STR:
		put_value(r, v->s, v->n, esc);
		break;
	case VT_INT:
		n = snprintf(tmp, sizeof tmp, "%" PRId64, v->i);
		put_value(r, tmp, (size_t)n, esc);
		break;
	case VT_DBL:
		n = snprintf(tmp, sizeof tmp, "%.15g", v->d);
		put_value(r, tmp, (size_t)n, esc);
		break;
	case VT_TIME:
		rfx_otpl_time(v->i, tmp, sizeof tmp);
		put_value(r, tmp, strlen(tmp), esc);
		break;
	case VT_LABELS:
		for (size_t i = 0; i < r->cur->nlabels && !r->stop; i++) {
			if (i > 0)
				put_value(r, ", ", 2, esc);
			put_value(r, r->cur->labels[i].key, strlen(r->cur->labels[i].key), esc);
			put_value(r, "=", 1, esc);
			put_value(r, r->cur->labels[i].value, strlen(r->cur->labels[i].value), esc);
		}
		break;
	case VT_GLABELS:
		for (size_t i = 0; i < r->notice->nlabels && !r->stop; i++) {
			const char *k = r->notice->label_keys[i], *val = r->notice->label_values[i];

			if (i > 0)
				put_value(r, ", ", 2, esc);
			put_value(r, k ? k : "", k ? strlen(k) : 0, esc);
			put_value(r, "=", 1, esc);
			put_value(r, val ? val : "", val ? strlen(val) : 0, esc);
		}
		break;
	case VT_JSON:
		/* a string attribute is its text; anything else its JSON */
		if (json_object_is_type(v->j, json_type_string))
			put_value(r, json_object_get_string(v->j),
				  (size_t)json_object_get_string_len(v->j), esc);
		else
			put_json(r, v->j, esc, 0);
		break;
	}
}

static bool in_list(enum var list, const rfx_event *ev)
{
	if (list == V_FIRING)
		return ev->status != RFX_STATUS_RESOLVED;
	if (list == V_RESOLVED)
		return ev->status == RFX_STATUS_RESOLVED;
	return true;
}

static void render_range(struct render *r, size_t from, size_t to)
{
	for (size_t i = from; i < to && !r->stop; i++) {
		const struct node *n = &r->t->nodes[i];
		struct val v;

		switch (n->kind) {
		case N_TEXT:
			put_text(r, r->t->src + n->off, n->len);
			break;
		case N_VAR:
			lookup(r, n, &v);
			put_val(r, &v, n->raw ? RFX_OTPL_ESC_NONE : r->t->esc);
			break;
		case N_SECTION:
		case N_INVERTED:
			if (is_list(n->var)) {
				const rfx_event *saved = r->cur;
				bool saved_in = r->in_list;
				size_t hits = 0;

				for (size_t k = 0; k < r->nevents && !r->stop; k++) {
					if (!in_list(n->var, r->events[k]))
						continue;
					hits++;
					if (n->kind == N_INVERTED)
						break;
					r->cur = r->events[k];
					r->in_list = true;
					render_range(r, i + 1, n->end);
				}
				r->cur = saved;
				r->in_list = saved_in;
				if (n->kind == N_INVERTED && hits == 0)
					render_range(r, i + 1, n->end);
			} else {
				bool empty;

				lookup(r, n, &v);
				empty = val_empty(&v);
				if (empty == (n->kind == N_INVERTED))
					render_range(r, i + 1, n->end);
			}
			i = n->end - 1;
			break;
		}
	}
}

int rfx_otpl_render(const rfx_otpl *t, const rfx_event *ev, const rfx_notice *notice,
		    struct rfx_otpl_buf *out, bool *truncated)
{
	struct render r = {0};
	rfx_event *one[1];

	r.t = t;
	r.b = out;
	r.max = t->max_out;
	out->len = 0;
	if (notice != NULL) {
		r.notice = notice;
		r.events = notice->events;
		r.nevents = notice->events != NULL ? notice->nevents : 0;
		r.nfiring = notice->nfiring;
		r.cur = r.nevents > 0 ? r.events[0] : NULL;
	} else if (ev != NULL) {
		one[0] = (rfx_event *)ev; /* read only; the array type is the notice's */
		r.events = one;
		r.nevents = 1;
		r.nfiring = ev->status == RFX_STATUS_RESOLVED ? 0 : 1;
		r.cur = ev;
	}
	if (room(&r, 0))
		render_range(&r, 0, t->nnodes);
	if (out->data == NULL) {
		/* nothing fit at all (max 0 cannot happen) or no memory */
		out->data = malloc(1);
		if (out->data == NULL)
			return RFX_ENOMEM;
		out->cap = 1;
	}
	out->data[out->len] = '\0';
	if (truncated != NULL)
		*truncated = r.truncated;
	return r.err;
}
