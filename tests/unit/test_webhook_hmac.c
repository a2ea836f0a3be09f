/*
 * tests/unit/test_webhook_hmac.c - the webhook input's own SHA-256 and
 * HMAC-SHA256 (plugins/inputs/webhook/hmac_sha256.c) against the published
 * vectors: FIPS 180-2 appendix B and RFC 4231 section 4.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "../../plugins/inputs/webhook/hmac_sha256.h"
#include "testutil.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha_hex(const void *msg, size_t len, char out[65])
{
	struct webhook_sha256 s;
	uint8_t d[WEBHOOK_SHA256_LEN];

	webhook_sha256_init(&s);
	webhook_sha256_update(&s, msg, len);
	webhook_sha256_final(&s, d);
	hex(d, sizeof d, out);
}

static void hmac_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[65])
{
	uint8_t d[WEBHOOK_SHA256_LEN];

	webhook_hmac_sha256(key, keylen, msg, len, d);
	hex(d, sizeof d, out);
}

static void test_sha256_matches_fips_vectors(void)
{
	char h[65];
	static const char two_block[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	sha_hex("abc", 3, h);
	CU_ASSERT_STRING_EQUAL(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha_hex(two_block, strlen(two_block), h);
	CU_ASSERT_STRING_EQUAL(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sha_hex("", 0, h);
	CU_ASSERT_STRING_EQUAL(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_million_a_in_uneven_pieces(void)
{
	struct webhook_sha256 s;
	uint8_t d[WEBHOOK_SHA256_LEN], chunk[997];
	size_t left = 1000000;
	char h[65];

	/* Pieces of 997 bytes cross block boundaries at every offset. */
	memset(chunk, 'a', sizeof chunk);
	webhook_sha256_init(&s);
	while (left > 0) {
		size_t take = left < sizeof chunk ? left : sizeof chunk;
		webhook_sha256_update(&s, chunk, take);
		left -= take;
	}
	webhook_sha256_final(&s, d);
	hex(d, sizeof d, h);
	CU_ASSERT_STRING_EQUAL(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_padding_edges_55_56_64_bytes(void)
{
	char h[65];
	uint8_t m[64];

	/* 55 bytes: the length fits the same block; 56: it spills into a
	 * second one; 64: exactly one full block. Vectors computed with
	 * coreutils sha256sum. */
	memset(m, 'a', sizeof m);
	sha_hex(m, 55, h);
	CU_ASSERT_STRING_EQUAL(h, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	sha_hex(m, 56, h);
	CU_ASSERT_STRING_EQUAL(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	sha_hex(m, 64, h);
	CU_ASSERT_STRING_EQUAL(h, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_hmac_sha256_matches_rfc4231(void)
{
	uint8_t key[131];
	char h[65];

	/* Test case 1 */
	memset(key, 0x0b, 20);
	hmac_hex(key, 20, "Hi There", 8, h);
	CU_ASSERT_STRING_EQUAL(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	/* Test case 2: a key shorter than the output */
	hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, h);
	CU_ASSERT_STRING_EQUAL(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 3: 50 bytes of 0xdd under a 20-byte 0xaa key */
	{
		uint8_t msg[50];
		memset(key, 0xaa, 20);
		memset(msg, 0xdd, sizeof msg);
		hmac_hex(key, 20, msg, sizeof msg, h);
		CU_ASSERT_STRING_EQUAL(
			h, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	}
	/* Test case 6: a 131-byte key, hashed first */
	memset(key, 0xaa, sizeof key);
	hmac_hex(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First", 54, h);
	CU_ASSERT_STRING_EQUAL(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* Test case 7: a large key and a large message */
	{
		static const char msg[] =
			"This is a test using a larger than block-size key and a larger than "
			"block-size data. The key needs to be hashed before being used by the "
			"HMAC algorithm.";
		hmac_hex(key, sizeof key, msg, strlen(msg), h);
		CU_ASSERT_STRING_EQUAL(
			h, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
	}
}

static void test_hmac_sha256_empty_key_and_message(void)
{
	char h[65];

	/* Vector from `openssl dgst -sha256 -hmac ''` of an empty input. */
	hmac_hex("", 0, NULL, 0, h);
	CU_ASSERT_STRING_EQUAL(h, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

int main(void)
{
	static const struct rfx_test tests[] = {
		RFX_TEST(test_sha256_matches_fips_vectors),
		RFX_TEST(test_sha256_million_a_in_uneven_pieces),
		RFX_TEST(test_sha256_padding_edges_55_56_64_bytes),
		RFX_TEST(test_hmac_sha256_matches_rfc4231),
		RFX_TEST(test_hmac_sha256_empty_key_and_message),
		{NULL, NULL},
	};
	return rfx_run_suite("webhook_hmac_sha256", tests);
}
