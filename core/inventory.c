/*
 * core/inventory.c - the inventory at run time (see inventory.h): the
 * current snapshot and its swap on reload, lookups, the enrich stage and the
 * topology queries. Reading files lives in inventory_load.c.
 */
#include "inventory_private.h"

#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "log.h"

#define NS_PER_MS 1000000LL
#define TOPO_VISIT_MAX 65536 /* nodes one walk visits at most */

const rfx_option rfx_enrich_options[] = {
	{"inventory", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Asset inventory files (.yaml, .yml, .csv); relative paths are relative to the "
	 "config file", offsetof(struct rfx_enrich_conf, inventory), NULL},
	{"reload_interval", RFX_OPT_DURATION, "30s", RFX_OPT_RANGE, 0, 86400000, NULL,
	 "How often the files are checked for changes; 0 never reloads",
	 offsetof(struct rfx_enrich_conf, reload_interval_ms), NULL},
	{"label_prefix", RFX_OPT_STRING, "", 0, 0, 0, NULL,
	 "Put before every label the inventory adds (asset_ gives asset_env, ...)",
	 offsetof(struct rfx_enrich_conf, label_prefix), NULL},
	{"overwrite_labels", RFX_OPT_BOOL, "false", 0, 0, 0, NULL,
	 "Replace labels the event already has (by default the source's labels win)",
	 offsetof(struct rfx_enrich_conf, overwrite_labels), NULL},
	{"canonical_host", RFX_OPT_BOOL, "true", 0, 0, 0, NULL,
	 "A host found by an alias or IP address takes the asset's name",
	 offsetof(struct rfx_enrich_conf, canonical_host), NULL},
	RFX_OPTION_END,
};

/* What a reload compares: a file changed when any of these did. */
struct file_sig {
	bool exists;
	int64_t mtime_ns;
	int64_t size;
	uint64_t ino;
};

struct rfx_inventory {
	char **paths;
	size_t npaths;
	int64_t interval_ns;
	char *prefix;
	bool overwrite, canonical;

	pthread_mutex_t cur_lock; /* guards cur: the swap and taking a reference */
	struct rfx_inventory_snap *cur;

	/* Used by the reload path only, serialized by reload_lock. */
	pthread_mutex_t reload_lock;
	struct file_sig *loaded, *failed; /* signatures of the loaded / last broken set */
	bool have_failed;
	int64_t last_check_ns;
	bool checked;

	uint64_t known, unknown, no_host, labels_dropped, reloads, reload_errors; /* atomic */
};

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static uint64_t read_count(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void sig_read(const char *path, struct file_sig *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (stat(path, &st) != 0)
		return;
	s->exists = true;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	s->size = (int64_t)st.st_size;
	s->ino = (uint64_t)st.st_ino;
}

static bool sig_equal(const struct file_sig *a, const struct file_sig *b, size_t n)
{
	return memcmp(a, b, n * sizeof(*a)) == 0;
}

void rfx_inventory_free(struct rfx_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->npaths; i++)
		free(inv->paths[i]);
	free(inv->paths);
	free(inv->prefix);
	free(inv->loaded);
	free(inv->failed);
	rfx_inv_snap_free(inv->cur);
	pthread_mutex_destroy(&inv->cur_lock);
	pthread_mutex_destroy(&inv->reload_lock);
	free(inv);
}

struct rfx_inventory *rfx_inventory_new(const struct rfx_enrich_conf *conf, const char *base_dir,
					rfx_diag *d)
{
	struct rfx_inventory *inv = calloc(1, sizeof(*inv));
	size_t n = conf->inventory.n;

	if (!inv) {
		rfx_diag_add(d, NULL, "pipeline.enrich: out of memory");
		return NULL;
	}
	pthread_mutex_init(&inv->cur_lock, NULL);
	pthread_mutex_init(&inv->reload_lock, NULL);
	if (n > INV_FILES_MAX) {
		rfx_diag_add(d, NULL, "pipeline.enrich.inventory: %zu files, at most %d", n,
			     INV_FILES_MAX);
		goto fail;
	}
	inv->interval_ns = conf->reload_interval_ms * NS_PER_MS;
	inv->overwrite = conf->overwrite_labels;
	inv->canonical = conf->canonical_host;
	inv->prefix = strdup(conf->label_prefix ? conf->label_prefix : "");
	inv->paths = calloc(n ? n : 1, sizeof(*inv->paths));
	inv->loaded = calloc(n ? n : 1, sizeof(*inv->loaded));
	inv->failed = calloc(n ? n : 1, sizeof(*inv->failed));
	if (!inv->prefix || !inv->paths || !inv->loaded || !inv->failed)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const char *p = conf->inventory.v[i];
		int rc = p[0] == '/' || !base_dir || !base_dir[0]
				 ? asprintf(&inv->paths[i], "%s", p)
				 : asprintf(&inv->paths[i], "%s/%s", base_dir, p);
		if (rc < 0) {
			inv->paths[i] = NULL;
			goto nomem;
		}
		inv->npaths = i + 1;
	}
	/* Signatures first: a file changed while it is read is read again at
	 * the next check instead of being missed. */
	for (size_t i = 0; i < n; i++)
		sig_read(inv->paths[i], &inv->loaded[i]);
	if (!(inv->cur = rfx_inv_load(inv->paths, inv->npaths, d)))
		goto fail;
	return inv;
