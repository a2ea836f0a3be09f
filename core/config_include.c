/*
 * core/config_include.c - owns the top-level `include:` of a config file:
 * resolving paths and globs relative to the including file, loading each
 * included file (with cycle and depth checks), and merging its top level
 * into the including one (sequences concatenated, mappings merged key by
 * key, anything else defined twice is an error naming both places).
 *
 * Included trees live in the same doc arena as the including one, so
 * merging moves pointers and never copies nodes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config_private.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"

#define YAML_FILE_MAX (16u << 20) /* bytes of one YAML file */

/* Grows a collection's arrays by extra entries (arena memory). */
static bool node_grow(rfx_doc *doc, rfx_node *n, size_t extra)
{
	size_t total = n->n + extra;
	rfx_node **items = rfx_config_alloc(doc, total * sizeof(*items));
	rfx_node **keys = NULL;

	if (!items)
		return false;
	if (n->type == RFX_NODE_MAP) {
		keys = rfx_config_alloc(doc, total * sizeof(*keys));
		if (!keys)
			return false;
		if (n->n)
			memcpy(keys, n->keys, n->n * sizeof(*keys));
	}
	if (n->n)
		memcpy(items, n->items, n->n * sizeof(*items));
	n->items = items;
	n->keys = keys;
	return true;
}

/* Merges src into dst: new keys are appended, sequences concatenated,
 * mappings merged recursively; anything else defined twice is an error. */
static void merge_map(struct loader *ld, rfx_node *dst, const rfx_node *src)
{
	size_t fresh = 0;

	for (size_t i = 0; i < src->n; i++)
		if (rfx_config_map_index(dst, src->keys[i]->value) < 0)
			fresh++;
	if (fresh && !node_grow(ld->doc, dst, fresh)) {
		rfx_config_oom(ld);
		return;
	}
	size_t old = dst->n;
	for (size_t i = 0; i < src->n; i++) {
		const rfx_node *sk = src->keys[i];
		rfx_node *sv = src->items[i];
		int j = -1;
		for (size_t k = 0; k < old; k++)
			if (strcmp(dst->keys[k]->value, sk->value) == 0) {
				j = (int)k;
				break;
			}
		if (j < 0) {
			dst->keys[dst->n] = src->keys[i];
			dst->items[dst->n] = sv;
			dst->n++;
			continue;
		}
		rfx_node *dk = dst->keys[j], *dv = dst->items[j];
		if (dv->type == RFX_NODE_SEQ && sv->type == RFX_NODE_SEQ) {
			if (sv->n && !node_grow(ld->doc, dv, sv->n)) {
				rfx_config_oom(ld);
				return;
			}
			for (size_t k = 0; k < sv->n; k++)
				dv->items[dv->n++] = sv->items[k];
		} else if (dv->type == RFX_NODE_MAP && sv->type == RFX_NODE_MAP) {
			merge_map(ld, dv, sv);
		} else if (dv->type == sv->type) {
			rfx_diag_add(ld->d, sk, "key '%s' is already defined at %s:%d:%d", sk->value,
				     dk->file, dk->line, dk->col);
		} else {
			rfx_diag_add(ld->d, sk,
				     "key '%s' is a %s here but a %s at %s:%d:%d; cannot merge them",
				     sk->value, rfx_node_type_name(sv->type),
				     rfx_node_type_name(dv->type), dk->file, dk->line, dk->col);
		}
	}
}

static void include_one(struct loader *ld, rfx_node *root, const char *path, const rfx_node *from)
{
	rfx_node *inc = rfx_config_load_file(ld, path, from);

	if (!inc)
		return;
	if (inc->type != RFX_NODE_MAP) {
		rfx_diag_add(ld->d, inc, "an included file must contain a mapping, got a %s",
			     rfx_node_type_name(inc->type));
		return;
	}
	merge_map(ld, root, inc);
}

