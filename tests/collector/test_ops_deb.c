// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Debian packages (`make deb`, which `make check` runs first) installed
 * with dpkg into a throwaway root, never onto this machine: an overlay of
 * the machine's own root (so every dependency is there, as on a real
 * host) whose writes go to a tmpfs, in a mount namespace of its own.
 * dpkg -i puts every file where `make install PREFIX=/usr` puts it (man
 * pages compressed, the Debian docs added), enables the unit through
 * deb-systemd-helper, and the installed tool, library and Python module
 * work there; dpkg -r leaves only the conffile, dpkg -P nothing at all.
 * Root needed (mounts), no BPF.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

static const char *const packages[] = { "faultguard", "libfaultguard0", "libfaultguard-dev",
					"python3-faultguard" };
#define NPKG (sizeof(packages) / sizeof(packages[0]))

/*
 * Run in a mount namespace of its own: $1 the scratch directory, $2 the
 * .deb files' directory, $3 the packages. After each step, the files the
 * step left in the root (the overlay's upper layer) are listed into
 * $1/STEP.files as "PATH TYPE [LINK TARGET]".
 */
static const char script[] =
	"set -u\n"
	"T=$1 DEBS=$2; shift 2\n"
	"R=$T/root\n"
	"mkdir -p $T/layer $R\n"
	"mount -t tmpfs -o mode=0755 throwaway $T/layer && mkdir $T/layer/up $T/layer/work &&\n"
	"mount -t overlay overlay -o lowerdir=/,upperdir=$T/layer/up,workdir=$T/layer/work $R &&\n"
	"mount --rbind /dev $R/dev && mount -t proc proc $R/proc &&\n"
	/* No /run/systemd/system in there: the scripts enable the unit, never start it. */
	"mount -t tmpfs -o mode=0755 run $R/run || { echo 'cannot make the root' >&2; exit 90; }\n"
	"list() { (cd $T/layer/up && find . ! -type d ! -type c -printf '%P %y %l\\n' | sort) > $T/$1.files; }\n"
	"debs=; for p in \"$@\"; do debs=\"$debs $(ls $DEBS/${p}_*.deb)\"; done\n"
	"dpkg --root=$R -i $debs > $T/install.log 2>&1; echo $? > $T/install.rc\n"
	"list install\n"
	"chroot $R faultguardctl --version > $T/version.log 2>&1\n"
	"chroot $R /bin/sh -c 'cd / && /usr/bin/python3 -c \"import faultguard, faultguard._lib as l; "
	"print(faultguard.__file__); l.load_library()\"' > $T/import.log 2>&1; echo $? > $T/import.rc\n"
	"dpkg --root=$R -r \"$@\" > $T/remove.log 2>&1; echo $? > $T/remove.rc\n"
	"list remove\n"
	"dpkg --root=$R -P \"$@\" > $T/purge.log 2>&1; echo $? > $T/purge.rc\n"
	"list purge\n";

struct deb {
	char dir[PATH_MAX];  /* the scratch directory */
	char debs[PATH_MAX]; /* build/deb */
	char *ref;           /* make install PREFIX=/usr's files, "PATH TYPE [TARGET]" lines */
	char out[8192];
};

static char *step_file(const struct deb *d, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	return fx_read_file(path, NULL);
}

static int step_rc(const struct deb *d, const char *name)
{
	char *t = step_file(d, name);
	int rc = t ? atoi(t) : -1;

	free(t);
	return rc;
}

/* Whether @list has the line for @path ("PATH TYPE..."). */
static bool listed(const char *list, const char *path)
{
	size_t n = strlen(path);
	const char *p;

	for (p = list; p && (p = strstr(p, path)); p += n)
		if ((p == list || p[-1] == '\n') && p[n] == ' ')
			return true;
	return false;
}

/*
 * @path as dpkg leaves it on this machine: where /lib is a link to usr/lib
 * (a merged /usr, Debian 12's default), lib/X lands in usr/lib/X.
 */
