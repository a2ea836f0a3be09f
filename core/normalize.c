/*
 * core/normalize.c - the normalize stage (see normalize.h): per-source
 * severity and status maps over built-in tables, receipt-time checks, host
 * name canonicalisation and label key normalisation.
 */
#include "normalize.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"

#define NORM_HOST_MAX 256  /* longer host names are left as they are */
#define NORM_KEY_MAX 256   /* label keys are cut to this length */
#define NORM_FROM_MAX 2    /* candidate places of a format's raw value */
#define NS_PER_MS 1000000LL

const char *const rfx_normalize_formats[] = {"auto",   "alertmanager", "zabbix",  "nagios",
					     "syslog", "snmp",         "generic", "none",
					     NULL};
static const char *const skew_names[] = {"received", "keep", NULL};
static const char *const case_names[] = {"lower", "keep", NULL};
static const char *const keys_names[] = {"normalize", "keep", NULL};

static const rfx_option source_options[] = {
	{"match", RFX_OPT_STRING, "*", 0, 0, 0, NULL,
	 "Source instance name this rule applies to; shell glob (zbx-*)",
	 offsetof(struct rfx_normalize_source, match), NULL},
	{"kind", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Event kind this rule applies to (alert, log, trap, ...); any when unset",
	 offsetof(struct rfx_normalize_source, kind), NULL},
	{"format", RFX_OPT_ENUM, "auto", 0, 0, 0, rfx_normalize_formats,
	 "What the source is: where its raw severity and status are read and which "
	 "built-in table applies. auto detects it and uses the table only for values the "
	 "input could not map; a named format applies its table to every event",
	 offsetof(struct rfx_normalize_source, format), NULL},
	{"severity_from", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Where the raw severity is: labels.NAME, attrs.NAME, severity (the input's 0-7) "
	 "or status; default: the format's place",
	 offsetof(struct rfx_normalize_source, severity_from), NULL},
	{"severity_map", RFX_OPT_MAP, NULL, 0, 0, 0, NULL,
	 "Raw value (any case) to reflex severity; wins over the built-in table",
	 offsetof(struct rfx_normalize_source, severity_map), NULL},
	{"status_from", RFX_OPT_STRING, NULL, 0, 0, 0, NULL,
	 "Where the raw status is, like severity_from",
	 offsetof(struct rfx_normalize_source, status_from), NULL},
	{"status_map", RFX_OPT_MAP, NULL, 0, 0, 0, NULL,
	 "Raw value (any case) to firing or resolved",
	 offsetof(struct rfx_normalize_source, status_map), NULL},
	RFX_OPTION_END_SIZE(struct rfx_normalize_source),
};

const rfx_option rfx_normalize_options[] = {
	{"sources", RFX_OPT_SECTION_LIST, NULL, 0, 0, 0, NULL,
	 "Per-source severity and status rules; the first matching rule applies",
	 offsetof(struct rfx_normalize_conf, sources), source_options},
	{"future_tolerance", RFX_OPT_DURATION, "5m", RFX_OPT_RANGE, 0, 365.0 * 86400000, NULL,
	 "Events that occurred further than this after their receipt are flagged "
	 "(attrs.normalize.clock: future); 0 turns the check off",
	 offsetof(struct rfx_normalize_conf, future_tolerance_ms), NULL},
	{"past_tolerance", RFX_OPT_DURATION, "30d", RFX_OPT_RANGE, 0, 3650.0 * 86400000, NULL,
	 "Events that occurred longer than this before their receipt are flagged "
	 "(attrs.normalize.clock: past); 0 turns the check off",
	 offsetof(struct rfx_normalize_conf, past_tolerance_ms), NULL},
	{"skewed_time", RFX_OPT_ENUM, "keep", 0, 0, 0, skew_names,
	 "What a flagged event's time becomes: received (the receipt time; the sender's "
	 "time is kept in attrs.normalize.occurred_reported) or keep",
	 offsetof(struct rfx_normalize_conf, skewed_time), NULL},
	{"host_case", RFX_OPT_ENUM, "lower", 0, 0, 0, case_names,
	 "Host names in lower case, or as sent",
	 offsetof(struct rfx_normalize_conf, host_case), NULL},
	{"strip_domains", RFX_OPT_LIST, NULL, 0, 0, 0, NULL,
	 "Domains removed from the end of host names (db1.example.com -> db1)",
	 offsetof(struct rfx_normalize_conf, strip_domains), NULL},
	{"short_hostnames", RFX_OPT_BOOL, "false", 0, 0, 0, NULL,
	 "Cut every host name that is not an IP address at its first dot",
	 offsetof(struct rfx_normalize_conf, short_hostnames), NULL},
	{"label_keys", RFX_OPT_ENUM, "keep", 0, 0, 0, keys_names,
	 "normalize: label keys lower case, characters outside [a-z0-9_] become '_', the "
	 "first of colliding keys wins; keep: as sent",
	 offsetof(struct rfx_normalize_conf, label_keys), NULL},
	RFX_OPTION_END,
};

/* ---- built-in tables ---------------------------------------------------- */

struct norm_entry {
	const char *raw;
	int value;
};

/* Conventions seen in Alertmanager and generic senders that are not reflex
 * severity names or aliases; rfx_severity_parse covers the rest. */
static const struct norm_entry common_sev[] = {
	{"page", RFX_SEV_CRITICAL}, {"none", RFX_SEV_INFO},    {"p1", RFX_SEV_CRITICAL},
	{"p2", RFX_SEV_ERROR},      {"p3", RFX_SEV_WARNING},   {"p4", RFX_SEV_NOTICE},
	{"p5", RFX_SEV_INFO},       {"sev1", RFX_SEV_CRITICAL}, {"sev2", RFX_SEV_ERROR},
	{"sev3", RFX_SEV_WARNING},  {"sev4", RFX_SEV_NOTICE},  {"medium", RFX_SEV_WARNING},
	{"low", RFX_SEV_NOTICE},    {NULL, 0},
};
/* Zabbix 0-5 and its names, ranked as the webhook's zabbix format does. */
static const struct norm_entry zabbix_sev[] = {
	{"0", RFX_SEV_INFO},    {"1", RFX_SEV_INFO},     {"2", RFX_SEV_WARNING},
	{"3", RFX_SEV_ERROR},   {"4", RFX_SEV_CRITICAL}, {"5", RFX_SEV_ALERT},
	{"not classified", RFX_SEV_INFO}, {"not_classified", RFX_SEV_INFO},
	{"information", RFX_SEV_INFO}, {"warning", RFX_SEV_WARNING}, {"average", RFX_SEV_ERROR},
	{"high", RFX_SEV_CRITICAL}, {"disaster", RFX_SEV_ALERT}, {NULL, 0},
};
static const struct norm_entry nagios_sev[] = {
	{"OK", RFX_SEV_INFO},      {"WARNING", RFX_SEV_WARNING}, {"CRITICAL", RFX_SEV_CRITICAL},
	{"UNKNOWN", RFX_SEV_WARNING}, {"UP", RFX_SEV_INFO},      {"DOWN", RFX_SEV_CRITICAL},
	{"UNREACHABLE", RFX_SEV_ERROR}, {NULL, 0},
};
static const struct norm_entry syslog_sev[] = {
	{"0", 0}, {"1", 1}, {"2", 2}, {"3", 3}, {"4", 4}, {"5", 5}, {"6", 6}, {"7", 7}, {NULL, 0},
};
/* The generic traps (RFC 3418 names), as the snmptrap input ranks them. */
static const struct norm_entry snmp_sev[] = {
	{"coldStart", RFX_SEV_NOTICE},  {"warmStart", RFX_SEV_NOTICE},
	{"linkDown", RFX_SEV_WARNING},  {"linkUp", RFX_SEV_INFO},
	{"authenticationFailure", RFX_SEV_WARNING}, {"egpNeighborLoss", RFX_SEV_ERROR},
	{NULL, 0},
};
static const struct norm_entry common_status[] = {
	{"firing", RFX_STATUS_FIRING},   {"resolved", RFX_STATUS_RESOLVED},
	{"problem", RFX_STATUS_FIRING},  {"ok", RFX_STATUS_RESOLVED},
	{"recovery", RFX_STATUS_RESOLVED}, {NULL, 0},
};
static const struct norm_entry nagios_status[] = {
	{"PROBLEM", RFX_STATUS_FIRING},           {"RECOVERY", RFX_STATUS_RESOLVED},
	{"ACKNOWLEDGEMENT", RFX_STATUS_FIRING},   {"FLAPPINGSTART", RFX_STATUS_FIRING},
	{"FLAPPINGSTOP", RFX_STATUS_RESOLVED},    {"FLAPPINGDISABLED", RFX_STATUS_RESOLVED},
	{"DOWNTIMESTART", RFX_STATUS_FIRING},     {"DOWNTIMEEND", RFX_STATUS_RESOLVED},
	{"DOWNTIMECANCELLED", RFX_STATUS_RESOLVED}, {NULL, 0},
};
static const struct norm_entry snmp_status[] = {
	{"linkDown", RFX_STATUS_FIRING}, {"linkUp", RFX_STATUS_RESOLVED}, {NULL, 0},
};

struct norm_format {
	const char *sev_from[NORM_FROM_MAX];
	const struct norm_entry *sev;
	bool sev_parse; /* fall back to rfx_severity_parse */
	const char *status_from[NORM_FROM_MAX];
	const struct norm_entry *status;
};

/* Indexed by enum rfx_norm_format. Where the inputs keep the raw values:
 * alertmanager/grafana the severity label, zabbix attrs.zabbix_severity,
 * nagios attrs.state and attrs.notification_type, syslog the PRI severity,
 * snmptrap labels.trap. */
static const struct norm_format formats[] = {
	[RFX_NORM_AUTO] = {{NULL, NULL}, NULL, false, {NULL, NULL}, NULL},
	[RFX_NORM_ALERTMANAGER] = {{"labels.severity", NULL}, common_sev, true,
				   {"status", NULL}, common_status},
	[RFX_NORM_ZABBIX] = {{"attrs.zabbix_severity", "attrs.zabbix_severity_name"}, zabbix_sev,
			     false, {"status", NULL}, common_status},
	[RFX_NORM_NAGIOS] = {{"attrs.state", NULL}, nagios_sev, false,
			     {"attrs.notification_type", NULL}, nagios_status},
	[RFX_NORM_SYSLOG] = {{"severity", NULL}, syslog_sev, false, {"status", NULL}, NULL},
	[RFX_NORM_SNMP] = {{"labels.trap", NULL}, snmp_sev, false, {"labels.trap", NULL},
			   snmp_status},
	[RFX_NORM_GENERIC] = {{"labels.severity", NULL}, common_sev, true, {"status", NULL},
			      common_status},
	[RFX_NORM_NONE] = {{NULL, NULL}, NULL, false, {NULL, NULL}, NULL},
};

/* ---- the compiled normalizer -------------------------------------------- */

struct norm_map {
	size_t n;
	char **raw;
	int *value;
};

struct norm_rule {
	char *match, *kind;
	int format;
	char *sev_from, *status_from;
	struct norm_map sev, status;
};

struct rfx_normalizer {
	struct norm_rule *rules;
	size_t nrules;
	int64_t future_ns, past_ns;
	int skewed_time, host_case, label_keys;
	bool short_hostnames;
	char **domains;
	size_t ndomains;
};

static void map_free(struct norm_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->raw[i]);
	free(m->raw);
	free(m->value);
}

