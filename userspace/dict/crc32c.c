// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRC32C with the SSE4.2 instruction (three interleaved streams for long
 * buffers, joined with the GF(2) shift zlib uses for crc32_combine) and a
 * table-driven fallback for CPUs without it.
 */
#include <string.h>

#include "dict/crc32c.h"

#define POLY 0x82f63b78u /* CRC32C, reflected */

static uint32_t table[256];
static uint32_t x2n_table[32];
static int have_hw = -1;

/* a * b modulo POLY, both reflected (zlib's multmodp). */
static uint32_t multmodp(uint32_t a, uint32_t b)
{
	uint32_t m = 1u << 31, p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if ((a & (m - 1)) == 0)
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ POLY : b >> 1;
	}
	return p;
}

/* x^(n * 2^k) modulo POLY. */
static uint32_t x2nmodp(uint64_t n, unsigned int k)
{
	uint32_t p = 1u << 31;

	while (n) {
		if (n & 1)
			p = multmodp(x2n_table[k & 31], p);
		n >>= 1;
		k++;
	}
	return p;
}

/* crc32c(A || B) from crc32c(A), crc32c(B) and len(B). */
static uint32_t combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
	return multmodp(x2nmodp(len2, 3), crc1) ^ crc2;
}

__attribute__((constructor)) static void crc32c_init(void)
{
	uint32_t p;
	int i, j;

	for (i = 0; i < 256; i++) {
		uint32_t c = (uint32_t)i;

		for (j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[i] = c;
	}
	p = 1u << 30; /* x^1 */
	x2n_table[0] = p;
	for (i = 1; i < 32; i++)
		x2n_table[i] = p = multmodp(p, p);
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_hw = __builtin_cpu_supports("sse4.2");
#else
	have_hw = 0;
#endif
}

static uint32_t sw_update(uint32_t s, const uint8_t *p, uint8_t *d, size_t n)
{
	while (n--) {
		if (d)
			*d++ = *p;
		s = table[(s ^ *p++) & 0xff] ^ (s >> 8);
	}
	return s;
}

#if defined(__x86_64__)
#define HW __attribute__((target("sse4.2")))

static inline HW uint32_t hw_update_small(uint32_t s, const uint8_t *p, uint8_t *d, size_t n)
{
	uint64_t s64 = s;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		if (d) {
			memcpy(d, &w, 8);
			d += 8;
		}
		s64 = __builtin_ia32_crc32di(s64, w);
	}
	s = (uint32_t)s64;
	for (; n; n--, p++) {
		if (d)
			*d++ = *p;
		s = __builtin_ia32_crc32qi(s, *p);
	}
	return s;
}

/* Three independent streams hide the instruction's 3-cycle latency. */
static HW uint32_t hw_crc(uint32_t crc, const uint8_t *p, uint8_t *d, size_t n)
{
	uint64_t a, b, c;
	size_t blk, i;

	if (n < 3 * 1024)
		return ~hw_update_small(~crc, p, d, n);

	blk = (n / 3) & ~(size_t)7;
	a = ~crc;
	b = 0xffffffffu;
	c = 0xffffffffu;
	for (i = 0; i < blk; i += 8) {
		uint64_t wa, wb, wc;

		memcpy(&wa, p + i, 8);
		memcpy(&wb, p + blk + i, 8);
		memcpy(&wc, p + 2 * blk + i, 8);
		if (d) {
			memcpy(d + i, &wa, 8);
			memcpy(d + blk + i, &wb, 8);
			memcpy(d + 2 * blk + i, &wc, 8);
		}
		a = __builtin_ia32_crc32di(a, wa);
		b = __builtin_ia32_crc32di(b, wb);
		c = __builtin_ia32_crc32di(c, wc);
	}
	crc = combine(~(uint32_t)a, ~(uint32_t)b, blk);
	crc = combine(crc, ~(uint32_t)c, blk);
	return ~hw_update_small(~crc, p + 3 * blk, d ? d + 3 * blk : NULL, n - 3 * blk);
}
#endif

static uint32_t crc_any(uint32_t crc, const void *buf, void *dst, size_t len)
{
	if (have_hw < 0)
		crc32c_init();
#if defined(__x86_64__)
	if (have_hw)
		return hw_crc(crc, buf, dst, len);
#endif
	return ~sw_update(~crc, buf, dst, len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	return crc_any(crc, buf, NULL, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	return crc_any(crc, src, dst, len);
}
