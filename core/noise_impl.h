/*
 * core/noise_impl.h - what the files of the noise stage share and nobody
 * else uses: the time zone reader (noise_tz.c), the silence and maintenance
 * sets (noise_rules.c) and the pieces noise.c calls from judge.
 */
#ifndef RFX_CORE_NOISE_IMPL_H
#define RFX_CORE_NOISE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "noise.h"

/* ---- time zones (noise_tz.c) ----
 * Offsets are computed from the TZif files under /usr/share/zoneinfo and
 * their POSIX TZ footer, never with setenv("TZ")/tzset(): those change
 * process-wide state that localtime_r() in other threads reads without a
 * lock. A loaded zone is immutable and may be shared by threads. */
struct rfx_noise_tz;

/* "UTC", "Etc/UTC" or an IANA name found under the zoneinfo directory
 * (override with the REFLEX_ZONEINFO environment variable, read here).
 * NULL with a message on an unknown or malformed zone. */
struct rfx_noise_tz *rfx_noise_tz_load(const char *name, char *err, size_t errlen);
void rfx_noise_tz_free(struct rfx_noise_tz *tz);
/* Seconds east of UTC in force at unix time t. */
int32_t rfx_noise_tz_offset(const struct rfx_noise_tz *tz, int64_t t);
/* The name it was loaded with. */
const char *rfx_noise_tz_name(const struct rfx_noise_tz *tz);
/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t rfx_noise_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---- silences and windows (noise_rules.c) ---- */
struct rfx_noise_rules;

struct rfx_noise_rules *rfx_noise_rules_new(const struct rfx_noise_silence_conf *sc,
					    const struct rfx_seclist *windows, char *err,
					    size_t errlen);
void rfx_noise_rules_free(struct rfx_noise_rules *r);
/* Under the read lock: the first active silence and the first active
 * window matching ev. Either out may be left empty. */
void rfx_noise_rules_match(struct rfx_noise_rules *r, const rfx_event *ev, int64_t now_ns,
			   char silence_id[RFX_EVENT_ID_LEN + 1],
			   char window[RFX_NOISE_NAME_MAX]);

/* noise.c hands its rules to the API functions through this accessor. */
struct rfx_noise_rules *rfx_noise_rules_of(struct rfx_noise *n);

#endif
