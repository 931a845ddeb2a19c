// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A test app for the collector tests (tests/collector):
 *
 *   col_app [--app NAME] [--signal-only] [--fill MIB] [--capacity MIB] [--scribbler]
 *           MODE [-- RESCUE_ARGV...]
 *
 * Registers with the collector at $FAULTGUARD_SOCKET (fg_open, then waits
 * for fg_registered), writes the entries of app_data.h (and with --fill,
 * that many MiB of incompressible data, in a dictionary of --capacity MiB),
 * prints "ready <pid>" on stdout and ends as MODE says: any mode of
 * app_death.h, or one of these:
 *
 *   stdin      obey commands read from stdin, one per line (below); EOF = exit(0)
 *   exec       execve /bin/cat (it lives until stdin closes)
 *   oom        allocate and touch memory until killed (exit 99 past 1 GiB)
 *   fork-segv  fork a child that writes to its copy of the handle and segfaults;
 *              print "child <pid> <wait status>" and go on in stdin mode
 *   leader-exit-segv  the main thread ends (pthread_exit); another thread,
 *              once the main one is a zombie, segfaults
 *   bus        print "fault 0x<addr>", then touch that address, a page of a
 *              memfd mapping past its end (SIGBUS, BUS_ADRERR)
 *   fpe        integer division by zero (SIGFPE on x86)
 *   ill        an undefined instruction (SIGILL on x86: ud2)
 *
 * Commands in stdin mode: "rollback" (end the open transaction, answer
 * "ok"), "registered" (answer "registered 0|1"), "churn" (a thread rewrites
 * "overwritten" with its same value, on and on; answer "churning"), "hangup" (shut down the
 * library's connection to the collector under it, as a careless app
 * might; answer "hungup N" with the number of sockets shut), or a death
 * mode, or "newns" (in a container: leave the mount namespace it registered
 * from for a new one whose /ct-only is a tmpfs holding another rescue.sh,
 * which would touch /out/from-new-ns; answer "newns 0" or "newns -errno").
 * With no "--", the app registers no rescue command.
 *
 * --scribbler: after "ready", a child process maps the dictionary's memfd
 * (shared, writable), prints "scribbler <pid>" and writes random bytes all
 * over it until it is killed. It outlives the app: the collector cannot
 * seal what it still maps.
 *
 * Exit codes of its own: 64 bad usage, 70 fg_open failed, 71 not registered
 * within 20 s, 72 writing failed, 99 the OOM killer never came.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultguard.h"
#include "helpers/app_data.h"
#include "helpers/app_death.h"

#define REGISTER_WAIT_MS 20000
#define OOM_CHUNK (1u << 20)
#define OOM_GIVE_UP (1024u << 20)

const char *__asan_default_options(void);

/*
 * Under ASan the deaths must stay real signals, not sanitizer reports.
 * Default visibility: the build hides symbols, and ASan looks this one up.
 */
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0:handle_sigfpe=0:handle_sigill=0:"
	       "disable_coredump=0:detect_leaks=0";
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	/* The test reads us through a pipe: every line must leave now. */
	fflush(stdout);
}

static int wait_registered(struct fg *fg)
{
	struct timespec tick = { .tv_nsec = 10 * 1000000L };
	int waited;

	for (waited = 0; waited < REGISTER_WAIT_MS; waited += 10) {
		if (fg_registered(fg) == 1)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

static void die_of_oom(void)
{
	size_t total;

	for (total = 0; total < OOM_GIVE_UP; total += OOM_CHUNK) {
		char *p = malloc(OOM_CHUNK);

		if (!p)
			break;
		/* Touch every page: only resident memory counts against the limit. */
		memset(p, 0x5a, OOM_CHUNK);
	}
	exit(99);
}

/*
 * The child's handle is detached: everything it does here must stay out
 * of the parent's dictionary, and its crash must not count as the parent's.
 */
static void fork_and_crash(struct fg *fg)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (fg_registered(fg) != 0)
			_exit(73);
		fg_commit(fg);
		fg_set_str(fg, "child", "written by the forked child");
		fg_set_str(fg, "mode", "child");
		fg_del(fg, "big");
		app_segv();
		_exit(74);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		say("child -1 -1\n");
		return;
	}
	say("child %d %d\n", (int)pid, status);
}

