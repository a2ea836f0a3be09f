/*
 * core/inventory_load.c - from the files to a snapshot: reads each file
 * (inventory_files.c), then checks names, aliases and dependencies across
 * all files and freezes the result with its index and dependency graphs.
 */
#include "inventory_private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- index ---------------------------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ULL;
	return h;
}

static struct inv_slot *hash_slot(const struct inv_hash *h, const char *key)
{
	size_t i;

	if (!h->cap)
		return NULL;
	i = hash_key(key) & (h->cap - 1);
	while (h->slots[i].key && strcasecmp(h->slots[i].key, key) != 0)
		i = (i + 1) & (h->cap - 1);
	return &h->slots[i];
}

int32_t rfx_inv_hash_get(const struct inv_hash *h, const char *key)
{
	const struct inv_slot *s = hash_slot(h, key);

	return s && s->key ? s->idx : -1;
}

static int hash_init(struct inv_hash *h, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	if (!(h->slots = calloc(cap, sizeof(*h->slots))))
		return RFX_ENOMEM;
	h->cap = cap;
	return 0;
}

/* Inserts key; the slot is returned when the key was already there
 * (*existed), NULL out of memory. The table never fills: sized for every
 * key at load. */
static struct inv_slot *hash_put(struct inv_hash *h, const char *key, int32_t idx, bool weak,
				 bool *existed)
{
	struct inv_slot *s = hash_slot(h, key);

	*existed = s->key != NULL;
	if (*existed)
		return s;
	if (!(s->key = strdup(key)))
		return NULL;
	for (char *c = s->key; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	s->idx = idx;
	s->weak = weak;
	h->n++;
	return s;
}

static void hash_free(struct inv_hash *h)
{
	for (size_t i = 0; i < h->cap; i++)
		free(h->slots[i].key);
	free(h->slots);
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ---- freezing the builder into a snapshot ---------------------------------- */

void rfx_inv_snap_free(struct rfx_inventory_snap *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nassets; i++) {
		struct inv_asset *a = &s->assets[i];
		struct rfx_asset *p = &a->pub;
		free((char *)p->name);
		free((char *)p->environment);
		free((char *)p->team);
		free((char *)p->owner);
		free((char *)p->criticality);
		free((char *)p->location);
		for (size_t j = 0; j < p->naliases; j++)
			free((char *)p->aliases[j]);
		for (size_t j = 0; j < p->ntags; j++)
			free((char *)p->tags[j]);
		for (size_t j = 0; j < p->nservices; j++)
			free((char *)p->services[j]);
		free((void *)p->aliases);
		free((void *)p->tags);
		free((void *)p->services);
		free(a->tags_joined);
		free(a->services_joined);
		free(a->up.v);
		free(a->down.v);
	}
	free(s->assets);
	for (size_t i = 0; i < s->nsvcs; i++) {
		free(s->svcs[i].name);
		free(s->svcs[i].up.v);
		free(s->svcs[i].down.v);
		free(s->svcs[i].hosts.v);
	}
	free(s->svcs);
	hash_free(&s->host_idx);
	hash_free(&s->svc_idx);
	free(s);
}

static int adj_add(struct inv_adj *a, uint32_t v)
{
	uint32_t *nv;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i] == v)
			return 0;
	/* Lists are short; growing one by one keeps the code simple. */
	if (!(nv = realloc(a->v, (a->n + 1) * sizeof(*nv))))
		return RFX_ENOMEM;
	nv[a->n++] = v;
	a->v = nv;
	return 0;
}

