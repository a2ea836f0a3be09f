/*
 * core/suggest.h - "did you mean ...?": picking the known word closest to a
 * mistyped one, for messages about unknown keys, enum values and plugins.
 */
#ifndef RFX_CORE_SUGGEST_H
#define RFX_CORE_SUGGEST_H

/* The candidate closest to word (Levenshtein distance <= max(2, len/3)),
 * or NULL. candidates is NULL-terminated. The result points into
 * candidates. */
const char *rfx_suggest(const char *word, const char *const *candidates);

#endif
