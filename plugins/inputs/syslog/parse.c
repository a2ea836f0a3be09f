/*
 * plugins/inputs/syslog/parse.c - turns one syslog frame into a struct
 * syslog_msg. RFC 5424 is parsed strictly; when a "<PRI>1 " message breaks
 * the grammar it is re-read the lenient 3164 way, and anything without a
 * valid PRI is a raw message. Every string is copied into one buffer sized
 * from the input, so parsing is bounded and allocates once.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"

struct cur {
	const char *p, *end;
	char *o, *oend; /* bump allocator into out->buf */
};

static const char *const facility_names[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

const char *rfx_syslog_facility_name(int facility)
{
	if (facility < 0 || facility > 23)
		return "unknown";
	return facility_names[facility];
}

/* Copies [s, s+n) into the buffer; the buffer was sized so this fits. */
static const char *save(struct cur *c, const char *s, size_t n)
{
	char *r = c->o;

	if ((size_t)(c->oend - c->o) < n + 1)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	c->o += n + 1;
	return r;
}

/* Days since 1970-01-01 of a proleptic Gregorian date; avoids timegm's
 * dependence on the process time zone. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int digits(const char *p, const char *end, int n)
{
	int v = 0;

	if (end - p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Reads "<PRI>" (1-3 digits, <= 191, no leading zeros except "0"). */
static bool parse_pri(struct cur *c, int *pri)
{
	const char *p = c->p;
	int v = 0, n = 0;

	if (p >= c->end || *p != '<')
		return false;
	p++;
	while (p < c->end && isdigit((unsigned char)*p) && n < 4) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0 || n > 3 || p >= c->end || *p != '>' || v > 191 ||
	    (n > 1 && c->p[1] == '0'))
		return false;
	*pri = v;
	c->p = p + 1;
	return true;
}

/* ISO 8601 / RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm). A
 * missing offset is taken as UTC (seen in the wild in 3164 variants). */
static bool parse_iso(struct cur *c, int64_t *ns)
{
	const char *p = c->p, *e = c->end;
	int Y = digits(p, e, 4), M, D, h, m, s;
	int64_t frac = 0, off = 0;

	if (Y < 0 || e - p < 19 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't') ||
	    p[13] != ':' || p[16] != ':')
		return false;
	M = digits(p + 5, e, 2);
	D = digits(p + 8, e, 2);
	h = digits(p + 11, e, 2);
	m = digits(p + 14, e, 2);
	s = digits(p + 17, e, 2);
	if (M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 ||
	    s > 60)
		return false;
	p += 19;
	if (p < e && *p == '.') {
		int64_t scale = 100000000;
		p++;
		if (p >= e || !isdigit((unsigned char)*p))
			return false;
		for (int i = 0; p < e && isdigit((unsigned char)*p); p++, i++) {
			if (i < 9) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (p < e && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (p < e && (*p == '+' || *p == '-')) {
		int oh = digits(p + 1, e, 2), om = e - p >= 6 && p[3] == ':' ? digits(p + 4, e, 2) : -1;
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return false;
		off = (oh * 60 + om) * 60;
		if (*p == '-')
			off = -off;
		p += 6;
	}
	if (p < e && *p != ' ')
		return false;
	/* nanoseconds since 1970 fit in int64 only for 1678..2261; a year
	 * outside that is not a time we can store (found by fuzz_syslog_parse) */
	if (Y < 1678 || Y > 2261)
		return false;
	*ns = ((days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + s) - off) * 1000000000LL +
	      frac;
	c->p = p;
	return true;
}

/* "Mmm dd hh:mm:ss" (day space-padded or not); no year, so the one that
 * puts the stamp nearest to now, local time. */
static bool parse_bsd_time(struct cur *c, int64_t *ns)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = c->p, *e = c->end;
	int mon = -1, day, h, m, s;

	if (e - p < 15)
		return false;
	for (int i = 0; i < 12; i++)
		if (strncmp(p, months + 3 * i, 3) == 0)
			mon = i;
	if (mon < 0 || p[3] != ' ')
		return false;
	p += 4;
	if (*p == ' ')
		p++;
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]))
		day = digits(p, e, 2), p += 2;
	else if (isdigit((unsigned char)p[0]))
		day = p[0] - '0', p += 1;
	else
		return false;
	if (e - p < 9 || p[0] != ' ' || p[3] != ':' || p[6] != ':')
		return false;
	h = digits(p + 1, e, 2);
	m = digits(p + 4, e, 2);
	s = digits(p + 7, e, 2);
	if (day < 1 || day > 31 || h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60)
		return false;
	p += 9;
	if (p < e && *p == '.') /* some senders add fractions */
		for (p++; p < e && isdigit((unsigned char)*p); p++)
			;
	if (p < e && *p != ' ')
		return false;

	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int year = tm.tm_year;
	/* December stamps read in January belong to last year. */
	if (mon > tm.tm_mon + 1)
		year--;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*ns = (int64_t)t * 1000000000LL;
	c->p = p;
	return true;
}

