/*
 * core/inventory_files.c - reading inventory files (YAML and CSV, see
 * docs/inventory.md) into the builder that inventory_load.c checks across
 * files and freezes into a snapshot.
 */
#include "inventory_private.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "suggest.h"

#define CSV_LINE_MAX 65536
#define CSV_COLS_MAX 32

/* ---- small containers ----------------------------------------------------- */

static void *grow(void *p, size_t *cap, size_t need, size_t elem, bool *oom)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return p;
	nc = *cap ? *cap * 2 : 8;
	while (nc < need)
		nc *= 2;
	if (!(np = realloc(p, nc * elem))) {
		*oom = true;
		return NULL;
	}
	*cap = nc;
	return np;
}

static int strv_add(struct inv_builder *b, struct inv_strv *l, const char *s)
{
	char **nv = grow(l->v, &l->cap, l->n + 1, sizeof(*l->v), &b->oom);
	char *c;

	if (!nv)
		return RFX_ENOMEM;
	l->v = nv;
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i], s) == 0)
			return 0; /* a repeated value says nothing new */
	if (!(c = strdup(s))) {
		b->oom = true;
		return RFX_ENOMEM;
	}
	l->v[l->n++] = c;
	return 0;
}

static void strv_free(struct inv_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int depv_add(struct inv_builder *b, struct inv_depv *l, const char *name, const char *pos)
{
	struct inv_dep *nv = grow(l->v, &l->cap, l->n + 1, sizeof(*l->v), &b->oom);

	if (!nv)
		return RFX_ENOMEM;
	l->v = nv;
	nv[l->n].name = strdup(name);
	nv[l->n].pos = strdup(pos);
	if (!nv[l->n].name || !nv[l->n].pos) {
		free(nv[l->n].name);
		free(nv[l->n].pos);
		b->oom = true;
		return RFX_ENOMEM;
	}
	l->n++;
	return 0;
}

static void depv_free(struct inv_depv *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].pos);
	}
	free(l->v);
}

void rfx_inv_builder_free(struct inv_builder *b)
{
	for (size_t i = 0; i < b->nhosts; i++) {
		struct inv_bhost *h = &b->hosts[i];
		free(h->name);
		free(h->env);
		free(h->team);
		free(h->owner);
		free(h->crit);
		free(h->loc);
		strv_free(&h->aliases);
		strv_free(&h->tags);
		strv_free(&h->services);
		depv_free(&h->deps);
		free(h->pos);
	}
	free(b->hosts);
	for (size_t i = 0; i < b->nsvcs; i++) {
		free(b->svcs[i].name);
		depv_free(&b->svcs[i].deps);
		free(b->svcs[i].pos);
	}
	free(b->svcs);
}

static char *pos_str(struct inv_builder *b, const char *file, int line, int col)
{
	char *p = NULL;

	if (asprintf(&p, "%s:%d:%d", file, line, col) < 0) {
		b->oom = true;
		return NULL;
	}
	return p;
}

static struct inv_bhost *host_add(struct inv_builder *b, const char *pos)
{
	struct inv_bhost *nv;

	if (b->nhosts >= INV_HOSTS_MAX)
		return NULL;
	if (!(nv = grow(b->hosts, &b->caphosts, b->nhosts + 1, sizeof(*nv), &b->oom)))
		return NULL;
	b->hosts = nv;
	memset(&nv[b->nhosts], 0, sizeof(*nv));
	if (!(nv[b->nhosts].pos = strdup(pos))) {
		b->oom = true;
		return NULL;
	}
	return &nv[b->nhosts++];
}

static struct inv_bsvc *svc_add(struct inv_builder *b, const char *pos)
{
	struct inv_bsvc *nv;

	if (b->nsvcs >= INV_HOSTS_MAX)
		return NULL;
	if (!(nv = grow(b->svcs, &b->capsvcs, b->nsvcs + 1, sizeof(*nv), &b->oom)))
		return NULL;
	b->svcs = nv;
	memset(&nv[b->nsvcs], 0, sizeof(*nv));
	if (!(nv[b->nsvcs].pos = strdup(pos))) {
		b->oom = true;
		return NULL;
	}
	return &nv[b->nsvcs++];
}

/* Fields of a host, shared by the YAML keys and the CSV columns. */
enum hfield { HF_NAME, HF_ALIASES, HF_ENV, HF_TEAM, HF_OWNER, HF_CRIT, HF_LOC, HF_TAGS,
	      HF_SERVICES, HF_DEPS, HF__COUNT };
