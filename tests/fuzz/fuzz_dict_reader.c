// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the dictionary reader (dict_read_mem) on arbitrary
 * bytes. Besides the sanitizers it checks what a result promises: sorted,
 * unique keys of 1-255 bytes, a byte count that adds up and stays within
 * what the input can hold, and a snapshot that survives a .fgsnap round
 * trip. Each input is read twice, the second time with header copy A's
 * crc recomputed, so mutated header fields get past the checksum.
 *
 * fuzz-sources: userspace/dict/reader.c userspace/dict/crc32c.c
 * fuzz-sources: userspace/snapshot/snapshot.c userspace/snapshot/snapfile.c
 * fuzz-sources: userspace/common/atomic_file.c userspace/dict/image.c
 * fuzz-options: -max_len=262144
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static void check_round_trip(const struct fg_snapshot *s)
{
	struct fg_snapshot *back;
	void *buf;
	size_t len, i;

	if (snapshot_encode(s, &buf, &len))
		return; /* out of memory */
	back = snapshot_decode(buf, len);
	CHECK(back && back->count == s->count && back->bytes == s->bytes);
	for (i = 0; i < s->count; i++) {
		CHECK(strcmp(back->entries[i].key, s->entries[i].key) == 0);
		CHECK(back->entries[i].len == s->entries[i].len);
		CHECK(memcmp(back->entries[i].val, s->entries[i].val, s->entries[i].len) == 0);
	}
	fg_snapshot_close(back);
	free(buf);
}

static void check_read(const uint8_t *data, size_t size)
{
	struct dict_read_stats st;
	struct fg_snapshot *s = dict_read_mem(data, size, &st);
	uint64_t bytes = 0;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->count; i++) {
		size_t kl = strlen(s->entries[i].key);

		CHECK(kl >= 1 && kl <= FG_KEY_MAX);
		CHECK(i == 0 || strcmp(s->entries[i - 1].key, s->entries[i].key) < 0);
		bytes += s->entries[i].len;
	}
	CHECK(bytes == st.bytes && bytes == s->bytes);
	/* Arena values fit in the input; inline ones in their 256-byte slots. */
	CHECK(bytes <= size + size / sizeof(struct dict_slot) * DICT_VAL_INLINE);
	check_round_trip(s);
	fg_snapshot_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dict_header *h;
	uint8_t *copy;

	check_read(data, size);
	if (size < sizeof(*h))
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	h = (struct dict_header *)copy;
	h->crc = crc32c(0, h, offsetof(struct dict_header, crc));
	check_read(copy, size);
	free(copy);
	return 0;
}