static void on_this_root(const char *path, char *buf, size_t len)
{
	static int merged = -1;
	struct stat st;

	if (merged < 0)
		merged = lstat("/lib", &st) == 0 && S_ISLNK(st.st_mode);
	snprintf(buf, len, "%s%s", merged && !strncmp(path, "lib/", 4) ? "usr/" : "", path);
}

/* The files of ours: what make install puts, as a package ships it (man pages .gz). */
static bool ours(const char *path)
{
	static const char *const prefixes[] = { "usr/", "lib/", "etc/faultguard/" };
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static void packaged_name(const char *path, char *buf, size_t len)
{
	char here[PATH_MAX - 8];

	on_this_root(path, here, sizeof(here));
	snprintf(buf, len, "%s%s", here, !strncmp(here, "usr/share/man/", 14) ? ".gz" : "");
}

/* `make install PREFIX=/usr` into a DESTDIR: the reference list. */
static bool reference(struct deb *d)
{
	char cmd[4 * PATH_MAX];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char src[PATH_MAX], *slash;

	snprintf(src, sizeof(src), "%s", test_build_dir());
	if (access("mk/install.mk", R_OK) == 0 && getcwd(src, sizeof(src))) {
		/* make check: the source tree is the working directory */
	} else if ((slash = strrchr(src, '/'))) {
		*slash = '\0';
	}
	snprintf(cmd, sizeof(cmd),
		 "cd '%.1000s' && env -u MAKEFLAGS -u MAKELEVEL make -s BUILD='%.1000s' "
		 "DESTDIR='%.1000s/ref' PREFIX=/usr INSTALL_DEPS= install && cd '%.1000s/ref' && "
		 "find . ! -type d -printf '%%P %%y %%l\\n' | sort > '%.1000s/ref.files'",
		 src, test_build_dir(), d->dir, d->dir, d->dir);
	if (!ASSERT_EQ(fx_run(NULL, argv, d->out, sizeof(d->out)), 0, "make install PREFIX=/usr")) {
		fprintf(stderr, "%s\n", d->out);
		return false;
	}
	d->ref = step_file(d, "ref.files");
	return ASSERT_NOT_NULL(d->ref, "the reference list");
}

TEST(dpkg_installs_where_make_install_does_enables_the_unit_and_removes_cleanly)
{
	char cmd[4 * PATH_MAX], name[PATH_MAX], path[PATH_MAX], *line, *save = NULL, *copy = NULL;
	char *installed = NULL, *removed = NULL, *purged = NULL, *text = NULL;
	const char *argv[] = { "unshare", "--mount", "--propagation", "private", "/bin/sh", cmd,
			       NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	struct deb d = { 0 };
	size_t i;
	int st, files = 0;

	if (getuid() != 0) {
		test_skip("needs root, to mount the throwaway root");
		return;
	}
	snprintf(d.dir, sizeof(d.dir), "%s", test_tmpdir());
	snprintf(d.debs, sizeof(d.debs), "%s/deb", test_build_dir());
	for (i = 0; i < NPKG; i++) {
		snprintf(cmd, sizeof(cmd), "ls '%.2000s'/%s_*.deb >/dev/null 2>&1", d.debs,
			 packages[i]);
		if (system(cmd) != 0) {
			test_fail(__FILE__, __LINE__,
				  "no %s package in %s: `make deb` builds them (make check does)",
				  packages[i], d.debs);
			return;
		}
	}
	if (!reference(&d))
		goto out;
	snprintf(cmd, sizeof(cmd), "%s/throwaway.sh", d.dir);
	if (!ASSERT_OK(fx_write_file(cmd, script), "write the script"))
		goto out;
	argv[6] = d.dir;
	argv[7] = d.debs;
	for (i = 0; i < NPKG; i++)
		argv[8 + i] = packages[i];
	st = fx_run(NULL, argv, d.out, sizeof(d.out));
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the throwaway root"))
		fprintf(stderr, "%s\n", d.out);
	if (!ASSERT_EQ(step_rc(&d, "install.rc"), 0, "dpkg -i")) {
		text = step_file(&d, "install.log");
		fprintf(stderr, "  dpkg -i said:\n%s\n", text ? text : "");
		goto out;
	}
	installed = step_file(&d, "install.files");
	removed = step_file(&d, "remove.files");
	purged = step_file(&d, "purge.files");
	if (!ASSERT_NOT_NULL(installed, "install.files") || !ASSERT_NOT_NULL(removed, "remove") ||
	    !ASSERT_NOT_NULL(purged, "purge"))
		goto out;

	/* Every file make install puts, in the same place and of the same kind. */
	copy = strdup(d.ref);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		files++;
		packaged_name(line, name, sizeof(name));
		if (!ASSERT_TRUE(listed(installed, name), name))
			fprintf(stderr, "  make install puts %s; the packages do not\n", line);
		if (!ASSERT_FALSE(listed(removed, name) && strncmp(name, "etc/", 4), name))
			fprintf(stderr, "  %s is left after dpkg -r\n", name);
		ASSERT_FALSE(listed(purged, name), "nothing is left after dpkg -P");
	}
	ASSERT_GE(files, 20, "the reference has the files");
	free(copy);
	/* Nothing more, but Debian's own docs and the Python module's bytecode. */
	copy = strdup(installed);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' '), plain[PATH_MAX];
		size_t n;

		if (!sp)
			continue;
		*sp = '\0';
		if (!ours(line) || !strncmp(line, "usr/share/doc/", 14) || strstr(line, "/__pycache__/") ||
		    !strcmp(line, "etc/ld.so.cache"))
			continue;
		snprintf(plain, sizeof(plain), "%s", line);
		n = strlen(plain);
		if (!strncmp(plain, "usr/share/man/", 14) && n > 3 && !strcmp(plain + n - 3, ".gz"))
			plain[n - 3] = '\0';
		if (!ASSERT_TRUE(listed(d.ref, plain) ||
				 (!strncmp(plain, "usr/lib/", 8) && listed(d.ref, plain + 4)),
				 line))
			fprintf(stderr, "  the packages put %s, which make install does not\n", line);
	}
	/* The unit enabled by deb-systemd-helper, and all of it gone at purge. */
	if (!ASSERT_TRUE(strstr(installed, "\netc/systemd/system/multi-user.target.wants/"
					   "faultguardd.service l /lib/systemd/system/faultguardd.service\n"),
			 "dpkg -i enabled faultguardd.service"))
		fprintf(stderr, "  installed:\n%s\n", installed);
	ASSERT_TRUE(listed(removed, "etc/faultguard/faultguardd.conf.example"),
		    "dpkg -r keeps the conffile");
	if (!ASSERT_TRUE(!strstr(purged, "faultguard"), "dpkg -P leaves nothing of faultguard"))
		fprintf(stderr, "  left:\n%s\n", purged);
	ASSERT_EQ(step_rc(&d, "remove.rc"), 0, "dpkg -r");
	ASSERT_EQ(step_rc(&d, "purge.rc"), 0, "dpkg -P");
	/* The installed programs work there. */
	free(text);
	text = step_file(&d, "version.log");
	ASSERT_TRUE(text && !strncmp(text, "faultguardctl ", 14), "the installed faultguardctl runs");
	free(text);
	text = step_file(&d, "import.log");
	snprintf(path, sizeof(path), "/usr/lib/python3/dist-packages/faultguard/__init__.py\n");
	if (!ASSERT_EQ(step_rc(&d, "import.rc"), 0, "import faultguard, load its library") ||
	    !ASSERT_TRUE(text && strstr(text, path), "from the package"))
		fprintf(stderr, "  %s\n", text ? text : "");
out:
	free(text);
	free(copy);
	free(installed);
	free(removed);
	free(purged);
	free(d.ref);
}