static const char *const host_keys[] = {"name",        "aliases",  "environment", "team",
					"owner",       "criticality", "location", "tags",
					"services",    "depends_on", NULL};

static int host_field(const char *key)
{
	if (strcmp(key, "env") == 0)
		return HF_ENV;
	for (int i = 0; host_keys[i]; i++)
		if (strcmp(key, host_keys[i]) == 0)
			return i;
	return -1;
}

static bool is_list_field(int f)
{
	return f == HF_ALIASES || f == HF_TAGS || f == HF_SERVICES || f == HF_DEPS;
}

/* Sets one value of a host field; lists append. pos for depends_on. */
static int host_set(struct inv_builder *b, struct inv_bhost *h, int f, const char *v, const char *pos)
{
	char **dst = NULL;

	switch (f) {
	case HF_NAME: dst = &h->name; break;
	case HF_ENV: dst = &h->env; break;
	case HF_TEAM: dst = &h->team; break;
	case HF_OWNER: dst = &h->owner; break;
	case HF_CRIT: dst = &h->crit; break;
	case HF_LOC: dst = &h->loc; break;
	case HF_ALIASES: return strv_add(b, &h->aliases, v);
	case HF_TAGS: return strv_add(b, &h->tags, v);
	case HF_SERVICES: return strv_add(b, &h->services, v);
	case HF_DEPS: return depv_add(b, &h->deps, v, pos);
	default: return RFX_EINVAL;
	}
	free(*dst);
	if (!(*dst = strdup(v))) {
		b->oom = true;
		return RFX_ENOMEM;
	}
	return 0;
}

/* ---- YAML ----------------------------------------------------------------- */

static bool scalar_ok(struct inv_builder *b, const rfx_node *v, const char *what)
{
	if (v->type != RFX_NODE_SCALAR || v->null || !v->value[0]) {
		rfx_diag_add(b->d, v, "%s: expected a non-empty scalar, got %s", what,
			     v->type == RFX_NODE_SCALAR ? "nothing" : rfx_node_type_name(v->type));
		return false;
	}
	if (strlen(v->value) > INV_STR_MAX) {
		rfx_diag_add(b->d, v, "%s: longer than %d characters", what, INV_STR_MAX);
		return false;
	}
	return true;
}

/* Calls add for a scalar or for each scalar of a sequence. */
static void yaml_values(struct inv_builder *b, const rfx_node *v, const char *what, bool list,
			struct inv_bhost *h, struct inv_bsvc *s, int f)
{
	const rfx_node *one = v;
	size_t n = 1;

	if (list && v->type == RFX_NODE_SEQ) {
		n = v->n;
		if (n > INV_LIST_MAX) {
			rfx_diag_add(b->d, v, "%s: %zu entries, at most %d", what, n, INV_LIST_MAX);
			return;
		}
	} else if (v->type == RFX_NODE_SCALAR && v->null && list) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *pos;
		if (list && v->type == RFX_NODE_SEQ)
			one = v->items[i];
		if (!scalar_ok(b, one, what))
			continue;
		if (!(pos = pos_str(b, one->file, one->line, one->col)))
			return;
		if (h)
			host_set(b, h, f, one->value, pos);
		else
			depv_add(b, &s->deps, one->value, pos);
		free(pos);
	}
}

static void unknown_key(struct inv_builder *b, const rfx_node *k, const char *what,
			const char *const *allowed)
{
	const char *sug = rfx_suggest(k->value, allowed);

	if (sug)
		rfx_diag_add(b->d, k, "%s: unknown key '%s'; did you mean '%s'?", what, k->value,
			     sug);
	else
		rfx_diag_add(b->d, k, "%s: unknown key '%s'", what, k->value);
}

static void yaml_host(struct inv_builder *b, const rfx_node *m, size_t idx)
{
	char what[64], *pos;
	struct inv_bhost *h;

	snprintf(what, sizeof(what), "hosts[%zu]", idx);
	if (m->type != RFX_NODE_MAP) {
		rfx_diag_add(b->d, m, "%s: expected a mapping, got a %s", what,
			     rfx_node_type_name(m->type));
		return;
	}
	if (!(pos = pos_str(b, m->file, m->line, m->col)))
		return;
	h = host_add(b, pos);
	free(pos);
	if (!h) {
		if (!b->oom)
			rfx_diag_add(b->d, m, "%s: more than %d hosts", what, INV_HOSTS_MAX);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const rfx_node *k = m->keys[i], *v = m->items[i];
		int f = host_field(k->value);
		char fw[96];
		if (f < 0) {
			unknown_key(b, k, what, host_keys);
			continue;
		}
		snprintf(fw, sizeof(fw), "%s.%s", what, k->value);
		yaml_values(b, v, fw, is_list_field(f), h, NULL, f);
	}
	if (!h->name)
		rfx_diag_add(b->d, m, "%s: missing required key 'name'", what);
}

