/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_CRC32C_H
#define FG_CRC32C_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * CRC32C (Castagnoli). crc32c(0, p, n) is the standard checksum; pass a
 * previous result as @crc to continue it over more bytes. Uses the SSE4.2
 * crc32 and PCLMULQDQ instructions when the CPU has both, a table otherwise.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Copies @len bytes from @src to @dst and returns crc32c(@crc, @src, @len). */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);

/*
 * Inline pieces for the dictionary writer's hot path, which is compiled
 * once with CRC32C_HW_TARGET (and these inlined, no call, no dispatch) and
 * once portable, and picks one by crc32c_hw.
 *
 * They work on the raw CRC register, without the standard inversions:
 * crc32c(c, p, n) == ~crc32c_raw(~c, p, n). In that form the CRC is linear,
 * so a message can be checksummed in pieces that run in parallel:
 *   raw(s, A || B) == crc32c_raw_shift(raw(s, A), |B|) ^ raw(0, B).
 */

/* 1 when the CPU has SSE4.2 crc32 and PCLMULQDQ (known before main runs). */
extern int crc32c_hw;
/*
 * 1 when it also has AVX-512F and VPCLMULQDQ: crc32c and crc32c_copy fold
 * 64-byte blocks. Tests clear it (and crc32c_hw) to check the other paths.
 */
extern int crc32c_fold;

#define CRC32C_SHIFT_MIN 8
#define CRC32C_SHIFT_MAX 64
/* x^(8n - 33) mod P for CRC32C_SHIFT_MIN <= n <= CRC32C_SHIFT_MAX (see crc32c_raw_shift). */
extern uint32_t crc32c_shift_k[CRC32C_SHIFT_MAX + 1];

#if defined(__x86_64__)
#include <immintrin.h>

#define CRC32C_HW_TARGET __attribute__((target("sse4.2,pclmul")))

static inline CRC32C_HW_TARGET uint32_t crc32c_raw_update(uint32_t s, uint8_t *d,
							  const uint8_t *p, size_t n)
{
	uint64_t s64 = s, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		if (d) {
			memcpy(d, &w, 8);
			d += 8;
		}
		s64 = _mm_crc32_u64(s64, w);
	}
	s = (uint32_t)s64;
	if (n & 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		if (d) {
			memcpy(d, &v, 4);
			d += 4;
		}
		s = _mm_crc32_u32(s, v);
		p += 4;
	}
	if (n & 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		if (d) {
			memcpy(d, &v, 2);
			d += 2;
		}
		s = _mm_crc32_u16(s, v);
		p += 2;
	}
	if (n & 1) {
		if (d)
			*d = *p;
		s = _mm_crc32_u8(s, *p);
	}
	return s;
}

/*
 * crc32c_raw_update for @n <= 64, unrolled: each word is a load, a store
 * (when @d) and a crc32, with no loop counting around them. The hot path's
 * keys and inline values are this short.
 */
static inline CRC32C_HW_TARGET uint32_t crc32c_raw_update_short(uint32_t s, uint8_t *d,
								const uint8_t *p, size_t n)
{
	const uint8_t *q = p + (n & ~(size_t)7);
	uint8_t *e = d ? d + (n & ~(size_t)7) : NULL;
	uint64_t s64 = s;

#define CRC32C_WORD(i)                                                                             \
	do {                                                                                       \
		uint64_t w_;                                                                       \
		memcpy(&w_, q - 8 * (i), 8);                                                       \
		if (d)                                                                             \
			memcpy(e - 8 * (i), &w_, 8);                                               \
		s64 = _mm_crc32_u64(s64, w_);                                                      \
	} while (0)
	switch (n >> 3) {
	case 8:
		CRC32C_WORD(8);
		/* fall through */
	case 7:
		CRC32C_WORD(7);
		/* fall through */
	case 6:
		CRC32C_WORD(6);
		/* fall through */
	case 5:
		CRC32C_WORD(5);
		/* fall through */
	case 4:
		CRC32C_WORD(4);
		/* fall through */
	case 3:
		CRC32C_WORD(3);
		/* fall through */
	case 2:
		CRC32C_WORD(2);
		/* fall through */
	case 1:
		CRC32C_WORD(1);
		/* fall through */
	default:
		break;
	}
#undef CRC32C_WORD
	return crc32c_raw_update((uint32_t)s64, e, q, n & 7);
}

/*
 * The raw register @s advanced over @n zero bytes, for CRC32C_SHIFT_MIN <=
 * @n <= CRC32C_SHIFT_MAX: one carry-less multiply by x^(8n - 33), and the
 * crc32 instruction reduces the 64-bit product (times x^33) modulo P.
 */
static inline CRC32C_HW_TARGET uint32_t crc32c_raw_shift(uint32_t s, size_t n)
{
	__m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)s),
					    _mm_cvtsi32_si128((int)crc32c_shift_k[n]), 0);

	return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod));
}
#else
#define CRC32C_HW_TARGET

/* Never used where crc32c_hw is 0 (always, here); portable so that callers compile. */
static inline uint32_t crc32c_raw_update(uint32_t s, uint8_t *d, const uint8_t *p, size_t n)
{
	return ~(d ? crc32c_copy(~s, d, p, n) : crc32c(~s, p, n));
}

static inline uint32_t crc32c_raw_update_short(uint32_t s, uint8_t *d, const uint8_t *p,
					       size_t n)
{
	return crc32c_raw_update(s, d, p, n);
}

uint32_t crc32c_raw_shift(uint32_t s, size_t n);
#endif

#endif
