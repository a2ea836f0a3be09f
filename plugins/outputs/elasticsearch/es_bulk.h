/*
 * plugins/outputs/elasticsearch/es_bulk.h - the Elasticsearch _bulk
 * request for N documents and the reading of its per-item answer, kept
 * apart from the plugin so it can be tested without a server.
 *
 * Every document is sent with the `create` action and a deterministic _id
 * (the reflex event id). A document already in the index therefore comes
 * back as 409 version_conflict, which counts as done: sending a document
 * twice is harmless, so a whole request may always be repeated. On top of
 * that the plugin keeps, per delivery, the state of each item (a string of
 * ES_ST_* characters) so a retry sends only the items still pending.
 */
#ifndef RFX_ES_BULK_H
#define RFX_ES_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ES_HIDDEN __attribute__((visibility("hidden")))

#define ES_MAX_DOCS 1000 /* bound on documents in one request */

/* Per-item states, one character each so the set is a printable string. */
#define ES_ST_PENDING '-' /* to be sent (again) */
#define ES_ST_DONE 'd'    /* indexed, or already there (409 on create) */
#define ES_ST_FAILED 'f'  /* refused for good (mapping error...): not resent */

struct es_doc {
	const char *index;  /* borrowed */
	const char *id;     /* borrowed; the _id */
	const char *source; /* borrowed; one line of JSON (no newline in it) */
	size_t source_len;
};

struct es_buf {
	char *data;
	size_t len, cap;
};

ES_HIDDEN void es_buf_free(struct es_buf *b);

/*
 * Builds the NDJSON body: an action line {"create":{"_index":..,"_id":..}}
 * and the source line for each doc whose state[i] is ES_ST_PENDING, each
 * line ending with "\n" (so the body does too). out is replaced. Returns
 * the number of documents written (0 when none is pending), or RFX_ENOMEM.
 */
ES_HIDDEN int es_bulk_build(const struct es_doc *docs, size_t n, const char *state,
			    struct es_buf *out);

/* The outcome of one bulk answer for the items that were sent. */
struct es_outcome {
	size_t done;      /* items now done (created now, or 409) */
	size_t conflicts; /* of which were already there (409) */
	size_t retry;     /* items to send again (429, 5xx) */
	size_t failed;    /* items refused for good */
	char retry_error[200]; /* "HTTP 429 es_rejected_execution_exception: ..." of the
	                          first item to retry */
	char fail_error[200];  /* the same of the first item refused for good */
};

/*
 * Reads a 200 answer of _bulk for the items that were sent (those PENDING
 * in state). Items are matched by _id (ES answers in request order, but an
 * _id check is cheap and survives a proxy that reorders nothing). Updates
 * state: 2xx and 409 → DONE, 429/5xx → stays PENDING, other → FAILED. An
 * item the answer does not mention stays PENDING. Returns 0, or RFX_EINVAL
 * when the body is not a bulk answer (state unchanged).
 */
ES_HIDDEN int es_bulk_parse(const char *body, size_t len, const struct es_doc *docs, size_t n,
			    char *state, struct es_outcome *o);

/* Formats the index name for unix time t (seconds, UTC) from a strftime
 * pattern such as "reflex-%Y.%m.%d". 0, or RFX_EINVAL with a reason in err
 * when the result is not a valid index name (lowercase, none of
 * \ / * ? " < > | space , # :, not starting with - _ +, at most 255 bytes). */
ES_HIDDEN int es_index_name(const char *pattern, int64_t t, char *out, size_t len, char *err,
			    size_t errlen);

/* Standard base64 of n bytes into out (>= 4*((n+2)/3)+1 bytes). */
ES_HIDDEN void es_base64(const unsigned char *in, size_t n, char *out);

#endif