static int status_parse(const char *s)
{
	if (strcasecmp(s, "firing") == 0)
		return RFX_STATUS_FIRING;
	if (strcasecmp(s, "resolved") == 0)
		return RFX_STATUS_RESOLVED;
	return -1;
}

static bool from_valid(const char *from)
{
	if (!from)
		return true;
	if (strcmp(from, "severity") == 0 || strcmp(from, "status") == 0)
		return true;
	if (strncmp(from, "labels.", 7) == 0 && from[7])
		return true;
	return strncmp(from, "attrs.", 6) == 0 && from[6];
}

static int map_compile(const struct rfx_strmap *in, struct norm_map *out, bool is_status,
		       size_t idx, char *err, size_t errlen)
{
	const char *what = is_status ? "status_map" : "severity_map";

	if (!in->n)
		return 0;
	out->raw = calloc(in->n, sizeof(*out->raw));
	out->value = calloc(in->n, sizeof(*out->value));
	if (!out->raw || !out->value) {
		snprintf(err, errlen, "out of memory");
		return RFX_ENOMEM;
	}
	for (size_t i = 0; i < in->n; i++) {
		const char *v = in->values[i] ? in->values[i] : "";
		int x = is_status ? status_parse(v) : rfx_severity_parse(v);
		if (x < 0) {
			snprintf(err, errlen,
				 "pipeline.normalize.sources[%zu].%s.%s: '%s' is not a reflex %s",
				 idx, what, in->keys[i], v,
				 is_status ? "status (firing or resolved)" : "severity");
			return RFX_EINVAL;
		}
		if (!(out->raw[out->n] = strdup(in->keys[i]))) {
			snprintf(err, errlen, "out of memory");
			return RFX_ENOMEM;
		}
		out->value[out->n++] = x;
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

void rfx_normalizer_free(struct rfx_normalizer *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nrules; i++) {
		struct norm_rule *r = &n->rules[i];
		free(r->match);
		free(r->kind);
		free(r->sev_from);
		free(r->status_from);
		map_free(&r->sev);
		map_free(&r->status);
	}
	free(n->rules);
	for (size_t i = 0; i < n->ndomains; i++)
		free(n->domains[i]);
	free(n->domains);
	free(n);
}

struct rfx_normalizer *rfx_normalizer_new(const struct rfx_normalize_conf *conf, char *err,
					  size_t errlen)
{
	struct rfx_normalizer *n = calloc(1, sizeof(*n));
	const struct rfx_normalize_source *src = conf->sources.v;
	bool oom = false;

	if (!n)
		goto nomem;
	n->future_ns = conf->future_tolerance_ms * NS_PER_MS;
	n->past_ns = conf->past_tolerance_ms * NS_PER_MS;
	n->skewed_time = conf->skewed_time;
	n->host_case = conf->host_case;
	n->label_keys = conf->label_keys;
	n->short_hostnames = conf->short_hostnames;
	if (conf->sources.n && !(n->rules = calloc(conf->sources.n, sizeof(*n->rules))))
		goto nomem;
	for (size_t i = 0; i < conf->sources.n; i++) {
		const struct rfx_normalize_source *s = &src[i];
		struct norm_rule *r = &n->rules[i];
		n->nrules = i + 1;
		if (s->format < 0 || s->format > RFX_NORM_NONE) {
			snprintf(err, errlen, "pipeline.normalize.sources[%zu].format: bad value", i);
			goto fail;
		}
		if (!from_valid(s->severity_from) || !from_valid(s->status_from)) {
			snprintf(err, errlen,
				 "pipeline.normalize.sources[%zu]: '%s': expected labels.NAME, "
				 "attrs.NAME, severity or status", i,
				 from_valid(s->severity_from) ? s->status_from : s->severity_from);
			goto fail;
		}
		r->format = s->format;
		r->match = dup_or_null(s->match ? s->match : "*", &oom);
		r->kind = dup_or_null(s->kind, &oom);
		r->sev_from = dup_or_null(s->severity_from, &oom);
		r->status_from = dup_or_null(s->status_from, &oom);
		if (oom)
			goto nomem;
		if (map_compile(&s->severity_map, &r->sev, false, i, err, errlen) != 0 ||
		    map_compile(&s->status_map, &r->status, true, i, err, errlen) != 0)
			goto fail;
	}
	if (conf->strip_domains.n &&
	    !(n->domains = calloc(conf->strip_domains.n, sizeof(*n->domains))))
		goto nomem;
	for (size_t i = 0; i < conf->strip_domains.n; i++) {
		const char *d = conf->strip_domains.v[i];
		while (*d == '.')
			d++; /* ".example.com" and "example.com" mean the same */
		if (!*d) {
			snprintf(err, errlen, "pipeline.normalize.strip_domains[%zu]: empty domain", i);
			goto fail;
		}
		if (!(n->domains[i] = strdup(d)))
			goto nomem;
		n->ndomains = i + 1;
	}
	return n;
nomem:
	snprintf(err, errlen, "pipeline.normalize: out of memory");
fail:
	rfx_normalizer_free(n);
	return NULL;
}

/* ---- helpers on the event ----------------------------------------------- */

/* attrs.normalize, created on first use. NULL out of memory. */
static struct json_object *norm_attrs(rfx_event *ev)
{
	struct json_object *o = NULL;

	if (json_object_object_get_ex(ev->attrs, "normalize", &o) &&
	    json_object_is_type(o, json_type_object))
		return o;
	if (!(o = json_object_new_object()))
		return NULL;
	if (json_object_object_add(ev->attrs, "normalize", o) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int note_str(rfx_event *ev, const char *key, const char *value)
{
	struct json_object *o = norm_attrs(ev), *v;

	if (!o || !(v = json_object_new_string(value)))
		return RFX_ENOMEM;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return RFX_ENOMEM;
	}
	return 0;
}

/* The raw value at `from` as text in buf, or NULL when absent. */
static const char *raw_value(const rfx_event *ev, const char *from, char *buf, size_t len)
{
	struct json_object *v = NULL;

	if (strcmp(from, "severity") == 0) {
		snprintf(buf, len, "%d", ev->severity);
		return buf;
	}
	if (strcmp(from, "status") == 0)
		return ev->status == RFX_STATUS_RESOLVED ? "resolved" : "firing";
	if (strncmp(from, "labels.", 7) == 0)
		return rfx_event_label_get(ev, from + 7);
	if (!json_object_object_get_ex(ev->attrs, from + 6, &v) || !v)
		return NULL;
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return NULL;
	snprintf(buf, len, "%s", json_object_get_string(v));
	return buf[0] ? buf : NULL;
}

static bool has_attr(const rfx_event *ev, const char *key)
{
	return json_object_object_get_ex(ev->attrs, key, NULL);
}

/* What the event looks like, from what each input leaves behind. */
static int detect_format(const rfx_event *ev)
{
	const char *kind = rfx_event_kind(ev) ? rfx_event_kind(ev) : "";

	if (has_attr(ev, "zabbix_severity"))
		return RFX_NORM_ZABBIX;
	if (has_attr(ev, "alertmanager_status"))
		return RFX_NORM_ALERTMANAGER;
	if (has_attr(ev, "notification_type"))
		return RFX_NORM_NAGIOS;
	if (strcmp(kind, "trap") == 0)
		return RFX_NORM_SNMP;
	if (strcmp(kind, "log") == 0 && rfx_event_label_get(ev, "facility"))
		return RFX_NORM_SYSLOG;
	return RFX_NORM_GENERIC;
}

static const struct norm_rule *find_rule(const struct rfx_normalizer *n, const rfx_event *ev)
{
	const char *src = rfx_event_source(ev) ? rfx_event_source(ev) : "";
	const char *kind = rfx_event_kind(ev);

	for (size_t i = 0; i < n->nrules; i++) {
		const struct norm_rule *r = &n->rules[i];
		if (fnmatch(r->match, src, 0) != 0)
			continue;
		if (r->kind && (!kind || strcasecmp(r->kind, kind) != 0))
			continue;
		return r;
	}
	return NULL;
}

static int map_lookup(const struct norm_map *m, const char *raw, bool severity_path, int cur)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->raw[i], raw) == 0)
			return m->value[i];
		/* "severity" is the input's 0-7: a key may name it ("notice"). */
		if (severity_path && rfx_severity_parse(m->raw[i]) == cur)
			return m->value[i];
	}
	return -1;
}

