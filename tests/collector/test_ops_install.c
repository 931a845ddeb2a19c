// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * make install / make uninstall into a DESTDIR: the files land where a
 * system expects them; an app builds with `pkg-config --cflags --libs
 * faultguard` against the install and runs; systemd-analyze verify accepts
 * the unit; the man pages render without warnings; uninstall takes back
 * every file install put, and nothing else. No root needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

#define PREFIX "/usr/local"

struct inst {
	char src[PATH_MAX];  /* the source tree (the Makefile's directory) */
	char root[PATH_MAX]; /* DESTDIR */
	char out[65536];     /* what the last command printed */
};

static bool find_source(struct inst *in)
{
	char dir[PATH_MAX], *slash;

	if (getcwd(in->src, sizeof(in->src)) && access("mk/install.mk", R_OK) == 0)
		return true;
	snprintf(dir, sizeof(dir), "%s", test_build_dir());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(in->src, sizeof(in->src), "%s", dir);
	snprintf(dir, sizeof(dir), "%.4000s/mk/install.mk", in->src);
	return ASSERT_OK(access(dir, R_OK), "find the source tree (mk/install.mk)");
}

/* sh -c @cmd, in the source tree, without the make of `make check` leaking in. */
static int sh(struct inst *in, const char *cmd)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char *saved = getenv("MAKEFLAGS") ? strdup(getenv("MAKEFLAGS")) : NULL;
	char cwd[PATH_MAX];
	int st;

	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(in->src) < 0)
		return -errno;
	st = fx_run(NULL, argv, in->out, sizeof(in->out));
	if (chdir(cwd) < 0)
		st = -errno;
	if (saved)
		setenv("MAKEFLAGS", saved, 1);
	free(saved);
	return st;
}

static bool make(struct inst *in, const char *target)
{
	char cmd[3 * PATH_MAX];
	int st;

	/* INSTALL_DEPS=: install the binaries under test, never rebuild them. */
	snprintf(cmd, sizeof(cmd),
		 "make -s BUILD='%.1000s' DESTDIR='%.1000s' PREFIX=" PREFIX " INSTALL_DEPS= %s",
		 test_build_dir(), in->root, target);
	st = sh(in, cmd);
	if (!ASSERT_EQ(st, 0, target))
		fprintf(stderr, "  %s printed:\n%s\n", cmd, in->out);
	return st == 0;
}

/*
 * What any documented Python run does to the build tree: bytecode in
 * build/python/faultguard/__pycache__, which install must step over.
 */
static bool run_python_in_the_tree(struct inst *in)
{
	char pkg[PATH_MAX], cmd[2 * PATH_MAX];
	struct stat st;

	snprintf(pkg, sizeof(pkg), "%.3000s/python/faultguard", test_build_dir());
	if (stat(pkg, &st) != 0)
		return true; /* not built: nothing to install either */
	snprintf(cmd, sizeof(cmd),
		 "cd / && env -u PYTHONDONTWRITEBYTECODE PYTHONPATH='%.2000s/python' "
		 "python3 -c 'import faultguard'",
		 test_build_dir());
	if (!ASSERT_EQ(sh(in, cmd), 0, "import faultguard from the build tree"))
		return false;
	snprintf(pkg, sizeof(pkg), "%.3000s/python/faultguard/__pycache__", test_build_dir());
	return ASSERT_OK(stat(pkg, &st), "the import left its bytecode in the build tree");
}

static bool install(struct inst *in)
{
	if (!find_source(in) || !run_python_in_the_tree(in))
		return false;
	snprintf(in->root, sizeof(in->root), "%.3000s/root", test_tmpdir());
	return make(in, "install");
}

/* @rel (under DESTDIR) exists as a regular file with @mode, or as a symlink to @link. */
static bool installed(const struct inst *in, const char *rel, unsigned int mode, const char *link)
{
	char path[2 * PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "%s%s", in->root, rel);
	if (!ASSERT_OK(lstat(path, &st), rel))
		return false;
	if (link) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		return ASSERT_TRUE(S_ISLNK(st.st_mode), rel) && ASSERT_STREQ(target, link, rel);
	}
	return ASSERT_TRUE(S_ISREG(st.st_mode), rel) && ASSERT_EQ(st.st_mode & 07777, mode, rel);
}

