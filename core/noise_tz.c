/*
 * core/noise_tz.c - UTC offsets of IANA time zones for maintenance windows,
 * read from TZif files (RFC 8536) and their POSIX TZ footer. We do this
 * ourselves rather than switch TZ and call tzset(), because TZ is process
 * state that every localtime_r() in every thread reads unlocked.
 */
#include "noise_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define TZ_FILE_MAX (256 * 1024) /* real files are a few KiB */
#define TZ_NAME_MAX 64
#define TZ_TYPES_MAX 256

/* One DST switching rule of a POSIX TZ string. */
struct tz_rule_date {
	char kind; /* 'J' (1-365, no Feb 29), 'D' (0-365), 'M' (month.week.day) */
	int a, b, c;
	int32_t time; /* seconds after local midnight; may be negative or > 24h */
};

struct tz_posix {
	bool valid;
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_rule_date start, end;
};

struct rfx_noise_tz {
	char name[TZ_NAME_MAX];
	size_t ntrans;
	int64_t *trans;    /* transition times, ascending */
	uint8_t *idx;      /* type index per transition */
	size_t ntypes;
	int32_t *utoff;    /* per type */
	struct tz_posix footer;
};

int64_t rfx_noise_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* shift the year to start in March so Feb 29 is the last day */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (m + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* Year of a day count since the epoch. */
static int64_t year_of_days(int64_t days)
{
	int64_t y = 1970 + days / 366;
	while (rfx_noise_days_from_civil(y + 1, 1, 1) <= days)
		y++;
	while (rfx_noise_days_from_civil(y, 1, 1) > days)
		y--;
	return y;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- POSIX TZ strings: "CET-1CEST,M3.5.0,M10.5.0/3" ---- */

static const char *parse_tz_name(const char *p)
{
	if (*p == '<') {
		const char *q = strchr(p, '>');
		return q && q - p >= 4 ? q + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hours up to 167 (RFC 8536 extension). */
static const char *parse_hms(const char *p, int32_t *out)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return NULL;
	long h = strtol(p, (char **)&p, 10), m = 0, s = 0;
	if (h > 167)
		return NULL;
	if (*p == ':') {
		p++;
		if (*p < '0' || *p > '9')
			return NULL;
		m = strtol(p, (char **)&p, 10);
		if (*p == ':') {
			p++;
			if (*p < '0' || *p > '9')
				return NULL;
			s = strtol(p, (char **)&p, 10);
		}
	}
	if (m > 59 || s > 59)
		return NULL;
	*out = (int32_t)(sign * (h * 3600 + m * 60 + s));
	return p;
}

static const char *parse_rule_date(const char *p, struct tz_rule_date *r)
{
	char *e;
	r->time = 7200; /* 02:00 unless given */
	if (*p == 'J') {
		r->kind = 'J';
		r->a = (int)strtol(p + 1, &e, 10);
		if (e == p + 1 || r->a < 1 || r->a > 365)
			return NULL;
	} else if (*p == 'M') {
		r->kind = 'M';
		r->a = (int)strtol(p + 1, &e, 10);
		if (*e != '.' || r->a < 1 || r->a > 12)
			return NULL;
		r->b = (int)strtol(e + 1, &e, 10);
		if (*e != '.' || r->b < 1 || r->b > 5)
			return NULL;
		const char *d = e + 1;
		r->c = (int)strtol(d, &e, 10);
		if (e == d || r->c < 0 || r->c > 6)
			return NULL;
	} else if (*p >= '0' && *p <= '9') {
		r->kind = 'D';
		r->a = (int)strtol(p, &e, 10);
		if (r->a > 365)
			return NULL;
	} else {
		return NULL;
	}
	p = e;
	if (*p == '/') {
		p = parse_hms(p + 1, &r->time);
		if (!p)
			return NULL;
	}
	return p;
}

static int parse_posix_tz(const char *s, struct tz_posix *z)
{
	memset(z, 0, sizeof(*z));
	const char *p = parse_tz_name(s);
	int32_t off;
	if (!p || !(p = parse_hms(p, &off)))
		return -1;
	z->std_off = -off; /* POSIX offsets count west */
	z->dst_off = z->std_off;
	if (*p) {
		p = parse_tz_name(p);
		if (!p)
			return -1;
		z->has_dst = true;
		z->dst_off = z->std_off + 3600;
		if (*p && *p != ',') {
			if (!(p = parse_hms(p, &off)))
				return -1;
			z->dst_off = -off;
		}
		/* without a rule POSIX leaves it to the implementation; the US rule
		 * is what glibc assumes */
		const char *rule = *p == ',' ? p : ",M3.2.0,M11.1.0";
		if (!(rule = parse_rule_date(rule + 1, &z->start)) || *rule != ',' ||
		    !(rule = parse_rule_date(rule + 1, &z->end)) || *rule)
			return -1;
	}
	z->valid = true;
	return 0;
}

/* Epoch day of a rule date in year y. */
static int64_t rule_day(int64_t y, const struct tz_rule_date *r)
{
	int64_t jan1 = rfx_noise_days_from_civil(y, 1, 1);
	if (r->kind == 'J')
		return jan1 + r->a - 1 + (is_leap(y) && r->a >= 60);
	if (r->kind == 'D')
		return jan1 + r->a;
	int64_t first = rfx_noise_days_from_civil(y, (unsigned)r->a, 1);
	int wd = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	int day = 1 + (r->c - wd + 7) % 7 + (r->b - 1) * 7;
	while (day > month_days(y, r->a))
		day -= 7;
	return first + day - 1;
}

static int32_t posix_offset(const struct tz_posix *z, int64_t t)
{
	if (!z->has_dst)
		return z->std_off;
	int64_t y = year_of_days(floor_div(t + z->std_off, 86400));
	/* the start is given in standard time, the end in daylight time */
	int64_t start = rule_day(y, &z->start) * 86400 + z->start.time - z->std_off;
	int64_t end = rule_day(y, &z->end) * 86400 + z->end.time - z->dst_off;
	bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? z->dst_off : z->std_off;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return false;
	return true;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44 ||
	    st.st_size > TZ_FILE_MAX)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (*len != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	return buf;
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int header(const unsigned char *p, size_t left, struct tzif_counts *c)
{
	if (left < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->type == 0 || c->type > TZ_TYPES_MAX || c->time > 100000 || c->leap > 10000 ||
	    c->chars > 10000 || c->isut > c->type || c->isstd > c->type)
		return -1;
	return 0;
}

static size_t block_len(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) +
	       c->isstd + c->isut;
}

static int parse_tzif(struct rfx_noise_tz *tz, const unsigned char *buf, size_t len)
{
	struct tzif_counts c;
	size_t tsize = 4;
	const unsigned char *p = buf;

	if (header(p, len, &c))
		return -1;
	if (buf[4] >= '2') {
		/* skip the 32-bit block; the 64-bit one follows with its header */
		size_t skip = 44 + block_len(&c, 4);
		if (skip > len || header(buf + skip, len - skip, &c))
			return -1;
		p = buf + skip;
		tsize = 8;
	}
	size_t blen = block_len(&c, tsize);
	if ((size_t)(p - buf) + 44 + blen > len)
		return -1;
	const unsigned char *d = p + 44;
	tz->ntrans = c.time;
	tz->ntypes = c.type;
	tz->trans = calloc(c.time ? c.time : 1, sizeof(*tz->trans));
	tz->idx = calloc(c.time ? c.time : 1, 1);
	tz->utoff = calloc(c.type, sizeof(*tz->utoff));
	if (!tz->trans || !tz->idx || !tz->utoff)
		return -1;
	for (size_t i = 0; i < c.time; i++) {
		tz->trans[i] = tsize == 8 ? be64(d + i * 8) : (int32_t)be32(d + i * 4);
		if (i && tz->trans[i] <= tz->trans[i - 1])
			return -1;
	}
	d += c.time * tsize;
	for (size_t i = 0; i < c.time; i++) {
		if (d[i] >= c.type)
			return -1;
		tz->idx[i] = d[i];
	}
	d += c.time;
	for (size_t i = 0; i < c.type; i++)
		tz->utoff[i] = (int32_t)be32(d + i * 6);
	d += blen - c.time * tsize - c.time;
	if (tsize == 8 && d < buf + len && *d == '\n') {
		const unsigned char *end = memchr(d + 1, '\n', (size_t)(buf + len - d - 1));
		if (end && end - d - 1 < 128) {
			char s[128];
			memcpy(s, d + 1, (size_t)(end - d - 1));
			s[end - d - 1] = 0;
			if (s[0] && parse_posix_tz(s, &tz->footer))
				return -1;
		}
	}
	return 0;
}

struct rfx_noise_tz *rfx_noise_tz_load(const char *name, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct rfx_noise_tz *tz = calloc(1, sizeof(*tz));
	if (!tz) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!name || !*name || !strcmp(name, "UTC") || !strcmp(name, "Etc/UTC")) {
		snprintf(tz->name, sizeof(tz->name), "UTC");
		tz->footer.valid = true; /* all offsets zero */
		return tz;
	}
	if (!name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a time zone name like Europe/Berlin", name);
		goto fail;
	}
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	const char *dir = getenv("REFLEX_ZONEINFO");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : ZONEINFO_DIR, name);
	buf = read_file(path, &len);
	if (!buf) {
		snprintf(err, errlen, "unknown time zone '%s' (no file %s)", name, path);
		goto fail;
	}
	if (parse_tzif(tz, buf, len)) {
		snprintf(err, errlen, "time zone '%s': %s is not a valid TZif file", name, path);
		goto fail;
	}
	free(buf);
	return tz;
fail:
	free(buf);
	rfx_noise_tz_free(tz);
	return NULL;
}

void rfx_noise_tz_free(struct rfx_noise_tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

const char *rfx_noise_tz_name(const struct rfx_noise_tz *tz)
{
	return tz->name;
}

int32_t rfx_noise_tz_offset(const struct rfx_noise_tz *tz, int64_t t)
{
	if (tz->ntypes == 0)
		return tz->footer.valid ? posix_offset(&tz->footer, t) : 0;
	if (tz->ntrans == 0 || t < tz->trans[0])
		return tz->utoff[0];
	if (t >= tz->trans[tz->ntrans - 1] && tz->footer.valid)
		return posix_offset(&tz->footer, t);
	size_t lo = 0, hi = tz->ntrans; /* last transition <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->utoff[tz->idx[lo]];
}