static const char *const svc_keys[] = {"name", "depends_on", NULL};

static void yaml_service(struct inv_builder *b, const rfx_node *m, size_t idx)
{
	char what[64], *pos;
	struct inv_bsvc *s;

	snprintf(what, sizeof(what), "services[%zu]", idx);
	if (m->type != RFX_NODE_MAP) {
		rfx_diag_add(b->d, m, "%s: expected a mapping, got a %s", what,
			     rfx_node_type_name(m->type));
		return;
	}
	if (!(pos = pos_str(b, m->file, m->line, m->col)))
		return;
	s = svc_add(b, pos);
	free(pos);
	if (!s)
		return;
	for (size_t i = 0; i < m->n; i++) {
		const rfx_node *k = m->keys[i], *v = m->items[i];
		char fw[96];
		snprintf(fw, sizeof(fw), "%s.%s", what, k->value);
		if (strcmp(k->value, "name") == 0) {
			if (scalar_ok(b, v, fw) && !(s->name = strdup(v->value)))
				b->oom = true;
		} else if (strcmp(k->value, "depends_on") == 0) {
			yaml_values(b, v, fw, true, NULL, s, 0);
		} else {
			unknown_key(b, k, what, svc_keys);
		}
	}
	if (!s->name)
		rfx_diag_add(b->d, m, "%s: missing required key 'name'", what);
}

static const char *const top_keys[] = {"hosts", "services", NULL};

void rfx_inv_yaml_load(struct inv_builder *b, const char *path)
{
	rfx_doc *doc = rfx_doc_load(path, b->d);
	const rfx_node *root = doc ? rfx_doc_root(doc) : NULL;

	if (!doc) {
		b->oom = true;
		return;
	}
	if (!root)
		goto done; /* the loader said why */
	if (root->type == RFX_NODE_SCALAR && root->null)
		goto done; /* an empty file: no assets */
	if (root->type != RFX_NODE_MAP) {
		rfx_diag_add(b->d, root, "expected a mapping with hosts: and services:, got a %s",
			     rfx_node_type_name(root->type));
		goto done;
	}
	for (size_t i = 0; i < root->n; i++) {
		const rfx_node *k = root->keys[i], *v = root->items[i];
		bool hosts = strcmp(k->value, "hosts") == 0;
		if (!hosts && strcmp(k->value, "services") != 0) {
			unknown_key(b, k, "inventory", top_keys);
			continue;
		}
		if (v->type == RFX_NODE_SCALAR && v->null)
			continue;
		if (v->type != RFX_NODE_SEQ) {
			rfx_diag_add(b->d, v, "%s: expected a list, got a %s", k->value,
				     rfx_node_type_name(v->type));
			continue;
		}
		for (size_t j = 0; j < v->n; j++) {
			if (hosts)
				yaml_host(b, v->items[j], j);
			else
				yaml_service(b, v->items[j], j);
		}
	}
done:
	rfx_doc_free(doc);
}

/* ---- CSV ------------------------------------------------------------------ */

/*
 * Splits one line (RFC 4180 quoting, no line breaks inside quotes) in place
 * into at most CSV_COLS_MAX fields. Unquoted fields are trimmed. Returns the
 * number of fields, or -1 with a reason and the column of the problem.
 */
static int csv_split(char *line, char **f, const char **why, int *col)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		if (n == CSV_COLS_MAX) {
			*why = "too many columns";
			*col = (int)(r - line) + 1;
			return -1;
		}
		while (*r == ' ' || *r == '\t')
			r++;
		f[n] = w = r;
		if (*r == '"') {
			f[n] = w = ++r;
			for (;;) {
				if (!*r) {
					*why = "unterminated quoted field";
					*col = (int)(f[n] - line);
					return -1;
				}
				if (*r == '"' && r[1] == '"') {
					*w++ = '"';
					r += 2;
				} else if (*r == '"') {
					r++;
					break;
				} else {
					*w++ = *r++;
				}
			}
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r && *r != ',') {
				*why = "text after a closing quote";
				*col = (int)(r - line) + 1;
				return -1;
			}
		} else {
			while (*r && *r != ',')
				*w++ = *r++;
			while (w > f[n] && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
		}
		n++;
		if (!*r) {
			*w = '\0';
			return n;
		}
		*w = '\0';
		r++; /* past the comma; w never passes r */
	}
}