/* Waits until the main thread is a zombie, then segfaults. */
static void *segv_after_leader(void *arg)
{
	struct timespec tick = { .tv_nsec = 1000000L };
	char path[64], buf[512], *p;
	FILE *f;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
	for (;;) {
		f = fopen(path, "re");
		if (!f)
			break;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && p[1] == ' ' && p[2] == 'Z')
			break;
		nanosleep(&tick, NULL);
	}
	app_segv();
	return NULL;
}

/* The process outlives its main thread; the crash is still the process's. */
static void leader_exits_then_segv(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, segv_after_leader, NULL))
		exit(76);
	pthread_exit(NULL);
}

/* Shuts down every Unix socket of the process: the library's connection is the only one. */
static int hang_up(void)
{
	char path[64], target[64];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		ssize_t len;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (!strncmp(target, "socket:", 7) && shutdown(fd, SHUT_RDWR) == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void die_of_bus_error(void)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = memfd_create("col_app-bus", MFD_CLOEXEC);
	volatile char *p;

	if (fd < 0 || ftruncate(fd, page) < 0)
		exit(77);
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
		exit(77);
	say("fault %p\n", (void *)p);
	*p = 1;
	exit(78);
}

static volatile int zero;

/* UBSan would report the division and exit(1): this death must be a real SIGFPE. */
__attribute__((no_sanitize("integer-divide-by-zero"))) static void die_of_fpe(void)
{
	volatile int one = 1;

	say("quotient %d\n", one / zero);
	exit(79);
}

static void die_of_ill(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("ud2");
#endif
	exit(80);
}

static void run_exec(void)
{
	char *argv[] = { "cat", NULL };

	execv("/bin/cat", argv);
	exit(75);
}

/* "churn": a thread rewrites one entry (with its same value) without a pause. */
static void *churn(void *arg)
{
	struct fg *fg = arg;
	unsigned long n;

	for (n = 0;; n++) {
		if (fg_set(fg, "overwritten", "new value", 9))
			exit(72);
		if (!(n % 256))
			usleep(500); /* many of them share two CPUs with the collector */
	}
	return NULL;
}

/* One mode or command; returns only when the app goes on. */
static int new_mount_ns(void)
{
	static const char evil[] = "#!/bin/sh\ntouch /out/from-new-ns\n";
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("evil", "/ct-only", "tmpfs", 0, "mode=0755") < 0)
		return -errno;
	fd = open("/ct-only/rescue.sh", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd < 0)
		return -errno;
	if (write(fd, evil, sizeof(evil) - 1) != (ssize_t)sizeof(evil) - 1) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void act(struct fg *fg, const char *what)
{
	if (!strcmp(what, "exec")) {
		run_exec();
	} else if (!strcmp(what, "oom")) {
		die_of_oom();
	} else if (!strcmp(what, "bus")) {
		die_of_bus_error();
	} else if (!strcmp(what, "fpe")) {
		die_of_fpe();
	} else if (!strcmp(what, "ill")) {
		die_of_ill();
	} else if (!strcmp(what, "leader-exit-segv")) {
		leader_exits_then_segv();
	} else if (!strcmp(what, "fork-segv")) {
		fork_and_crash(fg);
	} else if (!strcmp(what, "rollback")) {
		int err = fg_rollback(fg);

		say(err ? "error %d\n" : "ok\n", err);
	} else if (!strcmp(what, "hangup")) {
		say("hungup %d\n", hang_up());
	} else if (!strcmp(what, "churn")) {
		pthread_t t;

		say(pthread_create(&t, NULL, churn, fg) ? "error\n" : "churning\n");
	} else if (!strcmp(what, "newns")) {
		say("newns %d\n", new_mount_ns());
	} else if (!strcmp(what, "registered")) {
		say("registered %d\n", fg_registered(fg));
	} else if (app_die(fg, what) < 0) {
		say("unknown %s\n", what);
	}
}

static void obey_stdin(struct fg *fg)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			act(fg, line);
	}
	exit(0);
}

