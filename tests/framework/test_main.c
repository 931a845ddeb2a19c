/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs every TEST() linked into the binary, each in its own process so a
 * crashing test cannot take the others down, and prints one line per test
 * and a summary "N passed, N failed".
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
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

/* Whether uid/gid 65534 can reach (search) @dir: fork, drop to it, try. */
static bool others_reach(const char *dir)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		      setresuid(65534, 65534, 65534) == 0 && access(dir, X_OK) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static char staged[PATH_MAX];
static pid_t staged_by;

static void remove_staged(void)
{
	if (staged[0] && getpid() == staged_by)
		nftw(staged, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Tests run programs of the build directory as other users (apps, rescue
 * commands, faultguardctl as nobody). A tree those users cannot reach — a
 * clone in a 0700 home directory, as Debian makes them — would fail each
 * such test without a word: as root, copy what they run (everything but
 * the objects and the test binaries) to a scratch directory in $TMPDIR
 * and take that as the build directory, or say in one sentence why not.
 */
static void reachable_build_dir(const char *prog)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char cmd[3 * PATH_MAX];

	if (geteuid() != 0 || others_reach(build_dir))
		return;
	snprintf(staged, sizeof(staged), "%s/fgtest-build.%s.XXXXXX", base, prog);
	if (!mkdtemp(staged) || chmod(staged, 0755) < 0) {
		fprintf(stderr, "%s: other users cannot reach %s, and no copy can be made in %s (%s): "
				"the tests that run programs as another user will fail\n",
			prog, build_dir, base, strerror(errno));
		staged[0] = '\0';
		return;
	}
	staged_by = getpid();
	atexit(remove_staged);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && tar cf - --exclude=./obj --exclude=./test-logs --exclude='./tests/test_*' "
		 "--exclude=./deb/src . | tar xf - -C '%s'",
		 build_dir, staged);
	if (system(cmd) != 0 || !others_reach(staged)) {
		fprintf(stderr, "%s: other users cannot reach %s, nor the copy of it in %s: the tests "
				"that run programs as another user will fail\n",
			prog, build_dir, staged);
		return;
	}
	fprintf(stderr, "%s: other users cannot reach %s: running its programs from a copy in %s\n",
		prog, build_dir, staged);
	snprintf(build_dir, sizeof(build_dir), "%s", staged);
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
	reachable_build_dir(prog);
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
