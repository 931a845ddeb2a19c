// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRC32C: the standard check value, the hardware paths (AVX-512 folding,
 * three crc32 streams with carry-less joins, the inline pieces the writer
 * uses) against the table path at every length that crosses a block
 * boundary, and the fused copy.
 */
#include <stdlib.h>

#include "dict/crc32c.h"
#include "framework/test.h"

#define MAXLEN (3 * 3 * 8192 + 3 * 256 * 4 + 100)

/* The reference: the table path, whatever the CPU has. */
static uint32_t reference(uint32_t crc, const void *p, size_t n)
{
	int saved = crc32c_hw;
	uint32_t r;

	crc32c_hw = 0;
	r = crc32c(crc, p, n);
	crc32c_hw = saved;
	return r;
}

static uint8_t *random_bytes(size_t n, unsigned int seed)
{
	uint8_t *p = malloc(n);
	size_t i;

	srand(seed);
	for (i = 0; p && i < n; i++)
		p[i] = (uint8_t)rand();
	return p;
}

TEST(check_value)
{
	ASSERT_EQ(crc32c(0, "123456789", 9), 0xe3069283u, "crc32c(\"123456789\")");
	ASSERT_EQ(reference(0, "123456789", 9), 0xe3069283u, "table path");
	ASSERT_EQ(crc32c(0, "", 0), 0, "empty");
	/* Continuing a crc over a second piece equals one pass. */
	ASSERT_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283u, "continued");
}

/* Every length 0-2048 at an odd address, and lengths around block boundaries. */
static void check_against_table(const uint8_t *p, uint8_t *d, const char *path)
{
	static const size_t around[] = {64,	  192,		256,	    3 * 256,
					3 * 8192, 2 * 3 * 8192, 65536 + 64, MAXLEN - 9};
	size_t i, n, bad = 0;

	for (n = 0; n <= 2048; n++) {
		bad += crc32c(0x12345678u, p + 3, n) != reference(0x12345678u, p + 3, n);
		if (bad) {
			test_fail(__FILE__, __LINE__,
				  "%s: crc32c differs from the table at length %zu", path, n);
			return;
		}
	}
	for (i = 0; i < sizeof(around) / sizeof(around[0]); i++)
		for (n = around[i] - 9; n <= around[i] + 9 && n <= MAXLEN; n++) {
			uint32_t want = reference(7, p, n);

			memset(d, 0, n + 1);
			if (!ASSERT_EQ(crc32c(7, p, n), want, path) ||
			    !ASSERT_EQ(crc32c_copy(7, d + 1, p, n), want, path) ||
			    !ASSERT_MEMEQ(d + 1, p, n, "crc32c_copy copies") ||
			    !ASSERT_EQ(d[0], 0, "nothing written before the destination"))
				return;
		}
}

TEST(hw_matches_table_at_every_boundary)
{
	uint8_t *p = random_bytes(MAXLEN, 1), *d = malloc(MAXLEN + 1);
	int fold = crc32c_fold;

	if (!ASSERT_NOT_NULL(p, "malloc") || !ASSERT_NOT_NULL(d, "malloc"))
		goto out;
	if (!crc32c_hw) {
		test_skip("this CPU lacks SSE4.2 crc32 or PCLMULQDQ: only the table path runs");
		goto out;
	}
	if (fold)
		check_against_table(p, d, "AVX-512 folding");
	crc32c_fold = 0;
	check_against_table(p, d, "three crc32 streams");
	crc32c_fold = fold;
out:
	free(p);
	free(d);
}

static CRC32C_HW_TARGET uint32_t joined(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
					uint8_t *d)
{
	uint32_t s = crc32c_raw_update(~0u, NULL, a, na);

	return ~(crc32c_raw_shift(s, nb) ^ crc32c_raw_update(0, d, b, nb));
}

TEST(inline_pieces_join)
{
	uint8_t *p = random_bytes(200, 2), d[CRC32C_SHIFT_MAX];
	size_t na, nb;

	if (!ASSERT_NOT_NULL(p, "malloc"))
		return;
	if (!crc32c_hw) {
		test_skip("this CPU lacks SSE4.2 crc32 or PCLMULQDQ");
		free(p);
		return;
	}
	for (na = 0; na <= 40; na++)
		for (nb = CRC32C_SHIFT_MIN; nb <= CRC32C_SHIFT_MAX; nb++) {
			memset(d, 0, sizeof(d));
			if (!ASSERT_EQ(joined(p, na, p + 100, nb, d),
				       reference(crc32c(0, p, na), p + 100, nb),
				       "raw(a) shifted ^ raw(0, b) == crc32c(a || b)") ||
			    !ASSERT_MEMEQ(d, p + 100, nb, "copied"))
				goto out;
		}
out:
	free(p);
}
