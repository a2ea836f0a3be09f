/*
 * core/config.c - owns the YAML front end: turning libyaml parser events into
 * a positioned rfx_node tree, ${...} substitution, top-level `include:`
 * merging, and the rfx_node lookup helpers. Errors go to the diagnostics
 * list (diag.c).
 *
 * All nodes and strings of a document (and of the files it includes) live in
 * one arena owned by the rfx_doc, so rfx_doc_free releases everything at once
 * and merging included trees is a matter of moving pointers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "config_private.h"

/* Limits that keep a hostile or broken config from eating the machine (the
 * include limits are in config_private.h and config_include.c). */
#define DOC_NODES_MAX 200000          /* nodes per doc, alias copies included */
#define DOC_DEPTH_MAX 64              /* nesting of sequences/mappings */
#define SUBST_FILE_MAX (1u << 20)     /* bytes read by ${file:...} */
#define ARENA_BLOCK 16384

/* ---- the document arena ------------------------------------------------- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct rfx_doc {
	struct arena_block *blocks;
	rfx_node *root;
	size_t nodes;
};

void *rfx_config_alloc(rfx_doc *doc, size_t size)
{
	const size_t align = _Alignof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;

	struct arena_block *b = doc->blocks;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		struct arena_block *nb = malloc(sizeof(*nb) + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		/* A big one-off block goes behind the current one so the
		 * current block's free space stays usable. */
		if (b && size > ARENA_BLOCK) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			doc->blocks = nb;
		}
		b = nb;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

