/*
 * plugins/inputs/email/mime.c - decodes one RFC 822 message into UTF-8
 * header values and a text body (see mime.h). libetpan parses the MIME
 * tree, RFC 2047 words and transfer encodings; iconv converts charsets;
 * everything that leaves this file passes one UTF-8 cleaner, so callers
 * never see invalid sequences or control characters.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "mime.h"

#define ENOMEM_RC (-2)
#define CHARSET_MAX 64
#define PAD 16 /* zero bytes after the copy libetpan parses */

/* ---- UTF-8 ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Valid UTF-8 copy: bad bytes become U+FFFD, CR and control characters
 * other than tab and LF go. At most 3 bytes out per byte in. */
static char *utf8_clean(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(n * 3 + 1);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < n) {
		size_t k = utf8_seq(p + i, n - i);
		if (k == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (k == 1 && ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7f)) {
			i++;
			continue;
		}
		memcpy(out + o, p + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return out;
}

/* Cuts s at no more than max bytes without splitting a sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static bool charset_is_utf8(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

/* iconv from `charset`; NULL when iconv does not know it (or no memory,
 * which the caller's fallback then reports). */
static char *iconv_utf8(const char *charset, const char *in, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	size_t cap = len * 4 + 16, used = 0;
	char *out = NULL, *res = NULL;

	if (cd == (iconv_t)-1)
		return NULL;
	out = malloc(cap + 1);
	if (out == NULL)
		goto done;
	char *ip = (char *)in;
	size_t il = len;
	while (il > 0) {
		char *op = out + used;
		size_t ol = cap - used;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		used = (size_t)(op - out);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG) {
			/* Bounded: no charset expands a byte past 4 UTF-8 bytes
			 * plus shift states; give up at 16 per byte. */
			if (cap >= len * 16 + 64)
				break;
			char *n = realloc(out, cap * 2 + 1);
			if (n == NULL)
				goto done;
			out = n;
			cap *= 2;
			continue;
		}
		/* EILSEQ or EINVAL: one replacement character, skip a byte. */
		if (cap - used < 3)
			break;
		memcpy(out + used, "\xef\xbf\xbd", 3);
		used += 3;
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* Flush a stateful encoding's final shift sequence. */
	{
		char *op = out + used;
		size_t ol = cap - used;
		iconv(cd, NULL, NULL, &op, &ol);
		used = (size_t)(op - out);
	}
	out[used] = '\0';
	res = utf8_clean(out, used);
done:
	free(out);
	iconv_close(cd);
	return res;
}

char *rfx_email_to_utf8(const char *charset, const char *in, size_t len)
{
	char cs[CHARSET_MAX + 1];
	char *r;

	if (charset != NULL && *charset != '\0' && strlen(charset) <= CHARSET_MAX) {
		snprintf(cs, sizeof(cs), "%s", charset);
		if (!charset_is_utf8(cs)) {
			r = iconv_utf8(cs, in, len);
			if (r != NULL)
				return r;
		} else {
			return utf8_clean(in, len);
		}
	}
	/* No usable charset: trust UTF-8 when it is valid, else Latin-1,
	 * which maps every byte and so never loses text. */
	if (utf8_valid(in, len))
		return utf8_clean(in, len);
	r = iconv_utf8("ISO-8859-1", in, len);
	return r != NULL ? r : utf8_clean(in, len);
}

/* ---- HTML --------------------------------------------------------------- */

static size_t put_cp(char *o, unsigned cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the entity at s[0] == '&' into o; returns bytes consumed (0 when
 * it is no entity we know) and sets *olen. Output is never longer than the
 * entity text. */
static size_t html_entity(const char *s, size_t n, char *o, size_t *olen)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {{"amp", "&"},   {"lt", "<"},   {"gt", ">"},
		     {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
	size_t semi = 1;

	while (semi < n && semi < 12 && s[semi] != ';')
		semi++;
	if (semi >= n || s[semi] != ';' || semi < 2)
		return 0;
	if (s[1] == '#') {
		unsigned long cp = 0;
		size_t i = 2;
		int base = 10;
		if (i < semi && (s[i] == 'x' || s[i] == 'X')) {
			base = 16;
			i++;
		}
		if (i == semi)
			return 0;
		for (; i < semi; i++) {
			int c = (unsigned char)s[i], d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (base == 16 && isxdigit(c))
				d = tolower(c) - 'a' + 10;
			else
				return 0;
			cp = cp * (unsigned long)base + (unsigned long)d;
			if (cp > 0x10ffff)
				cp = 0x110000; /* stays invalid, never overflows */
		}
		*olen = put_cp(o, (unsigned)cp);
		return semi + 1;
	}
	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		size_t l = strlen(named[k].name);
		if (l == semi - 1 && strncmp(s + 1, named[k].name, l) == 0) {
			*olen = strlen(named[k].text);
			memcpy(o, named[k].text, *olen);
			return semi + 1;
		}
	}
	return 0;
}

/* Index of the first case-insensitive occurrence of needle in s[from..n), or n. */
static size_t find_ci(const char *s, size_t n, size_t from, const char *needle)
{
	size_t l = strlen(needle);

	for (size_t i = from; i + l <= n; i++)
		if (strncasecmp(s + i, needle, l) == 0)
			return i;
	return n;
}

static bool block_tag(const char *name)
{
	static const char *const blocks[] = {"br", "p", "div", "tr", "li", "h1", "h2", "h3",
					     "h4", "h5", "h6", "table", "blockquote", "hr",
					     "pre", "ul", "ol", NULL};
	for (size_t i = 0; blocks[i]; i++)
		if (strcmp(name, blocks[i]) == 0)
			return true;
	return false;
}

/* Collapses runs of blanks to one space and of blank lines to one empty
 * line, and trims both ends; in place. */
static size_t squeeze(char *s, size_t n)
{
	size_t o = 0, nl = 0;
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\r') {
			space = true;
			continue;
		}
		if (c == '\n') {
			nl++;
			space = false;
			continue;
		}
		if (o > 0) {
			if (nl > 0) {
				s[o++] = '\n';
				if (nl > 1)
					s[o++] = '\n';
			} else if (space) {
				s[o++] = ' ';
			}
		}
		nl = 0;
		space = false;
		s[o++] = c;
	}
	s[o] = '\0';
	return o;
}

