/*
 * fuzz/fuzz_syslog_parse.c - libFuzzer target for the syslog parser
 * (plugins/inputs/syslog/parse.c). The parser must accept any bytes, so
 * besides crashes this checks the promises parse.h makes about the result;
 * every string it returns is read in full so that ASan sees a bad pointer.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every byte of s: a dangling or unterminated pointer trips ASan. */
static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct syslog_msg m;
	volatile size_t sink = 0;

	if (rfx_syslog_parse((const char *)data, size, &m) != 0)
		return 0; /* out of memory: nothing to free, per parse.h */
	if (m.rfc != SYSLOG_RAW && m.rfc != SYSLOG_3164 && m.rfc != SYSLOG_5424)
		__builtin_trap();
	if (m.facility < 0 || m.facility > 23 || m.severity < 0 || m.severity > 7)
		__builtin_trap();
	if (m.nsd > SYSLOG_SD_MAX || !m.message)
		__builtin_trap();
	/* A message can only come from the input (BOM stripped), never grow. */
	if (m.message_len > size)
		__builtin_trap();
	for (size_t i = 0; i < m.message_len; i++)
		sink += (unsigned char)m.message[i];
	sink += touch(m.hostname) + touch(m.appname) + touch(m.procid) + touch(m.msgid);
	for (size_t i = 0; i < m.nsd; i++) {
		if (!m.sd[i].id)
			__builtin_trap();
		sink += touch(m.sd[i].id) + touch(m.sd[i].name) + touch(m.sd[i].value);
	}
	sink += touch(rfx_syslog_facility_name(m.facility));
	(void)sink;
	rfx_syslog_msg_free(&m);
	return 0;
}
