// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where it crashed (issue 11, SPEC §8.3, §8.6): real crashes of a real app
 * built -O2 -g without frame pointers (tests/helpers/bt_app), against a
 * real faultguardd and the real kernel. The crash record names the frames
 * in order with their files and lines; a stripped copy keeps names from
 * .dynsym and always addresses and module offsets; debug info under
 * /usr/lib/debug/.build-id/ (a tmpfs in a private mount namespace, so the
 * host's is untouched) brings file and line back; a crash in libc, in a
 * second thread, in a library dlopened after registration; signatures
 * stable over 20 runs under ASLR and different for another function; a
 * stack overflow, a jump to 0 and a corrupted stack end in a partial
 * backtrace and a reason, never a hang; exits and kills have none.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_check.h"
#include "framework/test.h"

/* The line of @file (under the source tree) whose text holds "crash: @what". */
static int marker_line(const char *file, const char *what)
{
	char path[PATH_MAX], want[64], *text, *p, *line;
	const char *build = test_build_dir(), *slash = strrchr(build, '/');
	int n = 1;

	snprintf(path, sizeof(path), "%.*s/%s", slash ? (int)(slash - build) : 1,
		 slash ? build : ".", file);
	snprintf(want, sizeof(want), "/* crash: %s */", what);
	text = fx_read_file(path, NULL);
	if (!ASSERT_NOT_NULL(text, "read the test app's source"))
		return -1;
	for (line = text; (p = strchr(line, '\n')); line = p + 1, n++) {
		*p = '\0';
		if (strstr(line, want))
			break;
	}
	free(text);
	return p ? n : -1;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = s ? strlen(s) : 0, b = strlen(tail);

	return s && a >= b && !strcmp(s + a - b, tail);
}

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

static json_object *frame(json_object *crash, size_t i)
{
	json_object *bt;

	if (!json_object_object_get_ex(crash, "backtrace", &bt) ||
	    !json_object_is_type(bt, json_type_array) || i >= json_object_array_length(bt))
		return NULL;
	return json_object_array_get_idx(bt, i);
}

static size_t nframes(json_object *crash)
{
	json_object *bt;

	if (!json_object_object_get_ex(crash, "backtrace", &bt) ||
	    !json_object_is_type(bt, json_type_array))
		return 0;
	return json_object_array_length(bt);
}

static void print_backtrace(json_object *crash)
{
	for (size_t i = 0; i < nframes(crash); i++) {
		json_object *f = frame(crash, i);

		fprintf(stderr, "    #%zu %s %s (%s) %s:%lld\n", i, jstr(f, "addr"),
			jstr(f, "function") ? jstr(f, "function") : "??", base(jstr(f, "module")),
			jstr(f, "file") ? jstr(f, "file") : "?", jint_or(f, "line", 0));
	}
}

/* Frame @i is @function in a module named @module (base name). */
static bool frame_is(json_object *crash, size_t i, const char *function, const char *module)
{
	json_object *f = frame(crash, i);
	bool ok = f && jstr(f, "function") && !strcmp(jstr(f, "function"), function) &&
		  !strcmp(base(jstr(f, "module")), module);

	if (!ASSERT_TRUE(ok, "the frame names the function and module")) {
		fprintf(stderr, "  frame #%zu: expected %s in %s; the backtrace:\n", i, function,
			module);
		print_backtrace(crash);
	}
	return ok;
}

struct run {
	struct fx_app a;
	char id[64];
	json_object *crash, *snapshot, *rescue;
};

/* Starts bt_app in @mode (from @program if not NULL), waits for its crash record. */
static bool crash_one_line(struct fx *fx, const char *mode, const char *program, struct run *r,
			   char *line, size_t len);

static bool crash_one(struct fx *fx, const char *mode, const char *program, struct run *r)
{
	return crash_one_line(fx, mode, program, r, NULL, 0);
}

/* The same, reading the app's first line after "ready" into @line. */
static bool crash_one_line(struct fx *fx, const char *mode, const char *program, struct run *r,
			   char *line, size_t len)
{
	static const char *const rescue[] = { "/bin/true", NULL };
	struct fx_app_spec spec = { .helper = FX_BT_APP, .app = "bt", .mode = mode,
				    .rescue_argv = rescue, .program = program };

	memset(r, 0, sizeof(*r));
	if (!fx_app_start(fx, &r->a, &spec))
		return false;
	if (line && !fx_app_read_line(&r->a, line, len, FX_WAIT_MS))
		return false;
	r->crash = fx_wait(fx, "crash", r->a.pid, 0, FX_WAIT_MS);
	if (!ASSERT_NOT_NULL(r->crash, "a crash record"))
		return false;
	snprintf(r->id, sizeof(r->id), "%s", jstr(r->crash, "id") ? jstr(r->crash, "id") : "");
	r->rescue = fx_wait_id(fx, "rescue", r->id, FX_WAIT_MS);
	r->snapshot = fx_find_id(fx, "snapshot", r->id);
	return fx_app_wait(&r->a, FX_WAIT_MS) && r->rescue && r->snapshot;
}

static void run_free(struct run *r)
{
	json_object_put(r->crash);
	json_object_put(r->snapshot);
	json_object_put(r->rescue);
	r->crash = r->snapshot = r->rescue = NULL;
}

static bool begin(struct fx *fx)
{
	return fx_begin(fx, 0, NULL);
}

/* The build id `readelf -n` reads from @path, or "". */
static void readelf_build_id(const char *path, char *out, size_t len)
{
	const char *argv[] = { "readelf", "-n", path, NULL };
	char text[16384], *p;

	out[0] = '\0';
	if (fx_run(NULL, argv, text, sizeof(text)) != 0 || !(p = strstr(text, "Build ID: ")))
		return;
	snprintf(out, len, "%.*s", (int)strspn(p + 10, "0123456789abcdef"), p + 10);
}

/* The value of symbol @name in @path, from nm; -1 if absent. */
static long long nm_value(const char *path, const char *name)
{
	const char *argv[] = { "nm", path, NULL };
	static char text[1 << 20];
	char want[128], *p;

	snprintf(want, sizeof(want), " T %s\n", name);
	if (fx_run(NULL, argv, text, sizeof(text)) != 0 || !(p = strstr(text, want)))
		return -1;
	while (p > text && p[-1] != '\n')
		p--;
	return strtoll(p, NULL, 16);
}

static void check_three_deep(struct fx *fx, struct run *r, const char *exe, bool lines)
{
	int line = marker_line("tests/helpers/bt_app.c", "segv");
	json_object *f0 = frame(r->crash, 0);

	if (!frame_is(r->crash, 0, "bt_level3", base(exe)) ||
	    !frame_is(r->crash, 1, "bt_level2", base(exe)) ||
	    !frame_is(r->crash, 2, "bt_level1", base(exe)))
		return;
	if (lines) {
		ASSERT_TRUE(ends_with(jstr(f0, "file"), "tests/helpers/bt_app.c"),
			    "frame #0's file is the app's source");
		ASSERT_EQ(jint_or(f0, "line", -1), line, "frame #0's line is the crash line");
		ASSERT_TRUE(frame_is(r->crash, 3, "main", base(exe)), "then main");
	}
	CHECK_INT(r->crash, "tid", r->a.pid);
	CHECK_STR(r->crash, "exe", exe);
	ASSERT_STREQ(jstr(r->crash, "ip"), jstr(f0, "addr"), "ip is frame #0's address");
	ASSERT_STREQ(jstr(f0, "module"), exe, "frame #0's module is the executable");
	ASSERT_EQ(strlen(jstr(r->crash, "signature") ? jstr(r->crash, "signature") : ""), 16,
		  "a signature of 16 hex digits");
	(void)fx;
}

TEST(three_calls_deep_no_frame_pointers)
{
	char exe[PATH_MAX], bid[128], *out = NULL, want[PATH_MAX + 256];
	long long sym;
	struct run r;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_path(exe, sizeof(exe), "%s/tests/helpers/bt_app", fx.build);
	if (!crash_one(&fx, "segv", NULL, &r))
		goto out;
	check_three_deep(&fx, &r, exe, true);
	/* The build id is the file's own, in the record and in its frames. */
	readelf_build_id(exe, bid, sizeof(bid));
	ASSERT_TRUE(bid[0], "readelf reads the app's build id");
	CHECK_STR(r.crash, "build_id", bid);
	CHECK_STR(frame(r.crash, 0), "build_id", bid);
	/* module_offset is the address in the file: the symbol's value plus the offset. */
	sym = nm_value(exe, "bt_level3");
	snprintf(want, sizeof(want), "0x%llx",
		 sym + jint_or(frame(r.crash, 0), "function_offset", -1000000));
	CHECK_STR(frame(r.crash, 0), "module_offset", want);
	/* The crash record comes first, the snapshot and rescue records after it. */
	ASSERT_TRUE(jint_or(r.crash, "seq", 0) < jint_or(r.snapshot, "seq", 0) &&
			    jint_or(r.snapshot, "seq", 0) < jint_or(r.rescue, "seq", 0),
		    "crash, snapshot, rescue, in that order");
	/* show prints it one frame a line. */
	ASSERT_EQ(fx_ctl(&fx, &out, "show", "--state-dir", fx.state, r.id, NULL), 0, "show");
	snprintf(want, sizeof(want), "#0 bt_level3+0x%llx (%s) ",
		 jint_or(frame(r.crash, 0), "function_offset", 0), exe);
	ASSERT_TRUE(out && strstr(out, want), "show prints frame #0 as SPEC §8.6 says");
	snprintf(want, sizeof(want), "bt_app.c:%d\n", marker_line("tests/helpers/bt_app.c", "segv"));
	ASSERT_TRUE(out && strstr(out, want), "with file:line");
	if (out && !strstr(out, want))
		fprintf(stderr, "%s", out);
	run_free(&r);
	fx_stop(&fx);
out:
	free(out);
	fx_cleanup(&fx);
}

/* Copies build/tests/helpers/bt_app to @dst and runs `@tool ARGS... @dst` on it. */
static bool copy_and(struct fx *fx, const char *dst, const char *tool, const char *arg)
{
	char src[PATH_MAX], out[4096];
	const char *cp[] = { "cp", src, dst, NULL }, *t[] = { tool, arg, dst, NULL };

	fx_path(src, sizeof(src), "%s/tests/helpers/bt_app", fx->build);
	if (!ASSERT_EQ(fx_run(NULL, cp, out, sizeof(out)), 0, "copy the app"))
		return false;
	if (tool && !ASSERT_EQ(fx_run(NULL, t, out, sizeof(out)), 0, "strip the copy")) {
		fprintf(stderr, "%s\n", out);
		return false;
	}
	return true;
}

TEST(stripped_copy_dynsym_names)
{
	char copy[PATH_MAX];
	struct run full, bare;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_path(copy, sizeof(copy), "%s/bt_app.stripped", fx.dir);
	if (!copy_and(&fx, copy, "strip", "--strip-all") || !crash_one(&fx, "segv", NULL, &full) ||
	    !crash_one(&fx, "segv", copy, &bare))
		goto out;
	check_three_deep(&fx, &bare, copy, false);
	for (size_t i = 0; i < 3; i++) {
		json_object *f = frame(bare.crash, i);

		ASSERT_TRUE(jis_null(f, "file") && jis_null(f, "line"),
			    "no file and line without debug info");
		ASSERT_STREQ(jstr(f, "module_offset"), jstr(frame(full.crash, i), "module_offset"),
			     "the same module offsets as the unstripped app");
		ASSERT_TRUE(jstr(f, "addr") != NULL, "an address");
	}
	/* main has no name here (not exported): the signature is that of another stack. */
	ASSERT_TRUE(jstr(bare.crash, "signature") != NULL, "a signature from the names it has");
	run_free(&full);
	run_free(&bare);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * /usr/lib/debug/.build-id/ is the host's: the test puts a tmpfs over
 * /usr/lib/debug in a mount namespace of its own (the collector it starts
 * inherits it), so nothing of the host's is touched or left behind.
 */
static bool private_debug_dir(void)
{
	struct stat st;

	if (stat("/usr/lib/debug", &st) < 0 || !S_ISDIR(st.st_mode)) {
		test_skip("no /usr/lib/debug to put a private tmpfs over");
		return false;
	}
	if (!ASSERT_OK(unshare(CLONE_NEWNS) ? -errno : 0, "a private mount namespace") ||
	    !ASSERT_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ? -errno : 0,
		       "mounts private") ||
	    !ASSERT_OK(mount("fgtest-debug", "/usr/lib/debug", "tmpfs", 0, "mode=0755") ? -errno
											  : 0,
		       "a tmpfs over /usr/lib/debug"))
		return false;
	return true;
}

TEST(debug_file_under_build_id)
{
	char copy[PATH_MAX], dbg[PATH_MAX], dir[PATH_MAX], bid[128], out[4096];
	const char *keep[] = { "objcopy", "--only-keep-debug", copy, dbg, NULL };
	struct run r;
	struct fx fx;
	bool mounted = false;

	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx_path(copy, sizeof(copy), "%s/bt_app.nodebug", fx.dir);
	if (!copy_and(&fx, copy, NULL, NULL))
		goto out;
	readelf_build_id(copy, bid, sizeof(bid));
	if (!ASSERT_TRUE(strlen(bid) > 2, "the app has a build id"))
		goto out;
	fx_path(dbg, sizeof(dbg), "%s/bt_app.debug", fx.dir);
	if (!ASSERT_EQ(fx_run(NULL, keep, out, sizeof(out)), 0, "objcopy --only-keep-debug") ||
	    !copy_and(&fx, copy, "strip", "--strip-all"))
		goto out;
	if (!private_debug_dir())
		goto out;
	mounted = true;
	fx_path(dir, sizeof(dir), "/usr/lib/debug/.build-id/%.2s", bid);
	mkdir("/usr/lib/debug/.build-id", 0755);
	mkdir(dir, 0755);
	fx_path(dir, sizeof(dir), "/usr/lib/debug/.build-id/%.2s/%s.debug", bid, bid + 2);
	const char *mv[] = { "cp", dbg, dir, NULL };
	if (!ASSERT_EQ(fx_run(NULL, mv, out, sizeof(out)), 0, "the debug file in place") ||
	    !fx_start(&fx) || !crash_one(&fx, "segv", copy, &r))
		goto out;
	check_three_deep(&fx, &r, copy, true);
	run_free(&r);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	if (mounted)
		umount("/usr/lib/debug");
}

TEST(crash_inside_libc)
{
	struct run r;
	struct fx fx;
	size_t i;

	if (!begin(&fx) || !crash_one(&fx, "libc", NULL, &r))
		goto out;
	ASSERT_TRUE(!strncmp(base(jstr(frame(r.crash, 0), "module")), "libc.so.6", 9),
		    "frame #0 is in libc.so.6");
	/* Right above it (an ASan build puts its strlen interceptor between). */
	for (i = 1; i < 3 && i < nframes(r.crash); i++)
		if (jstr(frame(r.crash, i), "function") &&
		    !strcmp(jstr(frame(r.crash, i), "function"), "bt_call_strlen"))
			break;
	if (!ASSERT_TRUE(i < 3 && i < nframes(r.crash), "the app's caller is above libc"))
		print_backtrace(r.crash);
	else
		ASSERT_EQ(jint_or(frame(r.crash, i), "line", -1),
			  marker_line("tests/helpers/bt_app.c", "libc"), "on the line that calls");
	run_free(&r);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(crash_in_second_thread)
{
	char line[128];
	long tid = 0;
	struct run r;
	struct fx fx;

	if (!begin(&fx) || !crash_one_line(&fx, "thread", NULL, &r, line, sizeof(line)))
		goto out;
	if (!ASSERT_EQ(sscanf(line, "tid %ld", &tid), 1, "the app said its thread's id"))
		goto out;
	ASSERT_NEQ(tid, r.a.pid, "a thread other than the main one");
	CHECK_INT(r.crash, "tid", tid);
	if (frame_is(r.crash, 0, "bt_level3", "bt_app") &&
	    frame_is(r.crash, 1, "bt_level2", "bt_app") &&
	    frame_is(r.crash, 2, "bt_level1", "bt_app"))
		frame_is(r.crash, 3, "thread_main", "bt_app");
	run_free(&r);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(crash_in_dlopened_library)
{
	char lib[PATH_MAX];
	struct run r;
	struct fx fx;

	if (!begin(&fx) || !crash_one(&fx, "dlopen", NULL, &r))
		goto out;
	fx_path(lib, sizeof(lib), "%s/tests/helpers/libbt_plugin.so", fx.build);
	if (frame_is(r.crash, 0, "bt_plugin_inner", "libbt_plugin.so") &&
	    frame_is(r.crash, 1, "bt_plugin_crash", "libbt_plugin.so")) {
		CHECK_STR(frame(r.crash, 0), "module", lib);
		ASSERT_TRUE(ends_with(jstr(frame(r.crash, 0), "file"), "bt_plugin.c"),
			    "the plugin's source file");
		ASSERT_EQ(jint_or(frame(r.crash, 0), "line", -1),
			  marker_line("tests/helpers/plugin/bt_plugin.c", "plugin"), "its crash line");
	}
	run_free(&r);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(signature_stable_20_runs)
{
	char sig[32] = "", ip0[32] = "", *out = NULL;
	bool moved = false;
	struct run r;
	struct fx fx;
	int i;

	if (!begin(&fx))
		goto out;
	for (i = 0; i < 20; i++) {
		if (!crash_one(&fx, "segv", NULL, &r))
			goto out;
		if (i == 0) {
			snprintf(sig, sizeof(sig), "%s", jstr(r.crash, "signature") ?: "");
			snprintf(ip0, sizeof(ip0), "%s", jstr(r.crash, "ip") ?: "");
		} else {
			moved |= strcmp(ip0, jstr(r.crash, "ip") ?: "") != 0;
			if (!ASSERT_STREQ(jstr(r.crash, "signature"), sig, "the same signature")) {
				run_free(&r);
				goto out;
			}
		}
		run_free(&r);
	}
	ASSERT_TRUE(moved, "ASLR moved the code between runs (the ip changed)");
	if (!crash_one(&fx, "other", NULL, &r))
		goto out;
	ASSERT_TRUE(jstr(r.crash, "signature") && strcmp(jstr(r.crash, "signature"), sig),
		    "a crash in another function has another signature");
	run_free(&r);
	/* list --by-signature: one row per signature, with its count and innermost named frame. */
	if (ASSERT_EQ(fx_ctl(&fx, &out, "list", "--state-dir", fx.state, "--by-signature", "--json",
			     NULL),
		      0, "list --by-signature --json")) {
		json_object *rows = json_tokener_parse(out ? out : ""), *row;
		size_t n = rows ? json_object_array_length(rows) : 0;

		ASSERT_EQ(n, 2, "two signatures");
		row = n == 2 ? json_object_array_get_idx(rows, 0) : NULL;
		CHECK_STR(row, "signature", sig);
		CHECK_INT(row, "count", 20);
		CHECK_STR(row, "app", "bt");
		CHECK_STR(row, "frame", "bt_level3 (bt_app)");
		ASSERT_TRUE(jstr(row, "first") && jstr(row, "last") &&
				    strcmp(jstr(row, "first"), jstr(row, "last")) < 0,
			    "first and last times");
		row = n == 2 ? json_object_array_get_idx(rows, 1) : NULL;
		CHECK_INT(row, "count", 1);
		CHECK_STR(row, "frame", "bt_other_crash (bt_app)");
		json_object_put(rows);
	}
	free(out);
	out = NULL;
	ASSERT_EQ(fx_ctl(&fx, &out, "list", "--state-dir", fx.state, "--by-signature", NULL), 0,
		  "list --by-signature");
	ASSERT_TRUE(out && strstr(out, sig) && strstr(out, "bt_level3 (bt_app)"),
		    "the table shows the signature and its frame");
	fx_stop(&fx);
out:
	free(out);
	fx_cleanup(&fx);
}

/*
 * A crash the unwinder cannot follow to the end: a partial backtrace with
 * @function at frame @at, a reason in the log, no hang; @check looks further.
 */
static void partial(const char *mode, const char *function, size_t at, void (*check)(json_object *))
{
	char *log = NULL;
	struct run r;
	struct fx fx;

	if (!begin(&fx) || !crash_one(&fx, mode, NULL, &r))
		goto out;
	if (!ASSERT_GE(nframes(r.crash), at + 1, "a partial backtrace"))
		goto out;
	frame_is(r.crash, at, function, "bt_app");
	if (check)
		check(r.crash);
	/* The collector said why, naming the crash, and lives on. */
	log = fx_read_file(fx.log, NULL);
	ASSERT_TRUE(log && strstr(log, r.id), "the collector's log gives the reason");
	ASSERT_TRUE(fx_alive(&fx), "the collector lives on");
	run_free(&r);
	ASSERT_TRUE(crash_one(&fx, "segv", NULL, &r) && nframes(r.crash) >= 4,
		    "and unwinds the next crash");
	run_free(&r);
	fx_stop(&fx);
out:
	free(log);
	fx_cleanup(&fx);
}

TEST(stack_overflow_partial)
{
	partial("overflow", "bt_recurse", 0, NULL);
}

/* Frame #0 is the bad address itself, in no module, with no name. */
static void check_jump0(json_object *crash)
{
	CHECK_STR(frame(crash, 0), "addr", "0x0");
	CHECK_NULL(frame(crash, 0), "module");
	CHECK_NULL(frame(crash, 0), "function");
}

TEST(jump_to_0_partial)
{
	partial("jump0", "bt_jump0", 1, check_jump0);
}

TEST(corrupted_stack_partial)
{
	partial("corrupt", "bt_corrupt", 0, NULL);
}

TEST(no_backtrace_exit_or_kill)
{
	static const char *const rescue[] = { "/bin/true", NULL };
	struct fx_app a;
	json_object *c = NULL;
	struct fx fx;
	const char *fields[] = { "tid", "exe", "build_id", "ip", "backtrace", "signature" };

	if (!begin(&fx))
		goto out;
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "exit3", .rescue_argv = rescue }))
		goto out;
	c = fx_wait(&fx, "crash", a.pid, 0, FX_WAIT_MS);
	fx_app_wait(&a, FX_WAIT_MS);
	for (size_t i = 0; c && i < sizeof(fields) / sizeof(fields[0]); i++)
		CHECK_NULL(c, fields[i]);
	json_object_put(c);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "stdin", .rescue_argv = rescue }))
		goto out;
	kill(a.pid, SIGKILL);
	c = fx_wait(&fx, "crash", a.pid, 0, FX_WAIT_MS);
	fx_app_wait(&a, FX_WAIT_MS);
	ASSERT_STREQ(jstr(c, "cause"), "killed", "killed from outside");
	CHECK_NULL(c, "backtrace");
	CHECK_NULL(c, "signature");
	json_object_put(c);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* The collector's unwinding process (faultguardd-bt): its child of that name, or 0. */
