/*
 * plugins/inputs/email/mime.h - turns the bytes of one RFC 822 message into
 * the few things an event needs: subject, sender, recipients, Message-ID,
 * date and a plain-text body, all as valid UTF-8. No sockets, no host
 * table: unit tests and the fuzzer call it directly.
 *
 * Decoding uses libetpan's MIME parser (multipart, quoted-printable,
 * base64, RFC 2047 encoded words) and iconv for charsets. The body is the
 * first text/plain part that is not an attachment, else the first text/html
 * part with its tags stripped. Any input is accepted: what cannot be parsed
 * as MIME is kept as raw text.
 */
#ifndef RFX_EMAIL_MIME_H
#define RFX_EMAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFX_EMAIL_HEADER_MAX 4096 /* bytes kept of one decoded header value */
#define RFX_EMAIL_DEPTH_MAX 16    /* MIME nesting looked into for the body */

struct rfx_email_msg {
	char *subject;    /* decoded; NULL when the header is absent */
	char *from;       /* "Name <addr>" or "addr"; NULL when absent */
	char *from_addr;  /* addr-spec of the first From mailbox; NULL when absent */
	char *to;         /* decoded recipients, ", "-separated; NULL when absent */
	char *message_id; /* without angle brackets; NULL when absent */
	char *date;       /* the Date header as ISO 8601 UTC; NULL when absent */
	int64_t date_ms;  /* unix ms of the Date header; valid when has_date */
	bool has_date;
	char *body;       /* never NULL after success; "" when there is no text */
	size_t body_len;
	bool body_html;      /* the body came from text/html, tags stripped */
	bool body_truncated; /* cut at body_max */
	bool mime_failed;    /* no MIME structure: body is the raw text */
};

/*
 * Parses len bytes (not NUL-terminated) of one message; the body is cut at
 * body_max bytes on a UTF-8 boundary. Fills *out, which the caller frees
 * with rfx_email_msg_free() after a 0 return. Returns 0 or -2 (out of
 * memory; nothing to free).
 */
int rfx_email_parse(const char *data, size_t len, size_t body_max, struct rfx_email_msg *out);
void rfx_email_msg_free(struct rfx_email_msg *m);

/*
 * Converts len bytes in `charset` (NULL or unknown: UTF-8 when valid, else
 * ISO-8859-1) to UTF-8 without NULs or control characters other than tab
 * and newline; bad sequences become U+FFFD. Returns a malloc'd string
 * (caller frees) or NULL when out of memory.
 */
char *rfx_email_to_utf8(const char *charset, const char *in, size_t len);

/* Strips tags, script/style content and common entities from HTML; the
 * result (malloc'd, caller frees; NULL when out of memory) is text. */
char *rfx_email_html_to_text(const char *html, size_t len);

#endif