TEST(install_puts_every_file_in_place)
{
	struct inst in;
	char cmd[2 * PATH_MAX];

	if (!install(&in))
		return;
	installed(&in, PREFIX "/sbin/faultguardd", 0755, NULL);
	installed(&in, PREFIX "/bin/faultguardctl", 0755, NULL);
	installed(&in, PREFIX "/lib/libfaultguard.so.0.1.0", 0755, NULL);
	installed(&in, PREFIX "/lib/libfaultguard.so.0", 0, "libfaultguard.so.0.1.0");
	installed(&in, PREFIX "/lib/libfaultguard.so", 0, "libfaultguard.so.0");
	installed(&in, PREFIX "/lib/libfaultguard.a", 0644, NULL);
	installed(&in, PREFIX "/include/faultguard.h", 0644, NULL);
	installed(&in, PREFIX "/lib/pkgconfig/faultguard.pc", 0644, NULL);
	installed(&in, PREFIX "/share/man/man8/faultguardd.8", 0644, NULL);
	installed(&in, PREFIX "/share/man/man1/faultguardctl.1", 0644, NULL);
	installed(&in, PREFIX "/share/man/man3/faultguard.3", 0644, NULL);
	installed(&in, "/etc/faultguard/faultguardd.conf.example", 0644, NULL);
	installed(&in, PREFIX "/lib/systemd/system/faultguardd.service", 0644, NULL);
	installed(&in, PREFIX "/share/faultguard/prometheus/faultguard.rules.yml", 0644, NULL);
	/* The soname is what programs record, and what the .so.0 link serves. */
	snprintf(cmd, sizeof(cmd), "readelf -d '%.2000s" PREFIX "/lib/libfaultguard.so.0.1.0'",
		 in.root);
	ASSERT_EQ(sh(&in, cmd), 0, "readelf");
	ASSERT_TRUE(strstr(in.out, "Library soname: [libfaultguard.so.0]") != NULL, "the soname");
	/* The installed unit starts the installed collector. */
	snprintf(cmd, sizeof(cmd),
		 "grep -x 'ExecStart=" PREFIX "/sbin/faultguardd' "
		 "'%.2000s" PREFIX "/lib/systemd/system/faultguardd.service'",
		 in.root);
	ASSERT_EQ(sh(&in, cmd), 0, "ExecStart names the installed faultguardd");
}

TEST(the_python_package_installs_and_imports)
{
	char pkg[PATH_MAX], cmd[3 * PATH_MAX], want[2 * PATH_MAX];
	struct inst in;

	snprintf(pkg, sizeof(pkg), "%.3000s/python/faultguard/__init__.py", test_build_dir());
	if (access(pkg, F_OK) != 0) {
		test_skip("the Python package was not built (%s)", pkg);
		return;
	}
	if (!install(&in))
		return;
	installed(&in, PREFIX "/lib/python3/dist-packages/faultguard/__init__.py", 0644, NULL);
	/* One copy of the library: the package links to the installed one. */
	installed(&in, PREFIX "/lib/python3/dist-packages/faultguard/libfaultguard.so", 0,
		  "../../../libfaultguard.so.0");
	snprintf(cmd, sizeof(cmd),
		 "cd / && PYTHONPATH='%.2000s" PREFIX "/lib/python3/dist-packages' "
		 "python3 -c 'import faultguard; print(faultguard.__file__)'",
		 in.root);
	ASSERT_EQ(sh(&in, cmd), 0, "import faultguard");
	snprintf(want, sizeof(want), "%s" PREFIX "/lib/python3/dist-packages/faultguard/", in.root);
	ASSERT_TRUE(strstr(in.out, want) != NULL, "imported from the install");
}

TEST(an_app_builds_with_pkg_config_against_the_install_and_runs)
{
	static const char app[] =
		"#include <faultguard.h>\n"
		"#include <stdio.h>\n"
		"int main(void)\n"
		"{\n"
		"\tstruct fg_opts o = { .sz = sizeof(o), .app = \"pkgconf\",\n"
		"\t\t\t      .socket_path = \"/nonexistent/faultguard.sock\" };\n"
		"\tstruct fg *fg = fg_open(&o);\n"
		"\tchar buf[32];\n"
		"\tsize_t len = 0;\n"
		"\n"
		"\tif (!fg || fg_set_str(fg, \"k\", \"installed\") ||\n"
		"\t    fg_get(fg, \"k\", buf, sizeof(buf), &len))\n"
		"\t\treturn 1;\n"
		"\tprintf(\"%.*s\\n\", (int)len, buf);\n"
		"\treturn fg_close(fg) ? 1 : 0;\n"
		"}\n";
	char src[PATH_MAX], cmd[4 * PATH_MAX];
	struct inst in;

	if (!install(&in))
		return;
	snprintf(src, sizeof(src), "%.3000s/app.c", test_tmpdir());
	ASSERT_OK(fx_write_file(src, app), "write app.c");
	/* The sysroot variable makes pkg-config prefix -I and -L with DESTDIR. */
	snprintf(cmd, sizeof(cmd),
		 "export PKG_CONFIG_SYSROOT_DIR='%1$.1000s' "
		 "PKG_CONFIG_PATH='%1$.1000s" PREFIX "/lib/pkgconfig' PKG_CONFIG_LIBDIR=; "
		 "cc -Wall -Werror -o '%2$.1000s.bin' '%2$.1000s' "
		 "$(pkg-config --cflags --libs faultguard) && "
		 "LD_LIBRARY_PATH='%1$.1000s" PREFIX "/lib' '%2$.1000s.bin' && "
		 "LD_LIBRARY_PATH='%1$.1000s" PREFIX "/lib' ldd '%2$.1000s.bin'",
		 in.root, src);
	if (!ASSERT_EQ(sh(&in, cmd), 0, "build and run the app"))
		fprintf(stderr, "%s\n", in.out);
	ASSERT_TRUE(!strncmp(in.out, "installed\n", 10), "the app used its dictionary");
	ASSERT_TRUE(strstr(in.out, "libfaultguard.so.0 => ") && strstr(in.out, in.root),
		    "linked against the installed shared library");
}

