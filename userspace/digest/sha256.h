/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (OpenSSL's libcrypto), for what the collector and faultguardctl
 * must be able to prove: the audit chain and the bytes of a snapshot.
 * Not in the library: apps do not link libcrypto.
 */
#ifndef FG_DIGEST_SHA256_H
#define FG_DIGEST_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

struct sha256 {
	void *ctx; /* EVP_MD_CTX */
};

/* -ENOMEM when libcrypto cannot make a context. */
int sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t len);
/* Writes the digest as lowercase hex and frees the context. */
void sha256_final_hex(struct sha256 *s, char hex[SHA256_HEX_LEN]);
/* Frees a context without a result (accepts one never initialised: ctx NULL). */
void sha256_abort(struct sha256 *s);
/* The digest of @len bytes at @p, in one call. */
int sha256_hex(const void *p, size_t len, char hex[SHA256_HEX_LEN]);

#endif
