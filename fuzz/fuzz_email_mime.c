/*
 * fuzz/fuzz_email_mime.c - libFuzzer target for the email input's MIME
 * decoder (plugins/inputs/email/mime.c, libetpan underneath). Any bytes
 * must parse; besides crashes this checks what mime.h promises: every
 * string is valid UTF-8 without control characters other than tab and
 * newline, and the body respects body_max.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BODY_MAX 2048

/* Traps on bytes a clean string may not hold: a control character, or a
 * sequence rfx_email_to_utf8 would have to repair. */
static void check_clean(const char *s)
{
	if (s == NULL)
		return;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n')
			__builtin_trap();
	char *again = rfx_email_to_utf8("utf-8", s, n);
	if (again == NULL)
		return;
	if (strcmp(again, s) != 0)
		__builtin_trap();
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfx_email_msg m;

	if (rfx_email_parse((const char *)data, size, BODY_MAX, &m) != 0)
		return 0; /* out of memory: nothing to free, per mime.h */
	if (m.body == NULL || m.body_len != strlen(m.body) || m.body_len > BODY_MAX)
		__builtin_trap();
	check_clean(m.subject);
	check_clean(m.from);
	check_clean(m.from_addr);
	check_clean(m.to);
	check_clean(m.message_id);
	check_clean(m.date);
	check_clean(m.body);
	if (m.subject && strlen(m.subject) > RFX_EMAIL_HEADER_MAX)
		__builtin_trap();
	rfx_email_msg_free(&m);
	return 0;
}