static int table_lookup(const struct norm_entry *t, const char *raw)
{
	for (; t && t->raw; t++)
		if (strcasecmp(t->raw, raw) == 0)
			return t->value;
	return -1;
}

/*
 * One of severity or status. The rule's map wins; the format's table applies
 * when the rule names the format, or (auto) when the input flagged the value
 * as unmapped (flag_value non-NULL: the raw value it could not map). Every
 * place the format keeps a raw value is tried, so a Zabbix map may use the
 * numbers or the names.
 */
static int apply_scale(rfx_event *ev, const struct norm_rule *r, int fmt, bool status,
		       const char *flag_value)
{
	const struct norm_format *f = &formats[fmt];
	const char *from_cfg = r ? (status ? r->status_from : r->sev_from) : NULL;
	const struct norm_map *map = r ? (status ? &r->status : &r->sev) : NULL;
	const char *self = status ? "status" : "severity";
	bool explicit = r && r->format != RFX_NORM_AUTO;
	bool fill = !status && flag_value && !explicit;
	int cur = status ? ev->status : ev->severity;
	const char *raw[NORM_FROM_MAX] = {NULL, NULL}, *from[NORM_FROM_MAX] = {NULL, NULL};
	char buf[NORM_FROM_MAX][256];
	const char *hit = NULL, *how = "map";
	int v = -1;
	size_t nraw = 0;

	if (fill) {
		raw[nraw++] = flag_value;
	} else if (from_cfg) {
		from[0] = from_cfg;
		if ((raw[0] = raw_value(ev, from_cfg, buf[0], sizeof(buf[0]))))
			nraw++;
	} else {
		for (int i = 0; i < NORM_FROM_MAX; i++) {
			const char *fr = status ? f->status_from[i] : f->sev_from[i];
			if (fr && (raw[nraw] = raw_value(ev, fr, buf[nraw], sizeof(buf[nraw]))))
				from[nraw++] = fr;
		}
	}
	for (size_t i = 0; i < nraw && v < 0 && map; i++)
		if ((v = map_lookup(map, raw[i], from[i] && strcmp(from[i], self) == 0, cur)) >= 0)
			hit = raw[i];
	if (v < 0 && (explicit || fill)) {
		how = "default";
		for (size_t i = 0; i < nraw && v < 0; i++) {
			v = table_lookup(status ? f->status : f->sev, raw[i]);
			if (v < 0 && !status && f->sev_parse)
				v = rfx_severity_parse(raw[i]);
			hit = raw[i];
		}
	}
	if (v < 0) {
		if (explicit && !status && nraw)
			return note_str(ev, "severity_unmapped", raw[0]);
		return 0;
	}
	if (v == cur && !fill)
		return 0;
	if (status)
		ev->status = v;
	else
		ev->severity = v;
	if (note_str(ev, status ? "status_raw" : "severity_raw", hit) != 0 ||
	    note_str(ev, status ? "status_by" : "severity_by", how) != 0)
		return RFX_ENOMEM;
	return 0;
}

