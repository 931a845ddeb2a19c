// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRC32C with the SSE4.2 crc32 instruction and a table-driven fallback for
 * CPUs without it. The instruction has a latency of three cycles and a
 * throughput of one, so a long buffer runs as three interleaved streams
 * whose CRCs are joined with carry-less multiplies (PCLMULQDQ) by
 * x^(8 * stream length), itself built from a table of powers of two.
 */
#include <stdbool.h>
#include <string.h>

#include "dict/crc32c.h"

#define POLY 0x82f63b78u /* CRC32C, reflected */
#define MIN_STREAM 64u          /* shorter buffers run as one stream */
#define MAX_STREAM (1ull << 30) /* the power table's reach */

static uint32_t table[256];
static uint32_t x2n_table[32];
static int inited;
int crc32c_hw;
uint32_t crc32c_shift_k[CRC32C_SHIFT_MAX + 1];
/* pow_k[j] = x^(8 * 2^j - 33) mod P, for j >= 3 (see crc32c_raw_shift). */
static uint32_t pow_k[30];

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

__attribute__((constructor)) static void crc32c_init(void)
{
	uint32_t p, x8;
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
	x8 = x2nmodp(8, 0);
	crc32c_shift_k[CRC32C_SHIFT_MIN] = x2nmodp(8 * CRC32C_SHIFT_MIN - 33, 0);
	for (i = CRC32C_SHIFT_MIN + 1; i <= CRC32C_SHIFT_MAX; i++)
		crc32c_shift_k[i] = multmodp(crc32c_shift_k[i - 1], x8);
	pow_k[3] = x2nmodp(8 * 8 - 33, 0);
	for (i = 4; i <= 29; i++) /* times x^(8 * 2^(i-1)) = x^(2^(i+2)) */
		pow_k[i] = multmodp(pow_k[i - 1], x2n_table[i + 2]);
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
#endif
	inited = 1;
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
#define HW CRC32C_HW_TARGET

/* @s times x^(8n) mod P, where @k = x^(8n - 33) mod P: see crc32c_raw_shift(). */
static inline HW uint32_t shift_by(uint32_t s, uint32_t k)
{
	__m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)s), _mm_cvtsi32_si128((int)k), 0);

	return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod));
}

/* x^(8 @m - 33) mod P for a multiple of 8, 8 <= @m < MAX_STREAM: one multiply per bit set. */
static inline HW uint32_t k_for(uint64_t m)
{
	unsigned int j = (unsigned int)__builtin_ctzll(m);
	uint32_t k = pow_k[j];

	/* k * x^(8 * 2^j) for every further bit j. */
	for (m &= m - 1; m; m &= m - 1)
		k = shift_by(k, pow_k[__builtin_ctzll(m)]);
	return k;
}

/*
 * Advances raw register @s over three consecutive blocks of @blk bytes at
 * @p (copying them to @d when @copy), as three independent streams joined
 * at the end: raw(s, A||B||C) = shift(a, 2 blk) ^ shift(b, blk) ^ c.
 */
static inline __attribute__((always_inline)) HW uint32_t three_streams(uint32_t s,
									const uint8_t *p,
									uint8_t *d, size_t blk,
									const bool copy)
{
	uint64_t a = s, b = 0, c = 0;
	const uint8_t *end = p + blk;

	for (; p < end; p += 8) {
		uint64_t wa, wb, wc;

		memcpy(&wa, p, 8);
		memcpy(&wb, p + blk, 8);
		memcpy(&wc, p + 2 * blk, 8);
		if (copy) {
			memcpy(d, &wa, 8);
			memcpy(d + blk, &wb, 8);
			memcpy(d + 2 * blk, &wc, 8);
			d += 8;
		}
		/*
		 * Keeps the three stores ahead of the three crc32s: interleaved
		 * (as the compiler likes), the fused copy of 1 MiB ran 8% slower
		 * on AMD Zen than the crc alone; in this order, 3%.
		 */
		__asm__("" : "+r"(wa), "+r"(wb), "+r"(wc));
		a = _mm_crc32_u64(a, wa);
		b = _mm_crc32_u64(b, wb);
		c = _mm_crc32_u64(c, wc);
	}
	return shift_by((uint32_t)a, k_for(2 * blk)) ^ shift_by((uint32_t)b, k_for(blk)) ^
	       (uint32_t)c;
}

static inline __attribute__((always_inline)) HW uint32_t hw_crc(uint32_t crc, const uint8_t *p,
								 uint8_t *d, size_t n,
								 const bool copy)
{
	uint32_t s = ~crc;

	while (n >= 3 * MIN_STREAM) {
		size_t blk = n / 3 < MAX_STREAM / 2 ? (n / 3) & ~(size_t)7 : MAX_STREAM / 2;

		s = three_streams(s, p, d, blk, copy);
		p += 3 * blk;
		n -= 3 * blk;
		if (copy)
			d += 3 * blk;
	}
	return ~crc32c_raw_update(s, copy ? d : NULL, p, n);
}

static HW uint32_t hw_crc_plain(uint32_t crc, const uint8_t *p, size_t n)
{
	return hw_crc(crc, p, NULL, n, false);
}

static HW uint32_t hw_crc_copy(uint32_t crc, const uint8_t *p, uint8_t *d, size_t n)
{
	return hw_crc(crc, p, d, n, true);
}
#else
uint32_t crc32c_raw_shift(uint32_t s, size_t n)
{
	if (!inited)
		crc32c_init();
	return multmodp(x2nmodp(n, 3), s);
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (!inited)
		crc32c_init();
#if defined(__x86_64__)
	if (crc32c_hw)
		return hw_crc_plain(crc, buf, len);
#endif
	return ~sw_update(~crc, buf, NULL, len);
}

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
	if (!inited)
		crc32c_init();
#if defined(__x86_64__)
	if (crc32c_hw)
		return hw_crc_copy(crc, src, dst, len);
#endif
	return ~sw_update(~crc, src, dst, len);
}
