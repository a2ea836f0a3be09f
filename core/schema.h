/*
 * core/schema.h - option schemas (rfx_option tables, see reflex/plugin.h):
 * validating a YAML mapping against a table, filling the typed config
 * struct, freeing it, and describing the options for --describe/--help.
 * Durations and sizes (units.h) and suggestions (suggest.h) are included
 * here because schema users need them too.
 *
 * Messages are added to the diag list at the offending node, prefixed with
 * a context such as "inputs[0] (webhook)":
 *   file:3:7: inputs[0] (webhook): unknown key 'pth'; did you mean 'path'?
 *   file:4:12: agent.api: 'max_body': expected a size like 64KiB, got 'lots'
 *   file:2:3: outputs[1] (file): missing required key 'path'
 */
#ifndef RFX_CORE_SCHEMA_H
#define RFX_CORE_SCHEMA_H

#include <stdint.h>
#include <stdio.h>
#include <reflex/plugin.h>
#include "config.h"
#include "suggest.h" /* rfx_suggest */
#include "units.h"   /* rfx_parse_duration, rfx_parse_size */

/*
 * Validates `map` (a MAP node; NULL means empty) against opts and fills cfg,
 * which must be zeroed and large enough for every offset. Defaults are
 * applied first. `allowed_extra` is a NULL-terminated list of keys that the
 * caller handles itself (e.g. name, plugin, match) and which are therefore
 * not unknown. Returns the number of errors added to d (0 = valid). cfg may
 * be partially filled on error; free it with rfx_schema_free().
 */
int rfx_schema_apply(const rfx_option *opts, const rfx_node *map, void *cfg,
		     const char *ctx, const char *const *allowed_extra, rfx_diag *d);
/* Frees what rfx_schema_apply allocated inside cfg (not cfg itself). */
void rfx_schema_free(const rfx_option *opts, void *cfg);
/* Human description of the options, one block per option: name, type,
 * default, required/secret, range or enum values, description. Nested
 * sections indented. */
void rfx_schema_describe(const rfx_option *opts, FILE *out, int indent);
/* Checks the table itself (names unique, enum has values, defaults parse).
 * Returns 0 or -1 with a message in err. Used by the loader. */
int rfx_schema_check(const rfx_option *opts, char *err, size_t errlen);

#endif
