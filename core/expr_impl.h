/*
 * core/expr_impl.h - the compiled form of a condition (core/expr.h), private
 * to the two files that share it: expr_parse.c builds this tree and
 * expr_eval.c walks it. Every field, label key, attribute path, literal and
 * regex is resolved at compile time so that evaluation needs no lookups by
 * name and no allocation. Not installed; nothing else includes it.
 */
#ifndef RFX_CORE_EXPR_IMPL_H
#define RFX_CORE_EXPR_IMPL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include "expr.h"

#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fkind {
	FK_STR, /* ev->str[idx] */
	FK_ID,
	FK_SEV,
	FK_STATUS,
	FK_VALUE,
	FK_TIME,
	FK_RECEIVED,
	FK_LABEL,
	FK_ATTR,
};

struct field {
	enum fkind k;
	int idx;      /* FK_STR: enum rfx_field */
	char *label;  /* FK_LABEL: the key */
	char **segs;  /* FK_ATTR: path segments */
	long *segidx; /* FK_ATTR: segment as an array index, -1 if not numeric */
	size_t nsegs;
};

enum lit_type { L_STR, L_NUM, L_BOOL, L_INT };

struct lit {
	enum lit_type t;
	char *s;      /* L_STR (decoded); L_BOOL points at a static "true"/"false" */
	bool owned;   /* s was allocated */
	double num;   /* L_NUM, and L_STR when has_num */
	bool has_num; /* an L_STR whose whole text is a number */
	int64_t i;    /* L_INT: severity 0-7, status, time in ns */
	bool b;       /* L_BOOL */
};

enum op {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_CONTAINS,
	OP_STARTS,
	OP_ENDS,
	OP_MATCHES,
	OP_EXISTS,
};

enum nkind { N_AND, N_OR, N_NOT, N_PRED };

struct node {
	enum nkind k;
	struct node **kids; /* N_AND, N_OR: nkids >= 2; N_NOT: one */
	size_t nkids;
	enum op op;         /* N_PRED */
	struct field f;
	struct lit *lits;   /* one for comparisons, the list for 'in' */
	size_t nlits;
	pcre2_code *re;     /* OP_MATCHES */
};

struct rfx_expr {
	char *src;
	struct node *root;
};

/* Whole-string numbers: "500", "-1.5". Leading space or trailing junk is
 * text. The compiler uses it on string literals and the evaluator on event
 * text, so both sides agree on what counts as a number. (expr_eval.c) */
bool rfx_expr_parse_number(const char *s, double *out);

/* Prepares the per-thread regex match data and the match limits. Safe to
 * call any number of times from any thread. rfx_expr_compile() calls it, so
 * every expression that reaches rfx_expr_eval() finds it done. (expr_eval.c) */
void rfx_expr_match_init(void);

#endif
