/*
 * core/templates.h - online log template miner: gives every free-text
 * message (a syslog line, a mail subject, a trap text) a template such as
 * "Failed password for <*> from <*> port <*> ssh2" and a template id, so
 * that messages of one kind share a fingerprint.
 *
 * How it works (details in docs/templates.md): a line is split on
 * whitespace; inside a token, parts between delimiters ("=:,;()[]{}<>@#|'\"")
 * that contain a digit, and matches of the user's mask regexes, become <*>.
 * Lines of the same masked shape are looked up in a shape cache (the hot
 * path: no allocation, one hash lookup). A new shape is compared with the
 * templates of the same token count and first token, Drain style; if the
 * best one shares at least sim_threshold of its positions, and no
 * differing position holds two upper-case constants ("HTTPS"/"SOCKS5"),
 * two variables with other constant parts, or an empty against a present
 * key= value, it is widened (differing positions become <*>); else a template of the same first
 * token and another length may take it as a variant (common subsequence,
 * extra tokens only variables or an optional "(...)"); else a new template
 * starts.
 *
 * Use: rfx_tmpl_opts_init(&o); adjust o; m = rfx_tmpl_miner_new(&o, err,
 * sizeof(err)); rfx_tmpl_add(m, line, len, &match) per message;
 * rfx_tmpl_foreach() to store the templates with their counts;
 * rfx_tmpl_miner_free(m).
 *
 * Threads: a miner is not thread-safe; the caller serialises all calls on
 * one miner (one miner per input thread, or a lock around it).
 *
 * Ids: template ids are assigned 1, 2, 3... in order of creation and never
 * change or get reused within one miner, so the same input in the same
 * order gives the same ids in every run. A template's text (and its hash)
 * can still widen as later lines introduce <*>; the hash of the final text
 * is the id to use across restarts (same text, same hash).
 */
#ifndef RFX_TEMPLATES_H
#define RFX_TEMPLATES_H

#include <stddef.h>
#include <stdint.h>

/* Id of the catch-all template that takes lines once max_templates exist
 * and no template is similar enough: new kinds are refused, never evicted,
 * so ids already handed out keep their meaning. */
#define RFX_TMPL_OVERFLOW_ID UINT32_C(0xFFFFFFFF)
#define RFX_TMPL_MASKS_MAX 32

typedef struct rfx_tmpl_opts {
	double sim_threshold;    /* share of equal positions to join a template; default 0.7 */
	uint32_t max_templates;  /* default 10000; then RFX_TMPL_OVERFLOW_ID */
	uint32_t max_tokens;     /* tokens per line, default 128; the rest is one last token */
	uint32_t max_line;       /* bytes of a line considered, default 4096; the rest is ignored */
	uint32_t max_shapes;     /* shape cache entries, default 65536; cleared when full */
	int no_digit_mask;       /* 1: parts with digits stay literal (only user masks apply) */
	/* Extra PCRE2 patterns whose matches become one <*> (a match may span
	 * spaces, e.g. "\\(\\d+(\\.\\d+)? [KMG]B\\)"). Borrowed until
	 * rfx_tmpl_miner_new returns. */
	const char *masks[RFX_TMPL_MASKS_MAX];
	size_t n_masks;
} rfx_tmpl_opts;

/* What rfx_tmpl_add found. template is owned by the miner and valid until
 * the next call on it. */
typedef struct rfx_tmpl_match {
	uint32_t id;          /* template id, or RFX_TMPL_OVERFLOW_ID */
	uint64_t hash;        /* hash of the template text as it is now */
	const char *template; /* NUL-terminated, "<*>" marks variables */
	int is_new;           /* 1 when this line created the template */
	int changed;          /* 1 when this line widened the template */
} rfx_tmpl_match;

/* A template as stored; template borrowed from the miner as above. */
typedef struct rfx_tmpl_info {
	uint32_t id;
	uint64_t hash;
	uint64_t count; /* lines assigned so far */
	const char *template;
} rfx_tmpl_info;

typedef struct rfx_tmpl_miner rfx_tmpl_miner;

/* Fills *o with the defaults above. */
void rfx_tmpl_opts_init(rfx_tmpl_opts *o);

/* A new, empty miner (caller frees with rfx_tmpl_miner_free), or NULL with
 * the reason (e.g. which mask regex does not compile, at which offset) in
 * err. Options out of range are an error, not clamped. */
rfx_tmpl_miner *rfx_tmpl_miner_new(const rfx_tmpl_opts *o, char *err, size_t errlen);

/* Assigns msg (len bytes, need not be NUL-terminated; a trailing newline
 * is ignored) a template and fills *out. 0, or RFX_EINVAL (NULL args). An
 * empty or blank message gets the template "" like any other shape. */
int rfx_tmpl_add(rfx_tmpl_miner *m, const char *msg, size_t len, rfx_tmpl_match *out);

/* Template with this id: 0, or RFX_ENOENT. */
int rfx_tmpl_get(const rfx_tmpl_miner *m, uint32_t id, rfx_tmpl_info *out);

/* Number of templates (without the overflow one). */
uint32_t rfx_tmpl_count(const rfx_tmpl_miner *m);

/* Calls fn for every template in id order, then for the overflow template
 * if it took lines; stops early with fn's value when non-zero. */
int rfx_tmpl_foreach(const rfx_tmpl_miner *m, int (*fn)(const rfx_tmpl_info *t, void *arg), void *arg);

void rfx_tmpl_miner_free(rfx_tmpl_miner *m);

/* Length of a generic log header at the start of line (timestamps, levels,
 * pids, [bracketed] fields, "host prog[pid]:" or "prog -"): the message
 * starts at line + the returned offset. The same rule for every source;
 * 0 when nothing looks like a header. */
size_t rfx_tmpl_header_len(const char *line, size_t len);

#endif
