/*
 * plugins/inputs/webhook/hmac_sha256.h - SHA-256 (FIPS 180-4) and
 * HMAC-SHA256 (RFC 2104) for the webhook input's `auth: { type: hmac }`.
 *
 * Kept here, small and self-contained, so the plugin needs no crypto
 * library: it only verifies signatures senders compute over the raw body.
 * Not meant for anything else (no streaming HMAC, no other digests).
 */
#ifndef RFX_WEBHOOK_HMAC_SHA256_H
#define RFX_WEBHOOK_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_SHA256_LEN 32
#define WEBHOOK_SHA256_BLOCK 64

struct webhook_sha256 {
	uint32_t h[8];
	uint64_t bytes;                      /* message length so far */
	uint8_t buf[WEBHOOK_SHA256_BLOCK];   /* a partial block */
	size_t buflen;
};

__attribute__((visibility("hidden"))) void webhook_sha256_init(struct webhook_sha256 *s);
__attribute__((visibility("hidden"))) void webhook_sha256_update(struct webhook_sha256 *s,
								  const void *data, size_t len);
__attribute__((visibility("hidden"))) void webhook_sha256_final(struct webhook_sha256 *s,
								 uint8_t out[WEBHOOK_SHA256_LEN]);

/* out = HMAC-SHA256(key, msg). Any key length; data may be NULL when len 0. */
__attribute__((visibility("hidden"))) void webhook_hmac_sha256(const void *key, size_t keylen,
								const void *msg, size_t len,
								uint8_t out[WEBHOOK_SHA256_LEN]);

#endif
