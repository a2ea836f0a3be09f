/*
 * core/schema.c - owns option schemas: validating a YAML mapping against an
 * rfx_option table and filling the typed config struct from it, freeing that
 * struct's contents, describing a table for --describe, and checking a table
 * for sanity at plugin load. Durations and sizes are parsed in units.c,
 * "did you mean" suggestions come from suggest.c.
 *
 * Every problem is added to the diag list and validation carries on, so one
 * run of --check-config shows all mistakes at once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "schema.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "suggest.h"
#include "units.h"

#define SECTION_DEPTH_MAX 8 /* nesting of RFX_OPT_SECTION tables */
#define KEYS_MAX 256        /* candidates considered for a suggestion */
#define SECLIST_MAX 4096    /* elements of one RFX_OPT_SECTION_LIST */

/* A converted scalar value, before it is stored at an option's offset. */
union optval {
	char *s;
	int64_t i;
	bool b;
	double d;
	uint64_t u;
	int e;
};

/* A range bound in the option's own notation. */
static void fmt_bound(const rfx_option *o, double v, char *out, size_t len)
{
	if (o->type == RFX_OPT_DURATION && v >= 0 && v < 9.2e18)
		rfx_format_duration((int64_t)v, out, len);
	else if (o->type == RFX_OPT_SIZE && v >= 0 && v < 1.8e19)
		rfx_format_size((uint64_t)v, out, len);
	else
		snprintf(out, len, "%.15g", v);
}

/* ---- converting and storing values -------------------------------------- */

static const char *type_name(rfx_opt_type t)
{
	switch (t) {
	case RFX_OPT_STRING:
		return "string";
	case RFX_OPT_INT:
		return "integer";
	case RFX_OPT_BOOL:
		return "boolean";
	case RFX_OPT_DOUBLE:
		return "number";
	case RFX_OPT_DURATION:
		return "duration";
	case RFX_OPT_SIZE:
		return "size";
	case RFX_OPT_ENUM:
		return "enum";
	case RFX_OPT_LIST:
		return "list";
	case RFX_OPT_MAP:
		return "map";
	case RFX_OPT_SECTION:
		return "section";
	case RFX_OPT_SECTION_LIST:
		return "list of sections";
	}
	return "unknown";
}

static bool is_scalar_type(rfx_opt_type t)
{
	return t >= RFX_OPT_STRING && t <= RFX_OPT_ENUM;
}

static void enum_list(const rfx_option *o, rfx_buf *b)
{
	for (size_t i = 0; o->enum_values && o->enum_values[i]; i++)
		rfx_buf_printf(b, "%s%s", i ? ", " : "", o->enum_values[i]);
}

/* Converts scalar text for a scalar-typed option. Returns 0, or -1 with the
 * reason (without the key) in err. */