static int normalize_scales(const struct rfx_normalizer *n, rfx_event *ev)
{
	const struct norm_rule *r = find_rule(n, ev);
	int fmt = r && r->format != RFX_NORM_AUTO ? r->format : detect_format(ev);
	const char *flag = NULL;
	struct json_object *fv = NULL;
	int rc;

	/* Inputs that could not map a severity say so; auto fills that gap. */
	if ((json_object_object_get_ex(ev->attrs, "severity_unmapped", &fv) ||
	     json_object_object_get_ex(ev->attrs, "unknown_severity", &fv)) &&
	    json_object_is_type(fv, json_type_string))
		flag = json_object_get_string(fv);
	if ((rc = apply_scale(ev, r, fmt, false, flag)) != 0)
		return rc;
	return apply_scale(ev, r, fmt, true, NULL);
}

/* ---- time --------------------------------------------------------------- */

static int normalize_time(const struct rfx_normalizer *n, rfx_event *ev, int64_t now_ns)
{
	int64_t ref = ev->received_ns ? ev->received_ns : now_ns;
	const char *clock = NULL;
	char t[40];

	if (ev->occurred_ns == 0) {
		/* Unknown time: the receipt is the best estimate there is. */
		ev->occurred_ns = ref;
		return note_str(ev, "clock", "missing");
	}
	if (n->future_ns > 0 && ev->occurred_ns > ref && ev->occurred_ns - ref > n->future_ns)
		clock = "future";
	else if (n->past_ns > 0 && ev->occurred_ns < ref && ref - ev->occurred_ns > n->past_ns)
		clock = "past";
	if (!clock)
		return 0;
	rfx_time_format(ev->occurred_ns, t, sizeof(t));
	if (note_str(ev, "clock", clock) != 0 || note_str(ev, "occurred_reported", t) != 0)
		return RFX_ENOMEM;
	if (n->skewed_time == RFX_SKEW_RECEIVED)
		ev->occurred_ns = ref;
	return 0;
}

