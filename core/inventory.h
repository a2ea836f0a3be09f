/*
 * core/inventory.h - the asset inventory and its topology, and the pipeline's
 * "enrich" stage that labels events with them.
 *
 * Assets (hosts) come from YAML and CSV files (docs/inventory.md): a name,
 * aliases (other names, IP addresses), environment, team, owner,
 * criticality, location, tags, the services the host runs and the hosts it
 * depends on; services may depend on services. Loading builds an immutable
 * snapshot: assets, an O(1) case-insensitive index of names and aliases,
 * and the host and service dependency graphs (cycles allowed).
 *
 * Threads: the inventory holds the current snapshot behind a pointer that a
 * reload swaps under a mutex; readers take a reference (acquire), work on
 * the snapshot without any lock and release it. A reload never disturbs a
 * reader: the old snapshot is freed by its last release. rfx_enrich does the
 * acquire/release itself; the topology functions take a snapshot so that the
 * names they return stay valid while the caller walks the graph.
 *
 * Reload: the caller (the pipeline's worker or timer) calls
 * rfx_inventory_maybe_reload() as often as it likes; the files are checked
 * at most every reload_interval and reloaded when any changed (mtime, size,
 * inode). A file that fails to load keeps the previous inventory in service
 * and logs every error as file:line:column once per broken version.
 *
 * PostgreSQL as a source is not implemented (a later issue).
 */
#ifndef RFX_CORE_INVENTORY_H
#define RFX_CORE_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <reflex/event.h>
#include <reflex/plugin.h>

#include "diag.h"

/* pipeline.enrich. */
struct rfx_enrich_conf {
	struct rfx_strlist inventory; /* .yaml/.yml/.csv files */
	int64_t reload_interval_ms;   /* 0: never reload */
	char *label_prefix;           /* "" by default */
	bool overwrite_labels;        /* inventory wins over the source's labels */
	bool canonical_host;          /* alias/IP -> the asset's name */
};

extern const rfx_option rfx_enrich_options[];

/* One host of the inventory. Read-only; owned by its snapshot. */
struct rfx_asset {
	const char *name;
	const char *environment, *team, *owner, *criticality, *location; /* or NULL */
	const char *const *aliases;
	size_t naliases;
	const char *const *tags;
	size_t ntags;
	const char *const *services;
	size_t nservices;
};

struct rfx_inventory;
struct rfx_inventory_snap;

struct rfx_inventory_stats {
	uint64_t known;          /* events whose host is in the inventory */
	uint64_t unknown;        /* events whose host is not: labelled, kept */
	uint64_t no_host;        /* events without a host */
	uint64_t labels_dropped; /* labels that did not fit (RFX_LABELS_MAX) */
	uint64_t reloads;        /* successful reloads after the first load */
	uint64_t reload_errors;  /* reloads refused because a file was broken */
	size_t hosts, services;  /* in the current snapshot */
};

/*
 * Loads the files of conf (borrowed; copied). Relative paths are resolved
 * against base_dir (the directory of the config file; NULL = working
 * directory). Every problem goes to d as file:line:column: message; NULL is
 * returned when there was any. An empty file list gives an empty inventory
 * (every host unknown).
 */
struct rfx_inventory *rfx_inventory_new(const struct rfx_enrich_conf *conf, const char *base_dir,
					rfx_diag *d);
/* Frees the inventory; every acquired snapshot must have been released. */
void rfx_inventory_free(struct rfx_inventory *inv);

/* Reloads when reload_interval passed since the last check (now_ns is the
 * caller's clock) and a file changed. 1 reloaded, 0 nothing to do,
 * RFX_EINVAL a file is broken (logged; the old inventory stays),
 * RFX_ENOMEM. */
int rfx_inventory_maybe_reload(struct rfx_inventory *inv, int64_t now_ns);
/* Reloads now whatever changed. 0 or as above; errors also go to d when
 * d is not NULL. */
int rfx_inventory_reload(struct rfx_inventory *inv, rfx_diag *d);

void rfx_inventory_stats(const struct rfx_inventory *inv, struct rfx_inventory_stats *out);

/* The current snapshot with a reference taken; never NULL. */
const struct rfx_inventory_snap *rfx_inventory_acquire(struct rfx_inventory *inv);
void rfx_inventory_release(const struct rfx_inventory_snap *snap);

/* The asset whose name or alias (any case; an IP address is an alias) is
 * name, or whose FQDN's or alias's first label is name when that is
 * unambiguous. NULL when unknown. Valid while snap is held. */
const struct rfx_asset *rfx_inventory_find(const struct rfx_inventory_snap *snap,
					   const char *name);

/*
 * The enrich stage: looks the event's host up and adds labels (with
 * label_prefix): env, team, owner, criticality, location, tags and services
 * (comma-joined), and inventory (known | unknown). Labels the event already
 * has are kept unless overwrite_labels. With canonical_host a host matched
 * by an alias or IP becomes the asset's name (attrs.enrich.host_reported
 * keeps the sent one). Unknown hosts are labelled and counted, never dropped.
 * Returns 0 or RFX_ENOMEM. Thread-safe.
 */
int rfx_enrich(struct rfx_inventory *inv, rfx_event *ev);

/* ---- topology ----------------------------------------------------------- */

enum rfx_topo_kind { RFX_TOPO_HOST = 0, RFX_TOPO_SERVICE };

/* Direct dependencies of name (what it depends on): fills out[0..max) with
 * names owned by snap and returns how many there are (which may exceed
 * max), or RFX_ENOENT when name is not in the graph. */
int rfx_topo_upstream(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
		      const char *name, const char **out, size_t max);
/* Direct dependents of name (what depends on it); as above. */
int rfx_topo_downstream(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			const char *name, const char **out, size_t max);
/* Everything name depends on within max_depth edges, nearest first, each
 * once (cycles are walked once). Returns the number written to out (at most
 * max) or RFX_ENOENT. */
int rfx_topo_upstream_all(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			  const char *name, int max_depth, const char **out, size_t max);
/* True when from depends on to through at most max_depth edges. */
bool rfx_topo_path_exists(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			  const char *from, const char *to, int max_depth);
/* Hosts that run service: as rfx_topo_upstream. */
int rfx_topo_service_hosts(const struct rfx_inventory_snap *snap, const char *service,
			   const char **out, size_t max);

#endif
