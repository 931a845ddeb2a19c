// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/snapwork.h"
#include "common/bulk_yield.h"
#include "common/atomic_file.h"
#include "snapshot/snapshot.h"

#define PIECE (1u << 20)
#define VALUE_MAX PIECE /* longer values are checked and copied a piece at a time */

int snapwork_take_image(int memfd, int pidfd, int wait_ms, const struct image_who *who,
			uint64_t max_copy, int *copied)
{
	int err = dict_image_seal(memfd, who->pid, who->uid, who->time_ms), fd;

	/* The dying process may still be tearing its memory down: wait until it is gone. */
	if (err == -EBUSY && pidfd >= 0 && wait_ms > 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (poll(&p, 1, wait_ms) == 1)
			err = dict_image_seal(memfd, who->pid, who->uid, who->time_ms);
	}
	*copied = 0;
	if (!err) {
		fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	/* Still mapped by someone (or frozen): our own copy, sealed, cannot change under us. */
	*copied = 1;
	return dict_image_copy(memfd, who->pid, who->uid, who->time_ms, max_copy);
}

int snapwork_validate(int image, uint64_t limit, uint64_t budget, struct dict_read_stats *st)
{
	const struct dict_scan o = { .limit = limit, .budget = budget, .value_max = VALUE_MAX };

	return dict_scan_fd(image, &o, st);
}

struct encode {
	struct snapshot_stream *out;
	uint8_t *buf;
};

/* The scan's sink: each valid entry into the .fgsnap stream, a long value a piece at a time. */
static int encode_entry(void *arg, const struct dict_entry *e)
{
	struct encode *en = arg;
	uint64_t off;
	int err = snapshot_stream_entry(en->out, e->key, e->klen, e->len);

	if (err)
		return err;
	if (e->val)
		return snapshot_stream_bytes(en->out, e->val, (size_t)e->len);
	for (off = 0; !err && off < e->len; off += PIECE) {
		size_t n = e->len - off < PIECE ? (size_t)(e->len - off) : PIECE;

		err = dict_entry_read(e, off, en->buf, n);
		if (!err)
			err = snapshot_stream_bytes(en->out, en->buf, n);
	}
	return err;
}

/* SHA-256 of @fd's bytes from offset 0, a piece at a time. */
int snapwork_hash_fd(int fd, char hex[SHA256_HEX_LEN])
{
	uint8_t *buf = malloc(PIECE);
	struct sha256 h;
	off_t off = 0;
	ssize_t n;
	int err;

	hex[0] = '\0';
	if (!buf)
		return -ENOMEM;
	err = sha256_init(&h);
	while (!err) {
		n = pread(fd, buf, PIECE, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		sha256_update(&h, buf, (size_t)n);
		off += n;
		bulk_yield((size_t)n);
	}
	if (err)
		sha256_abort(&h);
	else
		sha256_final_hex(&h, hex);
	free(buf);
	return err;
}

static struct atomic_file_opts snapshot_opts(uid_t uid, gid_t gid)
{
	return (struct atomic_file_opts){ .mode = 0600, .uid = uid, .gid = gid, .sync = 1 };
}

/* The temporary file written: fsync, close, rename, fsync of the directory, then its digest. */
static void finish_store(struct atomic_file *af, int err, const char *step, struct store_result *res)
{
	int fd = -1;

	if (err) {
		res->err = err;
		res->step = step;
		atomic_file_abort(af);
		return;
	}
	/* Kept open for the digest, which reads back what the file holds. */
	if (fsync(af->fd) < 0) {
		res->err = -errno;
		res->step = "fsync";
		atomic_file_abort(af);
		return;
	}
	af->o.sync = 0; /* synced just now; the directory is synced below */
	err = atomic_file_commit(af, &fd);
	if (err) {
		res->err = err;
		res->step = "rename";
		return;
	}
	if (fsync(af->dirfd) < 0) {
		res->err = -errno;
		res->step = "fsync of the directory";
	} else if (snapwork_hash_fd(fd, res->sha256)) {
		res->sha256[0] = '\0';
	}
	if (close(fd) < 0 && !res->err) {
		res->err = -errno;
		res->step = "close";
	}
}

void snapwork_store_image(int image, uint64_t count, uint64_t budget, int dirfd,
			  const char *name, uid_t uid, gid_t gid, struct store_result *res)
{
	const struct atomic_file_opts o = snapshot_opts(uid, gid);
	struct encode en = { 0 };
	struct dict_who who;
	struct dict_scan sc = {
		.budget = budget, .value_max = VALUE_MAX, .entry = encode_entry, .arg = &en,
	};
	struct atomic_file af;
	struct dict_read_stats st;
	int err;

	memset(res, 0, sizeof(*res));
	err = atomic_file_begin(&af, dirfd, name, &o);
	if (err) {
		res->err = err;
		res->step = "create";
		return;
	}
	en.buf = malloc(PIECE);
	err = en.buf ? dict_read_who(image, &who) : -ENOMEM;
	if (!err)
		err = snapshot_stream_new(&en.out, af.fd, who.app, who.known ? who.pid : 0,
					  who.known ? who.uid : uid, who.known ? who.time_ms : 0,
					  count);
	if (!err)
		err = dict_scan_fd(image, &sc, &st);
	if (!err)
		err = snapshot_stream_finish(en.out, &res->file_bytes);
	snapshot_stream_free(en.out);
	free(en.buf);
	finish_store(&af, err, "write", res);
}

void snapwork_store_file(int fd, int dirfd, const char *name, uid_t uid, gid_t gid,
			 struct store_result *res)
{
	const struct atomic_file_opts o = snapshot_opts(uid, gid);
	uint8_t *buf = malloc(PIECE);
	struct atomic_file af;
	off_t off = 0;
	ssize_t n;
	int err;

	memset(res, 0, sizeof(*res));
	err = atomic_file_begin(&af, dirfd, name, &o);
	if (err) {
		free(buf);
		res->err = err;
		res->step = "create";
		return;
	}
	if (!buf)
		err = -ENOMEM;
	while (!err) {
		n = pread(fd, buf, PIECE, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		for (ssize_t w, done = 0; !err && done < n; done += w) {
			w = write(af.fd, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w <= 0)
				err = w < 0 ? -errno : -EIO;
		}
		off += n;
	}
	free(buf);
	res->file_bytes = (uint64_t)off;
	finish_store(&af, err, "write", res);
}