static pid_t unwinder_of(pid_t collector)
{
	char path[64], comm[32], stat[256];
	struct dirent *d;
	pid_t found = 0;
	DIR *dir = opendir("/proc");

	while (dir && !found && (d = readdir(dir))) {
		int ppid = 0;
		FILE *f;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* pid (comm) state ppid: the comm has no ')' here. */
		if (fgets(stat, sizeof(stat), f) &&
		    sscanf(stat, "%*d (%31[^)]) %*c %d", comm, &ppid) == 2 &&
		    ppid == collector && !strcmp(comm, "faultguardd-bt"))
			found = atoi(d->d_name);
		fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

/*
 * An unwind that takes longer than the collector waits (here: the unwinding
 * process stopped) loses its crash's backtrace; its late answer must not
 * become the next crash's backtrace.
 */
TEST(late_unwind_answer_is_not_the_next_crashs)
{
	struct run r;
	struct fx fx;
	pid_t uw;

	if (!begin(&fx))
		goto out;
	uw = unwinder_of(fx.pid);
	if (!ASSERT_TRUE(uw > 0, "the collector has its unwinding process"))
		goto stop;
	ASSERT_OK(kill(uw, SIGSTOP), "stop the unwinding process");
	if (crash_one(&fx, "segv", NULL, &r)) {
		CHECK_NULL(r.crash, "backtrace");
		run_free(&r);
	}
	/* The record for the stopped process is in its socket: it answers it when it goes on. */
	ASSERT_OK(kill(uw, SIGCONT), "let it go on");
	if (crash_one(&fx, "other", NULL, &r)) {
		if (frame_is(r.crash, 0, "bt_other_crash", "bt_app"))
			frame_is(r.crash, 1, "bt_other_level1", "bt_app");
		run_free(&r);
	}
stop:
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}
