// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog/chain.h"
#include "common/atomic_file.h"

#define TAIL_MAX (1 << 20) /* a record line is far shorter (output is cut at 4 KiB) */

void audit_chain_genesis(struct audit_chain *ch)
{
	ch->seq = 0;
	memset(ch->head, '0', SHA256_HEX_LEN - 1);
	ch->head[SHA256_HEX_LEN - 1] = '\0';
}

/* The seq of the JSON record @line (@len bytes), 0 when it has none. */
static uint64_t line_seq(const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *rec, *v;
	uint64_t seq = 0;

	if (!tok)
		return 0;
	rec = json_tokener_parse_ex(tok, line, (int)len);
	if (rec && json_object_object_get_ex(rec, "seq", &v) &&
	    json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
		seq = (uint64_t)json_object_get_int64(v);
	json_object_put(rec);
	json_tokener_free(tok);
	return seq;
}

int audit_chain_from_log(struct audit_chain *ch, int fd)
{
	struct stat st;
	size_t n, start, end;
	char *buf;
	uint64_t seq;
	ssize_t r;
	off_t from;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return -ENOENT;
	n = st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX;
	from = st.st_size - (off_t)n;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	r = pread(fd, buf, n, from);
	if (r != (ssize_t)n) {
		free(buf);
		return r < 0 ? -errno : -EIO;
	}
	/* The last complete line: a torn tail (no newline) is not a record. */
	end = n;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end == 0) {
		free(buf);
		return -ENOENT;
	}
	start = end - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && from > 0) { /* a line longer than we read */
		free(buf);
		return -ENOENT;
	}
	seq = line_seq(buf + start, end - 1 - start);
	if (seq)
		audit_chain_advance(ch, seq, buf + start, end - start);
	free(buf);
	return seq ? 0 : -ENOENT;
}

static int side_path(char *buf, size_t len, const char *log_path)
{
	int n = snprintf(buf, len, "%s.chain", log_path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int audit_chain_load(struct audit_chain *ch, const char *log_path)
{
	char path[4096], hex[SHA256_HEX_LEN];
	unsigned long long seq;
	FILE *f;
	int ok, err = side_path(path, sizeof(path), log_path);

	if (err)
		return err;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu %64[0-9a-f]", &seq, hex) == 2 && strlen(hex) == 64 && seq > 0;
	fclose(f);
	if (!ok)
		return -EINVAL;
	ch->seq = seq;
	memcpy(ch->head, hex, sizeof(hex));
	return 0;
}

int audit_chain_save(const struct audit_chain *ch, const char *log_path)
{
	struct atomic_file_opts o = { .mode = 0640, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	char path[4096], text[96];
	int n, err = side_path(path, sizeof(path), log_path);

	if (err)
		return err;
	n = snprintf(text, sizeof(text), "%" PRIu64 " %s\n", ch->seq, ch->head);
	return atomic_file_write(AT_FDCWD, path, text, (size_t)n, &o, NULL);
}

void audit_chain_advance(struct audit_chain *ch, uint64_t seq, const char *line, size_t len)
{
	ch->seq = seq;
	if (sha256_hex(line, len, ch->head))
		memset(ch->head, 'x', SHA256_HEX_LEN - 1); /* no libcrypto context: visibly broken */
}