static int convert(const rfx_option *o, const char *s, union optval *out, char *err, size_t errlen)
{
	char *end;
	char lo[48], hi[48];
	double num = 0;

	memset(out, 0, sizeof(*out));
	switch (o->type) {
	case RFX_OPT_STRING:
		out->s = strdup(s);
		if (!out->s) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	case RFX_OPT_INT:
		errno = 0;
		out->i = strtoll(s, &end, 10);
		if (end == s || *end || isspace((unsigned char)*s)) {
			snprintf(err, errlen, "expected an integer, got '%s'", s);
			return -1;
		}
		if (errno == ERANGE) {
			snprintf(err, errlen, "'%s' is too large for an integer", s);
			return -1;
		}
		num = (double)out->i;
		break;
	case RFX_OPT_DOUBLE:
		errno = 0;
		out->d = strtod(s, &end);
		if (end == s || *end || isspace((unsigned char)*s) || !isfinite(out->d)) {
			snprintf(err, errlen, "expected a number, got '%s'", s);
			return -1;
		}
		num = out->d;
		break;
	case RFX_OPT_BOOL:
		if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
			out->b = true;
		} else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") ||
			   !strcasecmp(s, "off")) {
			out->b = false;
		} else {
			snprintf(err, errlen, "expected true or false, got '%s'", s);
			return -1;
		}
		return 0;
	case RFX_OPT_DURATION:
		if (rfx_parse_duration(s, &out->i) < 0) {
			snprintf(err, errlen, "expected a duration like 30s, got '%s'", s);
			return -1;
		}
		num = (double)out->i;
		break;
	case RFX_OPT_SIZE:
		if (rfx_parse_size(s, &out->u) < 0) {
			snprintf(err, errlen, "expected a size like 64KiB, got '%s'", s);
			return -1;
		}
		num = (double)out->u;
		break;
	case RFX_OPT_ENUM:
		for (int i = 0; o->enum_values && o->enum_values[i]; i++) {
			if (strcmp(o->enum_values[i], s) == 0) {
				out->e = i;
				return 0;
			}
		}
		{
			rfx_buf b;
			rfx_buf_init(&b);
			enum_list(o, &b);
			const char *hint = o->enum_values ? rfx_suggest(s, o->enum_values) : NULL;
			if (hint)
				snprintf(err, errlen, "expected one of %s, got '%s'; did you mean '%s'?",
					 b.data ? b.data : "", s, hint);
			else
				snprintf(err, errlen, "expected one of %s, got '%s'", b.data ? b.data : "",
					 s);
			rfx_buf_free(&b);
		}
		return -1;
	default:
		snprintf(err, errlen, "not a scalar option");
		return -1;
	}
	if ((o->flags & RFX_OPT_RANGE) && (num < o->min || num > o->max)) {
		fmt_bound(o, o->min, lo, sizeof(lo));
		fmt_bound(o, o->max, hi, sizeof(hi));
		snprintf(err, errlen, "%s is out of range %s..%s", s, lo, hi);
		return -1;
	}
	return 0;
}

static void strlist_clear(struct rfx_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static void strmap_clear(struct rfx_strmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->values[i]);
	}
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

/* Stores a converted scalar at the option's field, releasing what was there
 * (a default being overridden). Takes ownership of v->s. */
static void store(const rfx_option *o, void *field, union optval *v)
{
	switch (o->type) {
	case RFX_OPT_STRING:
		free(*(char **)field);
		*(char **)field = v->s;
		break;
	case RFX_OPT_INT:
	case RFX_OPT_DURATION:
		*(int64_t *)field = v->i;
		break;
	case RFX_OPT_BOOL:
		*(bool *)field = v->b;
		break;
	case RFX_OPT_DOUBLE:
		*(double *)field = v->d;
		break;
	case RFX_OPT_SIZE:
		*(uint64_t *)field = v->u;
		break;
	case RFX_OPT_ENUM:
		*(int *)field = v->e;
		break;
	default:
		break;
	}
}

/* ---- applying a mapping ------------------------------------------------- */

struct apply {
	rfx_diag *d;
	int errors;
};

static void err_at(struct apply *a, const rfx_node *at, const char *ctx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void err_at(struct apply *a, const rfx_node *at, const char *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx && ctx[0])
		rfx_diag_add(a->d, at, "%s: %s", ctx, msg);
	else
		rfx_diag_add(a->d, at, "%s", msg);
	a->errors++;
}

static char *sub_ctx(const char *ctx, const char *name)
{
	char *s = NULL;

	if (!ctx || !ctx[0])
		return strdup(name);
	if (asprintf(&s, "%s.%s", ctx, name) < 0)
		return NULL;
	return s;
}

/* Fills a list from a sequence of scalars, or one scalar; replaces the old
 * contents only when every item is valid. */
static void fill_list(struct apply *a, const rfx_option *o, const rfx_node *v,
		      struct rfx_strlist *l, const char *ctx)
{
	struct rfx_strlist nl = { 0 };
	bool ok = true;

