/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small test harness in the style of the BPF selftests: tests register
 * themselves by name (TEST(name) { ... }), assertions print file:line and the
 * failing expression and return false so a test can stop cleanly:
 *
 *	if (!ASSERT_OK(err, "open")) goto cleanup;
 *
 * TEST_FILTER=substring runs only the matching tests.
 */
#ifndef FG_TEST_H
#define FG_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(n)                                                                            \
	static void test_##n(void);                                                        \
	static const struct test_case test_case_##n                                        \
		__attribute__((used, section("fg_tests"), aligned(sizeof(void *)))) = {    \
			.name = #n,                                                        \
			.fn = test_##n,                                                    \
		};                                                                         \
	static void test_##n(void)

/* Marks the running test failed; used by the ASSERT macros. */
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks the running test skipped (counts as a failure unless FG_TEST_ALLOW_SKIP=1). */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A scratch directory for the running test, removed after it passes. */
const char *test_tmpdir(void);
/* Where the built binaries live (build/). */
const char *test_build_dir(void);
/* The entries of directory @dir other than . and .., or -1 if it cannot be read. */
int test_dir_entries(const char *dir);

#define ASSERT_TRUE(cond, what)                                                            \
	({                                                                                 \
		bool ___ok = (cond);                                                       \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: expected true: %s", (what),     \
				  #cond);                                                  \
		___ok;                                                                     \
	})
#define ASSERT_FALSE(cond, what) ASSERT_TRUE(!(cond), what)

#define ASSERT_OK(res, what)                                                               \
	({                                                                                 \
		long long ___r = (long long)(res);                                         \
		bool ___ok = ___r == 0;                                                    \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s = %lld (%s), expected 0",    \
				  (what), #res, ___r, ___r < 0 ? strerror((int)-___r) : "");       \
		___ok;                                                                     \
	})

#define ASSERT_EQ(a, b, what)                                                              \
	({                                                                                 \
		long long ___a = (long long)(a), ___b = (long long)(b);                    \
		bool ___ok = ___a == ___b;                                                 \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s = %lld, expected %s = %lld", \
				  (what), #a, ___a, #b, ___b);                             \
		___ok;                                                                     \
	})
#define ASSERT_NEQ(a, b, what)                                                             \
	({                                                                                 \
		long long ___a = (long long)(a), ___b = (long long)(b);                    \
		bool ___ok = ___a != ___b;                                                 \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s == %s = %lld", (what), #a,   \
				  #b, ___a);                                               \
		___ok;                                                                     \
	})
#define ASSERT_GE(a, b, what)                                                              \
	({                                                                                 \
		long long ___a = (long long)(a), ___b = (long long)(b);                    \
		bool ___ok = ___a >= ___b;                                                 \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s = %lld, expected >= %lld",   \
				  (what), #a, ___a, ___b);                                 \
		___ok;                                                                     \
	})
#define ASSERT_STREQ(a, b, what)                                                           \
	({                                                                                 \
		const char *___a = (a), *___b = (b);                                       \
		bool ___ok = ___a && ___b && strcmp(___a, ___b) == 0;                      \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s = \"%s\", expected \"%s\"",  \
				  (what), #a, ___a ? ___a : "(null)",                      \
				  ___b ? ___b : "(null)");                                 \
		___ok;                                                                     \
	})
#define ASSERT_MEMEQ(a, b, n, what)                                                        \
	({                                                                                 \
		bool ___ok = memcmp((a), (b), (n)) == 0;                                   \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s and %s differ", (what), #a,  \
				  #b);                                                     \
		___ok;                                                                     \
	})
#define ASSERT_NOT_NULL(p, what)                                                           \
	({                                                                                 \
		bool ___ok = (p) != NULL;                                                  \
		if (!___ok)                                                                \
			test_fail(__FILE__, __LINE__, "%s: %s is NULL (errno %s)", (what), \
				  #p, strerror(errno));                                    \
		___ok;                                                                     \
	})

#endif /* FG_TEST_H */