nomem:
	rfx_diag_add(d, NULL, "pipeline.enrich: out of memory");
fail:
	rfx_inventory_free(inv);
	return NULL;
}

const struct rfx_inventory_snap *rfx_inventory_acquire(struct rfx_inventory *inv)
{
	struct rfx_inventory_snap *s;

	pthread_mutex_lock(&inv->cur_lock);
	s = inv->cur;
	__atomic_add_fetch(&s->refcnt, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&inv->cur_lock);
	return s;
}

void rfx_inventory_release(const struct rfx_inventory_snap *snap)
{
	struct rfx_inventory_snap *s = (struct rfx_inventory_snap *)snap;

	if (s && __atomic_sub_fetch(&s->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		rfx_inv_snap_free(s);
}

/* Loads with the signatures in sig; swaps on success. Under reload_lock. */
static int reload_locked(struct rfx_inventory *inv, struct file_sig *sig, rfx_diag *d)
{
	struct rfx_inventory_snap *s, *old;
	rfx_diag local;
	int rc = 0;

	rfx_diag_init(&local);
	s = rfx_inv_load(inv->paths, inv->npaths, &local);
	if (!s) {
		/* Every error once per broken version of the files; the old
		 * inventory keeps serving. */
		for (size_t i = 0; i < local.n; i++) {
			rfx_log(RFX_LOG_ERROR, "inventory", "%s", local.msgs[i]);
			if (d)
				rfx_diag_add(d, NULL, "%s", local.msgs[i]);
		}
		rfx_log(RFX_LOG_ERROR, "inventory",
			"reload failed; the previous inventory stays in use");
		memcpy(inv->failed, sig, inv->npaths * sizeof(*sig));
		inv->have_failed = true;
		count(&inv->reload_errors);
		rc = RFX_EINVAL;
		goto done;
	}
	pthread_mutex_lock(&inv->cur_lock);
	old = inv->cur;
	inv->cur = s;
	pthread_mutex_unlock(&inv->cur_lock);
	rfx_inventory_release(old);
	memcpy(inv->loaded, sig, inv->npaths * sizeof(*sig));
	inv->have_failed = false;
	count(&inv->reloads);
	rfx_log(RFX_LOG_INFO, "inventory", "reloaded: %zu hosts, %zu services", s->nassets,
		s->nsvcs);
	rc = 1;
done:
	rfx_diag_free(&local);
	return rc;
}

int rfx_inventory_reload(struct rfx_inventory *inv, rfx_diag *d)
{
	struct file_sig *sig = calloc(inv->npaths ? inv->npaths : 1, sizeof(*sig));
	int rc;

	if (!sig)
		return RFX_ENOMEM;
	pthread_mutex_lock(&inv->reload_lock);
	for (size_t i = 0; i < inv->npaths; i++)
		sig_read(inv->paths[i], &sig[i]);
	rc = reload_locked(inv, sig, d);
	pthread_mutex_unlock(&inv->reload_lock);
	free(sig);
	return rc < 0 ? rc : 0;
}

int rfx_inventory_maybe_reload(struct rfx_inventory *inv, int64_t now_ns)
{
	struct file_sig *sig = NULL;
	int rc = 0;

	if (inv->interval_ns <= 0 || !inv->npaths)
		return 0;
	pthread_mutex_lock(&inv->reload_lock);
	if (inv->checked && now_ns - inv->last_check_ns < inv->interval_ns)
		goto done;
	inv->checked = true;
	inv->last_check_ns = now_ns;
	if (!(sig = calloc(inv->npaths, sizeof(*sig)))) {
		rc = RFX_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < inv->npaths; i++)
		sig_read(inv->paths[i], &sig[i]);
	if (sig_equal(sig, inv->loaded, inv->npaths) ||
	    (inv->have_failed && sig_equal(sig, inv->failed, inv->npaths)))
		goto done;
	rc = reload_locked(inv, sig, NULL);
done:
	pthread_mutex_unlock(&inv->reload_lock);
	free(sig);
	return rc;
}

void rfx_inventory_stats(const struct rfx_inventory *inv, struct rfx_inventory_stats *out)
{
	struct rfx_inventory *m = (struct rfx_inventory *)inv;

	memset(out, 0, sizeof(*out));
	out->known = read_count(&inv->known);
	out->unknown = read_count(&inv->unknown);
	out->no_host = read_count(&inv->no_host);
	out->labels_dropped = read_count(&inv->labels_dropped);
	out->reloads = read_count(&inv->reloads);
	out->reload_errors = read_count(&inv->reload_errors);
	pthread_mutex_lock(&m->cur_lock);
	out->hosts = m->cur->nassets;
	out->services = m->cur->nsvcs;
	pthread_mutex_unlock(&m->cur_lock);
}

/* ---- lookups and enrich --------------------------------------------------- */

static int32_t host_index(const struct rfx_inventory_snap *s, const char *name)
{
	if (!name || !*name || strlen(name) > INV_STR_MAX)
		return -1;
	return rfx_inv_hash_get(&s->host_idx, name);
}

const struct rfx_asset *rfx_inventory_find(const struct rfx_inventory_snap *snap,
					   const char *name)
{
	int32_t i = host_index(snap, name);

	return i >= 0 ? &snap->assets[i].pub : NULL;
}

/* Sets prefix+key unless the event has it and labels are not overwritten. */
static int add_label(struct rfx_inventory *inv, rfx_event *ev, const char *key,
		     const char *value)
{
	char k[128];
	int rc;

	if (!value)
		return 0;
	snprintf(k, sizeof(k), "%s%s", inv->prefix, key);
	if (!inv->overwrite && rfx_event_label_get(ev, k) && strcmp(key, "inventory") != 0)
		return 0;
	rc = rfx_event_label_set(ev, k, value);
	if (rc == RFX_EFULL) {
		count(&inv->labels_dropped);
		return 0;
	}
	return rc;
}

static int note_reported_host(rfx_event *ev, const char *host)
{
	struct json_object *o = NULL, *v;

	if (!json_object_object_get_ex(ev->attrs, "enrich", &o) ||
	    !json_object_is_type(o, json_type_object)) {
		if (!(o = json_object_new_object()))
			return RFX_ENOMEM;
		if (json_object_object_add(ev->attrs, "enrich", o) != 0) {
			json_object_put(o);
			return RFX_ENOMEM;
		}
	}
	if (!(v = json_object_new_string(host)))
		return RFX_ENOMEM;
	if (json_object_object_add(o, "host_reported", v) != 0) {
		json_object_put(v);
		return RFX_ENOMEM;
	}
	return 0;
}

int rfx_enrich(struct rfx_inventory *inv, rfx_event *ev)
{
	const char *host = ev ? rfx_event_host(ev) : NULL;
	const struct rfx_inventory_snap *s;
	const struct inv_asset *a;
	int32_t i;
	int rc = 0;

	if (!inv || !ev || !ev->attrs)
		return RFX_EINVAL;
	if (!host || !*host) {
		count(&inv->no_host);
		return 0;
	}
	s = rfx_inventory_acquire(inv);
	if ((i = host_index(s, host)) < 0) {
		count(&inv->unknown);
		rc = add_label(inv, ev, "inventory", "unknown");
		goto done;
	}
	a = &s->assets[i];
	count(&inv->known);
	if (inv->canonical && strcmp(host, a->pub.name) != 0) {
		if ((rc = note_reported_host(ev, host)) != 0 ||
		    (rc = rfx_event_set(ev, RFX_F_HOST, a->pub.name)) != 0)
			goto done;
	}
	if ((rc = add_label(inv, ev, "inventory", "known")) != 0 ||
	    (rc = add_label(inv, ev, "env", a->pub.environment)) != 0 ||
	    (rc = add_label(inv, ev, "team", a->pub.team)) != 0 ||
	    (rc = add_label(inv, ev, "owner", a->pub.owner)) != 0 ||
	    (rc = add_label(inv, ev, "criticality", a->pub.criticality)) != 0 ||
	    (rc = add_label(inv, ev, "location", a->pub.location)) != 0 ||
	    (rc = add_label(inv, ev, "tags", a->tags_joined)) != 0 ||
	    (rc = add_label(inv, ev, "services", a->services_joined)) != 0)
		goto done;
done:
	rfx_inventory_release(s);
	return rc;
}

/* ---- topology ------------------------------------------------------------- */

/* The adjacency of name in the graph of kind; NULL when not there. */
static const struct inv_adj *adj_of(const struct rfx_inventory_snap *s, enum rfx_topo_kind k,
				    const char *name, bool up, int32_t *idx)
{
	int32_t i;

	if (k == RFX_TOPO_HOST) {
		if ((i = host_index(s, name)) < 0)
			return NULL;
		*idx = i;
		return up ? &s->assets[i].up : &s->assets[i].down;
	}
	if (!name || (i = rfx_inv_hash_get(&s->svc_idx, name)) < 0)
		return NULL;
	*idx = i;
	return up ? &s->svcs[i].up : &s->svcs[i].down;
}

static const char *node_name(const struct rfx_inventory_snap *s, enum rfx_topo_kind k,
			     uint32_t i)
{
	return k == RFX_TOPO_HOST ? s->assets[i].pub.name : s->svcs[i].name;
}

static int list_adj(const struct rfx_inventory_snap *s, enum rfx_topo_kind k,
		    const struct inv_adj *a, const char **out, size_t max)
{
	for (size_t i = 0; i < a->n && i < max; i++)
		out[i] = node_name(s, k, a->v[i]);
	return a->n > INT_MAX ? INT_MAX : (int)a->n;
}

int rfx_topo_upstream(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
		      const char *name, const char **out, size_t max)
{
	int32_t i;
	const struct inv_adj *a = adj_of(snap, kind, name, true, &i);

	return a ? list_adj(snap, kind, a, out, max) : RFX_ENOENT;
}

int rfx_topo_downstream(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			const char *name, const char **out, size_t max)
{
	int32_t i;
	const struct inv_adj *a = adj_of(snap, kind, name, false, &i);

	return a ? list_adj(snap, kind, a, out, max) : RFX_ENOENT;
}

int rfx_topo_service_hosts(const struct rfx_inventory_snap *snap, const char *service,
			   const char **out, size_t max)
{
	int32_t i = service ? rfx_inv_hash_get(&snap->svc_idx, service) : -1;

	return i < 0 ? RFX_ENOENT : list_adj(snap, RFX_TOPO_HOST, &snap->svcs[i].hosts, out, max);
}

/*
 * Breadth-first walk upstream from `from`, at most max_depth edges and
 * TOPO_VISIT_MAX nodes; a visited set makes cycles harmless. Stops early
 * when `target` (>= 0) is reached (returns 1). Writes reached names to out.
 */
static int walk_up(const struct rfx_inventory_snap *s, enum rfx_topo_kind k, int32_t from,
		   int32_t target, int max_depth, const char **out, size_t max, size_t *nout)
{
	size_t n = k == RFX_TOPO_HOST ? s->nassets : s->nsvcs;
	size_t cap = n < TOPO_VISIT_MAX ? n : TOPO_VISIT_MAX, head = 0, tail = 0;
	uint32_t *queue = malloc((cap ? cap : 1) * sizeof(*queue));
	int *depth = malloc((cap ? cap : 1) * sizeof(*depth));
	unsigned char *seen = calloc(n ? n : 1, 1);
	int rc = 0;

	if (!queue || !depth || !seen) {
		rc = RFX_ENOMEM;
		goto done;
	}
	seen[from] = 1;
	queue[tail] = (uint32_t)from;
	depth[tail++] = 0;
	while (head < tail) {
		uint32_t cur = queue[head];
		int dcur = depth[head++];
		const struct inv_adj *a = k == RFX_TOPO_HOST ? &s->assets[cur].up : &s->svcs[cur].up;
		if (dcur >= max_depth)
			continue;
		for (size_t i = 0; i < a->n; i++) {
			uint32_t nx = a->v[i];
			if ((int32_t)nx == target) {
				rc = 1;
				goto done;
			}
			if (seen[nx] || tail == cap)
				continue;
			seen[nx] = 1;
			if (out && *nout < max)
				out[(*nout)++] = node_name(s, k, nx);
			queue[tail] = nx;
			depth[tail++] = dcur + 1;
		}
	}
done:
	free(queue);
	free(depth);
	free(seen);
	return rc;
}

int rfx_topo_upstream_all(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			  const char *name, int max_depth, const char **out, size_t max)
{
	int32_t i;
	size_t n = 0;
	int rc;

	if (!adj_of(snap, kind, name, true, &i))
		return RFX_ENOENT;
	if ((rc = walk_up(snap, kind, i, -1, max_depth, out, max, &n)) < 0)
		return rc;
	return (int)n;
}

bool rfx_topo_path_exists(const struct rfx_inventory_snap *snap, enum rfx_topo_kind kind,
			  const char *from, const char *to, int max_depth)
{
	int32_t a, b;
	size_t n = 0;

	if (!adj_of(snap, kind, from, true, &a) || !adj_of(snap, kind, to, true, &b))
		return false;
	return walk_up(snap, kind, a, b, max_depth, NULL, 0, &n) == 1;
}