/* Adds each ';'-separated value of cell. */
static void csv_values(struct inv_builder *b, struct inv_bhost *h, struct inv_bsvc *s, int f, char *cell,
		       const char *pos)
{
	char *save = NULL;
	size_t count = 0;

	for (char *t = strtok_r(cell, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		while (isspace((unsigned char)*t))
			t++;
		size_t len = strlen(t);
		while (len && isspace((unsigned char)t[len - 1]))
			t[--len] = '\0';
		if (!len)
			continue;
		if (++count > INV_LIST_MAX || len > INV_STR_MAX) {
			rfx_diag_add(b->d, NULL, "%s: %s", pos,
				      len > INV_STR_MAX ? "value too long" : "too many values");
			return;
		}
		if (h)
			host_set(b, h, f, t, pos);
		else
			depv_add(b, &s->deps, t, pos);
	}
}

void rfx_inv_csv_load(struct inv_builder *b, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *f[CSV_COLS_MAX];
	int cols[CSV_COLS_MAX], ncols = 0, lineno = 0;
	size_t cap = 0;
	ssize_t len;
	bool services = false, header = true;

	if (!fp) {
		rfx_diag_addp(b->d, path, 0, 0, "cannot read inventory file: %s", strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		const char *why = NULL;
		int col = 0, n;
		lineno++;
		if (len > CSV_LINE_MAX) {
			rfx_diag_addp(b->d, path, lineno, 1, "line longer than %d bytes",
				      CSV_LINE_MAX);
			break;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *p = line;
		if (lineno == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
		    (unsigned char)p[2] == 0xBF)
			p += 3; /* spreadsheets write a UTF-8 byte order mark */
		char *q = p;
		while (isspace((unsigned char)*q))
			q++;
		if (!*q || *q == '#')
			continue;
		if ((n = csv_split(p, f, &why, &col)) < 0) {
			rfx_diag_addp(b->d, path, lineno, col + (int)(p - line), "%s", why);
			continue;
		}
		if (header) {
			header = false;
			ncols = n;
			services = strcmp(f[0], "service") == 0;
			for (int i = 0; i < n; i++) {
				cols[i] = services ? (strcmp(f[i], "service") == 0 ? 0
						      : strcmp(f[i], "depends_on") == 0 ? 1 : -1)
						   : host_field(f[i]);
				if (cols[i] < 0)
					rfx_diag_addp(b->d, path, lineno, 1,
						      "unknown column '%s' (expected %s)", f[i],
						      services ? "service, depends_on"
							       : "name, aliases, environment, team, "
								 "owner, criticality, location, tags, "
								 "services, depends_on");
			}
			if (!services && host_field(f[0]) != HF_NAME)
				rfx_diag_addp(b->d, path, lineno, 1,
					      "the first column must be 'name' (hosts) or "
					      "'service' (service dependencies)");
			continue;
		}
		if (n != ncols) {
			rfx_diag_addp(b->d, path, lineno, 1, "%d fields, the header has %d", n,
				      ncols);
			continue;
		}
		char *pos = pos_str(b, path, lineno, 1);
		struct inv_bhost *h = NULL;
		struct inv_bsvc *s = NULL;
		if (!pos)
			break;
		if (!f[0][0])
			rfx_diag_addp(b->d, path, lineno, 1, "empty %s", services ? "service" : "name");
		else if (services ? !(s = svc_add(b, pos)) : !(h = host_add(b, pos)))
			rfx_diag_addp(b->d, path, lineno, 1, "too many entries");
		for (int i = 0; (h || s) && i < n; i++) {
			if (cols[i] < 0 || !f[i][0])
				continue;
			if (s && cols[i] == 0) {
				if (!(s->name = strdup(f[i])))
					b->oom = true;
			} else if (s) {
				csv_values(b, NULL, s, 0, f[i], pos);
			} else if (is_list_field(cols[i])) {
				csv_values(b, h, NULL, cols[i], f[i], pos);
			} else {
				host_set(b, h, cols[i], f[i], pos);
			}
		}
		free(pos);
		if (b->oom)
			break;
	}
	if (ferror(fp))
		rfx_diag_addp(b->d, path, lineno, 0, "read error: %s", strerror(errno));
	free(line);
	fclose(fp);
}
