/*
 * plugins/common/text.c - UTF-8 cutting and bounded keys for the output
 * plugins (see text.h).
 */
#include "text.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

size_t rfx_text_prefix(const char *s, size_t len, size_t max)
{
	size_t chars = 0, i = 0;

	while (i < len) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (chars == max)
				break;
			chars++;
		}
		i++;
	}
	return i;
}

size_t rfx_text_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

struct json_object *rfx_text_cut_json(const char *s, size_t len, size_t max)
{
	size_t n = rfx_text_prefix(s, len, max);
	struct json_object *o;
	char *tmp;

	if (n == len)
		return json_object_new_string_len(s, (int)len);
	n = max > 0 ? rfx_text_prefix(s, len, max - 1) : 0;
	tmp = malloc(n + 4);
	if (tmp == NULL)
		return NULL;
	memcpy(tmp, s, n);
	memcpy(tmp + n, "\xE2\x80\xA6", 3); /* U+2026 */
	o = json_object_new_string_len(tmp, (int)n + 3);
	free(tmp);
	return o;
}

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void rfx_text_key(const char *id, size_t max, char *out, size_t len)
{
	size_t il, keep;

	if (id == NULL || *id == '\0') {
		out[0] = '\0';
		return;
	}
	il = strlen(id);
	if (rfx_text_prefix(id, il, max) == il && il < len) {
		memcpy(out, id, il + 1);
		return;
	}
	keep = rfx_text_prefix(id, il, max - 33); /* "~" and 32 hex digits follow */
	snprintf(out, len, "%.*s~%016" PRIx64 "%016" PRIx64, (int)keep, id,
		 fnv1a(id, 1469598103934665603ULL), fnv1a(id, 0x9E3779B97F4A7C15ULL));
}