static char *arena_strndup(rfx_doc *doc, const char *s, size_t n)
{
	char *p = rfx_config_alloc(doc, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *arena_strdup(rfx_doc *doc, const char *s)
{
	return arena_strndup(doc, s, strlen(s));
}

/* ---- loading state ------------------------------------------------------ */

struct anchor {
	const char *name;
	const rfx_node *node;
};

/* One YAML text being parsed. */
struct fparse {
	struct loader *ld;
	yaml_parser_t parser;
	const char *file; /* arena */
	const char *dir;  /* arena: base for relative ${file:} and include */
	struct anchor *anchors;
	size_t nanchors, capanchors;
	bool fatal; /* stop parsing: syntax error, limits, out of memory */
};

void rfx_config_oom(struct loader *ld)
{
	if (!ld->oom)
		rfx_diag_add(ld->d, NULL, "out of memory while loading the configuration");
	ld->oom = true;
}

static rfx_node *node_new(struct fparse *fp, rfx_node_type t, const yaml_mark_t *m)
{
	struct loader *ld = fp->ld;

	if (ld->doc->nodes >= DOC_NODES_MAX) {
		if (!fp->fatal)
			rfx_diag_addp(ld->d, fp->file, (int)m->line + 1, (int)m->column + 1,
				      "document too large (more than %d nodes; alias expansion?)",
				      DOC_NODES_MAX);
		fp->fatal = true;
		return NULL;
	}
	rfx_node *n = rfx_config_alloc(ld->doc, sizeof(*n));
	if (!n) {
		rfx_config_oom(ld);
		fp->fatal = true;
		return NULL;
	}
	ld->doc->nodes++;
	n->type = t;
	n->file = fp->file;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

/* Directory part of path, "." when there is none. */
char *rfx_config_dir_of(rfx_doc *doc, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return arena_strdup(doc, ".");
	if (slash == path)
		return arena_strdup(doc, "/");
	return arena_strndup(doc, path, (size_t)(slash - path));
}

/* dir/rel unless rel is absolute; malloc'd. */
char *rfx_config_path_join(const char *dir, const char *rel)
{
	char *out = NULL;

	if (rel[0] == '/' || !dir || !dir[0] || strcmp(dir, ".") == 0)
		return strdup(rel);
	if (asprintf(&out, "%s/%s", dir, rel) < 0)
		return NULL;
	return out;
}

/* Reads a whole file of at most max bytes; 0 or -errno (-EFBIG if larger). */
int rfx_config_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int rc = 0;
	char *data = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	data = malloc(max + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(data, 1, max + 1, f);
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	if (n > max) {
		rc = -EFBIG;
		goto out;
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
out:
	free(data);
	fclose(f);
	return rc;
}

/* ---- substitution ------------------------------------------------------- */

static bool valid_var_name(const char *s, size_t n)
{
	if (n == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Appends the contents of ${file:ref}; false after reporting an error. */
static bool subst_file(struct fparse *fp, const rfx_node *at, const char *ref, rfx_buf *out)
{
	char *path = NULL, *data = NULL;
	size_t len = 0;
	bool ok = false;

	if (!ref[0]) {
		rfx_diag_add(fp->ld->d, at, "empty path in ${file:}");
		return false;
	}
	path = rfx_config_path_join(fp->dir, ref);
	if (!path) {
		rfx_config_oom(fp->ld);
		goto out;
	}
	int rc = rfx_config_read_file(path, SUBST_FILE_MAX, &data, &len);
	if (rc == -EFBIG) {
		rfx_diag_add(fp->ld->d, at, "file '%s' for ${file:} is larger than %u bytes", path,
			     SUBST_FILE_MAX);
		goto out;
	}
	if (rc < 0) {
		rfx_diag_add(fp->ld->d, at, "cannot read file '%s' for ${file:}: %s", path,
			     strerror(-rc));
		goto out;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	rfx_buf_append(out, data, len);
	ok = true;
out:
	free(path);
	free(data);
	return ok;
}

/* Expands ${VAR}, ${file:path} and $${ in the scalar text of node `at`.
 * Returns the arena copy of the result; the raw text when an error was
 * reported (so the tree stays usable for further checks). */
static char *substitute(struct fparse *fp, const rfx_node *at, const char *in, size_t len)
{
	rfx_buf b;
	bool ok = true;
	char *res;

	if (!memchr(in, '$', len))
		return arena_strndup(fp->ld->doc, in, len);

	rfx_buf_init(&b);
	size_t i = 0;
	while (i < len) {
		if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' && in[i + 2] == '{') {
			rfx_buf_puts(&b, "${");
			i += 3;
			continue;
		}
		if (in[i] != '$' || i + 1 >= len || in[i + 1] != '{') {
			rfx_buf_append(&b, in + i, 1);
			i++;
			continue;
		}
		const char *start = in + i + 2;
		const char *end = memchr(start, '}', len - (i + 2));
		if (!end) {
			rfx_diag_add(fp->ld->d, at, "unterminated '${' (write '$${' for a literal '${')");
			ok = false;
			break;
		}
		size_t n = (size_t)(end - start);
		char *ref = strndup(start, n);
		if (!ref) {
			rfx_config_oom(fp->ld);
			ok = false;
			break;
		}
		if (strncmp(ref, "file:", 5) == 0) {
			if (!subst_file(fp, at, ref + 5, &b))
				ok = false;
		} else if (!valid_var_name(ref, n)) {
			rfx_diag_add(fp->ld->d, at,
				     "bad substitution '${%s}': expected ${NAME} or ${file:PATH}", ref);
			ok = false;
		} else {
			const char *v = getenv(ref);
			if (!v) {
				rfx_diag_add(fp->ld->d, at, "environment variable '%s' is not set", ref);
				ok = false;
			} else {
				rfx_buf_puts(&b, v);
			}
		}
		free(ref);
		i = (size_t)(end - in) + 1;
	}
	if (b.oom) {
		rfx_config_oom(fp->ld);
		ok = false;
	}
	if (ok)
		res = arena_strndup(fp->ld->doc, b.data ? b.data : "", b.len);
	else
		res = arena_strndup(fp->ld->doc, in, len);
	rfx_buf_free(&b);
	return res;
}

/* ---- parser events to nodes --------------------------------------------- */

static bool next_event(struct fparse *fp, yaml_event_t *ev)
{
	if (yaml_parser_parse(&fp->parser, ev))
		return true;

	yaml_parser_t *p = &fp->parser;
	const char *problem = p->problem ? p->problem : "syntax error";
	if (p->error == YAML_MEMORY_ERROR) {
		rfx_config_oom(fp->ld);
	} else if (p->error == YAML_READER_ERROR) {
		rfx_diag_addp(fp->ld->d, fp->file, 0, 0, "%s at byte %zu", problem,
			      p->problem_offset);
	} else if (p->context) {
		rfx_diag_addp(fp->ld->d, fp->file, (int)p->problem_mark.line + 1,
			      (int)p->problem_mark.column + 1, "%s (%s at line %d column %d)", problem,
			      p->context, (int)p->context_mark.line + 1,
			      (int)p->context_mark.column + 1);
	} else {
		rfx_diag_addp(fp->ld->d, fp->file, (int)p->problem_mark.line + 1,
			      (int)p->problem_mark.column + 1, "%s", problem);
	}
	fp->fatal = true;
	return false;
}

static void anchor_add(struct fparse *fp, const yaml_char_t *name, const rfx_node *n)
{
	if (!name || !n)
		return;
	if (fp->nanchors == fp->capanchors) {
		size_t cap = fp->capanchors ? fp->capanchors * 2 : 8;
		struct anchor *a = realloc(fp->anchors, cap * sizeof(*a));
		if (!a) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			return;
		}
		fp->anchors = a;
		fp->capanchors = cap;
	}
	const char *nm = arena_strdup(fp->ld->doc, (const char *)name);
	if (!nm) {
		rfx_config_oom(fp->ld);
		fp->fatal = true;
		return;
	}
	fp->anchors[fp->nanchors].name = nm;
	fp->anchors[fp->nanchors].node = n;
	fp->nanchors++;
}

/* Deep copy for an alias; the copy's top node takes the alias position, the
 * inner nodes keep the anchored text's positions (where errors really are). */
static rfx_node *node_copy(struct fparse *fp, const rfx_node *src, const yaml_mark_t *top)
{
	yaml_mark_t m = { 0, (size_t)src->line - 1, (size_t)src->col - 1 };
	rfx_node *n = node_new(fp, src->type, top ? top : &m);
	if (!n)
		return NULL;
	if (!top)
		n->file = src->file;
	n->value = src->value;
	n->quoted = src->quoted;
	n->null = src->null;
	if (src->type == RFX_NODE_SCALAR || src->n == 0)
		return n;
	n->items = rfx_config_alloc(fp->ld->doc, src->n * sizeof(*n->items));
	if (src->type == RFX_NODE_MAP)
		n->keys = rfx_config_alloc(fp->ld->doc, src->n * sizeof(*n->keys));
	if (!n->items || (src->type == RFX_NODE_MAP && !n->keys)) {
		rfx_config_oom(fp->ld);
		fp->fatal = true;
		return NULL;
	}
	for (size_t i = 0; i < src->n; i++) {
		/* Keys are immutable scalars: sharing them is safe. */
		if (n->keys)
			n->keys[i] = src->keys[i];
		n->items[i] = node_copy(fp, src->items[i], NULL);
		if (!n->items[i])
			return NULL;
	}
	n->n = src->n;
	return n;
}

/* A temporary growable pointer vector used while a collection is open. */
struct vec {
	rfx_node **v;
	size_t n, cap;
};

static bool vec_push(struct vec *v, rfx_node *x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		rfx_node **p = realloc(v->v, cap * sizeof(*p));
		if (!p)
			return false;
		v->v = p;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return true;
}

static rfx_node **vec_to_arena(rfx_doc *doc, const struct vec *v)
{
	if (v->n == 0)
		return NULL;
	rfx_node **p = rfx_config_alloc(doc, v->n * sizeof(*p));
	if (p)
		memcpy(p, v->v, v->n * sizeof(*p));
	return p;
}

static rfx_node *parse_node(struct fparse *fp, yaml_event_t *ev, int depth, bool is_key);

static rfx_node *parse_scalar(struct fparse *fp, yaml_event_t *ev, bool is_key)
{
	rfx_node *n = node_new(fp, RFX_NODE_SCALAR, &ev->start_mark);
	if (!n)
		return NULL;

	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	n->quoted = !plain;
	if (plain && ev->data.scalar.plain_implicit &&
	    (len == 0 || (len == 1 && v[0] == '~') ||
	     (len == 4 && (!memcmp(v, "null", 4) || !memcmp(v, "Null", 4) ||
			   !memcmp(v, "NULL", 4))))) {
		n->null = true;
		n->value = arena_strdup(fp->ld->doc, "");
	} else if (is_key) {
		n->value = arena_strndup(fp->ld->doc, v, len);
	} else {
		n->value = substitute(fp, n, v, len);
	}
	if (!n->value) {
		rfx_config_oom(fp->ld);
		fp->fatal = true;
		return NULL;
	}
	anchor_add(fp, ev->data.scalar.anchor, n);
	return n;
}

static rfx_node *parse_seq(struct fparse *fp, yaml_event_t *ev, int depth)
{
	struct vec items = { 0 };
	rfx_node *n = node_new(fp, RFX_NODE_SEQ, &ev->start_mark);

	while (n) {
		yaml_event_t child;
		if (!next_event(fp, &child)) {
			n = NULL;
			break;
		}
		if (child.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&child);
			break;
		}
		rfx_node *item = parse_node(fp, &child, depth + 1, false);
		yaml_event_delete(&child);
		if (!item) {
			n = NULL;
			break;
		}
		if (!vec_push(&items, item)) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			n = NULL;
			break;
		}
	}
	if (n && items.n) {
		n->items = vec_to_arena(fp->ld->doc, &items);
		if (!n->items) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			n = NULL;
		} else {
			n->n = items.n;
		}
	}
	free(items.v);
	if (n)
		anchor_add(fp, ev->data.sequence_start.anchor, n);
	return n;
}

static rfx_node *parse_map(struct fparse *fp, yaml_event_t *ev, int depth)
{
	struct vec keys = { 0 }, vals = { 0 };
	rfx_node *n = node_new(fp, RFX_NODE_MAP, &ev->start_mark);

	while (n) {
		yaml_event_t kev, vev;
		if (!next_event(fp, &kev)) {
			n = NULL;
			break;
		}
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		rfx_node *key = parse_node(fp, &kev, depth + 1, true);
		yaml_event_delete(&kev);
		if (!key || !next_event(fp, &vev)) {
			n = NULL;
			break;
		}
		rfx_node *val = parse_node(fp, &vev, depth + 1, false);
		yaml_event_delete(&vev);
		if (!val) {
			n = NULL;
			break;
		}
		if (key->type != RFX_NODE_SCALAR) {
			rfx_diag_add(fp->ld->d, key, "mapping keys must be scalars, got a %s",
				     rfx_node_type_name(key->type));
			continue;
		}
		size_t i;
		for (i = 0; i < keys.n; i++)
			if (strcmp(keys.v[i]->value, key->value) == 0)
				break;
		if (i < keys.n) {
			rfx_diag_add(fp->ld->d, key, "duplicate key '%s' (first at %s:%d:%d)",
				     key->value, keys.v[i]->file, keys.v[i]->line, keys.v[i]->col);
			continue;
		}
		if (!vec_push(&keys, key) || !vec_push(&vals, val)) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			n = NULL;
			break;
		}
	}
	if (n && keys.n) {
		n->keys = vec_to_arena(fp->ld->doc, &keys);
		n->items = vec_to_arena(fp->ld->doc, &vals);
		if (!n->keys || !n->items) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			n = NULL;
		} else {
			n->n = keys.n;
		}
	}
	free(keys.v);
	free(vals.v);
	if (n)
		anchor_add(fp, ev->data.mapping_start.anchor, n);
	return n;
}

/* Builds the node that starts with event ev (owned by the caller). Returns
 * NULL only when parsing must stop (fp->fatal). */
static rfx_node *parse_node(struct fparse *fp, yaml_event_t *ev, int depth, bool is_key)
{
	if (depth > DOC_DEPTH_MAX) {
		rfx_diag_addp(fp->ld->d, fp->file, (int)ev->start_mark.line + 1,
			      (int)ev->start_mark.column + 1, "nesting deeper than %d levels",
			      DOC_DEPTH_MAX);
		fp->fatal = true;
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return parse_scalar(fp, ev, is_key);
	case YAML_SEQUENCE_START_EVENT:
		return parse_seq(fp, ev, depth);
	case YAML_MAPPING_START_EVENT:
		return parse_map(fp, ev, depth);
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		/* Latest definition wins, as YAML allows redefining an anchor.
		 * An anchor is registered only once its node is complete, so an
		 * alias to an enclosing node (a loop) is not found. */
		for (size_t i = fp->nanchors; i-- > 0;)
			if (strcmp(fp->anchors[i].name, name) == 0)
				return node_copy(fp, fp->anchors[i].node, &ev->start_mark);
		rfx_node *n = node_new(fp, RFX_NODE_SCALAR, &ev->start_mark);
		if (!n)
			return NULL;
		rfx_diag_add(fp->ld->d, n, "unknown anchor '%s' (or an alias inside its own anchor)",
			     name);
		n->null = true;
		n->value = arena_strdup(fp->ld->doc, "");
		if (!n->value) {
			rfx_config_oom(fp->ld);
			fp->fatal = true;
			return NULL;
		}
		return n;
	}
	default:
		rfx_diag_addp(fp->ld->d, fp->file, (int)ev->start_mark.line + 1,
			      (int)ev->start_mark.column + 1, "unexpected YAML event");
		fp->fatal = true;
		return NULL;
	}
}

