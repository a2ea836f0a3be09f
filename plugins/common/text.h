/*
 * plugins/common/text.h - text limits every vendor API imposes, shared by
 * the output plugins (compiled into each, not part of the core): counting
 * and cutting UTF-8 by characters, a JSON string cut with an ellipsis, and
 * a bounded identity key (a fingerprint or group key) that stays stable
 * and distinct when it has to be shortened.
 */
#ifndef RFX_OUT_TEXT_H
#define RFX_OUT_TEXT_H

#include <stddef.h>

struct json_object;

#define RFX_TEXT_HIDDEN __attribute__((visibility("hidden")))

/* Bytes of the first max characters of s[0..len). */
RFX_TEXT_HIDDEN size_t rfx_text_prefix(const char *s, size_t len, size_t max);
/* Characters in s[0..len). */
RFX_TEXT_HIDDEN size_t rfx_text_chars(const char *s, size_t len);
/* A JSON string of s cut to max characters, a cut marked with an ellipsis
 * (U+2026, counted in max). NULL without memory. */
RFX_TEXT_HIDDEN struct json_object *rfx_text_cut_json(const char *s, size_t len, size_t max);
/* id itself when it fits in max characters, else its first characters,
 * "~" and a 128-bit digest of the whole, so distinct ids stay distinct;
 * "" for an empty id. len must be at least 4 * max + 1; max > 33. */
RFX_TEXT_HIDDEN void rfx_text_key(const char *id, size_t max, char *out, size_t len);

#endif