	if (v->type == RFX_NODE_MAP) {
		err_at(a, v, ctx, "'%s': expected a list, got a mapping", o->name);
		return;
	}
	if (v->type == RFX_NODE_SCALAR && v->null)
		goto done;
	size_t n = v->type == RFX_NODE_SEQ ? v->n : 1;
	if (n) {
		nl.v = calloc(n, sizeof(*nl.v));
		if (!nl.v) {
			err_at(a, v, ctx, "'%s': out of memory", o->name);
			return;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const rfx_node *it = v->type == RFX_NODE_SEQ ? v->items[i] : v;
		if (it->type != RFX_NODE_SCALAR || it->null) {
			err_at(a, it, ctx, "'%s'[%zu]: expected a scalar, got a %s", o->name, i,
			       it->type == RFX_NODE_SCALAR ? "null" : rfx_node_type_name(it->type));
			ok = false;
			continue;
		}
		nl.v[nl.n] = strdup(it->value);
		if (!nl.v[nl.n]) {
			err_at(a, it, ctx, "'%s': out of memory", o->name);
			ok = false;
			break;
		}
		nl.n++;
	}
	if (!ok) {
		strlist_clear(&nl);
		return;
	}
done:
	strlist_clear(l);
	*l = nl;
}

static void fill_map(struct apply *a, const rfx_option *o, const rfx_node *v,
		     struct rfx_strmap *m, const char *ctx)
{
	struct rfx_strmap nm = { 0 };
	bool ok = true;