/* Parses one YAML text into a tree (no includes yet). *root is NULL on a
 * fatal error; an empty document yields an empty mapping. */
rfx_node *rfx_config_parse_text(struct loader *ld, const char *file, const char *dir,
				const char *text, size_t len, bool *fatal)
{
	struct fparse fp = { .ld = ld };
	rfx_node *root = NULL;
	yaml_event_t ev;
	int docs = 0;

	*fatal = true;
	fp.file = arena_strdup(ld->doc, file);
	fp.dir = arena_strdup(ld->doc, dir);
	if (!fp.file || !fp.dir) {
		rfx_config_oom(ld);
		return NULL;
	}
	if (!yaml_parser_initialize(&fp.parser)) {
		rfx_config_oom(ld);
		return NULL;
	}
	yaml_parser_set_input_string(&fp.parser, (const unsigned char *)text, len);

	while (!fp.fatal && next_event(&fp, &ev)) {
		yaml_event_type_t t = ev.type;
		if (t == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			rfx_diag_addp(ld->d, fp.file, (int)ev.start_mark.line + 1,
				      (int)ev.start_mark.column + 1,
				      "only one YAML document per file is allowed");
			fp.fatal = true;
		} else if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
			   t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
			root = parse_node(&fp, &ev, 0, false);
		}
		yaml_event_delete(&ev);
		if (t == YAML_STREAM_END_EVENT)
			break;
	}
	if (!fp.fatal && (!root || (root->type == RFX_NODE_SCALAR && root->null))) {
		yaml_mark_t m = { 0, 0, 0 };
		root = node_new(&fp, RFX_NODE_MAP, &m);
	}
	if (fp.fatal)
		root = NULL;
	*fatal = fp.fatal;
	yaml_parser_delete(&fp.parser);
	free(fp.anchors);
	return root;
}