/* The dictionary's memfd, as the library holds it. */
static int find_dictionary_fd(void)
{
	char path[64], target[128];
	struct dirent *de;
	int found = -1;
	DIR *d = opendir("/proc/self/fd");

	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		ssize_t len;

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (!strncmp(target, "/memfd:faultguard", 17))
			found = fd;
	}
	if (d)
		closedir(d);
	return found;
}

/* A process that scribbles over the dictionary for as long as it lives. */
static void start_scribbler(void)
{
	uint64_t x = 88172645463325252ull;
	char path[64];
	unsigned char *p;
	struct stat st;
	int fd, dict;
	pid_t pid;

	/* A file of our own: the library closes its fd in a forked child. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", find_dictionary_fd());
	fd = dict = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		exit(81);
	pid = fork();
	if (pid < 0)
		exit(81);
	if (pid > 0) {
		close(dict);
		return;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(82);
	/* Mapped: now the app may die. Our pipes are the app's, not ours to hold open. */
	say("scribbler %d\n", (int)getpid());
	fd = open("/dev/null", O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	/*
	 * Over a few MiB in the middle (a few values torn, most kept), and only
	 * over pages the app wrote: holes stay holes.
	 */
	for (;;) {
		size_t span = st.st_size > (8 << 20) ? (4u << 20) : (size_t)st.st_size / 2, off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = ((size_t)st.st_size / 2 + (size_t)(x % span)) & ~(size_t)63;
		if (lseek(dict, (off_t)off, SEEK_DATA) == (off_t)off)
			memcpy(p + off, &x, sizeof(x));
	}
}

int main(int argc, char **argv)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = "col_app" };
	const char *mode = NULL;
	unsigned int fill = 0;
	int i, rc, scribbler = 0;
	struct fg *fg;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--app") && i + 1 < argc) {
			opts.app = argv[++i];
		} else if (!strcmp(argv[i], "--signal-only")) {
			opts.flags |= FG_RESCUE_SIGNAL_ONLY;
		} else if (!strcmp(argv[i], "--fill") && i + 1 < argc) {
			fill = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--capacity") && i + 1 < argc) {
			opts.max_bytes = (size_t)strtoul(argv[++i], NULL, 10) << 20;
		} else if (!strcmp(argv[i], "--scribbler")) {
			scribbler = 1;
		} else if (!strcmp(argv[i], "--")) {
			if (i + 1 < argc)
				opts.rescue_argv = (const char *const *)&argv[i + 1];
			break;
		} else if (!mode && argv[i][0] != '-') {
			mode = argv[i];
		} else {
			mode = NULL;
			break;
		}
	}
	if (!mode) {
		fprintf(stderr, "usage: col_app [--app NAME] [--signal-only] [--fill MIB] "
				"[--capacity MIB] [--scribbler] MODE [-- RESCUE_ARGV...]\n");
		return 64;
	}
	fg = fg_open(&opts);
	if (!fg) {
		fprintf(stderr, "col_app: fg_open: %s\n", strerror(errno));
		return 70;
	}
	if (wait_registered(fg)) {
		fprintf(stderr, "col_app: not registered with the collector within %d ms\n",
			REGISTER_WAIT_MS);
		return 71;
	}
	rc = app_write_fill(fg, fill);
	if (!rc)
		rc = app_write_entries(fg, mode);
	if (rc) {
		fprintf(stderr, "col_app: writing the entries: %s\n", strerror(-rc));
		return 72;
	}
	say("ready %d\n", (int)getpid());
	if (scribbler)
		start_scribbler();
	if (!strcmp(mode, "stdin"))
		obey_stdin(fg);
	if (!strcmp(mode, "fork-segv")) {
		fork_and_crash(fg);
		obey_stdin(fg);
	}
	act(fg, mode);
	/* The return modes of app_die, and unknown ones. */
	return !strcmp(mode, "return3") ? 3 : !strcmp(mode, "return0") ? 0 : 64;
}
