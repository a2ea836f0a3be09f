/*
 * core/config.h - the YAML front end: a document tree whose every node knows
 * its file, line and column. Errors go to the diagnostics list (diag.h,
 * included here), which collects them as "file:line:column: message" so
 * that one run reports all of them.
 *
 * rfx_doc_load() reads one YAML file with libyaml and
 *  - substitutes ${VAR} (environment; an unset variable is an error) and
 *    ${file:/path} (file contents, trailing newline removed; relative paths
 *    are relative to the including file) in scalar values; $${ escapes;
 *  - expands a top-level `include:` (a path or a list of paths, relative to
 *    the including file; globs allowed) by merging each included file's top
 *    level into this one: sequences are concatenated, mappings merged key by
 *    key (a key defined twice is an error naming both places), scalars may
 *    not be redefined; include cycles are errors;
 *  - rejects duplicate keys in a mapping, anchors/aliases loops, and
 *    non-scalar mapping keys.
 */
#ifndef RFX_CORE_CONFIG_H
#define RFX_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"

typedef enum rfx_node_type {
	RFX_NODE_SCALAR = 1,
	RFX_NODE_SEQ,
	RFX_NODE_MAP,
} rfx_node_type;

typedef struct rfx_node {
	rfx_node_type type;
	const char *file; /* path as given (owned by the doc) */
	int line, col;    /* 1-based position of the node's first character */
	char *value;      /* SCALAR: value after substitution ("" for null) */
	bool quoted;      /* SCALAR: was quoted in YAML */
	bool null;        /* SCALAR: YAML null (~, null, empty plain) */
	size_t n;         /* SEQ/MAP: number of items/entries */
	struct rfx_node **items; /* SEQ items; MAP values */
	struct rfx_node **keys;  /* MAP keys (scalar nodes) */
} rfx_node;

typedef struct rfx_doc rfx_doc;

/* Loads path. Always returns a doc unless out of memory; errors go to d and
 * rfx_doc_root() is NULL when the file could not be parsed at all. */
rfx_doc *rfx_doc_load(const char *path, rfx_diag *d);
/* Parses YAML text (tests); name is used in positions. */
rfx_doc *rfx_doc_parse(const char *name, const char *text, rfx_diag *d);
const rfx_node *rfx_doc_root(const rfx_doc *doc);
void rfx_doc_free(rfx_doc *doc);

/* Value of key in a MAP node, or NULL. */
const rfx_node *rfx_node_get(const rfx_node *map, const char *key);
/* The key node of `key` in map (for positions), or NULL. */
const rfx_node *rfx_node_key(const rfx_node *map, const char *key);
const char *rfx_node_type_name(rfx_node_type t); /* "scalar" "sequence" "mapping" */

#endif
