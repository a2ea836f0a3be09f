/*
 * core/loader.c - plugin discovery, dlopen and descriptor vetting (see
 * loader.h). Files stay loaded until rfx_loader_free so descriptors and the
 * option tables they point to remain valid for the agent's lifetime.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "schema.h"
#include "version.h"

/* The smallest descriptor ABI 1.0 accepts: everything up to and including
 * the reserved tail. Later minors append members after it. */
#define DESC_MIN_SIZE_1_0 (offsetof(rfx_plugin, reserved) + sizeof(((rfx_plugin *)0)->reserved))

struct loaded {
	struct loaded *next;
	char *path; /* realpath */
	void *handle;
	const rfx_plugin *desc;
};

struct rfx_loader {
	char **dirs;
	size_t ndirs;
	struct loaded *loaded;
};

static const char *const kind_words[] = {"", "input", "filter", "correlator", "analyzer",
					 "action", "output", "itsm", "store", NULL};

rfx_kind rfx_kind_parse(const char *name)
{
	for (int i = 1; kind_words[i]; i++)
		if (strcmp(name, kind_words[i]) == 0)
			return (rfx_kind)i;
	return 0;
}

static int add_dir(struct rfx_loader *l, const char *d, size_t len)
{
	char a[PATH_MAX], b[PATH_MAX], *dir;

	if (len == 0)
		return 0;
	/* the same directory twice would list and offer its plugins twice */
	if (!(dir = strndup(d, len)))
		return -1;
	for (size_t i = 0; i < l->ndirs; i++) {
		if (strcmp(l->dirs[i], dir) == 0 ||
		    (realpath(l->dirs[i], a) && realpath(dir, b) && strcmp(a, b) == 0)) {
			free(dir);
			return 0;
		}
	}
	free(dir);
	char **v = realloc(l->dirs, (l->ndirs + 1) * sizeof(*v));
	if (!v)
		return -1;
	l->dirs = v;
	if (!(l->dirs[l->ndirs] = strndup(d, len)))
		return -1;
	l->ndirs++;
	return 0;
}

struct rfx_loader *rfx_loader_new(const char *const *extra_dirs)
{
	struct rfx_loader *l = calloc(1, sizeof(*l));
	const char *env = getenv("REFLEX_PLUGIN_PATH");

	if (!l)
		return NULL;
	for (size_t i = 0; extra_dirs && extra_dirs[i]; i++)
		if (add_dir(l, extra_dirs[i], strlen(extra_dirs[i])))
			goto fail;
	while (env && *env) {
		const char *colon = strchr(env, ':');
		size_t len = colon ? (size_t)(colon - env) : strlen(env);
		if (add_dir(l, env, len))
			goto fail;
		env = colon ? colon + 1 : NULL;
	}
	if (add_dir(l, RFX_PLUGIN_DIR, strlen(RFX_PLUGIN_DIR)))
		goto fail;
	return l;
fail:
	rfx_loader_free(l);
	return NULL;
}

void rfx_loader_free(struct rfx_loader *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->ndirs; i++)
		free(l->dirs[i]);
	free(l->dirs);
	while (l->loaded) {
		struct loaded *x = l->loaded;
		l->loaded = x->next;
		if (x->handle)
			dlclose(x->handle);
		free(x->path);
		free(x);
	}
	free(l);
}

/* "an input", "a store": the article for a kind in messages. */
static const char *art(rfx_kind k)
{
	return k == RFX_KIND_INPUT || k == RFX_KIND_OUTPUT || k == RFX_KIND_ITSM ||
	       k == RFX_KIND_ACTION || k == RFX_KIND_ANALYZER ? "an" : "a";
}

