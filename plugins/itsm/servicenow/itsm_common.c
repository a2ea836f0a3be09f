/*
 * plugins/itsm/servicenow/itsm_common.c - helpers the ITSM plugins share:
 * correlation keys, a record's severity and status, UTF-8 cuts,
 * percent-encoding, base64 (see itsm_common.h).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itsm_common.h"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0x1f) * 1099511628211ULL; /* a separator between parts */
}

void rfx_itsm_corr_key(const rfx_record *rec, char *out, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	if (rec->type == RFX_REC_NOTICE) {
		/* a group's problem is not the same as one event's */
		h = fnv1a(h, "notice");
		h = fnv1a(h, rec->u.notice->group_key);
	} else {
		const rfx_event *ev = rec->u.event;
		const char *fp = rfx_event_fingerprint(ev);

		if (fp != NULL && fp[0] != '\0') {
			h = fnv1a(h, fp);
		} else {
			h = fnv1a(h, rfx_event_host(ev));
			h = fnv1a(h, rfx_event_service(ev));
			h = fnv1a(h, rfx_event_check(ev));
		}
	}
	snprintf(out, len, "reflex-%016" PRIx64, h);
}

bool rfx_itsm_resolved(const rfx_record *rec)
{
	if (rec->type == RFX_REC_NOTICE)
		return rec->u.notice->status == RFX_STATUS_RESOLVED;
	return rec->u.event->status == RFX_STATUS_RESOLVED;
}

int rfx_itsm_severity(const rfx_record *rec)
{
	const rfx_notice *n;
	size_t upto;
	int sev = RFX_SEV_DEBUG;

	if (rec->type != RFX_REC_NOTICE)
		return rec->u.event->severity;
	n = rec->u.notice;
	upto = n->nfiring > 0 ? n->nfiring : n->nevents;
	for (size_t i = 0; i < upto && i < n->nevents; i++)
		if (n->events[i] != NULL && n->events[i]->severity < sev)
			sev = n->events[i]->severity;
	return sev < 0 ? 0 : sev;
}

size_t rfx_itsm_utf8_cut(const char *s, size_t len, size_t max_chars)
{
	size_t chars = 0, i = 0;

	while (i < len) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (chars == max_chars)
				break;
			chars++;
		}
		i++;
	}
	return i;
}

int rfx_itsm_pct_encode(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';

		if (o + (keep ? 1 : 3) >= len) {
			if (len > 0)
				out[0] = '\0';
			return -1;
		}
		if (keep) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (len == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

char *rfx_itsm_base64(const char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)in;
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

int rfx_itsm_compile(const char *opt, const char *src, size_t max_out, rfx_otpl **out,
		     char *err, size_t errlen)
{
	struct rfx_otpl_error e;
	char where[200];

	*out = rfx_otpl_compile(src != NULL ? src : "", RFX_OTPL_ESC_NONE, max_out, &e);
	if (*out != NULL)
		return 0;
	rfx_otpl_error_format(&e, where, sizeof where);
	snprintf(err, errlen, "%s: template %s", opt, where);
	return RFX_EINVAL;
}

int rfx_itsm_render(const rfx_otpl *t, const rfx_record *rec, struct rfx_otpl_buf *b)
{
	if (rec->type == RFX_REC_NOTICE)
		return rfx_otpl_render(t, NULL, rec->u.notice, b, NULL);
	return rfx_otpl_render(t, rec->u.event, NULL, b, NULL);
}
