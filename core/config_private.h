/*
 * core/config_private.h - what the YAML parser (config.c) and the include
 * expander (config_include.c) share while one document is being loaded.
 * Not for use outside those two files; everything else goes through
 * config.h.
 *
 * A load is: rfx_config_load_file() reads a file, rfx_config_parse_text()
 * turns it into nodes in the doc's arena, rfx_config_process_includes()
 * loads and merges what its top-level `include:` names (recursively).
 */
#ifndef RFX_CORE_CONFIG_PRIVATE_H
#define RFX_CORE_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define INCLUDE_DEPTH_MAX 16 /* nested include levels */

/* Shared by a file and everything it includes. */
struct loader {
	rfx_doc *doc;
	rfx_diag *d;
	char *stack[INCLUDE_DEPTH_MAX + 1]; /* realpaths of files being loaded */
	size_t depth;
	bool oom;
};

/* ---- config.c ---- */

/* Zeroed memory from the doc's arena (freed with the doc), or NULL. */
void *rfx_config_alloc(rfx_doc *doc, size_t size);
/* Reports running out of memory once per load and marks the load failed. */
void rfx_config_oom(struct loader *ld);
/* Directory part of path ("." when there is none), in the doc's arena. */
char *rfx_config_dir_of(rfx_doc *doc, const char *path);
/* dir/rel unless rel is absolute; malloc'd, the caller frees it. */
char *rfx_config_path_join(const char *dir, const char *rel);
/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * *out the caller frees. 0 or -errno (-EFBIG if larger than max). */
int rfx_config_read_file(const char *path, size_t max, char **out, size_t *len);
/* Parses one YAML text into a tree in the doc's arena, without expanding
 * includes. NULL on a fatal error (reported); an empty document yields an
 * empty mapping. file and dir are copied. */
rfx_node *rfx_config_parse_text(struct loader *ld, const char *file, const char *dir,
				const char *text, size_t len, bool *fatal);
/* Index of key in a MAP node, or -1. */
int rfx_config_map_index(const rfx_node *map, const char *key);

/* ---- config_include.c ---- */

/* Loads path with its includes into ld's doc. `from` is the include item
 * that asked for it (positions errors), NULL for the main file. NULL after
 * reporting an error. */
rfx_node *rfx_config_load_file(struct loader *ld, const char *path, const rfx_node *from);
/* Expands and removes the top-level `include:` of root (NULL or a non-map
 * root is left alone); dir is the base for relative paths. */
void rfx_config_process_includes(struct loader *ld, rfx_node *root, const char *dir);

#endif