/*
 * Every line systemd-analyze prints is a problem, except that the
 * commands are absent outside DESTDIR: those must exist inside it.
 */
static bool verify_clean(struct inst *in, const char *unit, bool report)
{
	static const char absent[] = "is not executable: No such file or directory";
	char cmd[2 * PATH_MAX], *line, *save = NULL, path[2 * PATH_MAX];
	bool ok = true;
	int st;

	snprintf(cmd, sizeof(cmd), "systemd-analyze verify --man=no '%.2000s' 2>&1", unit);
	st = sh(in, cmd);
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "systemd-analyze verify ran"))
		return false;
	for (line = strtok_r(in->out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *cmd_at = strstr(line, ": Command ");

		if (cmd_at && strstr(line, absent)) {
			snprintf(path, sizeof(path), "%s%.*s", in->root,
				 (int)(strstr(line, absent) - cmd_at - 11), cmd_at + 10);
			if (access(path, X_OK) == 0)
				continue;
		}
		if (report)
			fprintf(stderr, "  systemd-analyze: %s\n", line);
		ok = false;
	}
	return ok;
}

TEST(systemd_analyze_verify_accepts_the_unit)
{
	char unit[2 * PATH_MAX], broken[PATH_MAX + 32], *text, *p;
	const char *argv[] = { "systemd-analyze", "--version", NULL };
	struct inst in;

	if (!ASSERT_EQ(fx_run(NULL, argv, NULL, 0), 0,
		       "systemd-analyze runs (Debian package systemd)"))
		return;
	if (!install(&in))
		return;
	snprintf(unit, sizeof(unit), "%s" PREFIX "/lib/systemd/system/faultguardd.service", in.root);
	ASSERT_TRUE(verify_clean(&in, unit, true), "systemd-analyze verify has nothing to say");
	/* The control: the same unit with one misspelt setting must be caught. */
	snprintf(broken, sizeof(broken), "%.3000s/faultguardd.service", test_tmpdir());
	text = fx_read_file(unit, NULL);
	if (!ASSERT_NOT_NULL(text, "read the unit"))
		return;
	p = strstr(text, "\nProtectSystem=strict\n");
	if (ASSERT_NOT_NULL(p, "the unit sets ProtectSystem=strict"))
		memcpy(p + 1, "ProtectSystem=strikt", 20);
	ASSERT_OK(fx_write_file(broken, text), "write the broken unit");
	ASSERT_FALSE(verify_clean(&in, broken, false), "a broken unit is reported");
	free(text);
}

TEST(man_pages_render_without_warnings)
{
	static const char *const pages[] = { "/share/man/man8/faultguardd.8",
					     "/share/man/man1/faultguardctl.1",
					     "/share/man/man3/faultguard.3" };
	char cmd[3 * PATH_MAX];
	struct inst in;
	size_t i;

	if (!install(&in))
		return;
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		/*
		 * Rendered text to /dev/null; warnings (stderr) are all we keep.
		 * The second grep reads the whole page: grep -q would exit at the
		 * first match and man's col would report the broken pipe.
		 */
		snprintf(cmd, sizeof(cmd),
			 "MANWIDTH=80 man --warnings -l '%.2000s" PREFIX "%s' 2>&1 >/dev/null && "
			 "MANWIDTH=80 man -l '%.2000s" PREFIX "%s' | grep faultguard >/dev/null",
			 in.root, pages[i], in.root, pages[i]);
		ASSERT_EQ(sh(&in, cmd), 0, pages[i]);
		if (!ASSERT_STREQ(in.out, "", "man --warnings says nothing"))
			fprintf(stderr, "  %s\n", pages[i]);
	}
}

TEST(uninstall_removes_what_install_put_and_nothing_else)
{
	char mine[PATH_MAX + 32], cmd[2 * PATH_MAX];
	struct inst in;

	if (!find_source(&in) || !run_python_in_the_tree(&in))
		return;
	snprintf(in.root, sizeof(in.root), "%.3000s/root", test_tmpdir());
	/* Someone else's file in a shared directory. */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%.2000s" PREFIX "/bin'", in.root);
	ASSERT_EQ(sh(&in, cmd), 0, "mkdir");
	snprintf(mine, sizeof(mine), "%s" PREFIX "/bin/not-ours", in.root);
	ASSERT_OK(fx_write_file(mine, "#!/bin/sh\n"), "a file that is not ours");
	if (!make(&in, "install") || !make(&in, "uninstall"))
		return;
	snprintf(cmd, sizeof(cmd), "find '%.2000s' ! -type d ! -path '%.2000s'", in.root, mine);
	ASSERT_EQ(sh(&in, cmd), 0, "find");
	if (!ASSERT_STREQ(in.out, "", "no file or link of ours is left"))
		fprintf(stderr, "  left:\n%s\n", in.out);
	ASSERT_OK(access(mine, F_OK), "the other file stays");
}
