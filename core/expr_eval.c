/*
 * core/expr_eval.c - owns evaluating a compiled condition (core/expr.h)
 * against an event: fetching fields, labels and attribute paths, comparing
 * them with the literals resolved at compile time, and running regexes with
 * per-thread match data. It walks the tree of core/expr_impl.h without
 * allocating, so one compiled expression can serve every pipeline thread at
 * once. Compiling lives in core/expr_parse.c.
 */
#include "expr_impl.h"
#include "event.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pathological regex must not stall a pipeline thread on one event. */
#define EXPR_MATCH_LIMIT 1000000u
#define EXPR_DEPTH_LIMIT 10000u

/* ---- regex match state ---------------------------------------------------- */

static pthread_once_t match_once = PTHREAD_ONCE_INIT;
static pthread_key_t match_key;
static bool match_key_ok;
/* Read-only after match_init(); pcre2 allows sharing it between threads. */
static pcre2_match_context *match_ctx;

static void match_data_free(void *md)
{
	pcre2_match_data_free(md);
}

static void match_init(void)
{
	match_key_ok = pthread_key_create(&match_key, match_data_free) == 0;
	match_ctx = pcre2_match_context_create(NULL);
	if (match_ctx) {
		pcre2_set_match_limit(match_ctx, EXPR_MATCH_LIMIT);
		pcre2_set_depth_limit(match_ctx, EXPR_DEPTH_LIMIT);
	}
}

void rfx_expr_match_init(void)
{
	pthread_once(&match_once, match_init);
}

/* ---- numbers in text ------------------------------------------------------ */

/* Whole-string numbers: "500", "-1.5". Leading space or trailing junk is text. */
bool rfx_expr_parse_number(const char *s, double *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return false;
	*out = strtod(s, &end);
	return *end == '\0' && !isnan(*out);
}

/* ---- evaluation ----------------------------------------------------------- */

enum vtype { V_MISSING, V_STR, V_NUM, V_BOOL, V_SEV, V_INT, V_JSON };

struct val {
	enum vtype t;
	const char *s;
	double n;
	int64_t i;
	bool b;
	struct json_object *j; /* V_JSON: an object or array */
};

#define CMP_NONE 2 /* the two sides cannot be ordered or equated */

static int sign_d(double a, double b)
{
	if (isnan(a) || isnan(b))
		return CMP_NONE;
	return (a > b) - (a < b);
}

static int sign_s(int c)
{
	return (c > 0) - (c < 0);
}

static void json_to_val(struct json_object *o, struct val *v)
{
	switch (json_object_get_type(o)) {
	case json_type_string:
		v->t = V_STR;
		v->s = json_object_get_string(o); /* no allocation for strings */
		break;
	case json_type_int:
		v->t = V_NUM;
		v->n = (double)json_object_get_int64(o);
		break;
	case json_type_double:
		v->t = V_NUM;
		v->n = json_object_get_double(o);
		break;
	case json_type_boolean:
		v->t = V_BOOL;
		v->b = json_object_get_boolean(o);
		break;
	case json_type_object:
	case json_type_array:
		v->t = V_JSON;
		v->j = o;
		break;
	default: /* null */
		v->t = V_MISSING;
	}
}

static void fetch_attr(const struct field *f, const rfx_event *ev, struct val *v)
{
	struct json_object *o = ev->attrs;

	v->t = V_MISSING;
	for (size_t i = 0; i < f->nsegs; i++) {
		if (!o)
			return;
		if (json_object_is_type(o, json_type_object)) {
			if (!json_object_object_get_ex(o, f->segs[i], &o))
				return;
		} else if (json_object_is_type(o, json_type_array) && f->segidx[i] >= 0) {
			if ((size_t)f->segidx[i] >= json_object_array_length(o))
				return;
			o = json_object_array_get_idx(o, (size_t)f->segidx[i]);
		} else {
			return;
		}
	}
	if (o)
		json_to_val(o, v);
}

static void fetch(const struct field *f, const rfx_event *ev, struct val *v)
{
	v->t = V_MISSING;
	switch (f->k) {
	case FK_STR:
		if ((v->s = ev->str[f->idx]))
			v->t = V_STR;
		break;
	case FK_ID:
		if (ev->id[0]) {
			v->t = V_STR;
			v->s = ev->id;
		}
		break;
	case FK_SEV:
		v->t = V_SEV;
		v->i = ev->severity;
		break;
	case FK_STATUS:
		v->t = V_INT;
		v->i = ev->status;
		break;
	case FK_VALUE:
		if (ev->has_value) {
			v->t = V_NUM;
			v->n = ev->value;
		}
		break;
	case FK_TIME:
	case FK_RECEIVED: {
		int64_t t = f->k == FK_TIME ? ev->occurred_ns : ev->received_ns;

		if (t) { /* 0 means unknown */
			v->t = V_INT;
			v->i = t;
		}
		break;
	}
	case FK_LABEL:
		if ((v->s = rfx_event_label_get(ev, f->label)))
			v->t = V_STR;
		break;
	case FK_ATTR:
		fetch_attr(f, ev, v);
		break;
	}
}