/* ---- host names --------------------------------------------------------- */

static bool is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int normalize_host(const struct rfx_normalizer *n, rfx_event *ev)
{
	const char *h = rfx_event_host(ev);
	char buf[NORM_HOST_MAX];
	size_t len;

	if (!h || !*h)
		return 0;
	while (isspace((unsigned char)*h))
		h++;
	len = strlen(h);
	if (len >= sizeof(buf))
		return 0; /* not a host name; leave it for people to see */
	memcpy(buf, h, len + 1);
	while (len && (isspace((unsigned char)buf[len - 1]) || buf[len - 1] == '.'))
		buf[--len] = '\0';
	if (n->host_case == RFX_CASE_LOWER)
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)tolower((unsigned char)buf[i]);
	if (len && !is_ip(buf)) {
		for (size_t i = 0; i < n->ndomains; i++) {
			size_t dl = strlen(n->domains[i]);
			if (len > dl + 1 && buf[len - dl - 1] == '.' &&
			    strcasecmp(buf + len - dl, n->domains[i]) == 0) {
				len -= dl + 1;
				buf[len] = '\0';
				break;
			}
		}
		char *dot = strchr(buf, '.');
		if (n->short_hostnames && dot && dot != buf) {
			*dot = '\0';
			len = (size_t)(dot - buf);
		}
	}
	if (!len || strcmp(buf, rfx_event_host(ev)) == 0)
		return 0;
	if (note_str(ev, "host_reported", rfx_event_host(ev)) != 0)
		return RFX_ENOMEM;
	return rfx_event_set(ev, RFX_F_HOST, buf);
}