char *rfx_email_html_to_text(const char *h, size_t n)
{
	char *out = malloc(n + 1);
	size_t o = 0, i = 0;

	if (out == NULL)
		return NULL;
	while (i < n) {
		if (h[i] == '<') {
			if (n - i >= 4 && strncmp(h + i, "<!--", 4) == 0) {
				size_t e = find_ci(h, n, i + 4, "-->");
				i = e < n ? e + 3 : n;
				continue;
			}
			char name[16];
			size_t j = i + 1, k = 0;
			bool closing = j < n && h[j] == '/';
			if (closing)
				j++;
			while (j < n && isalnum((unsigned char)h[j]) && k < sizeof(name) - 1)
				name[k++] = (char)tolower((unsigned char)h[j++]);
			name[k] = '\0';
			size_t gt = j;
			while (gt < n && h[gt] != '>')
				gt++;
			i = gt < n ? gt + 1 : n;
			if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
				char end[24];
				snprintf(end, sizeof(end), "</%s", name);
				size_t e = find_ci(h, n, i, end);
				while (e < n && h[e] != '>')
					e++;
				i = e < n ? e + 1 : n;
				continue;
			}
			if (block_tag(name))
				out[o++] = '\n';
			else if (k > 0 && o > 0)
				out[o++] = ' '; /* inline tags may separate words */
			continue;
		}
		if (h[i] == '&') {
			size_t ol = 0, used = html_entity(h + i, n - i, out + o, &ol);
			if (used > 0) {
				o += ol;
				i += used;
				continue;
			}
		}
		out[o++] = h[i++];
	}
	o = squeeze(out, o);
	char *clean = utf8_clean(out, o);
	free(out);
	return clean;
}

