/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_CRC32C_H
#define FG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC32C (Castagnoli). crc32c(0, p, n) is the standard checksum; pass a
 * previous result as @crc to continue it over more bytes. Uses SSE4.2 when
 * the CPU has it, a table otherwise.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Copies @len bytes from @src to @dst and returns crc32c(@crc, @src, @len). */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

#endif
