/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs every TEST() linked into the binary, each in its own process so a
 * crashing test cannot take the others down, and prints one line per test
 * and a summary "N passed, N failed".
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

extern const struct test_case __start_fg_tests[];
extern const struct test_case __stop_fg_tests[];

static bool failed;
static bool skipped;
static char tmpdir[PATH_MAX];
static char build_dir[PATH_MAX];

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failed = true;
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  skip: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	skipped = true;
}

const char *test_tmpdir(void)
{
	return tmpdir;
}

const char *test_build_dir(void)
{
	return build_dir;
}

int test_dir_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void find_build_dir(const char *argv0)
{
	const char *env = getenv("FG_BUILD_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env) {
		snprintf(build_dir, sizeof(build_dir), "%s", env);
		return;
	}
	/* Test binaries live in build/tests/. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(build_dir, sizeof(build_dir), "%s", argv0);
		return;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(build_dir, sizeof(build_dir), "%s", exe);
}

/* Returns 0 passed, 1 failed, 2 skipped. */
static int run_one(const struct test_case *t)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int status, rc;
	pid_t pid;

	snprintf(tmpdir, sizeof(tmpdir), "%s/fgtest.%s.XXXXXX", base, t->name);
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "  cannot create a scratch directory: %s\n", strerror(errno));
		return 1;
	}
	chmod(tmpdir, 0755);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* Tests see SIGPIPE as EPIPE, as a daemon would. */
		signal(SIGPIPE, SIG_IGN);
		t->fn();
		fflush(NULL);
		_exit(failed ? 1 : skipped ? 2 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "  test died of signal %d\n", WTERMSIG(status));
		rc = 1;
	} else {
		rc = WEXITSTATUS(status);
	}
	if (rc == 0 && !getenv("FG_TEST_KEEP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (rc != 0)
		fprintf(stderr, "  scratch directory kept: %s\n", tmpdir);
	return rc;
}

int main(int argc, char **argv)
{
	const char *filter = getenv("TEST_FILTER");
	bool allow_skip = getenv("FG_TEST_ALLOW_SKIP") && strcmp(getenv("FG_TEST_ALLOW_SKIP"), "0");
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int passed = 0, nfailed = 0, nskipped = 0;
	const struct test_case *t;

	(void)argc;
	find_build_dir(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (t = __start_fg_tests; t < __stop_fg_tests; t++) {
		struct timespec a, b;
		int rc;

		if (filter && !strstr(t->name, filter))
			continue;
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = run_one(t);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		if (rc == 0) {
			passed++;
			printf("ok   %s/%s (%.2fs)\n", prog, t->name, s);
		} else if (rc == 2 && allow_skip) {
			nskipped++;
			printf("skip %s/%s\n", prog, t->name);
		} else {
			nfailed++;
			printf("FAIL %s/%s%s\n", prog, t->name,
			       rc == 2 ? " (could not run; FG_TEST_ALLOW_SKIP=1 to skip)" : "");
		}
	}
	printf("%s: %d passed, %d failed, %d skipped\n", prog, passed, nfailed, nskipped);
	return nfailed ? 1 : 0;
}
