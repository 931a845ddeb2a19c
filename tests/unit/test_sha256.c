// SPDX-License-Identifier: LGPL-2.1-or-later
/* SHA-256 through libcrypto: the FIPS 180-2 test vectors, in one call and in pieces. */
#include <string.h>

#include "digest/sha256.h"
#include "framework/test.h"

TEST(known_digests)
{
	char hex[SHA256_HEX_LEN];

	ASSERT_OK(sha256_hex("", 0, hex), "digest of nothing");
	ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		     "empty");
	ASSERT_OK(sha256_hex("abc", 3, hex), "digest of abc");
	ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		     "abc");
}

TEST(pieces_equal_one_pass)
{
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char hex[SHA256_HEX_LEN];
	struct sha256 s;
	size_t i;

	ASSERT_OK(sha256_init(&s), "init");
	for (i = 0; msg[i]; i++)
		sha256_update(&s, msg + i, 1);
	sha256_final_hex(&s, hex);
	ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		     "448-bit message, a byte at a time");
	ASSERT_TRUE(s.ctx == NULL, "final frees the context");
}