/* Index of key in a MAP node, or -1. */
int rfx_config_map_index(const rfx_node *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return (int)i;
	return -1;
}

/* ---- public document API ------------------------------------------------ */

rfx_doc *rfx_doc_load(const char *path, rfx_diag *d)
{
	struct loader ld = { .d = d };

	ld.doc = calloc(1, sizeof(*ld.doc));
	if (!ld.doc)
		return NULL;
	ld.doc->root = rfx_config_load_file(&ld, path, NULL);
	if (ld.oom)
		ld.doc->root = NULL;
	return ld.doc;
}

rfx_doc *rfx_doc_parse(const char *name, const char *text, rfx_diag *d)
{
	struct loader ld = { .d = d };
	bool fatal;

	ld.doc = calloc(1, sizeof(*ld.doc));
	if (!ld.doc)
		return NULL;
	char *dir = rfx_config_dir_of(ld.doc, name);
	if (!dir) {
		rfx_config_oom(&ld);
		return ld.doc;
	}
	ld.doc->root = rfx_config_parse_text(&ld, name, dir, text, strlen(text), &fatal);
	/* The parsed text has no real path; a cycle back to it is caught one
	 * level later, when the file that includes it is seen again. */
	rfx_config_process_includes(&ld, ld.doc->root, dir);
	if (ld.oom)
		ld.doc->root = NULL;
	return ld.doc;
}

const rfx_node *rfx_doc_root(const rfx_doc *doc)
{
	return doc ? doc->root : NULL;
}

void rfx_doc_free(rfx_doc *doc)
{
	if (!doc)
		return;
	struct arena_block *b = doc->blocks;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	free(doc);
}

const rfx_node *rfx_node_key(const rfx_node *map, const char *key)
{
	if (!map || map->type != RFX_NODE_MAP)
		return NULL;
	int i = rfx_config_map_index(map, key);
	return i < 0 ? NULL : map->keys[i];
}

const rfx_node *rfx_node_get(const rfx_node *map, const char *key)
{
	if (!map || map->type != RFX_NODE_MAP)
		return NULL;
	int i = rfx_config_map_index(map, key);
	return i < 0 ? NULL : map->items[i];
}

const char *rfx_node_type_name(rfx_node_type t)
{
	switch (t) {
	case RFX_NODE_SCALAR:
		return "scalar";
	case RFX_NODE_SEQ:
		return "sequence";
	case RFX_NODE_MAP:
		return "mapping";
	}
	return "node";
}
