/*
 * plugins/inputs/syslog/parse.h - the syslog message parser: RFC 5424, RFC
 * 3164 and its real-world variants, and anything else as a raw message.
 * Pure: no I/O, no globals; the caller bounds the input length.
 */
#ifndef RFX_SYSLOG_PARSE_H
#define RFX_SYSLOG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSLOG_SD_MAX 64 /* structured-data entries kept per message */

enum syslog_rfc {
	SYSLOG_RAW = 0,  /* no valid PRI: the whole input is the message */
	SYSLOG_3164 = 1, /* BSD syslog and its variants */
	SYSLOG_5424 = 2,
};

/* One SD-PARAM, or an SD-ELEMENT without params (name NULL). */
struct syslog_sd_param {
	const char *id;
	const char *name;
	const char *value; /* escapes \" \\ \] removed */
};

/* The parsed message. String members point into `buf` (owned, freed by
 * rfx_syslog_msg_free) and are NULL when absent or NILVALUE. */
struct syslog_msg {
	enum syslog_rfc rfc;
	bool has_pri;
	int facility; /* 0..23; 1 (user) when there was no PRI */
	int severity; /* 0..7; 5 (notice) when there was no PRI */
	bool has_time;
	int64_t time_ns; /* unix time in ns, valid when has_time */
	const char *hostname, *appname, *procid, *msgid;
	size_t nsd;
	struct syslog_sd_param sd[SYSLOG_SD_MAX];
	bool sd_truncated; /* more structured data than SYSLOG_SD_MAX */
	const char *message; /* never NULL after a successful parse; BOM stripped */
	size_t message_len;
	char *buf;
};

/* Parses len bytes of msg (not necessarily NUL-terminated) into out.
 * Returns 0, or -1 when out of memory (out then holds nothing to free).
 * Input that does not parse is still a message (rfc SYSLOG_RAW or a
 * lenient 3164 reading): it is never rejected. */
int rfx_syslog_parse(const char *msg, size_t len, struct syslog_msg *out);
void rfx_syslog_msg_free(struct syslog_msg *m);

/* "kern", "user", ... for 0..23, "unknown" otherwise. */
const char *rfx_syslog_facility_name(int facility);

#endif