static bool valid_name(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Checks a descriptor; only reads past the first 8 bytes once the size
 * says they are there. */
static int vet(const rfx_plugin *d, const char *path, char *err, size_t errlen)
{
	char serr[256];

	if (d->abi_major != RFX_ABI_MAJOR) {
		snprintf(err, errlen,
			 "%s: built for plugin ABI %u.%u, but this reflexd speaks ABI %d.%d: "
			 "rebuild the plugin against this version's headers",
			 path, d->abi_major, d->abi_minor, RFX_ABI_MAJOR, RFX_ABI_MINOR);
		return -1;
	}
	if (d->abi_minor > RFX_ABI_MINOR) {
		snprintf(err, errlen,
			 "%s: needs plugin ABI %u.%u, newer than this reflexd's %d.%d: "
			 "upgrade reflexd or build the plugin against older headers",
			 path, d->abi_major, d->abi_minor, RFX_ABI_MAJOR, RFX_ABI_MINOR);
		return -1;
	}
	if (d->size < DESC_MIN_SIZE_1_0) {
		snprintf(err, errlen,
			 "%s: descriptor is %u bytes but ABI %u.%u needs at least %zu: the "
			 "plugin was built against mismatched headers",
			 path, d->size, d->abi_major, d->abi_minor, (size_t)DESC_MIN_SIZE_1_0);
		return -1;
	}
	if (!valid_name(d->name)) {
		snprintf(err, errlen, "%s: plugin name '%s' is not valid (use [a-z0-9_], up to 64)",
			 path, d->name ? d->name : "(null)");
		return -1;
	}
	if (d->kind < RFX_KIND_INPUT || d->kind > RFX_KIND_STORE) {
		snprintf(err, errlen, "%s: plugin '%s' declares an unknown kind %d", path, d->name,
			 (int)d->kind);
		return -1;
	}
	if (!d->init) {
		snprintf(err, errlen, "%s: plugin '%s' has no init callback", path, d->name);
		return -1;
	}
	if ((d->kind == RFX_KIND_OUTPUT || d->kind == RFX_KIND_ITSM ||
	     d->kind == RFX_KIND_FILTER || d->kind == RFX_KIND_ACTION ||
	     d->kind == RFX_KIND_CORRELATOR || d->kind == RFX_KIND_ANALYZER) &&
	    (!d->handle || !d->accepts)) {
		snprintf(err, errlen,
			 "%s: %s plugin '%s' must declare the records it accepts and a handle "
			 "callback", path, rfx_kind_name(d->kind), d->name);
		return -1;
	}
	if (d->kind == RFX_KIND_INPUT && !d->emits) {
		snprintf(err, errlen, "%s: input plugin '%s' declares no emitted record types",
			 path, d->name);
		return -1;
	}
	if (d->kind == RFX_KIND_STORE &&
	    (!d->store || d->store->size < sizeof(rfx_store_ops) || !d->store->put_events ||
	     !d->store->get_event || !d->store->query_events)) {
		snprintf(err, errlen,
			 "%s: store plugin '%s' lacks store operations (put_events, get_event, "
			 "query_events)", path, d->name);
		return -1;
	}
	if (d->options && rfx_schema_check(d->options, serr, sizeof(serr))) {
		snprintf(err, errlen, "%s: plugin '%s' has a broken option table: %s", path,
			 d->name, serr);
		return -1;
	}
	if (d->options && d->config_size == 0) {
		snprintf(err, errlen, "%s: plugin '%s' declares options but config_size is 0", path,
			 d->name);
		return -1;
	}
	return 0;
}

static struct loaded *find_loaded(struct rfx_loader *l, const char *real)
{
	for (struct loaded *x = l->loaded; x; x = x->next)
		if (strcmp(x->path, real) == 0)
			return x;
	return NULL;
}

const rfx_plugin *rfx_loader_open(struct rfx_loader *l, const char *path, char *err,
				  size_t errlen)
{
	char real[PATH_MAX];
	struct loaded *x;
	void *h;
	rfx_plugin_entry_fn entry;
	const rfx_plugin *d;

	if (!realpath(path, real)) {
		snprintf(err, errlen, "%s: no such plugin file", path);
		return NULL;
	}
	if ((x = find_loaded(l, real)))
		return x->desc;
	if (!(h = dlopen(real, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(err, errlen, "%s: cannot load: %s", path, dlerror());
		return NULL;
	}
	*(void **)(&entry) = dlsym(h, RFX_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		snprintf(err, errlen,
			 "%s: missing symbol '%s': not a reflex plugin (define it with "
			 "RFX_PLUGIN_DEFINE)", path, RFX_PLUGIN_ENTRY_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (!(d = entry())) {
		snprintf(err, errlen, "%s: %s() returned NULL", path, RFX_PLUGIN_ENTRY_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (vet(d, path, err, errlen)) {
		dlclose(h);
		return NULL;
	}
	for (x = l->loaded; x; x = x->next) {
		if (x->desc->kind == d->kind && strcmp(x->desc->name, d->name) == 0) {
			snprintf(err, errlen,
				 "%s: %s plugin '%s' duplicates the one already loaded from %s",
				 path, rfx_kind_name(d->kind), d->name, x->path);
			dlclose(h);
			return NULL;
		}
	}
	/* A file named KIND_NAME.so must contain that plugin. */
	const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	char expect[160];
	snprintf(expect, sizeof(expect), "%s_%s.so", rfx_kind_name(d->kind), d->name);
	const char *us = strchr(base, '_');
	if (us) {
		char kw[32];
		size_t kl = (size_t)(us - base);
		if (kl < sizeof(kw)) {
			memcpy(kw, base, kl);
			kw[kl] = '\0';
			if (rfx_kind_parse(kw) && strcmp(base, expect) != 0) {
				snprintf(err, errlen,
					 "%s: the file name promises '%s' but the descriptor is %s "
					 "plugin '%s' (rename the file to %s)",
					 path, base, rfx_kind_name(d->kind), d->name, expect);
				dlclose(h);
				return NULL;
			}
		}
	}
	if (!(x = calloc(1, sizeof(*x))) || !(x->path = strdup(real))) {
		free(x);
		dlclose(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->handle = h;
	x->desc = d;
	x->next = l->loaded;
	l->loaded = x;
	return d;
}

const char *rfx_loader_path(struct rfx_loader *l, const rfx_plugin *d)
{
	for (struct loaded *x = l->loaded; x; x = x->next)
		if (x->desc == d)
			return x->path;
	return "?";
}

/* First file KIND_NAME.so in the search path, into buf. */
static bool search(struct rfx_loader *l, rfx_kind kind, const char *name, char *buf, size_t len)
{
	struct stat st;
	for (size_t i = 0; i < l->ndirs; i++) {
		snprintf(buf, len, "%s/%s_%s.so", l->dirs[i], rfx_kind_name(kind), name);
		if (stat(buf, &st) == 0)
			return true;
	}
	return false;
}

/* The installed plugin of this kind whose name is closest to `name`. */
static void suggest_name(struct rfx_loader *l, rfx_kind kind, const char *name, char *out,
			 size_t len)
{
	const char *names[65];
	char store[64][64];
	size_t n = 0, plen = strlen(rfx_kind_name(kind)) + 1;

	for (size_t i = 0; i < l->ndirs && n < 64; i++) {
		DIR *d = opendir(l->dirs[i]);
		struct dirent *e;
		while (d && n < 64 && (e = readdir(d))) {
			size_t fl = strlen(e->d_name);
			if (fl > plen + 3 && strncmp(e->d_name, rfx_kind_name(kind), plen - 1) == 0 &&
			    e->d_name[plen - 1] == '_' && strcmp(e->d_name + fl - 3, ".so") == 0 &&
			    fl - plen - 3 < sizeof(store[0])) {
				memcpy(store[n], e->d_name + plen, fl - plen - 3);
				store[n][fl - plen - 3] = '\0';
				names[n] = store[n];
				n++;
			}
		}
		if (d)
			closedir(d);
	}
	names[n] = NULL;
	const char *s = rfx_suggest(name, names);
	snprintf(out, len, "%s", s ? s : "");
}

const rfx_plugin *rfx_loader_get(struct rfx_loader *l, rfx_kind kind, const char *name,
				 char *err, size_t errlen)
{
	char path[PATH_MAX];
	const rfx_plugin *d;

	if (strchr(name, '/')) {
		if (!(d = rfx_loader_open(l, name, err, errlen)))
			return NULL;
		if (d->kind != kind) {
			snprintf(err, errlen, "%s: plugin '%s' is %s %s plugin, not %s %s plugin", name,
				 d->name, art(d->kind), rfx_kind_name(d->kind), art(kind),
				 rfx_kind_name(kind));
			return NULL;
		}
		return d;
	}
	if (!valid_name(name)) {
		snprintf(err, errlen, "'%s' is not a plugin name ([a-z0-9_]) nor a path", name);
		return NULL;
	}
	/* Already loaded from an explicit path? */
	for (struct loaded *x = l->loaded; x; x = x->next)
		if (x->desc->kind == kind && strcmp(x->desc->name, name) == 0)
			return x->desc;
	if (search(l, kind, name, path, sizeof(path)))
		return rfx_loader_open(l, path, err, errlen);
	for (int k = RFX_KIND_INPUT; k <= RFX_KIND_STORE; k++) {
		if ((rfx_kind)k != kind && search(l, (rfx_kind)k, name, path, sizeof(path))) {
			snprintf(err, errlen,
				 "plugin '%s' is %s %s plugin (%s); it cannot be used where %s %s "
				 "plugin is expected", name, art((rfx_kind)k), rfx_kind_name((rfx_kind)k),
				 path, art(kind), rfx_kind_name(kind));
			return NULL;
		}
	}
	char guess[64] = "";
	suggest_name(l, kind, name, guess, sizeof(guess));
	size_t off = (size_t)snprintf(err, errlen, "no %s plugin named '%s'%s%s%s (looked for %s_%s.so in",
				      rfx_kind_name(kind), name, *guess ? "; did you mean '" : "",
				      guess, *guess ? "'?" : "", rfx_kind_name(kind), name);
	for (size_t i = 0; i < l->ndirs && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, "%s %s", i ? "," : "", l->dirs[i]);
	if (off < errlen)
		snprintf(err + off, errlen - off, "; see reflexd --list-plugins)");
	return NULL;
}

const rfx_plugin *rfx_loader_find_any(struct rfx_loader *l, const char *spec, char *err,
				      size_t errlen)
{
	char path[PATH_MAX];
	const char *slash = strchr(spec, '/');
	const rfx_plugin *found = NULL;
	int hits = 0;

	if (slash && (spec[0] == '.' || spec[0] == '/' || strstr(spec, ".so")))
		return rfx_loader_open(l, spec, err, errlen);
	if (slash) {
		char kw[32];
		size_t kl = (size_t)(slash - spec);
		rfx_kind k = 0;
		if (kl < sizeof(kw)) {
			memcpy(kw, spec, kl);
			kw[kl] = '\0';
			k = rfx_kind_parse(kw);
		}
		if (!k) {
			snprintf(err, errlen, "'%.*s' is not a plugin kind", (int)kl, spec);
			return NULL;
		}
		return rfx_loader_get(l, k, slash + 1, err, errlen);
	}
	for (int k = RFX_KIND_INPUT; k <= RFX_KIND_STORE; k++) {
		if (search(l, (rfx_kind)k, spec, path, sizeof(path))) {
			hits++;
			found = rfx_loader_open(l, path, err, errlen);
			if (!found)
				return NULL;
		}
	}
	if (hits > 1) {
		snprintf(err, errlen, "'%s' names plugins of several kinds; say which, e.g. "
			 "input/%s or output/%s", spec, spec, spec);
		return NULL;
	}
	if (!found)
		snprintf(err, errlen, "no plugin named '%s' (see reflexd --list-plugins)", spec);
	return found;
}

int rfx_loader_list(struct rfx_loader *l, FILE *out)
{
	int refused = 0;
	char err[512], path[PATH_MAX];

	fprintf(out, "%-10s %-14s %-8s %s\n", "KIND", "NAME", "VERSION", "DESCRIPTION");
	for (size_t i = 0; i < l->ndirs; i++) {
		struct dirent **names;
		int n = scandir(l->dirs[i], &names, NULL, alphasort);
		if (n < 0)
			continue;
		for (int j = 0; j < n; j++) {
			const char *f = names[j]->d_name;
			size_t len = strlen(f);
			const char *us = strchr(f, '_');
			char kw[32] = "";
			if (us && (size_t)(us - f) < sizeof(kw)) {
				memcpy(kw, f, (size_t)(us - f));
				kw[us - f] = '\0';
			}
			if (len > 3 && strcmp(f + len - 3, ".so") == 0 && rfx_kind_parse(kw)) {
				snprintf(path, sizeof(path), "%s/%s", l->dirs[i], f);
				char real[PATH_MAX];
				bool shadowed = false;
				if (realpath(path, real) && !find_loaded(l, real)) {
					/* an earlier directory already provided this file name */
					for (size_t k = 0; k < i; k++) {
						char other[PATH_MAX];
						struct stat st;
						snprintf(other, sizeof(other), "%s/%s", l->dirs[k], f);
						if (stat(other, &st) == 0)
							shadowed = true;
					}
				}
				if (shadowed) {
					fprintf(out, "%-10s %-14s %-8s (shadowed by an earlier directory) %s\n",
						kw, "-", "-", path);
				} else {
					const rfx_plugin *d = rfx_loader_open(l, path, err, sizeof(err));
					if (d) {
						fprintf(out, "%-10s %-14s %-8s %s\n", rfx_kind_name(d->kind),
							d->name, d->version ? d->version : "-",
							d->description ? d->description : "");
					} else {
						fprintf(out, "%-10s %-14s %-8s REFUSED: %s\n", kw, "-", "-", err);
						refused++;
					}
				}
			}
			free(names[j]);
		}
		free(names);
	}
	return refused;
}