/* A 5424 header field: 1..max printable ASCII chars up to a space; "-" is
 * NILVALUE (NULL). */
static bool field(struct cur *c, size_t max, const char **outp)
{
	const char *s = c->p;

	while (c->p < c->end && *c->p != ' ') {
		if (*c->p < 33 || *c->p > 126)
			return false;
		c->p++;
	}
	size_t n = (size_t)(c->p - s);
	if (n == 0 || n > max || c->p >= c->end)
		return false;
	c->p++; /* the space */
	if (n == 1 && *s == '-') {
		*outp = NULL;
		return true;
	}
	*outp = save(c, s, n);
	return *outp != NULL;
}

static bool sd_name_char(char ch)
{
	return ch > 32 && ch < 127 && ch != '=' && ch != ']' && ch != '"';
}

static bool sd_name(struct cur *c, const char **name)
{
	const char *s = c->p;

	while (c->p < c->end && sd_name_char(*c->p))
		c->p++;
	size_t n = (size_t)(c->p - s);
	if (n == 0 || n > 32)
		return false;
	*name = save(c, s, n);
	return *name != NULL;
}

/* A quoted PARAM-VALUE; only \" \\ \] are escapes, other backslashes stay. */
static bool sd_value(struct cur *c, const char **value)
{
	char *o = c->o;

	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' && c->p + 1 < c->end &&
		    (c->p[1] == '"' || c->p[1] == '\\' || c->p[1] == ']'))
			c->p++;
		if (o >= c->oend - 1)
			return false;
		*o++ = *c->p++;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	*o++ = '\0';
	*value = c->o;
	c->o = o;
	return true;
}

static void sd_add(struct syslog_msg *m, const char *id, const char *name, const char *value)
{
	if (m->nsd >= SYSLOG_SD_MAX) {
		m->sd_truncated = true;
		return;
	}
	m->sd[m->nsd].id = id;
	m->sd[m->nsd].name = name;
	m->sd[m->nsd].value = value;
	m->nsd++;
}

static bool parse_sd(struct cur *c, struct syslog_msg *m)
{
	if (c->p < c->end && *c->p == '-') {
		c->p++;
		return true;
	}
	if (c->p >= c->end || *c->p != '[')
		return false;
	while (c->p < c->end && *c->p == '[') {
		const char *id, *name, *value;
		bool any = false;
		c->p++;
		if (!sd_name(c, &id))
			return false;
		while (c->p < c->end && *c->p == ' ') {
			c->p++;
			if (!sd_name(c, &name) || c->p >= c->end || *c->p != '=')
				return false;
			c->p++;
			if (!sd_value(c, &value))
				return false;
			sd_add(m, id, name, value);
			any = true;
		}
		if (c->p >= c->end || *c->p != ']')
			return false;
		c->p++;
		if (!any)
			sd_add(m, id, NULL, NULL);
	}
	return true;
}

