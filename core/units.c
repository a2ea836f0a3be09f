/*
 * core/units.c - owns durations and sizes in config notation: parsing
 * "1h30m" and "64KiB" (overflow is an error, never a wrap) and formatting
 * values back the same way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "units.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parses digits[.digits] at *p. whole gets the integer part, frac/fscale the
 * fraction (frac / fscale, at most 9 digits kept). */
static bool parse_number(const char **p, uint64_t *whole, uint64_t *frac, uint64_t *fscale)
{
	const char *s = *p;
	uint64_t w = 0, f = 0, sc = 1;

	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s)) {
		if (__builtin_mul_overflow(w, 10, &w) ||
		    __builtin_add_overflow(w, (uint64_t)(*s - '0'), &w))
			return false;
		s++;
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s)) {
			if (sc < 1000000000u) {
				f = f * 10 + (uint64_t)(*s - '0');
				sc *= 10;
			}
			s++;
		}
	}
	*p = s;
	*whole = w;
	*frac = f;
	*fscale = sc;
	return true;
}

/* whole.frac * unit, truncated; false on overflow. */
static bool scale(uint64_t whole, uint64_t frac, uint64_t fscale, uint64_t unit, uint64_t *out)
{
	uint64_t v, part;

	if (__builtin_mul_overflow(whole, unit, &v))
		return false;
	/* frac < fscale <= 1e9 and units fit in 2^40, so this cannot wrap;
	 * fall back to a coarser but still exact-enough form otherwise. */
	if (unit <= (UINT64_MAX / 1000000000u))
		part = frac * unit / fscale;
	else
		part = frac * (unit / fscale);
	return !__builtin_add_overflow(v, part, out);
}

/* Trims surrounding blanks; returns the end of the trimmed text. */
static const char *trim(const char **s)
{
	const char *b = *s, *e;

	while (*b == ' ' || *b == '\t')
		b++;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*s = b;
	return e;
}

int rfx_parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	uint64_t total = 0, whole, frac, fscale, v;

	if (!s)
		return RFX_EINVAL;
	const char *end = trim(&s);
	if (s == end)
		return RFX_EINVAL;

	const char *p = s;
	if (!parse_number(&p, &whole, &frac, &fscale))
		return RFX_EINVAL;
	if (p == end) { /* a bare number means seconds */
		if (!scale(whole, frac, fscale, 1000, &total) || total > INT64_MAX)
			return RFX_EINVAL;
		*ms = (int64_t)total;
		return 0;
	}
	p = s;
	while (p < end) {
		if (!parse_number(&p, &whole, &frac, &fscale))
			return RFX_EINVAL;
		size_t ulen = 0;
		while (p + ulen < end && isalpha((unsigned char)p[ulen]))
			ulen++;
		size_t u;
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strlen(units[u].name) == ulen && strncmp(p, units[u].name, ulen) == 0)
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return RFX_EINVAL;
		p += ulen;
		if (!scale(whole, frac, fscale, units[u].ms, &v) ||
		    __builtin_add_overflow(total, v, &total))
			return RFX_EINVAL;
	}
	if (total > INT64_MAX)
		return RFX_EINVAL;
	*ms = (int64_t)total;
	return 0;
}

int rfx_parse_size(const char *s, uint64_t *bytes)
{
	/* Bare letters are binary (1k = 1024) as most tools read them; "KB"
	 * is SI and "KiB" binary, as the units say. */
	static const struct {
		const char *name;
		uint64_t mul;
	} units[] = {
		{ "", 1 },
		{ "b", 1 },
		{ "k", 1ull << 10 },
		{ "kb", 1000ull },
		{ "kib", 1ull << 10 },
		{ "m", 1ull << 20 },
		{ "mb", 1000000ull },
		{ "mib", 1ull << 20 },
		{ "g", 1ull << 30 },
		{ "gb", 1000000000ull },
		{ "gib", 1ull << 30 },
		{ "t", 1ull << 40 },
		{ "tb", 1000000000000ull },
		{ "tib", 1ull << 40 },
	};
	uint64_t whole, frac, fscale;

	if (!s)
		return RFX_EINVAL;
	const char *end = trim(&s);
	const char *p = s;
	if (!parse_number(&p, &whole, &frac, &fscale))
		return RFX_EINVAL;
	if (p < end && *p == ' ')
		p++;
	size_t ulen = (size_t)(end - p);
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		if (strlen(units[u].name) != ulen || strncasecmp(p, units[u].name, ulen) != 0)
			continue;
		if (!scale(whole, frac, fscale, units[u].mul, bytes))
			return RFX_EINVAL;
		return 0;
	}
	return RFX_EINVAL;
}

void rfx_format_duration(int64_t ms, char *out, size_t len)
{
	static const struct {
		const char *name;
		int64_t ms;
	} parts[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	size_t used = 0;

	if (ms <= 0) {
		snprintf(out, len, "%s", ms == 0 ? "0s" : "negative");
		return;
	}
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && used < len; i++) {
		int64_t n = ms / parts[i].ms;
		if (!n)
			continue;
		ms -= n * parts[i].ms;
		int w = snprintf(out + used, len - used, "%" PRId64 "%s", n, parts[i].name);
		if (w < 0)
			return;
		used += (size_t)w;
	}
}

void rfx_format_size(uint64_t b, char *out, size_t len)
{
	/* The unit giving the smallest exact quantity, so 1048576 reads 1MiB
	 * and 10000000 reads 10MB. */
	static const struct {
		const char *name;
		uint64_t mul;
	} units[] = {
		{ "TiB", 1ull << 40 }, { "TB", 1000000000000ull }, { "GiB", 1ull << 30 },
		{ "GB", 1000000000ull }, { "MiB", 1ull << 20 }, { "MB", 1000000ull },
		{ "KiB", 1ull << 10 }, { "KB", 1000ull },
	};
	const char *name = "B";
	uint64_t q = b;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && b; i++) {
		if (b % units[i].mul == 0 && b / units[i].mul < q) {
			q = b / units[i].mul;
			name = units[i].name;
		}
	}
	snprintf(out, len, "%" PRIu64 "%s", q, name);
}
