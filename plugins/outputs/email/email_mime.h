/*
 * plugins/outputs/email/email_mime.h - the message the email output sends:
 * RFC 5322 headers (Date, From, To, Subject, Message-ID, threading) and a
 * MIME multipart/alternative body of a text/plain and a text/html part,
 * both UTF-8 and quoted-printable, with CRLF line ends throughout. Kept
 * apart from the plugin so the encoding can be tested without a server.
 */
#ifndef RFX_EMAIL_MIME_H
#define RFX_EMAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_HIDDEN __attribute__((visibility("hidden")))

struct em_buf {
	char *data;
	size_t len, cap;
};

EM_HIDDEN void em_buf_free(struct em_buf *b);
EM_HIDDEN int em_buf_add(struct em_buf *b, const char *s, size_t n);

/* Appends s (n bytes) quoted-printable (RFC 2045): lines of at most 76
 * characters with soft breaks, CRLF for each LF of the input (a CR before
 * it is dropped), '=' and bytes outside printable ASCII as =XX, a space or
 * tab before a line end encoded, a '.' starting a line as =2E. */
EM_HIDDEN int em_qp(struct em_buf *b, const char *s, size_t n);

/* Appends an unstructured header "Name: value" + CRLF. A value with
 * non-ASCII or control bytes becomes RFC 2047 encoded-words
 * (=?UTF-8?B?...?=, each at most 75 characters, never splitting a UTF-8
 * character) folded over several lines; a plain value is kept as it is.
 * Newlines in the value become spaces. */
EM_HIDDEN int em_header_text(struct em_buf *b, const char *name, const char *value);

/* "Fri, 01 May 2024 12:00:00 +0000" for unix seconds t (no locale). */
EM_HIDDEN void em_date(int64_t t, char *out, size_t len);

/* The address inside "Name <addr>" or the string itself; "" when it has
 * no '@' or holds characters no address has. */
EM_HIDDEN void em_addr(const char *s, char *out, size_t len);

struct em_message {
	const char *from;         /* From header, ASCII: "Reflex <r@x.org>" or "r@x.org" */
	const char *const *to;    /* To addresses */
	size_t nto;
	const char *subject;      /* UTF-8 */
	const char *message_id;   /* "<...>" */
	const char *in_reply_to;  /* "<...>" or NULL: In-Reply-To and References */
	const char *text;         /* UTF-8 plain body */
	size_t text_len;
	const char *html;         /* UTF-8 HTML body */
	size_t html_len;
	const char *boundary;     /* unique: appears in no part (QP never makes "=_") */
	int64_t date;             /* unix seconds */
	const char *event_id;     /* X-Reflex-Event-Id, may be NULL */
};

/* Writes the whole message (headers, blank line, body) into b (replaced).
 * 0 or RFX_ENOMEM. */
EM_HIDDEN int em_build(struct em_buf *b, const struct em_message *m);

#endif