/* ---- headers ------------------------------------------------------------- */

/* Unfolds and decodes one raw header value (RFC 2047 words, raw UTF-8 or
 * Latin-1) into clean, single-line UTF-8 of bounded length. */
static char *header_decode(const char *raw)
{
	size_t idx = 0, len = strlen(raw);
	char *dec = NULL, *u, *res, *pre = NULL;

	if (len > RFX_EMAIL_HEADER_MAX * 4)
		len = RFX_EMAIL_HEADER_MAX * 4;
	/* Raw 8-bit bytes outside encoded words: libetpan would drop what is
	 * not UTF-8, so read them as Latin-1 first. */
	if (!utf8_valid(raw, len)) {
		pre = rfx_email_to_utf8(NULL, raw, len);
		if (pre == NULL)
			return NULL;
		raw = pre;
		len = strlen(pre);
	}
	if (mailmime_encoded_phrase_parse("utf-8", raw, len, &idx, "utf-8", &dec) !=
		    MAILIMF_NO_ERROR ||
	    dec == NULL) {
		free(dec);
		dec = NULL;
		u = rfx_email_to_utf8(NULL, raw, len);
	} else {
		u = rfx_email_to_utf8(NULL, dec, strlen(dec));
	}
	free(dec);
	free(pre);
	if (u == NULL)
		return NULL;
	for (char *p = u; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	size_t n = squeeze(u, strlen(u));
	n = utf8_cut(u, n, RFX_EMAIL_HEADER_MAX);
	u[n] = '\0';
	res = strdup(u);
	free(u);
	return res;
}

/* Appends "sep text" to a bounded list; false only when out of memory. */
static bool list_add(char **list, const char *text)
{
	size_t have = *list ? strlen(*list) : 0, add = strlen(text);
	char *n;

	if (have + add + 2 > RFX_EMAIL_HEADER_MAX)
		return true; /* bounded: further recipients are dropped */
	n = realloc(*list, have + add + 3);
	if (n == NULL)
		return false;
	if (have > 0) {
		memcpy(n + have, ", ", 2);
		have += 2;
	}
	memcpy(n + have, text, add + 1);
	*list = n;
	return true;
}

/* "Name <addr>" of one mailbox, or just the address; NULL when out of memory. */
static char *mailbox_text(const struct mailimf_mailbox *mb)
{
	char *name = NULL, *addr = NULL, *res = NULL;

	addr = rfx_email_to_utf8(NULL, mb->mb_addr_spec ? mb->mb_addr_spec : "",
				 mb->mb_addr_spec ? strlen(mb->mb_addr_spec) : 0);
	if (addr == NULL)
		goto out;
	if (mb->mb_display_name != NULL && *mb->mb_display_name != '\0') {
		name = header_decode(mb->mb_display_name);
		if (name == NULL)
			goto out;
	}
	if (name != NULL && *name != '\0') {
		size_t l = strlen(name) + strlen(addr) + 4;
		res = malloc(l);
		if (res != NULL)
			snprintf(res, l, "%s <%s>", name, addr);
	} else {
		res = strdup(addr);
	}
out:
	free(name);
	free(addr);
	return res;
}

static int add_mailboxes(char **list, char **first_addr, clist *mbs)
{
	for (clistiter *it = clist_begin(mbs); it != NULL; it = clist_next(it)) {
		struct mailimf_mailbox *mb = clist_content(it);
		if (mb == NULL)
			continue;
		char *t = mailbox_text(mb);
		if (t == NULL)
			return ENOMEM_RC;
		bool ok = list_add(list, t);
		free(t);
		if (!ok)
			return ENOMEM_RC;
		if (first_addr != NULL && *first_addr == NULL && mb->mb_addr_spec != NULL) {
			*first_addr = rfx_email_to_utf8(NULL, mb->mb_addr_spec,
							strlen(mb->mb_addr_spec));
			if (*first_addr == NULL)
				return ENOMEM_RC;
		}
	}
	return 0;
}

static int add_addresses(char **list, clist *ads)
{
	for (clistiter *it = clist_begin(ads); it != NULL; it = clist_next(it)) {
		struct mailimf_address *a = clist_content(it);
		int rc = 0;
		if (a == NULL)
			continue;
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX && a->ad_data.ad_mailbox != NULL) {
			char *t = mailbox_text(a->ad_data.ad_mailbox);
			if (t == NULL)
				return ENOMEM_RC;
			bool ok = list_add(list, t);
			free(t);
			if (!ok)
				return ENOMEM_RC;
		} else if (a->ad_type == MAILIMF_ADDRESS_GROUP && a->ad_data.ad_group != NULL &&
			   a->ad_data.ad_group->grp_mb_list != NULL) {
			rc = add_mailboxes(list, NULL, a->ad_data.ad_group->grp_mb_list->mb_list);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Unix ms of a parsed Date; false for values no calendar has. */
static bool date_ms(const struct mailimf_date_time *d, int64_t *ms)
{
	struct tm tm = {0};
	int zone = d->dt_zone, sign = zone < 0 ? -1 : 1;

	if (d->dt_year < 1900 || d->dt_year > 9999 || d->dt_month < 1 || d->dt_month > 12 ||
	    d->dt_day < 1 || d->dt_day > 31 || d->dt_hour < 0 || d->dt_hour > 23 ||
	    d->dt_min < 0 || d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60 || zone < -9959 ||
	    zone > 9959)
		return false;
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	time_t t = timegm(&tm);
	int off_min = sign * ((sign * zone) / 100 * 60 + (sign * zone) % 100);
	*ms = ((int64_t)t - (int64_t)off_min * 60) * 1000;
	return true;
}

static char *msgid_clean(const char *v)
{
	char buf[1000];
	size_t o = 0;

	for (const char *p = v; *p && o < sizeof(buf) - 1; p++)
		if ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '<' && *p != '>')
			buf[o++] = *p;
	buf[o] = '\0';
	return o > 0 ? strdup(buf) : NULL;
}

static int headers_read(struct mailimf_fields *f, struct rfx_email_msg *m)
{
	if (f == NULL || f->fld_list == NULL)
		return 0;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		struct mailimf_field *fld = clist_content(it);
		int rc = 0;
		if (fld == NULL)
			continue;
		switch (fld->fld_type) {
		case MAILIMF_FIELD_SUBJECT:
			if (m->subject == NULL && fld->fld_data.fld_subject != NULL) {
				m->subject = header_decode(fld->fld_data.fld_subject->sbj_value);
				if (m->subject == NULL)
					return ENOMEM_RC;
			}
			break;
		case MAILIMF_FIELD_FROM:
			if (m->from == NULL && fld->fld_data.fld_from != NULL &&
			    fld->fld_data.fld_from->frm_mb_list != NULL)
				rc = add_mailboxes(&m->from, &m->from_addr,
						   fld->fld_data.fld_from->frm_mb_list->mb_list);
			break;
		case MAILIMF_FIELD_TO:
			if (fld->fld_data.fld_to != NULL && fld->fld_data.fld_to->to_addr_list != NULL)
				rc = add_addresses(&m->to, fld->fld_data.fld_to->to_addr_list->ad_list);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (m->message_id == NULL && fld->fld_data.fld_message_id != NULL)
				m->message_id = msgid_clean(fld->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (!m->has_date && fld->fld_data.fld_orig_date != NULL &&
			    fld->fld_data.fld_orig_date->dt_date_time != NULL)
				m->has_date = date_ms(fld->fld_data.fld_orig_date->dt_date_time,
						      &m->date_ms);
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD: {
			/* A header libetpan could not parse strictly lands here
			 * raw; keep what a person would still read. */
			struct mailimf_optional_field *o = fld->fld_data.fld_optional_field;
			if (o == NULL || o->fld_name == NULL || o->fld_value == NULL)
				break;
			char **dst = NULL;
			if (strcasecmp(o->fld_name, "subject") == 0)
				dst = &m->subject;
			else if (strcasecmp(o->fld_name, "from") == 0)
				dst = &m->from;
			else if (strcasecmp(o->fld_name, "to") == 0)
				dst = &m->to;
			else if (strcasecmp(o->fld_name, "message-id") == 0 && m->message_id == NULL)
				m->message_id = msgid_clean(o->fld_value);
			if (dst != NULL && *dst == NULL) {
				*dst = header_decode(o->fld_value);
				if (*dst == NULL)
					return ENOMEM_RC;
			}
			break;
		}
		default:
			break;
		}
		if (rc != 0)
			return rc;
	}
	if (m->has_date) {
		char buf[32];
		time_t t = (time_t)(m->date_ms / 1000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		m->date = strdup(buf);
		if (m->date == NULL)
			return ENOMEM_RC;
	}
	return 0;
}

/* ---- body ---------------------------------------------------------------- */

struct pick {
	struct mailmime *plain, *html;
};

static bool is_attachment(const struct mailmime *mm)
{
	if (mm->mm_mime_fields == NULL || mm->mm_mime_fields->fld_list == NULL)
		return false;
	for (clistiter *it = clist_begin(mm->mm_mime_fields->fld_list); it; it = clist_next(it)) {
		struct mailmime_field *f = clist_content(it);
		if (f != NULL && f->fld_type == MAILMIME_FIELD_DISPOSITION &&
		    f->fld_data.fld_disposition != NULL &&
		    f->fld_data.fld_disposition->dsp_type != NULL &&
		    f->fld_data.fld_disposition->dsp_type->dsp_type ==
			    MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
			return true;
	}
	return false;
}

/* text/SUBTYPE? A part without Content-Type is text/plain (RFC 2045). */
static bool is_text(const struct mailmime *mm, const char *subtype)
{
	const struct mailmime_content *ct = mm->mm_content_type;

	if (ct == NULL || ct->ct_type == NULL)
		return strcmp(subtype, "plain") == 0;
	return ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	       ct->ct_type->tp_data.tp_discrete_type != NULL &&
	       ct->ct_type->tp_data.tp_discrete_type->dt_type == MAILMIME_DISCRETE_TYPE_TEXT &&
	       ct->ct_subtype != NULL && strcasecmp(ct->ct_subtype, subtype) == 0;
}

/* Finds the first plain and html text parts in document order; attached
 * messages are looked into only when `nested`. */
static void walk(struct mailmime *mm, int depth, bool nested, struct pick *p)
{
	if (mm == NULL || depth > RFX_EMAIL_DEPTH_MAX || p->plain != NULL)
		return;
	switch (mm->mm_type) {
	case MAILMIME_SINGLE:
		if (is_attachment(mm))
			return;
		if (is_text(mm, "plain"))
			p->plain = mm;
		else if (p->html == NULL && is_text(mm, "html"))
			p->html = mm;
		break;
	case MAILMIME_MULTIPLE:
		if (mm->mm_data.mm_multipart.mm_mp_list == NULL)
			return;
		for (clistiter *it = clist_begin(mm->mm_data.mm_multipart.mm_mp_list); it;
		     it = clist_next(it))
			walk(clist_content(it), depth + 1, nested, p);
		break;
	case MAILMIME_MESSAGE:
		if (depth == 0 || nested)
			walk(mm->mm_data.mm_message.mm_msg_mime, depth + 1, nested, p);
		break;
	default:
		break;
	}
}

/* Decoded, charset-converted text of one single part; "" for no data.
 * [base, base + blen) is the message the part must lie in. */
static char *part_text(struct mailmime *mm, bool html, const char *base, size_t blen)
{
	struct mailmime_data *d = mm->mm_data.mm_single;
	char *dec = NULL, *u = NULL;
	size_t idx = 0, declen = 0;

	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT || d->dt_data.dt_text.dt_data == NULL)
		return strdup("");
	/* Trust no offset blindly: a part outside the message is no text. */
	const char *pd = d->dt_data.dt_text.dt_data;
	if (pd < base || pd > base + blen || d->dt_data.dt_text.dt_length > (size_t)(base + blen - pd))
		return strdup("");
	int enc = d->dt_encoded ? d->dt_encoding : MAILMIME_MECHANISM_8BIT;
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length, &idx,
				enc, &dec, &declen) != MAILIMF_NO_ERROR ||
	    dec == NULL) {
		/* Undecodable transfer encoding: keep the bytes as they came. */
		u = rfx_email_to_utf8(NULL, d->dt_data.dt_text.dt_data,
				      d->dt_data.dt_text.dt_length);
	} else {
		const char *cs =
			mm->mm_content_type ? mailmime_content_charset_get(mm->mm_content_type) : NULL;
		u = rfx_email_to_utf8(cs, dec, declen);
		mailmime_decoded_part_free(dec);
	}
	if (u != NULL && html) {
		char *t = rfx_email_html_to_text(u, strlen(u));
		free(u);
		u = t;
	}
	return u;
}

static int body_set(struct rfx_email_msg *m, char *text, size_t body_max)
{
	size_t n;
	char *s = text;

	if (text == NULL)
		return ENOMEM_RC;
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t'))
		n--;
	size_t cut = utf8_cut(s, n, body_max);
	m->body_truncated = cut < n;
	memmove(text, s, cut);
	text[cut] = '\0';
	m->body = text;
	m->body_len = cut;
	return 0;
}

int rfx_email_parse(const char *data, size_t len, size_t body_max, struct rfx_email_msg *out)
{
	struct mailmime *mime = NULL;
	size_t idx = 0;
	int rc = 0;
	char *copy = NULL;

	memset(out, 0, sizeof(*out));
	if (data == NULL)
		len = 0;
	/* libetpan's decoders read a few bytes past the end of a part that
	 * ends in the middle of an escape (found by fuzz_email_mime): parse a
	 * copy with zero padding so those reads stay in our memory. */
	copy = calloc(1, len + PAD);
	if (copy == NULL)
		return ENOMEM_RC;
	if (len > 0)
		memcpy(copy, data, len);
	data = copy;
	if (len == 0 || mailmime_parse(data, len, &idx, &mime) != MAILIMF_NO_ERROR ||
	    mime == NULL) {
		out->mime_failed = true;
		rc = body_set(out, rfx_email_to_utf8(NULL, len ? data : "", len), body_max);
		goto out;
	}
	if (mime->mm_type == MAILMIME_MESSAGE) {
		rc = headers_read(mime->mm_data.mm_message.mm_fields, out);
		if (rc != 0)
			goto out;
	}
	struct pick p = {NULL, NULL};
	walk(mime, 0, false, &p);
	if (p.plain == NULL && p.html == NULL)
		walk(mime, 0, true, &p);
	if (p.plain != NULL) {
		rc = body_set(out, part_text(p.plain, false, copy, len), body_max);
	} else if (p.html != NULL) {
		out->body_html = true;
		rc = body_set(out, part_text(p.html, true, copy, len), body_max);
	} else {
		rc = body_set(out, strdup(""), body_max);
	}
out:
	if (mime != NULL)
		mailmime_free(mime);
	free(copy);
	if (rc != 0)
		rfx_email_msg_free(out);
	return rc;
}

void rfx_email_msg_free(struct rfx_email_msg *m)
{
	if (m == NULL)
		return;
	free(m->subject);
	free(m->from);
	free(m->from_addr);
	free(m->to);
	free(m->message_id);
	free(m->date);
	free(m->body);
	memset(m, 0, sizeof(*m));
}
