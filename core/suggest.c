/*
 * core/suggest.c - owns "did you mean": the Levenshtein distance between a
 * mistyped word and each candidate, bounded so that long words cost nothing.
 */
#include "suggest.h"

#include <stddef.h>
#include <string.h>

#define SUGGEST_LEN_MAX 64 /* longer words get no suggestion */

static size_t levenshtein(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[SUGGEST_LEN_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *rfx_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	if (!word || !candidates)
		return NULL;
	size_t lw = strlen(word);
	if (lw == 0 || lw > SUGGEST_LEN_MAX)
		return NULL;
	size_t limit = lw / 3 > 2 ? lw / 3 : 2;
	for (size_t i = 0; candidates[i]; i++) {
		size_t lc = strlen(candidates[i]);
		if (lc > SUGGEST_LEN_MAX)
			continue;
		size_t dist = levenshtein(word, lw, candidates[i], lc);
		/* Replacing the whole word is not a typo. */
		if (dist > limit || dist >= (lw > lc ? lw : lc))
			continue;
		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	return best;
}