/* Expands and removes the top-level `include:` of root. */
void rfx_config_process_includes(struct loader *ld, rfx_node *root, const char *dir)
{
	if (!root || root->type != RFX_NODE_MAP)
		return;
	int idx = rfx_config_map_index(root, "include");
	if (idx < 0)
		return;

	rfx_node *val = root->items[idx];
	/* Removed first so that included files merge into a root without it. */
	memmove(root->keys + idx, root->keys + idx + 1, (root->n - (size_t)idx - 1) * sizeof(rfx_node *));
	memmove(root->items + idx, root->items + idx + 1,
		(root->n - (size_t)idx - 1) * sizeof(rfx_node *));
	root->n--;

	rfx_node *const *paths = &val;
	size_t npaths = 1;
	if (val->type == RFX_NODE_SEQ) {
		paths = val->items;
		npaths = val->n;
	} else if (val->type == RFX_NODE_MAP) {
		rfx_diag_add(ld->d, val, "include: expected a path or a list of paths, got a mapping");
		return;
	} else if (val->null) {
		return;
	}

	for (size_t i = 0; i < npaths && !ld->oom; i++) {
		const rfx_node *p = paths[i];
		if (p->type != RFX_NODE_SCALAR || p->null || !p->value[0]) {
			rfx_diag_add(ld->d, p, "include: expected a path, got a %s",
				     p->type == RFX_NODE_SCALAR ? "null" : rfx_node_type_name(p->type));
			continue;
		}
		char *full = rfx_config_path_join(dir, p->value);
		if (!full) {
			rfx_config_oom(ld);
			return;
		}
		if (!strpbrk(p->value, "*?[")) {
			include_one(ld, root, full, p);
			free(full);
			continue;
		}
		glob_t g;
		int rc = glob(full, 0, NULL, &g);
		if (rc == 0) {
			for (size_t k = 0; k < g.gl_pathc; k++)
				include_one(ld, root, g.gl_pathv[k], p);
		} else if (rc != GLOB_NOMATCH) {
			/* A pattern matching nothing is fine (an empty conf.d/). */
			rfx_diag_add(ld->d, p, "include: cannot expand '%s'", full);
		}
		globfree(&g);
		free(full);
	}
}

/* Loads path with its includes. `from` is the include item that asked for
 * it (positions errors), NULL for the main file. */
rfx_node *rfx_config_load_file(struct loader *ld, const char *path, const rfx_node *from)
{
	char *real = NULL, *text = NULL;
	size_t len = 0;
	rfx_node *root = NULL;
	bool fatal;

	real = realpath(path, NULL);
	if (!real) {
		rfx_diag_add(ld->d, from, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < ld->depth; i++) {
		if (strcmp(ld->stack[i], real) != 0)
			continue;
		rfx_buf b;
		rfx_buf_init(&b);
		rfx_buf_puts(&b, "include cycle: ");
		for (size_t k = i; k < ld->depth; k++)
			rfx_buf_printf(&b, "%s -> ", ld->stack[k]);
		rfx_buf_puts(&b, real);
		rfx_diag_add(ld->d, from, "%s", b.data ? b.data : "include cycle");
		rfx_buf_free(&b);
		goto out;
	}
	if (ld->depth >= INCLUDE_DEPTH_MAX) {
		rfx_diag_add(ld->d, from, "includes nested deeper than %d levels", INCLUDE_DEPTH_MAX);
		goto out;
	}
	struct stat st;
	if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
		rfx_diag_add(ld->d, from, "cannot read '%s': is a directory", path);
		goto out;
	}
	int rc = rfx_config_read_file(real, YAML_FILE_MAX, &text, &len);
	if (rc == -EFBIG) {
		rfx_diag_add(ld->d, from, "cannot read '%s': larger than %u bytes", path, YAML_FILE_MAX);
		goto out;
	}
	if (rc < 0) {
		rfx_diag_add(ld->d, from, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	char *dir = rfx_config_dir_of(ld->doc, path);
	if (!dir) {
		rfx_config_oom(ld);
		goto out;
	}
	root = rfx_config_parse_text(ld, path, dir, text, len, &fatal);
	if (!root)
		goto out;
	ld->stack[ld->depth++] = real;
	rfx_config_process_includes(ld, root, dir);
	ld->depth--;
out:
	free(real);
	free(text);
	return root;
}

