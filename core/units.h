/*
 * core/units.h - durations and sizes as people write them in config files:
 * parsing "1h30m" or "64KiB" into milliseconds or bytes, and formatting a
 * value back in the same notation (for --describe and range errors).
 */
#ifndef RFX_CORE_UNITS_H
#define RFX_CORE_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <reflex/plugin.h>

/* "250ms" "30s" "5m" "2h" "1d" "1h30m"; a bare number is seconds.
 * 0 or RFX_EINVAL. */
int rfx_parse_duration(const char *s, int64_t *ms);
/* "512" "64KiB" "64MiB" "1GiB" "10KB" "10MB" (SI) "1k" "1M". 0 or RFX_EINVAL. */
int rfx_parse_size(const char *s, uint64_t *bytes);
/* Writes ms as "1h30m" ("0s" for 0, "negative" below it) into out, at most
 * len bytes including the NUL; a too small buffer truncates. */
void rfx_format_duration(int64_t ms, char *out, size_t len);
/* Writes bytes with the unit giving the smallest exact quantity (1048576 is
 * "1MiB", 10000000 is "10MB") into out, at most len bytes including the NUL. */
void rfx_format_size(uint64_t bytes, char *out, size_t len);

#endif