	if (v->type == RFX_NODE_SCALAR && v->null)
		goto done;
	if (v->type != RFX_NODE_MAP) {
		err_at(a, v, ctx, "'%s': expected a mapping, got a %s", o->name,
		       rfx_node_type_name(v->type));
		return;
	}
	if (v->n) {
		nm.keys = calloc(v->n, sizeof(*nm.keys));
		nm.values = calloc(v->n, sizeof(*nm.values));
		if (!nm.keys || !nm.values) {
			free(nm.keys);
			free(nm.values);
			err_at(a, v, ctx, "'%s': out of memory", o->name);
			return;
		}
	}
	for (size_t i = 0; i < v->n; i++) {
		const rfx_node *it = v->items[i];
		if (it->type != RFX_NODE_SCALAR) {
			err_at(a, it, ctx, "'%s.%s': expected a scalar, got a %s", o->name,
			       v->keys[i]->value, rfx_node_type_name(it->type));
			ok = false;
			continue;
		}
		nm.keys[nm.n] = strdup(v->keys[i]->value);
		nm.values[nm.n] = strdup(it->value);
		if (!nm.keys[nm.n] || !nm.values[nm.n]) {
			free(nm.keys[nm.n]);
			free(nm.values[nm.n]);
			err_at(a, it, ctx, "'%s': out of memory", o->name);
			ok = false;
			break;
		}
		nm.n++;
	}
	if (!ok) {
		strmap_clear(&nm);
		return;
	}
done:
	strmap_clear(m);
	*m = nm;
}

static void walk(struct apply *a, const rfx_option *opts, const rfx_node *map,
		 const rfx_node *pos, char *cfg, const char *ctx, const char *const *extra, int depth);

static void apply_defaults(struct apply *a, const rfx_option *opts, char *cfg, const char *ctx,
			   int depth);
static void schema_free(const rfx_option *opts, char *cfg, int depth);

/* The element size of a SECTION_LIST's sub-table: its terminator's offset
 * (RFX_OPTION_END_SIZE). */
static size_t elem_size(const rfx_option *sub)
{
	const rfx_option *o = sub;

	while (o && o->name)
		o++;
	return o ? o->offset : 0;
}

static void seclist_clear(const rfx_option *o, struct rfx_seclist *l, int depth)
{
	size_t esz = elem_size(o->sub);

	for (size_t i = 0; l->v && i < l->n; i++)
		schema_free(o->sub, (char *)l->v + i * esz, depth + 1);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Fills a list of sections from a sequence of mappings, each with its own
 * defaults; replaces the old contents only when every element is valid. */
static void fill_seclist(struct apply *a, const rfx_option *o, const rfx_node *v,
			 struct rfx_seclist *l, const char *ctx, int depth)
{
	struct rfx_seclist nl = { 0 };
	size_t esz = elem_size(o->sub);
	int before = a->errors;

	if (v->type == RFX_NODE_SCALAR && v->null)
		goto done;
	if (v->type != RFX_NODE_SEQ) {
		err_at(a, v, ctx, "'%s': expected a list of mappings, got a %s", o->name,
		       rfx_node_type_name(v->type));
		return;
	}
	if (v->n > SECLIST_MAX) {
		err_at(a, v, ctx, "'%s': %zu entries, at most %d allowed", o->name, v->n,
		       SECLIST_MAX);
		return;
	}
	if (v->n && !(nl.v = calloc(v->n, esz))) {
		err_at(a, v, ctx, "'%s': out of memory", o->name);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const rfx_node *it = v->items[i];
		char *ectx = NULL;
		if (asprintf(&ectx, "%s%s%s[%zu]", ctx && ctx[0] ? ctx : "",
			     ctx && ctx[0] ? "." : "", o->name, i) < 0) {
			err_at(a, it, ctx, "out of memory");
			break;
		}
		char *elem = (char *)nl.v + i * esz;
		nl.n = i + 1; /* so a failure frees what this element filled */
		apply_defaults(a, o->sub, elem, ectx, depth + 1);
		if (it->type != RFX_NODE_MAP)
			err_at(a, it, ectx, "expected a mapping, got a %s",
			       rfx_node_type_name(it->type));
		else
			walk(a, o->sub, it, it, elem, ectx, NULL, depth + 1);
		free(ectx);
	}
	if (a->errors != before) {
		seclist_clear(o, &nl, depth);
		return;
	}
done:
	seclist_clear(o, l, depth);
	*l = nl;
}

static void apply_value(struct apply *a, const rfx_option *o, const rfx_node *v, char *cfg,
			const char *ctx, int depth)
{
	void *field = cfg + o->offset;
	char why[512];
	union optval val;

	if (is_scalar_type(o->type)) {
		if (v->type != RFX_NODE_SCALAR) {
			err_at(a, v, ctx, "'%s': expected a scalar, got a %s", o->name,
			       rfx_node_type_name(v->type));
			return;
		}
		if (v->null) {
			err_at(a, v, ctx, "'%s': expected %s %s, got nothing", o->name,
			       o->type == RFX_OPT_INT ? "an" : "a", type_name(o->type));
			return;
		}
		if (convert(o, v->value, &val, why, sizeof(why)) < 0) {
			err_at(a, v, ctx, "'%s': %s", o->name, why);
			return;
		}
		store(o, field, &val);
		return;
	}
	switch (o->type) {
	case RFX_OPT_LIST:
		fill_list(a, o, v, field, ctx);
		break;
	case RFX_OPT_MAP:
		fill_map(a, o, v, field, ctx);
		break;
	case RFX_OPT_SECTION: {
		if (v->type != RFX_NODE_MAP && !(v->type == RFX_NODE_SCALAR && v->null)) {
			err_at(a, v, ctx, "'%s': expected a mapping, got a %s", o->name,
			       rfx_node_type_name(v->type));
			return;
		}
		char *sctx = sub_ctx(ctx, o->name);
		if (!sctx) {
			err_at(a, v, ctx, "out of memory");
			return;
		}
		walk(a, o->sub, v->type == RFX_NODE_MAP ? v : NULL, v, field, sctx, NULL, depth + 1);
		free(sctx);
		break;
	}
	case RFX_OPT_SECTION_LIST:
		if (depth >= SECTION_DEPTH_MAX)
			err_at(a, v, ctx, "'%s': sections nested too deeply", o->name);
		else
			fill_seclist(a, o, v, field, ctx, depth);
		break;
	default:
		err_at(a, v, ctx, "'%s': option has an unknown type %d", o->name, (int)o->type);
		break;
	}
}

/* Parses a LIST/MAP default as YAML flow text ("[a, b]", "{k: v}"). */
static int default_node(const rfx_option *o, rfx_doc **doc, const rfx_node **node, char *err,
			size_t errlen)
{
	rfx_diag d;
	int rc = 0;

	rfx_diag_init(&d);
	*doc = rfx_doc_parse("default", o->default_value, &d);
	*node = rfx_doc_root(*doc);
	if (!*doc || !*node || d.n) {
		snprintf(err, errlen, "bad default '%s': %s", o->default_value,
			 d.n ? d.msgs[0] : "cannot parse");
		rc = -1;
	}
	rfx_diag_free(&d);
	return rc;
}

/* Applies defaults of opts (and nested sections) to cfg; errors only for
 * broken tables, which rfx_schema_check refuses at load. */
static void apply_defaults(struct apply *a, const rfx_option *opts, char *cfg, const char *ctx,
			   int depth)
{
	char why[512];

	for (const rfx_option *o = opts; o && o->name; o++) {
		void *field = cfg + o->offset;
		if (o->type == RFX_OPT_SECTION) {
			if (!o->sub || depth >= SECTION_DEPTH_MAX)
				continue;
			char *sctx = sub_ctx(ctx, o->name);
			if (!sctx) {
				err_at(a, NULL, ctx, "out of memory");
				continue;
			}
			apply_defaults(a, o->sub, field, sctx, depth + 1);
			free(sctx);
			continue;
		}
		if (!o->default_value)
			continue;
		if (is_scalar_type(o->type)) {
			union optval v;
			if (convert(o, o->default_value, &v, why, sizeof(why)) < 0) {
				err_at(a, NULL, ctx, "'%s': bad default: %s", o->name, why);
				continue;
			}
			store(o, field, &v);
		} else if ((o->type == RFX_OPT_LIST || o->type == RFX_OPT_MAP) &&
			   o->default_value[0]) {
			rfx_doc *doc = NULL;
			const rfx_node *n = NULL;
			if (default_node(o, &doc, &n, why, sizeof(why)) < 0)
				err_at(a, NULL, ctx, "'%s': %s", o->name, why);
			else if (o->type == RFX_OPT_LIST)
				fill_list(a, o, n, field, ctx);
			else
				fill_map(a, o, n, field, ctx);
			rfx_doc_free(doc);
		}
	}
}

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void unknown_key(struct apply *a, const rfx_option *opts, const rfx_node *key,
			const char *ctx, const char *const *extra)
{
	const char *cand[KEYS_MAX + 1];
	size_t n = 0;

	for (const rfx_option *o = opts; o && o->name && n < KEYS_MAX; o++)
		cand[n++] = o->name;
	for (size_t i = 0; extra && extra[i] && n < KEYS_MAX; i++)
		cand[n++] = extra[i];
	cand[n] = NULL;

	const char *hint = rfx_suggest(key->value, cand);
	if (hint) {
		err_at(a, key, ctx, "unknown key '%s'; did you mean '%s'?", key->value, hint);
		return;
	}
	rfx_buf b;
	rfx_buf_init(&b);
	for (size_t i = 0; i < n; i++)
		rfx_buf_printf(&b, "%s%s", i ? ", " : "", cand[i]);
	err_at(a, key, ctx, "unknown key '%s'; allowed keys: %s", key->value,
	       n ? (b.data ? b.data : "") : "(none)");
	rfx_buf_free(&b);
}

/* Validates map against opts, filling cfg. pos positions "missing required"
 * errors when map itself is absent (NULL). */
static void walk(struct apply *a, const rfx_option *opts, const rfx_node *map,
		 const rfx_node *pos, char *cfg, const char *ctx, const char *const *extra, int depth)
{
	if (depth > SECTION_DEPTH_MAX) {
		err_at(a, pos, ctx, "sections nested too deeply");
		return;
	}
	for (size_t i = 0; map && i < map->n; i++) {
		const rfx_node *key = map->keys[i];
		const rfx_option *o;
		for (o = opts; o && o->name; o++)
			if (strcmp(o->name, key->value) == 0)
				break;
		if (o && o->name)
			apply_value(a, o, map->items[i], cfg, ctx, depth);
		else if (!in_list(extra, key->value))
			unknown_key(a, opts, key, ctx, extra);
	}
	for (const rfx_option *o = opts; o && o->name; o++)
		if ((o->flags & RFX_OPT_REQUIRED) && !rfx_node_get(map, o->name))
			err_at(a, map ? map : pos, ctx, "missing required key '%s'", o->name);
}

int rfx_schema_apply(const rfx_option *opts, const rfx_node *map, void *cfg, const char *ctx,
		     const char *const *allowed_extra, rfx_diag *d)
{
	struct apply a = { .d = d };

	apply_defaults(&a, opts, cfg, ctx, 0);
	if (map && map->type != RFX_NODE_MAP) {
		err_at(&a, map, ctx, "expected a mapping, got a %s", rfx_node_type_name(map->type));
		return a.errors;
	}
	walk(&a, opts, map, map, cfg, ctx, allowed_extra, 0);
	return a.errors;
}

static void schema_free(const rfx_option *opts, char *cfg, int depth)
{
	for (const rfx_option *o = opts; o && o->name; o++) {
		void *field = cfg + o->offset;
		switch (o->type) {
		case RFX_OPT_STRING:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case RFX_OPT_LIST:
			strlist_clear(field);
			break;
		case RFX_OPT_MAP:
			strmap_clear(field);
			break;
		case RFX_OPT_SECTION:
			if (depth < SECTION_DEPTH_MAX)
				schema_free(o->sub, field, depth + 1);
			break;
		case RFX_OPT_SECTION_LIST:
			if (depth < SECTION_DEPTH_MAX)
				seclist_clear(o, field, depth);
			break;
		default:
			break;
		}
	}
}

void rfx_schema_free(const rfx_option *opts, void *cfg)
{
	if (cfg)
		schema_free(opts, cfg, 0);
}

/* ---- describe ----------------------------------------------------------- */

static void describe(const rfx_option *opts, FILE *out, int indent, int depth)
{
	char lo[48], hi[48];

	for (const rfx_option *o = opts; o && o->name; o++) {
		fprintf(out, "%*s%s (%s%s%s)\n", indent, "", o->name, type_name(o->type),
			(o->flags & RFX_OPT_REQUIRED) ? ", required" : "",
			(o->flags & RFX_OPT_SECRET) ? ", secret" : "");
		if (o->description)
			fprintf(out, "%*s%s\n", indent + 4, "", o->description);
		if (o->default_value)
			fprintf(out, "%*sdefault: %s\n", indent + 4, "",
				(o->flags & RFX_OPT_SECRET) ? "(hidden)" : o->default_value);
		if (o->flags & RFX_OPT_RANGE) {
			fmt_bound(o, o->min, lo, sizeof(lo));
			fmt_bound(o, o->max, hi, sizeof(hi));
			fprintf(out, "%*srange: %s..%s\n", indent + 4, "", lo, hi);
		}
		if (o->type == RFX_OPT_ENUM) {
			rfx_buf b;
			rfx_buf_init(&b);
			enum_list(o, &b);
			fprintf(out, "%*svalues: %s\n", indent + 4, "", b.data ? b.data : "");
			rfx_buf_free(&b);
		}
		if (o->type == RFX_OPT_SECTION_LIST)
			fprintf(out, "%*seach entry:\n", indent + 4, "");
		if ((o->type == RFX_OPT_SECTION || o->type == RFX_OPT_SECTION_LIST) &&
		    depth < SECTION_DEPTH_MAX)
			describe(o->sub, out, indent + 4, depth + 1);
	}
}

void rfx_schema_describe(const rfx_option *opts, FILE *out, int indent)
{
	if (!opts || !opts->name) {
		fprintf(out, "%*s(no options)\n", indent, "");
		return;
	}
	describe(opts, out, indent, 0);
}

/* ---- checking a table --------------------------------------------------- */

static int check(const rfx_option *opts, const char *prefix, char *err, size_t errlen,
		 int depth)
{
	char why[512];

	if (depth > SECTION_DEPTH_MAX) {
		snprintf(err, errlen, "option '%s': sections nested deeper than %d", prefix,
			 SECTION_DEPTH_MAX);
		return -1;
	}
	for (const rfx_option *o = opts; o && o->name; o++) {
		const char *sep = prefix[0] ? "." : "";
		if (!o->name[0]) {
			snprintf(err, errlen, "option %s%s(entry %zu): empty name", prefix, sep,
				 (size_t)(o - opts));
			return -1;
		}
		for (const char *c = o->name; *c; c++) {
			if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') {
				snprintf(err, errlen, "option '%s%s%s': bad character in name", prefix,
					 sep, o->name);
				return -1;
			}
		}
		for (const rfx_option *p = opts; p < o; p++) {
			if (strcmp(p->name, o->name) == 0) {
				snprintf(err, errlen, "option '%s%s%s' is declared twice", prefix, sep,
					 o->name);
				return -1;
			}
		}
		if (o->type < RFX_OPT_STRING || o->type > RFX_OPT_SECTION_LIST) {
			snprintf(err, errlen, "option '%s%s%s': unknown type %d", prefix, sep, o->name,
				 (int)o->type);
			return -1;
		}
		if (o->type == RFX_OPT_ENUM && (!o->enum_values || !o->enum_values[0])) {
			snprintf(err, errlen, "option '%s%s%s': enum without enum_values", prefix, sep,
				 o->name);
			return -1;
		}
		if (o->flags & RFX_OPT_RANGE) {
			if (o->type != RFX_OPT_INT && o->type != RFX_OPT_DOUBLE &&
			    o->type != RFX_OPT_DURATION && o->type != RFX_OPT_SIZE) {
				snprintf(err, errlen, "option '%s%s%s': a range needs a numeric type",
					 prefix, sep, o->name);
				return -1;
			}
			if (!(o->min <= o->max)) {
				snprintf(err, errlen, "option '%s%s%s': range min > max", prefix, sep,
					 o->name);
				return -1;
			}
		}
		if (o->type == RFX_OPT_SECTION_LIST) {
			size_t esz = o->sub ? elem_size(o->sub) : 0;
			if (!esz) {
				snprintf(err, errlen,
					 "option '%s%s%s': a list of sections needs sub-options "
					 "ending with RFX_OPTION_END_SIZE(element type)",
					 prefix, sep, o->name);
				return -1;
			}
			for (const rfx_option *e = o->sub; e->name; e++) {
				if (e->offset >= esz) {
					snprintf(err, errlen,
						 "option '%s%s%s.%s': offset %zu outside the %zu-byte "
						 "element",
						 prefix, sep, o->name, e->name, e->offset, esz);
					return -1;
				}
			}
		}
		if (o->type == RFX_OPT_SECTION || o->type == RFX_OPT_SECTION_LIST) {
			if (!o->sub) {
				snprintf(err, errlen, "option '%s%s%s': section without sub-options",
					 prefix, sep, o->name);
				return -1;
			}
			if (o->default_value) {
				snprintf(err, errlen,
					 "option '%s%s%s': a section takes its defaults from its "
					 "sub-options",
					 prefix, sep, o->name);
				return -1;
			}
			char *p = NULL;
			if (asprintf(&p, "%s%s%s", prefix, sep, o->name) < 0) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			int rc = check(o->sub, p, err, errlen, depth + 1);
			free(p);
			if (rc < 0)
				return -1;
			continue;
		}
		if (!o->default_value)
			continue;
		if (is_scalar_type(o->type)) {
			union optval v;
			if (convert(o, o->default_value, &v, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "option '%s%s%s': bad default: %s", prefix, sep,
					 o->name, why);
				return -1;
			}
			if (o->type == RFX_OPT_STRING)
				free(v.s);
		} else if (o->default_value[0]) {
			rfx_doc *doc = NULL;
			const rfx_node *n = NULL;
			int rc = default_node(o, &doc, &n, why, sizeof(why));
			if (rc == 0) {
				/* Run the real filler so a default that would fail at
				 * apply time fails here instead. */
				rfx_diag d;
				struct apply a;
				union {
					struct rfx_strlist l;
					struct rfx_strmap m;
				} tmp;
				memset(&tmp, 0, sizeof(tmp));
				rfx_diag_init(&d);
				a.d = &d;
				a.errors = 0;
				if (o->type == RFX_OPT_LIST)
					fill_list(&a, o, n, &tmp.l, NULL);
				else
					fill_map(&a, o, n, &tmp.m, NULL);
				if (a.errors) {
					snprintf(why, sizeof(why), "bad default '%s': %s",
						 o->default_value, d.msgs && d.n ? d.msgs[0] : "");
					rc = -1;
				}
				if (o->type == RFX_OPT_LIST)
					strlist_clear(&tmp.l);
				else
					strmap_clear(&tmp.m);
				rfx_diag_free(&d);
			}
			rfx_doc_free(doc);
			if (rc < 0) {
				snprintf(err, errlen, "option '%s%s%s': %s", prefix, sep, o->name, why);
				return -1;
			}
		}
	}
	return 0;
}

int rfx_schema_check(const rfx_option *opts, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	return check(opts, "", err, errlen, 0);
}
