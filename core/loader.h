/*
 * core/loader.h - finding, loading and vetting plugin shared objects.
 *
 * A plugin named NAME of kind KIND lives in a file KIND_NAME.so (for
 * example input_webhook.so) in one of the plugin directories, searched in
 * order: the directories given to rfx_loader_new (agent.plugin_dirs), then
 * $REFLEX_PLUGIN_PATH (colon-separated), then the installed plugin
 * directory. A config may also name a file directly (plugin: ./my.so).
 *
 * Every loaded descriptor is checked before anything of it is used; each
 * refusal says what is wrong and what to do: wrong ABI major, a newer ABI
 * minor than this core, a descriptor shorter than its ABI requires, no
 * entry symbol, a (kind, name) already provided by another file, a file
 * name that disagrees with the descriptor, missing callbacks, a broken
 * option table, or a kind that does not fit the config section.
 */
#ifndef RFX_CORE_LOADER_H
#define RFX_CORE_LOADER_H

#include <stdio.h>
#include <reflex/plugin.h>

struct rfx_loader;

/* extra_dirs: NULL-terminated, may be NULL. NULL on allocation failure. */
struct rfx_loader *rfx_loader_new(const char *const *extra_dirs);
/* Unloads everything (dlclose). Descriptors become invalid. */
void rfx_loader_free(struct rfx_loader *l);

/* Finds and loads `name` (a plugin name or a path containing '/') for use
 * as `kind`. Returns the vetted descriptor, or NULL with err filled. */
const rfx_plugin *rfx_loader_get(struct rfx_loader *l, rfx_kind kind, const char *name,
				 char *err, size_t errlen);
/* Loads and vets the file at path whatever its kind. */
const rfx_plugin *rfx_loader_open(struct rfx_loader *l, const char *path, char *err,
				  size_t errlen);
/* Prints every plugin found in the search path (kind, name, version,
 * description, file) and every file that was refused, with the reason.
 * Returns the number of refused files. */
int rfx_loader_list(struct rfx_loader *l, FILE *out);
/* Resolves a name for --describe: "webhook", "input/webhook" or a path.
 * NULL with err when not found or ambiguous. */
const rfx_plugin *rfx_loader_find_any(struct rfx_loader *l, const char *spec, char *err,
				      size_t errlen);
/* The file a descriptor was loaded from. */
const char *rfx_loader_path(struct rfx_loader *l, const rfx_plugin *d);
/* Kind from its name ("input", "output", ...) or 0. */
rfx_kind rfx_kind_parse(const char *name);

#endif
