// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The app whose crashes the backtrace tests read (issue 11):
 *
 *   bt_app APP MODE [RESCUE_ARGV...]
 *
 * Built -O2 -g WITHOUT frame pointers (-fomit-frame-pointer, no sibling
 * calls, the crash functions noinline and exported so that .dynsym names
 * them in a stripped copy). Registers with the collector at
 * $FAULTGUARD_SOCKET, prints "ready <pid>", then dies as MODE says:
 *
 *   segv      main -> bt_level1 -> bt_level2 -> bt_level3, a store through NULL
 *   other     main -> bt_other_level1 -> bt_other_crash, the same store
 *   libc      bt_call_strlen -> strlen(NULL), inside libc
 *   thread    the same three calls in a second thread (prints "tid <tid>" first)
 *   dlopen    loads libbt_plugin.so (beside this program) after registering
 *             and calls its bt_plugin_crash
 *   abort     bt_level1 -> bt_abort -> abort()
 *   overflow  unbounded recursion: SIGSEGV on the stack guard page
 *   jump0     a call through a NULL function pointer
 *   corrupt   random bytes over its own stack (the return addresses), then the store
 *   wait      sleep until killed
 *
 * The lines that fault carry a "crash:" comment; the tests find them there.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "faultguard.h"

/* No sanitizer report: these crashes must stay real signals in the sanitizer pass too. */
#define EXPORT __attribute__((noinline, used, visibility("default"), \
			       no_sanitize("address"), no_sanitize("undefined")))

const char *__asan_default_options(void);
void bt_level3(int v);
void bt_level2(int v);
void bt_level1(int v);
void bt_other_crash(int v);
void bt_other_level1(int v);
size_t bt_call_strlen(void);
void bt_abort(void);
int bt_recurse(int depth);
void bt_jump0(int v);
void bt_corrupt(void);
int bt_depth_limit;

/* Under ASan the deaths stay real signals, not sanitizer reports. */
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0:detect_leaks=0:"
	       "detect_stack_use_after_return=0";
}

int *volatile bt_null;         /* read at run time: the compiler cannot see the NULL */
void (*volatile bt_null_fn)(int);
const char *volatile bt_null_str;

EXPORT void bt_level3(int v)
{
	*bt_null = v; /* crash: segv */
}

EXPORT void bt_level2(int v)
{
	bt_level3(v + 1);
	__asm__ volatile("" ::: "memory"); /* keeps the call from becoming a jump */
}

EXPORT void bt_level1(int v)
{
	bt_level2(v + 1);
	__asm__ volatile("" ::: "memory");
}

EXPORT void bt_other_crash(int v)
{
	*bt_null = v * 3; /* crash: other */
}

EXPORT void bt_other_level1(int v)
{
	bt_other_crash(v + 1);
	__asm__ volatile("" ::: "memory");
}

EXPORT size_t bt_call_strlen(void)
{
	size_t n = strlen(bt_null_str); /* crash: libc */

	__asm__ volatile("" ::: "memory");
	return n;
}

EXPORT void bt_abort(void)
{
	abort(); /* crash: abort */
}

EXPORT int bt_recurse(int depth)
{
	volatile char pad[4096];

	pad[0] = (char)depth;
	if (bt_depth_limit && depth > bt_depth_limit) /* never set: the recursion has no end */
		return 0;
	return bt_recurse(depth + 1) + pad[0]; /* crash: overflow */
}

EXPORT void bt_jump0(int v)
{
	bt_null_fn(v); /* crash: jump0 */
	__asm__ volatile("" ::: "memory");
}

EXPORT void bt_corrupt(void)
{
	unsigned char junk[256], *frame = __builtin_frame_address(0);
	int i;

	if (getrandom(junk, sizeof(junk), 0) != (ssize_t)sizeof(junk))
		memset(junk, 0xa5, sizeof(junk));
	/* From our frame up: our return address and the callers' frames are gone. */
	for (i = 0; i < 1024; i++)
		((volatile unsigned char *)frame)[i] = junk[i % sizeof(junk)];
	*bt_null = junk[0]; /* crash: corrupt */
}

static void *thread_main(void *arg)
{
	(void)arg;
	printf("tid %ld\n", (long)syscall(SYS_gettid));
	fflush(stdout);
	bt_level1(1);
	return NULL;
}

static void crash_in_plugin(const char *self)
{
	char path[PATH_MAX], *slash;
	void (*fn)(int);
	void *h;

	snprintf(path, sizeof(path), "%s", self);
	slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "libbt_plugin.so");
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "bt_app: %s\n", dlerror());
		exit(75);
	}
	fn = (void (*)(int))dlsym(h, "bt_plugin_crash");
	if (!fn)
		exit(76);
	fn(7);
}

int main(int argc, char **argv)
{
	struct timespec tick = { .tv_nsec = 10 * 1000000L };
	char self[PATH_MAX];
	struct fg_opts o = { .sz = sizeof(o) };
	const char *mode;
	pthread_t t;
	ssize_t n;
	struct fg *fg;
	int i;

	if (argc < 3)
		return 64;
	o.app = argv[1];
	mode = argv[2];
	o.rescue_argv = argc > 3 ? (const char *const *)argv + 3 : NULL;
	fg = fg_open(&o);
	if (!fg)
		return 70;
	for (i = 0; i < 2000 && fg_registered(fg) != 1; i++)
		nanosleep(&tick, NULL);
	if (fg_registered(fg) != 1)
		return 71;
	if (fg_set_str(fg, "mode", mode))
		return 72;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (!strcmp(mode, "segv"))
		bt_level1(1);
	else if (!strcmp(mode, "other"))
		bt_other_level1(1);
	else if (!strcmp(mode, "libc"))
		return (int)bt_call_strlen();
	else if (!strcmp(mode, "thread")) {
		if (pthread_create(&t, NULL, thread_main, NULL))
			return 77;
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "dlopen")) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return 78;
		self[n] = '\0';
		crash_in_plugin(self);
	} else if (!strcmp(mode, "abort"))
		bt_abort();
	else if (!strcmp(mode, "overflow"))
		return bt_recurse(0);
	else if (!strcmp(mode, "jump0"))
		bt_jump0(1);
	else if (!strcmp(mode, "corrupt"))
		bt_corrupt();
	else if (!strcmp(mode, "wait"))
		for (;;)
			pause();
	return 64;
}