static char *join(const struct inv_strv *l)
{
	size_t len = 1;
	char *out, *p;

	if (!l->n)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + 1;
	if (!(out = malloc(len)))
		return NULL;
	p = out;
	for (size_t i = 0; i < l->n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", l->v[i]);
	return out;
}

/* Moves the strings of host h into asset a. */
static int asset_take(struct inv_asset *a, struct inv_bhost *h)
{
	struct rfx_asset *p = &a->pub;

	if ((h->tags.n && !(a->tags_joined = join(&h->tags))) ||
	    (h->services.n && !(a->services_joined = join(&h->services))))
		return RFX_ENOMEM;
	p->name = h->name;
	p->environment = h->env;
	p->team = h->team;
	p->owner = h->owner;
	p->criticality = h->crit;
	p->location = h->loc;
	p->aliases = (const char *const *)h->aliases.v;
	p->naliases = h->aliases.n;
	p->tags = (const char *const *)h->tags.v;
	p->ntags = h->tags.n;
	p->services = (const char *const *)h->services.v;
	p->nservices = h->services.n;
	h->name = h->env = h->team = h->owner = h->crit = h->loc = NULL;
	memset(&h->aliases, 0, sizeof(h->aliases));
	memset(&h->tags, 0, sizeof(h->tags));
	memset(&h->services, 0, sizeof(h->services));
	return 0;
}

static int index_hosts(struct inv_builder *b, struct rfx_inventory_snap *s)
{
	size_t keys = 0;
	bool existed;

	for (size_t i = 0; i < b->nhosts; i++)
		keys += 1 + b->hosts[i].aliases.n;
	if (hash_init(&s->host_idx, keys * 2) != 0)
		return RFX_ENOMEM;
	for (size_t i = 0; i < b->nhosts; i++) {
		struct inv_bhost *h = &b->hosts[i];
		for (size_t j = 0; j <= h->aliases.n; j++) {
			const char *k = j ? h->aliases.v[j - 1] : h->name;
			struct inv_slot *sl = hash_put(&s->host_idx, k, (int32_t)i, false, &existed);
			if (!sl)
				return RFX_ENOMEM;
			if (existed && sl->idx != (int32_t)i)
				rfx_diag_add(b->d, NULL,
					      "%s: %s '%s' of host '%s' is already a name or alias "
					      "of host '%s' (%s)", h->pos, j ? "alias" : "name", k,
					      h->name, b->hosts[sl->idx].name,
					      b->hosts[sl->idx].pos);
		}
	}
	/* Short names of FQDNs, where they are not names of their own and
	 * only one asset has them, so events from "db1" find db1.example.com. */
	for (size_t i = 0; i < b->nhosts; i++) {
		struct inv_bhost *h = &b->hosts[i];
		for (size_t j = 0; j <= h->aliases.n; j++) {
			const char *k = j ? h->aliases.v[j - 1] : h->name;
			const char *dot = strchr(k, '.');
			char shortname[INV_STR_MAX + 1];
			if (!dot || dot == k || is_ip(k))
				continue;
			snprintf(shortname, sizeof(shortname), "%.*s", (int)(dot - k), k);
			struct inv_slot *sl = hash_put(&s->host_idx, shortname, (int32_t)i, true,
						       &existed);
			if (!sl)
				return RFX_ENOMEM;
			if (existed && sl->weak && sl->idx != (int32_t)i)
				sl->idx = -1;
		}
	}
	return 0;
}

static int32_t svc_intern(struct rfx_inventory_snap *s, const char *name, size_t *cap)
{
	bool existed;
	int32_t idx = rfx_inv_hash_get(&s->svc_idx, name);

	if (idx >= 0)
		return idx;
	if (s->nsvcs == *cap)
		return -2; /* sized beforehand: cannot happen */
	struct inv_slot *sl = hash_put(&s->svc_idx, name, (int32_t)s->nsvcs, false, &existed);
	if (!sl || !(s->svcs[s->nsvcs].name = strdup(name)))
		return -1;
	return (int32_t)s->nsvcs++;
}

static int build_services(struct inv_builder *b, struct rfx_inventory_snap *s)
{
	size_t cap = b->nsvcs;
	int32_t x, y;

	for (size_t i = 0; i < b->nhosts; i++)
		cap += b->hosts[i].services.n;
	if (hash_init(&s->svc_idx, cap) != 0 ||
	    (cap && !(s->svcs = calloc(cap, sizeof(*s->svcs)))))
		return RFX_ENOMEM;
	for (size_t i = 0; i < b->nsvcs; i++) {
		if (rfx_inv_hash_get(&s->svc_idx, b->svcs[i].name) >= 0) {
			for (size_t j = 0; j < i; j++)
				if (strcasecmp(b->svcs[j].name, b->svcs[i].name) == 0)
					rfx_diag_add(b->d, NULL,
						      "%s: service '%s' is already defined at %s",
						      b->svcs[i].pos, b->svcs[i].name, b->svcs[j].pos);
			continue;
		}
		if (svc_intern(s, b->svcs[i].name, &cap) < 0)
			return RFX_ENOMEM;
	}
	for (size_t i = 0; i < b->nhosts; i++)
		for (size_t j = 0; j < b->hosts[i].services.n; j++) {
			if ((x = svc_intern(s, b->hosts[i].services.v[j], &cap)) < 0)
				return RFX_ENOMEM;
			if (adj_add(&s->svcs[x].hosts, (uint32_t)i) != 0)
				return RFX_ENOMEM;
		}
	for (size_t i = 0; i < b->nsvcs; i++) {
		x = rfx_inv_hash_get(&s->svc_idx, b->svcs[i].name);
		for (size_t j = 0; j < b->svcs[i].deps.n; j++) {
			const struct inv_dep *dp = &b->svcs[i].deps.v[j];
			if ((y = rfx_inv_hash_get(&s->svc_idx, dp->name)) < 0) {
				rfx_diag_add(b->d, NULL,
					      "%s: depends_on: '%s' is not a service of the inventory "
					      "(a services: entry or a host's services)", dp->pos,
					      dp->name);
				continue;
			}
			if (x == y)
				continue;
			if (adj_add(&s->svcs[x].up, (uint32_t)y) != 0 ||
			    adj_add(&s->svcs[y].down, (uint32_t)x) != 0)
				return RFX_ENOMEM;
		}
	}
	return 0;
}

static int build_host_deps(struct inv_builder *b, struct rfx_inventory_snap *s)
{
	for (size_t i = 0; i < b->nhosts; i++)
		for (size_t j = 0; j < b->hosts[i].deps.n; j++) {
			const struct inv_dep *dp = &b->hosts[i].deps.v[j];
			int32_t y = rfx_inv_hash_get(&s->host_idx, dp->name);
			if (y < 0) {
				rfx_diag_add(b->d, NULL,
					      "%s: depends_on: '%s' is not a host of the inventory",
					      dp->pos, dp->name);
				continue;
			}
			if ((size_t)y == i)
				continue;
			if (adj_add(&s->assets[i].up, (uint32_t)y) != 0 ||
			    adj_add(&s->assets[y].down, (uint32_t)i) != 0)
				return RFX_ENOMEM;
		}
	return 0;
}

static const char *ext_of(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');

	return dot && (!slash || dot > slash) ? dot + 1 : "";
}

struct rfx_inventory_snap *rfx_inv_load(char *const *paths, size_t npaths, rfx_diag *d)
{
	struct inv_builder b = {.d = d};
	struct rfx_inventory_snap *s = NULL;
	size_t errors = d->n;

	for (size_t i = 0; i < npaths && !b.oom; i++) {
		const char *e = ext_of(paths[i]);
		if (strcasecmp(e, "csv") == 0)
			rfx_inv_csv_load(&b, paths[i]);
		else if (strcasecmp(e, "yaml") == 0 || strcasecmp(e, "yml") == 0)
			rfx_inv_yaml_load(&b, paths[i]);
		else
			rfx_diag_addp(d, paths[i], 0, 0,
				      "inventory files end in .yaml, .yml or .csv");
	}
	if (b.oom || d->n != errors)
		goto fail;
	if (!(s = calloc(1, sizeof(*s))))
		goto nomem;
	s->refcnt = 1;
	if (index_hosts(&b, s) != 0 || build_services(&b, s) != 0)
		goto nomem;
	if (b.nhosts && !(s->assets = calloc(b.nhosts, sizeof(*s->assets))))
		goto nomem;
	s->nassets = b.nhosts;
	if (build_host_deps(&b, s) != 0)
		goto nomem;
	for (size_t i = 0; i < b.nhosts; i++)
		if (asset_take(&s->assets[i], &b.hosts[i]) != 0)
			goto nomem;
	if (d->n != errors)
		goto fail;
	rfx_inv_builder_free(&b);
	return s;
nomem:
	rfx_diag_add(d, NULL, "inventory: out of memory");
fail:
	rfx_inv_snap_free(s);
	rfx_inv_builder_free(&b);
	return NULL;
}
