// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "digest/sha256.h"

int sha256_init(struct sha256 *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		s->ctx = NULL;
		return -ENOMEM;
	}
	s->ctx = ctx;
	return 0;
}

void sha256_update(struct sha256 *s, const void *p, size_t len)
{
	if (s->ctx && len)
		EVP_DigestUpdate(s->ctx, p, len);
}

void sha256_final_hex(struct sha256 *s, char hex[SHA256_HEX_LEN])
{
	unsigned char md[SHA256_LEN];
	unsigned int n = 0, i;

	hex[0] = '\0';
	if (!s->ctx)
		return;
	if (EVP_DigestFinal_ex(s->ctx, md, &n) == 1 && n == SHA256_LEN)
		for (i = 0; i < SHA256_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	sha256_abort(s);
}

void sha256_abort(struct sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int sha256_hex(const void *p, size_t len, char hex[SHA256_HEX_LEN])
{
	struct sha256 s;
	int err = sha256_init(&s);

	if (err)
		return err;
	sha256_update(&s, p, len);
	sha256_final_hex(&s, hex);
	return hex[0] ? 0 : -EIO;
}
