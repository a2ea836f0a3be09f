/*
 * core/inventory_private.h - what the inventory's files share: inventory.c
 * (snapshots, lookups, enrich, topology, reload), inventory_files.c (YAML and
 * CSV into a builder) and inventory_load.c (builder to snapshot). Not for
 * other modules: use inventory.h.
 */
#ifndef RFX_CORE_INVENTORY_PRIVATE_H
#define RFX_CORE_INVENTORY_PRIVATE_H

#include <stdint.h>

#include "inventory.h"

#define INV_FILES_MAX 64
#define INV_HOSTS_MAX 200000
#define INV_LIST_MAX 256  /* aliases, tags, services, depends_on of one entry */
#define INV_STR_MAX 1024  /* one name or value */

struct inv_adj {
	size_t n;
	uint32_t *v;
};

/* Open addressing, keys lower case; idx -1 marks a short name that two
 * assets share (ambiguous, so not found). */
struct inv_slot {
	char *key; /* owned */
	int32_t idx;
	bool weak; /* derived short name, not written in a file */
};

struct inv_hash {
	size_t cap, n; /* cap a power of two */
	struct inv_slot *slots;
};

struct inv_asset {
	struct rfx_asset pub; /* strings and arrays owned here */
	char *tags_joined, *services_joined;
	struct inv_adj up, down;
};

struct inv_service {
	char *name;
	struct inv_adj up, down, hosts;
};

struct rfx_inventory_snap {
	int refcnt; /* atomic */
	struct inv_asset *assets;
	size_t nassets;
	struct inv_service *svcs;
	size_t nsvcs;
	struct inv_hash host_idx, svc_idx;
};

/* Loads every file into a new snapshot (refcnt 1). NULL with the reasons in
 * d, as file:line:column: message. */
struct rfx_inventory_snap *rfx_inv_load(char *const *paths, size_t npaths, rfx_diag *d);
void rfx_inv_snap_free(struct rfx_inventory_snap *s);
/* Index of key (any case) in h, or -1. */
int32_t rfx_inv_hash_get(const struct inv_hash *h, const char *key);

/* ---- the builder: inventory_files.c fills it, inventory_load.c freezes it */

struct inv_strv {
	size_t n, cap;
	char **v;
};

/* A name referred to before all files are read; pos is "file:line:col". */
struct inv_dep {
	char *name;
	char *pos;
};

struct inv_depv {
	size_t n, cap;
	struct inv_dep *v;
};

struct inv_bhost {
	char *name, *env, *team, *owner, *crit, *loc;
	struct inv_strv aliases, tags, services;
	struct inv_depv deps;
	char *pos;
};

struct inv_bsvc {
	char *name;
	struct inv_depv deps;
	char *pos;
};

struct inv_builder {
	struct inv_bhost *hosts;
	size_t nhosts, caphosts;
	struct inv_bsvc *svcs;
	size_t nsvcs, capsvcs;
	bool oom;
	rfx_diag *d;
};

/* Reads one YAML / CSV file into b; problems go to b->d. */
void rfx_inv_yaml_load(struct inv_builder *b, const char *path);
void rfx_inv_csv_load(struct inv_builder *b, const char *path);
void rfx_inv_builder_free(struct inv_builder *b);

#endif