/* Orders the event's value against a literal: -1, 0, 1 or CMP_NONE. */
static int compare(const struct val *v, const struct lit *l)
{
	double d;

	switch (v->t) {
	case V_STR:
		if (l->t == L_NUM) {
			/* Labels carry numbers as text; strtod reads them in place. */
			if (!rfx_expr_parse_number(v->s, &d))
				return CMP_NONE;
			return sign_d(d, l->num);
		}
		if (l->t == L_STR || l->t == L_BOOL)
			return sign_s(strcmp(v->s, l->s));
		return CMP_NONE;
	case V_NUM:
		if (l->t == L_NUM)
			return sign_d(v->n, l->num);
		if (l->t == L_STR && l->has_num)
			return sign_d(v->n, l->num);
		return CMP_NONE;
	case V_BOOL:
		if (l->t == L_BOOL)
			return (int)v->b - (int)l->b;
		if (l->t == L_STR)
			return sign_s(strcmp(v->b ? "true" : "false", l->s));
		return CMP_NONE;
	case V_SEV:
		/* A smaller syslog number is more severe, i.e. ranks higher. */
		return (l->i > v->i) - (l->i < v->i);
	case V_INT:
		return (v->i > l->i) - (v->i < l->i);
	default:
		return CMP_NONE;
	}
}

static bool apply_cmp(enum op op, int c)
{
	if (c == CMP_NONE)
		return op == OP_NE;
	switch (op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	default: return false;
	}
}

static bool regex_match(const pcre2_code *re, const char *s)
{
	pcre2_match_data *md;

	if (!match_key_ok)
		return false;
	/* One match block per thread, made on first use and freed at thread exit:
	 * evaluation neither allocates per event nor shares scratch space. */
	md = pthread_getspecific(match_key);
	if (!md) {
		if (!(md = pcre2_match_data_create(1, NULL)))
			return false;
		if (pthread_setspecific(match_key, md) != 0) {
			pcre2_match_data_free(md);
			return false;
		}
	}
	/* 0 means "matched but ovector too small", which is still a match. */
	return pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, match_ctx) >= 0;
}

static bool text_op(const struct node *n, const char *s)
{
	const struct lit *l = &n->lits[0];
	size_t sl, ll;

	switch (n->op) {
	case OP_CONTAINS:
		return strstr(s, l->s) != NULL;
	case OP_STARTS:
		return strncmp(s, l->s, strlen(l->s)) == 0;
	case OP_ENDS:
		sl = strlen(s);
		ll = strlen(l->s);
		return sl >= ll && memcmp(s + sl - ll, l->s, ll) == 0;
	case OP_MATCHES:
		return regex_match(n->re, s);
	default:
		return false;
	}
}

static bool eval_text(const struct node *n, const struct val *v)
{
	char buf[64];

	switch (v->t) {
	case V_STR:
		return text_op(n, v->s);
	case V_NUM:
		snprintf(buf, sizeof(buf), "%.15g", v->n);
		return text_op(n, buf);
	case V_BOOL:
		return text_op(n, v->b ? "true" : "false");
	case V_JSON:
		/* 'contains' on an array asks for a member equal to the text. */
		if (n->op == OP_CONTAINS && json_object_is_type(v->j, json_type_array)) {
			size_t len = json_object_array_length(v->j);

			for (size_t i = 0; i < len; i++) {
				struct val ev;

				json_to_val(json_object_array_get_idx(v->j, i), &ev);
				if (compare(&ev, &n->lits[0]) == 0)
					return true;
			}
		}
		return false;
	default:
		return false;
	}
}

static bool eval_pred(const struct node *n, const rfx_event *ev)
{
	struct val v;

	fetch(&n->f, ev, &v);
	if (n->op == OP_EXISTS)
		return v.t != V_MISSING;
	if (v.t == V_MISSING)
		return n->op == OP_NE;
	switch (n->op) {
	case OP_IN:
		for (size_t i = 0; i < n->nlits; i++)
			if (compare(&v, &n->lits[i]) == 0)
				return true;
		return false;
	case OP_CONTAINS:
	case OP_STARTS:
	case OP_ENDS:
	case OP_MATCHES:
		return eval_text(n, &v);
	default:
		return apply_cmp(n->op, compare(&v, &n->lits[0]));
	}
}

static bool eval_node(const struct node *n, const rfx_event *ev)
{
	switch (n->k) {
	case N_AND:
		for (size_t i = 0; i < n->nkids; i++)
			if (!eval_node(n->kids[i], ev))
				return false;
		return true;
	case N_OR:
		for (size_t i = 0; i < n->nkids; i++)
			if (eval_node(n->kids[i], ev))
				return true;
		return false;
	case N_NOT:
		return !eval_node(n->kids[0], ev);
	default:
		return eval_pred(n, ev);
	}
}

bool rfx_expr_eval(const rfx_expr *e, const rfx_event *ev)
{
	if (!e)
		return true;
	if (!ev)
		return false;
	return eval_node(e->root, ev);
}
