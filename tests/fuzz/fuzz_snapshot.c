// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the .fgsnap decoder (snapshot_decode). Each input is
 * decoded twice: as a file, and as the payload of an honestly made file
 * (compressed, crcs right), so mutations reach the payload parser past
 * the checksums. A decoded snapshot must hold sorted, unique keys of 1-255
 * bytes and encode back to the same snapshot.
 *
 * fuzz-sources: userspace/snapshot/snapshot.c userspace/snapshot/snapfile.c
 * fuzz-sources: userspace/common/atomic_file.c userspace/dict/image.c
 * fuzz-sources: userspace/dict/crc32c.c userspace/dict/reader.c
 * fuzz-options: -max_len=65536
 */
#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dict/crc32c.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

#define HDR_LEN 32

static void check_same(const struct fg_snapshot *a, const struct fg_snapshot *b)
{
	size_t i;

	CHECK(a && b && a->count == b->count && a->bytes == b->bytes);
	CHECK(strcmp(a->app, b->app) == 0 && a->pid == b->pid && a->uid == b->uid &&
	      a->time_ms == b->time_ms);
	for (i = 0; i < a->count; i++) {
		CHECK(strcmp(a->entries[i].key, b->entries[i].key) == 0);
		CHECK(a->entries[i].len == b->entries[i].len);
		CHECK(memcmp(a->entries[i].val, b->entries[i].val, a->entries[i].len) == 0);
	}
}

static void check_decode(const uint8_t *data, size_t size)
{
	struct fg_snapshot *s = snapshot_decode(data, size), *back;
	uint64_t bytes = 0;
	void *buf;
	size_t len, i;

	if (!s)
		return;
	CHECK(strlen(s->app) <= SNAP_APP_MAX);
	for (i = 0; i < s->count; i++) {
		size_t kl = strlen(s->entries[i].key);

		CHECK(kl >= 1 && kl <= FG_KEY_MAX);
		CHECK(i == 0 || strcmp(s->entries[i - 1].key, s->entries[i].key) < 0);
		bytes += s->entries[i].len;
	}
	CHECK(bytes == s->bytes);
	if (snapshot_encode(s, &buf, &len) == 0) {
		back = snapshot_decode(buf, len);
		check_same(s, back);
		fg_snapshot_close(back);
		free(buf);
	}
	fg_snapshot_close(s);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* @payload in a file whose header, compression and crcs are all right. */
static uint8_t *wrap(const uint8_t *payload, size_t plen, size_t *out_len)
{
	uLongf zlen = compressBound(plen);
	uint8_t *f = malloc(HDR_LEN + zlen);

	if (!f || compress2(f + HDR_LEN, &zlen, payload, plen, 1) != Z_OK) {
		free(f);
		return NULL;
	}
	memcpy(f,
	       "\x89"
	       "FGSNAP\n",
	       8);
	put32(f + 8, 1);
	put32(f + 12, 1);
	put64(f + 16, plen);
	put32(f + 24, crc32c(0, payload, plen));
	put32(f + 28, crc32c(0, f, 28));
	*out_len = HDR_LEN + zlen;
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f;
	size_t len;

	check_decode(data, size);
	f = wrap(data, size, &len);
	if (f)
		check_decode(f, len);
	free(f);
	return 0;
}