/* ---- label keys --------------------------------------------------------- */

int rfx_normalize_label_key(const char *key, char *out, size_t outlen)
{
	size_t j = 0;

	if (!key || !outlen)
		return -1;
	for (size_t i = 0; key[i] && j + 1 < outlen; i++) {
		unsigned char c = (unsigned char)key[i];
		if (isupper(c))
			c = (unsigned char)tolower(c);
		if (!(islower(c) || isdigit(c) || c == '_'))
			c = '_';
		out[j++] = (char)c;
	}
	out[j] = '\0';
	return j ? (int)j : -1;
}

static int normalize_labels(rfx_event *ev)
{
	struct rfx_label *nl = NULL;
	struct json_object *coll = NULL;
	char key[NORM_KEY_MAX];
	size_t n = 0, i;
	bool change = false;
	int rc = 0;

	for (i = 0; i < ev->nlabels && !change; i++)
		if (rfx_normalize_label_key(ev->labels[i].key, key, sizeof(key)) < 0 ||
		    strcmp(key, ev->labels[i].key) != 0)
			change = true;
	if (!change)
		return 0;
	if (!(nl = calloc(ev->labels_cap, sizeof(*nl))))
		return RFX_ENOMEM;
	/* Build the new list in insertion order so the first key of a
	 * collision keeps its value; the event is only touched once all the
	 * allocations succeeded. */
	for (i = 0; i < ev->nlabels; i++) {
		struct rfx_label *l = &ev->labels[i];
		bool dup = false;
		if (rfx_normalize_label_key(l->key, key, sizeof(key)) < 0)
			snprintf(key, sizeof(key), "_");
		for (size_t k = 0; k < n && !dup; k++)
			dup = strcmp(nl[k].key, key) == 0;
		if (dup) {
			struct json_object *s;
			if (!coll && !(coll = json_object_new_array()))
				goto nomem;
			if (!(s = json_object_new_string(l->key)) ||
			    json_object_array_add(coll, s) != 0) {
				json_object_put(s);
				goto nomem;
			}
			continue;
		}
		nl[n].value = l->value; /* moved below, once nothing can fail */
		if (strcmp(key, l->key) == 0)
			nl[n].key = l->key;
		else if (!(nl[n].key = strdup(key)))
			goto nomem;
		n++;
	}
	if (coll) {
		struct json_object *o = norm_attrs(ev);
		if (!o || json_object_object_add(o, "label_collisions", coll) != 0)
			goto nomem;
		coll = NULL;
	}
	for (i = 0; i < ev->nlabels; i++) {
		struct rfx_label *l = &ev->labels[i];
		bool kept_key = false, kept_value = false;
		for (size_t k = 0; k < n; k++) {
			kept_key |= nl[k].key == l->key;
			kept_value |= nl[k].value == l->value;
		}
		if (!kept_key)
			free(l->key);
		if (!kept_value)
			free(l->value);
	}
	free(ev->labels);
	ev->labels = nl;
	ev->nlabels = n;
	return 0;
nomem:
	for (i = 0; i < n; i++) {
		bool borrowed = false;
		for (size_t k = 0; k < ev->nlabels && !borrowed; k++)
			borrowed = nl[i].key == ev->labels[k].key;
		if (!borrowed)
			free(nl[i].key);
	}
	free(nl);
	json_object_put(coll);
	rc = RFX_ENOMEM;
	return rc;
}

/* ---- the stage ---------------------------------------------------------- */

int rfx_normalize(const struct rfx_normalizer *n, rfx_event *ev, int64_t now_ns)
{
	int rc;

	if (!n || !ev || !ev->attrs)
		return RFX_EINVAL;
	/* Keys first: the maps and later stages see the final label names. */
	if (n->label_keys == RFX_KEYS_NORMALIZE && (rc = normalize_labels(ev)) != 0)
		return rc;
	if ((rc = normalize_scales(n, ev)) != 0)
		return rc;
	if ((rc = normalize_time(n, ev, now_ns)) != 0)
		return rc;
	return normalize_host(n, ev);
}