static void set_message(struct cur *c, struct syslog_msg *m, const char *s, const char *e)
{
	if (e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	/* Trailing framing left by senders: LF, CR, NUL. */
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\0'))
		e--;
	m->message_len = (size_t)(e - s);
	m->message = save(c, s, m->message_len);
}

static bool parse_5424(struct cur *c, struct syslog_msg *m)
{
	if (c->end - c->p < 2 || c->p[0] != '1' || c->p[1] != ' ')
		return false;
	c->p += 2;
	if (c->p < c->end && *c->p == '-') {
		c->p++;
	} else {
		if (!parse_iso(c, &m->time_ns))
			return false;
		m->has_time = true;
	}
	if (c->p >= c->end || *c->p != ' ')
		return false;
	c->p++;
	if (!field(c, 255, &m->hostname) || !field(c, 48, &m->appname) ||
	    !field(c, 128, &m->procid) || !field(c, 32, &m->msgid))
		return false;
	if (!parse_sd(c, m))
		return false;
	if (c->p < c->end) {
		if (*c->p != ' ')
			return false;
		c->p++;
	}
	set_message(c, m, c->p, c->end);
	m->rfc = SYSLOG_5424;
	return m->message != NULL;
}

/* A 3164 TAG: up to 48 chars of [^ :[], an optional "[pid]", then ':'.
 * Returns false (and consumes nothing) when the text does not start with
 * one, as in "<13>Nov 28 03:22:45 host just text". */
static bool parse_tag(struct cur *c, struct syslog_msg *m)
{
	const char *s = c->p, *p = s, *e = c->end, *ps = NULL, *pe = NULL;

	while (p < e && *p != ' ' && *p != ':' && *p != '[' && p - s <= 48)
		p++;
	size_t n = (size_t)(p - s);
	if (n == 0 || n > 48 || p >= e)
		return false;
	if (*p == '[') {
		ps = p + 1;
		while (p < e && *p != ']' && *p != ' ')
			p++;
		if (p >= e || *p != ']' || p - ps > 128)
			return false;
		pe = p;
		p++;
		if (p < e && *p == ':')
			p++;
	} else if (*p == ':') {
		p++;
	} else {
		return false;
	}
	if (p < e && *p != ' ')
		return false;
	if (p < e)
		p++;
	m->appname = save(c, s, n);
	if (ps && pe > ps)
		m->procid = save(c, ps, (size_t)(pe - ps));
	c->p = p;
	return true;
}

/* Lenient: timestamp, hostname and tag are each optional. */
static void parse_3164(struct cur *c, struct syslog_msg *m)
{
	m->rfc = SYSLOG_3164;
	if (parse_bsd_time(c, &m->time_ns) || parse_iso(c, &m->time_ns)) {
		m->has_time = true;
		if (c->p < c->end)
			c->p++;
		/* The hostname is absent when the next word is already the tag
		 * ("app:" or "app[12]:"). */
		struct cur save_c = *c;
		if (!parse_tag(c, m)) {
			*c = save_c;
			const char *s = c->p;
			while (c->p < c->end && *c->p != ' ' && c->p - s <= 255)
				c->p++;
			if (c->p > s && c->p - s <= 255 && c->p < c->end) {
				m->hostname = save(c, s, (size_t)(c->p - s));
				c->p++;
				parse_tag(c, m);
			} else {
				c->p = s;
			}
		}
	} else {
		parse_tag(c, m);
	}
	set_message(c, m, c->p, c->end);
}

static void reset(struct syslog_msg *m, char *buf)
{
	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->facility = 1;
	m->severity = 5;
}

int rfx_syslog_parse(const char *msg, size_t len, struct syslog_msg *out)
{
	/* Every input byte is copied at most once; the rest is NULs. */
	size_t cap = len + 16 + 3 * SYSLOG_SD_MAX;
	char *buf = malloc(cap);
	struct cur c = {msg, msg + len, buf, buf + cap};
	int pri;

	if (buf == NULL) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	reset(out, buf);
	if (msg == NULL)
		c.p = c.end = "";
	if (!parse_pri(&c, &pri)) {
		out->rfc = SYSLOG_RAW;
		set_message(&c, out, c.p, c.end);
		return 0;
	}
	const char *after_pri = c.p;
	out->has_pri = true;
	out->facility = pri >> 3;
	out->severity = pri & 7;
	if (parse_5424(&c, out))
		return 0;
	/* Broken 5424: start over and read it the forgiving way. */
	reset(out, buf);
	out->has_pri = true;
	out->facility = pri >> 3;
	out->severity = pri & 7;
	c.p = after_pri;
	c.o = buf;
	parse_3164(&c, out);
	return 0;
}

void rfx_syslog_msg_free(struct syslog_msg *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	m->buf = NULL;
}
