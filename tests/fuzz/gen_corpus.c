// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writes the fuzzers' seed corpus from the real encoders: dictionaries
 * made by the writer, .fgsnap files and their payloads made by
 * snapshot_encode, protocol messages made by the proto encoders.
 * `scripts/fuzz.sh --gen-corpus` builds and runs it into tests/fuzz/corpus.
 *
 * Dictionaries are trimmed to the part of the arena in use (the headers
 * then describe the shorter image) so that seeds stay a few KiB, and each
 * trimmed image is checked to read back as the whole one did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/proto.h"
#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

static const char *out_dir;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void emit(const char *target, const char *name, const void *p, size_t n)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) < 0)
		die(path);
}

/* --- dictionaries --------------------------------------------------------------- */

static void set(struct dict_writer *w, const char *key, const void *val, size_t len)
{
	if (dict_set(w, key, strlen(key), val, len))
		die(key);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	while (n--) {
		seed = seed * 1103515245u + 12345u;
		*p++ = (uint8_t)(seed >> 16);
	}
}

/* A few keys, long values and keys, deletes, a committed and (@open) an open txn. */
static void content(struct dict_writer *w, int extra, int open)
{
	char lkey[256], key[32];
	uint8_t val[3000];
	int i;

	fill(val, sizeof(val), 1);
	set(w, "greeting", "hello", 5);
	set(w, "empty", "", 0);
	set(w, "document", val, 2000);
	memset(lkey, 'k', 255);
	lkey[255] = '\0';
	set(w, lkey, "255-byte key", 12);
	lkey[60] = '\0';
	set(w, lkey, val, 100);
	set(w, "gone", "x", 1);
	dict_del(w, "gone", 4);
	for (i = 0; i < 3; i++)
		set(w, "counter", &i, sizeof(i));
	dict_begin(w);
	set(w, "txn.a", "committed", 9);
	set(w, "txn.b", val + 7, 300);
	dict_del(w, "greeting", 8);
	dict_commit(w);
	for (i = 0; i < extra; i++) {
		snprintf(key, sizeof(key), "item/%d", i);
		set(w, key, val + i, (size_t)(i * 37) % 200);
	}
	if (open) {
		dict_begin(w);
		set(w, "txn.a", "uncommitted", 11);
		set(w, "pending", "new", 3);
		dict_del(w, "empty", 5);
	}
}

/* Cuts the image after the last arena byte in use and makes the headers say so. */
static size_t trim(uint8_t *img, size_t len)
{
	struct dict_header *h = (struct dict_header *)img;
	uint64_t end = len;
	int i;

	while (end > h->arena_off && img[end - 1] == 0)
		end--;
	end = h->arena_off + (end - h->arena_off + DICT_UNIT - 1) / DICT_UNIT * DICT_UNIT;
	for (i = 0; i < 2; i++) {
		h = (struct dict_header *)(img + DICT_HDR_COPY_OFF(i));
		h->arena_size = end - h->arena_off;
		h->total_size = end;
		h->crc = crc32c(0, h, offsetof(struct dict_header, crc));
	}
	return end;
}

static void dictionary(const char *name, uint64_t size, int extra, int open, int empty)
{
	struct dict_read_stats st_full, st_trim;
	struct fg_snapshot *full, *trimmed;
	struct dict_writer *w = NULL;
	uint8_t *img = malloc(size);
	size_t len;
	int fd = dict_memfd_create("seed", size);

	if (fd < 0 || !img || dict_writer_attach(fd, &w))
		die("dictionary");
	if (!empty)
		content(w, extra, open);
	if (pread(fd, img, size, 0) != (ssize_t)size)
		die("pread");
	full = dict_read_mem(img, size, &st_full);
	len = trim(img, size);
	trimmed = dict_read_mem(img, len, &st_trim);
	if (!full || !trimmed || full->count != trimmed->count || st_full.discarded ||
	    st_trim.discarded || st_full.bytes != st_trim.bytes) {
		errno = EINVAL;
		die("trimmed image reads differently");
	}
	emit("fuzz_dict_reader", name, img, len);
	fg_snapshot_close(full);
	fg_snapshot_close(trimmed);
	dict_writer_free(w);
	close(fd);
	free(img);
}

