/*
 * plugins/outputs/email/email_mime.c - builds the RFC 5322 / MIME message
 * of the email output (see email_mime.h).
 */
#include "email_mime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <reflex/plugin.h>

void em_buf_free(struct em_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int em_buf_add(struct em_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return RFX_ENOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int add_str(struct em_buf *b, const char *s)
{
	return em_buf_add(b, s, strlen(s));
}

int em_qp(struct em_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		bool eol_next = i + 1 == n || s[i + 1] == '\n' ||
				(s[i + 1] == '\r' && (i + 2 == n || s[i + 2] == '\n'));
		char enc[3];
		size_t w;

		if (c == '\r' && (i + 1 == n || s[i + 1] == '\n'))
			continue;
		if (c == '\n') {
			rc = em_buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		if (c == '=' || c > 126 || (c < 32 && c != '\t') || ((c == ' ' || c == '\t') && eol_next) ||
		    (c == '.' && col == 0)) {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		} else {
			enc[0] = (char)c;
			w = 1;
		}
		/* a soft break keeps every line within 76 characters, '=' included */
		if (col + w > 75 && !(eol_next && col + w <= 76)) {
			rc = em_buf_add(b, "=\r\n", 3);
			col = 0;
			if (rc == 0 && c == '.' && w == 1) {
				enc[0] = '=';
				enc[1] = '2';
				enc[2] = 'E';
				w = 3;
			}
		}
		if (rc == 0)
			rc = em_buf_add(b, enc, w);
		col += w;
	}
	return rc;
}

static bool needs_encoding(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p > 126 || (*p < 32 && *p != '\t'))
			return true;
	/* a literal "=?" could be taken for an encoded word */
	return strstr(v, "=?") != NULL;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

int em_header_text(struct em_buf *b, const char *name, const char *value)
{
	size_t n = strlen(value), i = 0;
	int rc;

	rc = add_str(b, name);
	if (rc == 0)
		rc = em_buf_add(b, ": ", 2);
	if (rc != 0)
		return rc;
	if (!needs_encoding(value)) {
		/* plain ASCII: fold at spaces so no line passes 78 characters */
		size_t col = strlen(name) + 2;

		while (rc == 0 && i < n) {
			size_t word = strcspn(value + i + 1, " ") + 1;

			if (i + word > n)
				word = n - i;
			if (col + word > 78 && col > strlen(name) + 2 && value[i] == ' ') {
				rc = em_buf_add(b, "\r\n", 2);
				col = 0;
			}
			if (rc == 0)
				rc = em_buf_add(b, value + i, word);
			col += word;
			i += word;
		}
		return rc == 0 ? em_buf_add(b, "\r\n", 2) : rc;
	}
	/* encoded words of at most 45 bytes of text: "=?UTF-8?B?" + 60 + "?=" = 72 */
	while (rc == 0 && i < n) {
		unsigned char chunk[48];
		char enc[68];
		size_t k = 0;

		while (i + k < n && k < 45) {
			size_t cl = 1;
			unsigned char c = (unsigned char)value[i + k];

			if (c >= 0xF0)
				cl = 4;
			else if (c >= 0xE0)
				cl = 3;
			else if (c >= 0xC0)
				cl = 2;
			if (k + cl > 45 || i + k + cl > n)
				break;
			k += cl;
		}
		if (k == 0)
			k = 1; /* a broken sequence at the end: send the byte */
		for (size_t j = 0; j < k; j++) {
			unsigned char c = (unsigned char)value[i + j];

			chunk[j] = c == '\r' || c == '\n' ? ' ' : c;
		}
		b64(chunk, k, enc);
		if (i > 0)
			rc = em_buf_add(b, "\r\n ", 3);
		if (rc == 0)
			rc = add_str(b, "=?UTF-8?B?");
		if (rc == 0)
			rc = add_str(b, enc);
		if (rc == 0)
			rc = em_buf_add(b, "?=", 2);
		i += k;
	}
	return rc == 0 ? em_buf_add(b, "\r\n", 2) : rc;
}

void em_date(int64_t t, char *out, size_t len)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void em_addr(const char *s, char *out, size_t len)
{
	const char *lt = strrchr(s, '<'), *gt;
	size_t n;

	out[0] = '\0';
	if (lt != NULL) {
		gt = strchr(lt, '>');
		if (gt == NULL)
			return;
		s = lt + 1;
		n = (size_t)(gt - s);
	} else {
		while (*s == ' ')
			s++;
		n = strlen(s);
		while (n > 0 && s[n - 1] == ' ')
			n--;
	}
	if (n == 0 || n >= len || memchr(s, '@', n) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || strchr("<>()[],;:\\\"", s[i]) != NULL)
			return;
	memcpy(out, s, n);
	out[n] = '\0';
}

static int add_part(struct em_buf *b, const char *boundary, const char *type, const char *s,
		    size_t n)
{
	int rc = add_str(b, "--");

	if (rc == 0)
		rc = add_str(b, boundary);
	if (rc == 0)
		rc = add_str(b, "\r\nContent-Type: ");
	if (rc == 0)
		rc = add_str(b, type);
	if (rc == 0)
		rc = add_str(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
	if (rc == 0)
		rc = em_qp(b, s, n);
	return rc == 0 ? add_str(b, "\r\n") : rc;
}

int em_build(struct em_buf *b, const struct em_message *m)
{
	char date[64], line[1200];
	int rc;

	b->len = 0;
	em_date(m->date, date, sizeof date);
	snprintf(line, sizeof line, "Date: %s\r\nFrom: %s\r\n", date, m->from);
	rc = add_str(b, line);
	for (size_t i = 0; rc == 0 && i < m->nto; i++) {
		rc = add_str(b, i == 0 ? "To: " : ",\r\n ");
		if (rc == 0)
			rc = add_str(b, m->to[i]);
	}
	if (rc == 0)
		rc = add_str(b, "\r\n");
	if (rc == 0)
		rc = em_header_text(b, "Subject", m->subject);
	if (rc == 0) {
		snprintf(line, sizeof line, "Message-ID: %s\r\n", m->message_id);
		rc = add_str(b, line);
	}
	if (rc == 0 && m->in_reply_to != NULL) {
		snprintf(line, sizeof line, "In-Reply-To: %s\r\nReferences: %s\r\n", m->in_reply_to,
			 m->in_reply_to);
		rc = add_str(b, line);
	}
	if (rc == 0 && m->event_id != NULL) {
		snprintf(line, sizeof line, "X-Reflex-Event-Id: %s\r\n", m->event_id);
		rc = add_str(b, line);
	}
	if (rc == 0) {
		/* Auto-Submitted keeps vacation responders from answering (RFC 3834) */
		snprintf(line, sizeof line,
			 "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n"
			 "This is a MIME message with a text and an HTML version.\r\n",
			 m->boundary);
		rc = add_str(b, line);
	}
	if (rc == 0)
		rc = add_part(b, m->boundary, "text/plain", m->text, m->text_len);
	if (rc == 0)
		rc = add_part(b, m->boundary, "text/html", m->html, m->html_len);
	if (rc == 0) {
		snprintf(line, sizeof line, "--%s--\r\n", m->boundary);
		rc = add_str(b, line);
	}
	return rc;
}
