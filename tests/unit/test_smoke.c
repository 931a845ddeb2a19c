// SPDX-License-Identifier: LGPL-2.1-or-later
/* A first end-to-end pass: write through the writer, read back as a reader would. */
#include <stdlib.h>
#include <unistd.h>

#include "dict/dict.h"
#include "faultguard.h"
#include "framework/test.h"

TEST(writer_then_reader)
{
	struct dict_writer *w = NULL;
	struct fg_snapshot *s = NULL;
	struct dict_read_stats st;
	char big[5000], buf[5000];
	const void *v;
	size_t len;
	int fd;

	memset(big, 'x', sizeof(big));
	fd = dict_memfd_create("smoke", 0);
	if (!ASSERT_GE(fd, 0, "memfd"))
		return;
	if (!ASSERT_OK(dict_writer_attach(fd, &w), "attach"))
		goto out;
	ASSERT_OK(dict_set(w, "a", 1, "hello", 5), "set a");
	ASSERT_OK(dict_set(w, "big", 3, big, sizeof(big)), "set big");
	ASSERT_OK(dict_set(w, "big", 3, big, sizeof(big) - 1), "set big again");
	ASSERT_OK(dict_get(w, "big", 3, buf, sizeof(buf), &len), "get big");
	ASSERT_EQ(len, sizeof(big) - 1, "len");
	ASSERT_OK(dict_begin(w), "begin");
	ASSERT_OK(dict_set(w, "t1", 2, "one", 3), "t1");
	ASSERT_OK(dict_del(w, "a", 1), "del a in txn");
	ASSERT_OK(dict_set(w, "t2", 2, "two", 3), "t2");
	s = dict_read_fd(fd, 0, &st);
	if (!ASSERT_NOT_NULL(s, "read during txn"))
		goto out;
	ASSERT_EQ(fg_snapshot_count(s), 2, "a and big before commit");
	ASSERT_OK(fg_snapshot_get(s, "a", &v, &len), "a still there");
	fg_snapshot_close(s);
	ASSERT_OK(dict_commit(w), "commit");
	ASSERT_EQ(dict_get(w, "a", 1, buf, sizeof(buf), &len), -ENOENT, "a gone");
	s = dict_read_fd(fd, 0, &st);
	if (!ASSERT_NOT_NULL(s, "read after commit"))
		goto out;
	ASSERT_EQ(fg_snapshot_count(s), 3, "big t1 t2");
	ASSERT_EQ(st.discarded, 0, "nothing discarded");
	ASSERT_OK(fg_snapshot_get(s, "big", &v, &len), "big");
	ASSERT_EQ(len, sizeof(big) - 1, "big len");
	ASSERT_MEMEQ(v, big, len, "big bytes");
	ASSERT_EQ(fg_snapshot_get(s, "a", &v, &len), -ENOENT, "a absent");
out:
	fg_snapshot_close(s);
	dict_writer_free(w);
	close(fd);
}