/* --- snapshot files --------------------------------------------------------------- */

static void snapshot_file(const char *name, struct fg_snapshot *s)
{
	char pname[64];
	uint8_t *payload;
	uLongf plen;
	void *buf;
	size_t len;

	snapshot_finish(s);
	if (snapshot_encode(s, &buf, &len))
		die("encode");
	emit("fuzz_snapshot", name, buf, len);
	/* The payload alone: the target also decodes each input wrapped as one. */
	memcpy(&plen, (uint8_t *)buf + 16, sizeof(uint64_t));
	payload = malloc(plen + 1);
	if (!payload || uncompress(payload, &plen, (uint8_t *)buf + 32, len - 32) != Z_OK)
		die("uncompress");
	snprintf(pname, sizeof(pname), "%s.payload", name);
	emit("fuzz_snapshot", pname, payload, plen);
	free(payload);
	free(buf);
	fg_snapshot_close(s);
}

static void snapshots(void)
{
	struct fg_snapshot *s;
	uint8_t bin[256], big[4000];
	char key[256];
	int i;

	s = snapshot_new();
	snapshot_file("empty.fgsnap", s);

	s = snapshot_new();
	for (i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	fill(big, sizeof(big), 2);
	snapshot_set_meta(s, "editor", 4242, 1000, 1764094512123ll);
	snapshot_add(s, "empty", 5, "", 0);
	snapshot_add(s, "bin", 3, bin, sizeof(bin));
	snapshot_add(s, "text", 4, "hello, world", 12);
	snapshot_add(s, "big", 3, big, sizeof(big));
	snapshot_file("sample.fgsnap", s);

	s = snapshot_new();
	snapshot_set_meta(s, "keys", 1, 0, 0);
	memset(key, 'k', 255);
	for (i = 0; i < 4; i++) {
		key[254] = (char)('a' + i);
		snapshot_add(s, key, 255, key, (size_t)i * 20);
	}
	snapshot_file("long-keys.fgsnap", s);
}

/* --- protocol messages ------------------------------------------------------------- */

static void message(const char *name, int len, const void *buf)
{
	if (len < 0) {
		errno = -len;
		die(name);
	}
	emit("fuzz_proto", name, buf, (size_t)len);
}

static void messages(void)
{
	static const char *const argv[] = {"/usr/bin/rescue", "--snapshot", "", "x y", NULL};
	static uint8_t buf[PROTO_MAX_MSG];

	message("register-argv", proto_encode_register(buf, sizeof(buf), "editor", argv, 0), buf);
	message("register-no-argv",
		proto_encode_register(buf, sizeof(buf), "a.b-c_1", NULL, FG_RESCUE_SIGNAL_ONLY),
		buf);
	message("close", proto_encode_simple(buf, sizeof(buf), PROTO_CLOSE), buf);
	message("end", proto_encode_simple(buf, sizeof(buf), PROTO_END), buf);
	message("ack-ok", proto_encode_ack(buf, sizeof(buf), 0, "registered"), buf);
	message("ack-error", proto_encode_ack(buf, sizeof(buf), -EPERM, "too many registrations"),
		buf);
	message("query", proto_encode_text(buf, sizeof(buf), PROTO_QUERY, "status", 6), buf);
	message("text", proto_encode_text(buf, sizeof(buf), PROTO_TEXT, "app pid uid\n", 12), buf);
	message("claim", proto_encode_text(buf, sizeof(buf), PROTO_CLAIM, "editor", 6), buf);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus OUT_DIR\n");
		return 2;
	}
	out_dir = argv[1];
	dictionary("empty", DICT_MIN_BYTES, 0, 0, 1);
	dictionary("small", DICT_MIN_BYTES, 4, 0, 0);
	dictionary("small-open-txn", DICT_MIN_BYTES, 4, 1, 0);
	dictionary("many-keys", 256 << 10, 60, 1, 0);
	snapshots();
	messages();
	return 0;
}
