/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small text helpers: UTF-8 validation and base64, for JSON output. */
#ifndef FG_TEXT_H
#define FG_TEXT_H

#include <stddef.h>

/* 1 when @p holds valid UTF-8 without NUL bytes. */
int text_is_utf8(const void *p, size_t len);
/* Base64 (RFC 4648, padded) of @len bytes; malloc'd, NULL when out of memory. */
char *text_base64(const void *p, size_t len);
/* Decodes padded base64; malloc'd into *out. -EINVAL on bad input. */
int text_unbase64(const char *s, unsigned char **out, size_t *len);

/*
 * A copy of @len bytes as valid UTF-8: invalid sequences and NUL bytes
 * become U+FFFD, at most @max bytes of input are used. malloc'd.
 */
char *text_utf8_sanitize(const void *p, size_t len, size_t max);

#endif
