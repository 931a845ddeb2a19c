/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dictionary's layout inside its memfd. Only userspace/dict/ includes
 * this file. docs/DICTIONARY_FORMAT.md explains it; the short version:
 *
 *   0     header, copy A (crc-protected)      struct dict_header
 *   256   header, copy B
 *   512   commit words (two copies)           struct dict_commit[2]
 *   576   writer statistics (informational)   struct dict_stats
 *   1024  who died (written by the reader    struct dict_meta
 *         that sealed the image; crc-protected)
 *   4096  slot table: slot_count x 256 bytes  struct dict_slot[]
 *   ...   value arena (64-byte units)
 *
 * Each slot binds one key and holds two versions of its value (a per-key
 * latch). A version is valid when gen != 0, its crc matches, and its txn is
 * 0 or <= the committed transaction. The newest valid version wins; the
 * writer never touches it while writing the next one.
 */
#ifndef FG_DICT_LAYOUT_H
#define FG_DICT_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#define DICT_MAGIC 0x3154434944474621ull /* "!FGDICT1" */
#define DICT_VERSION 1u

#define DICT_HDR_COPY_OFF(i) ((i) * 256u)
#define DICT_COMMIT_OFF 512u
#define DICT_STATS_OFF 576u
#define DICT_META_OFF 1024u
#define DICT_SLOT_OFF 4096u

#define DICT_KEY_INLINE 40u
#define DICT_VAL_INLINE 64u
#define DICT_UNIT 64u
#define DICT_LEN_DELETED 0xffffffffu /* a transactional delete */

enum dict_slot_state {
	SLOT_EMPTY = 0, /* never used: ends a probe chain */
	SLOT_BOUND = 1, /* holds a key */
	SLOT_FREE = 2,  /* held a key that was deleted: probes continue past it */
};

struct dict_header {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint64_t total_size;
	uint64_t slot_off;
	uint32_t slot_count; /* a power of two */
	uint32_t slot_size;
	uint64_t arena_off;
	uint64_t arena_size;
	char app[72];
	uint32_t reserved;
	uint32_t crc; /* crc32c of everything before it */
};

/* Written twice; a copy is valid when check == ~txn. */
struct dict_commit {
	_Atomic uint64_t txn;
	_Atomic uint64_t check;
};

struct dict_stats {
	_Atomic uint64_t keys;
	_Atomic uint64_t bytes;
	_Atomic uint64_t closed; /* DICT_CLOSED_MAGIC after an orderly fg_close */
};

#define DICT_CLOSED_MAGIC 0x4445534f4c43ull /* "CLOSED" */

/*
 * Who died and when: written by the collector (or a guardian) after the
 * writer's death, just before it seals the memfd against writes, so that a
 * rescue reading the image knows what a .fgsnap file would tell it. A writer
 * never touches it; an honest reader trusts it only when its crc holds.
 */
struct dict_meta {
	uint64_t magic; /* DICT_META_MAGIC */
	int32_t pid;
	uint32_t uid;
	int64_t time_ms;
	uint32_t reserved;
	uint32_t crc; /* crc32c of everything before it */
};

#define DICT_META_MAGIC 0x3141544d44474621ull /* "!FGDMTA1" */

struct dict_version {
	_Atomic uint64_t gen; /* 0: invalid */
	uint64_t txn;         /* 0: not written in a transaction */
	uint32_t len;         /* value bytes, or DICT_LEN_DELETED */
	uint32_t crc;         /* see dict_version_crc() */
	uint64_t off;         /* arena offset when len > DICT_VAL_INLINE */
	uint8_t inl[DICT_VAL_INLINE];
};

struct dict_slot {
	_Atomic uint32_t state;
	uint32_t key_crc; /* crc32c of the key bytes: also the hash */
	uint32_t key_len;
	uint32_t reserved;
	uint64_t key_off; /* arena offset when key_len > DICT_KEY_INLINE */
	char key_inl[DICT_KEY_INLINE];
	struct dict_version ver[2];
};

_Static_assert(sizeof(struct dict_header) <= 256, "header copy fits its room");
_Static_assert(sizeof(struct dict_version) == 96, "version size");
_Static_assert(sizeof(struct dict_slot) == 256, "slot size");
_Static_assert(DICT_STATS_OFF + sizeof(struct dict_stats) <= DICT_META_OFF &&
		       DICT_META_OFF + sizeof(struct dict_meta) <= DICT_SLOT_OFF,
	       "the meta block sits between the statistics and the slot table");

/* What a version's crc covers besides the value bytes. */
struct dict_version_tag {
	uint64_t gen;
	uint64_t txn;
	uint32_t len;
	uint32_t key_crc;
};

#endif
