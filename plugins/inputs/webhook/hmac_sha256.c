/*
 * plugins/inputs/webhook/hmac_sha256.c - SHA-256 and HMAC-SHA256, written
 * from FIPS 180-4 and RFC 2104, for verifying webhook signatures (see
 * hmac_sha256.h). Checked against the FIPS and RFC 4231 test vectors in
 * tests/unit/test_webhook_hmac.c.
 */
#include <string.h>

#include "hmac_sha256.h"

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4, 4.2.2). */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct webhook_sha256 *s, const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

void webhook_sha256_init(struct webhook_sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(s->h, iv, sizeof iv);
	s->bytes = 0;
	s->buflen = 0;
}

void webhook_sha256_update(struct webhook_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->bytes += len;
	if (s->buflen > 0) {
		size_t take = WEBHOOK_SHA256_BLOCK - s->buflen;
		if (take > len)
			take = len;
		memcpy(s->buf + s->buflen, p, take);
		s->buflen += take;
		p += take;
		len -= take;
		if (s->buflen < WEBHOOK_SHA256_BLOCK)
			return;
		sha256_block(s, s->buf);
		s->buflen = 0;
	}
	for (; len >= WEBHOOK_SHA256_BLOCK; p += WEBHOOK_SHA256_BLOCK, len -= WEBHOOK_SHA256_BLOCK)
		sha256_block(s, p);
	if (len > 0) {
		memcpy(s->buf, p, len);
		s->buflen = len;
	}
}

void webhook_sha256_final(struct webhook_sha256 *s, uint8_t out[WEBHOOK_SHA256_LEN])
{
	uint64_t bits = s->bytes * 8;
	uint8_t pad[WEBHOOK_SHA256_BLOCK + 8] = {0x80};
	/* 0x80, zeros up to 56 mod 64, then the 64-bit big-endian length. */
	size_t padlen = (s->buflen < 56 ? 56 : 120) - s->buflen;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	webhook_sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
	memset(s, 0, sizeof *s);
}

void webhook_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
			 uint8_t out[WEBHOOK_SHA256_LEN])
{
	uint8_t k[WEBHOOK_SHA256_BLOCK] = {0}, pad[WEBHOOK_SHA256_BLOCK];
	uint8_t inner[WEBHOOK_SHA256_LEN];
	struct webhook_sha256 s;

	/* A key longer than a block is replaced by its digest (RFC 2104). */
	if (keylen > WEBHOOK_SHA256_BLOCK) {
		webhook_sha256_init(&s);
		webhook_sha256_update(&s, key, keylen);
		webhook_sha256_final(&s, k);
	} else if (keylen > 0) {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < WEBHOOK_SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	webhook_sha256_init(&s);
	webhook_sha256_update(&s, pad, sizeof pad);
	if (len > 0)
		webhook_sha256_update(&s, msg, len);
	webhook_sha256_final(&s, inner);
	for (int i = 0; i < WEBHOOK_SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	webhook_sha256_init(&s);
	webhook_sha256_update(&s, pad, sizeof pad);
	webhook_sha256_update(&s, inner, sizeof inner);
	webhook_sha256_final(&s, out);
	memset(k, 0, sizeof k);
	memset(pad, 0, sizeof pad);
}
