// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The man pages against what they describe: faultguard(3) covers every
 * function of include/faultguard.h (synopsis and description), the
 * faultguardd(8) synopsis every option `faultguardd --help` names, and
 * faultguardctl(1) every command with every option of its usage line.
 * A function or option added without its documentation fails here.
 * No root needed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

/* The source tree's @rel: the working directory (make check), else the build dir's parent. */
static char *read_source(const char *rel)
{
	char path[PATH_MAX + 64], dir[PATH_MAX], *slash, *text;

	if (access(rel, R_OK) == 0)
		return fx_read_file(rel, NULL);
	snprintf(dir, sizeof(dir), "%s", test_build_dir());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%.3000s/%s", dir, rel);
	text = fx_read_file(path, NULL);
	ASSERT_NOT_NULL(text, rel);
	return text;
}

/*
 * The man page's section @name (".SH NAME" up to the next ".SH"), malloc'd,
 * "\-" read as "-" and font changes left out.
 */
static char *section(const char *man, const char *name)
{
	char mark[64], *out, *o;
	const char *p, *end;

	snprintf(mark, sizeof(mark), "\n.SH %s\n", name);
	p = man ? strstr(man, mark) : NULL;
	if (!p)
		return NULL;
	p += strlen(mark);
	end = strstr(p, "\n.SH ");
	if (!end)
		end = p + strlen(p);
	out = o = malloc((size_t)(end - p) + 1);
	for (; out && p < end; p++) {
		if (p[0] == '\\' && p[1] == 'f' && p[2]) /* a font change: \fB, \fI, \fR */
			p += 2;
		else if (!(p[0] == '\\' && p[1] == '-'))
			*o++ = *p;
	}
	if (out)
		*o = '\0';
	return out;
}

/* Whether @word occurs in @text as a whole word of [A-Za-z0-9_-]. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = text; p && (p = strstr(p, word)); p += n) {
		bool before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
					     p[-1] == '-');
		bool after = !(isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-');

		if (before && after)
			return true;
	}
	return false;
}

TEST(faultguard_3_covers_every_function_of_the_header)
{
	char *header = read_source("include/faultguard.h"), *man = read_source("man/faultguard.3");
	char *syn = section(man, "SYNOPSIS"), *desc = section(man, "DESCRIPTION");
	char name[64], call[80], refer[80];
	const char *p;
	int functions = 0;

	if (!header || !ASSERT_NOT_NULL(syn, "a SYNOPSIS") || !ASSERT_NOT_NULL(desc, "a DESCRIPTION"))
		goto out;
	/* Every "fg_name(" the header declares (not the typedef'd callbacks "(*fg_x_fn)"). */
	for (p = header; (p = strstr(p, "fg_")); p++) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");

		if (p[n] != '(' || n >= sizeof(name) || (p > header && (isalnum(p[-1]) || p[-1] == '_')))
			continue;
		memcpy(name, p, n);
		name[n] = '\0';
		functions++;
		snprintf(call, sizeof(call), "%s(", name);
		snprintf(refer, sizeof(refer), ".BR %s ()", name);
		if (!ASSERT_TRUE(strstr(syn, call) != NULL, name))
			fprintf(stderr, "  %s is missing from faultguard(3)'s SYNOPSIS\n", name);
		if (!ASSERT_TRUE(strstr(desc, refer) != NULL, name))
			fprintf(stderr, "  %s is not described in faultguard(3)'s DESCRIPTION\n", name);
	}
	ASSERT_GE(functions, 20, "the header's functions were found");
out:
	free(header);
	free(man);
	free(syn);
	free(desc);
}

/* The "--long" options in @text, one after another, into @opts (NUL-separated). */
static int long_options(const char *text, char opts[][32], int max)
{
	const char *p;
	int n = 0, i;

	for (p = text; p && (p = strstr(p, "--")) && n < max; p += 2) {
		size_t len = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

		if (len == 0 || len >= 30 || (p > text && p[-1] != ' ' && p[-1] != '[' &&
					      p[-1] != '(' && p[-1] != '|'))
			continue;
		snprintf(opts[n], sizeof(opts[n]), "--%.*s", (int)len, p + 2);
		for (i = 0; i < n && strcmp(opts[i], opts[n]); i++)
			;
		if (i == n)
			n++;
	}
	return n;
}

/* `PROG ARGS...` from the build directory: its status; its output in @out. */
static int run_built(const char *prog, const char *arg, char *out, size_t cap)
{
	char bin[PATH_MAX + 32];
	const char *argv[] = { bin, arg, NULL };

	snprintf(bin, sizeof(bin), "%s/%s", test_build_dir(), prog);
	return fx_run(NULL, argv, out, cap);
}

TEST(faultguardd_8_synopsis_lists_every_option)
{
	char *man = read_source("man/faultguardd.8"), *syn = section(man, "SYNOPSIS");
	char *opts_sec = section(man, "OPTIONS"), opts[32][32];
	static char help[8192];
	int st, n, i;

	if (!ASSERT_NOT_NULL(syn, "a SYNOPSIS") || !ASSERT_NOT_NULL(opts_sec, "OPTIONS"))
		goto out;
	st = run_built("faultguardd", "--help", help, sizeof(help));
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "faultguardd --help"))
		goto out;
	n = long_options(help, opts, 32);
	ASSERT_GE(n, 8, "--help names the options");
	for (i = 0; i < n; i++) {
		/* The synopsis writes an option as "\-\-name", read here as "--name". */
		if (!ASSERT_TRUE(has_word(syn, opts[i]), opts[i]))
			fprintf(stderr, "  %s is in --help, not in faultguardd(8)'s SYNOPSIS\n", opts[i]);
		if (!ASSERT_TRUE(has_word(opts_sec, opts[i]), opts[i]))
			fprintf(stderr, "  %s is not described under OPTIONS\n", opts[i]);
	}
	ASSERT_TRUE(has_word(help, "--version"), "--help names --version");
out:
	free(man);
	free(syn);
	free(opts_sec);
}

/*
 * Each command of `faultguardctl --help`, with every option of its usage
 * line, appears in faultguardctl(1)'s COMMANDS: `list --socket` included.
 */
TEST(faultguardctl_1_lists_every_command_and_option)
{
	char *man = read_source("man/faultguardctl.1"), *cmds = section(man, "COMMANDS");
	static char help[16384];
	char *line, *save = NULL, name[32] = "", opts[32][32];
	int st, n, i, commands = 0;

	if (!ASSERT_NOT_NULL(cmds, "a COMMANDS section"))
		goto out;
	st = run_built("faultguardctl", "--help", help, sizeof(help));
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "faultguardctl --help"))
		goto out;
	for (line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char entry[64], *start, *end;

		if (!strncmp(line, "  ", 2) && line[2] != ' ') {
			/* "  name     summary" */
			sscanf(line + 2, "%31s", name);
			commands++;
			continue;
		}
		if (!name[0] || strncmp(line, "           ", 11))
			continue;
		/* "           usage" of @name: its man entry is ".B name ..." up to the next ".TP". */
		snprintf(entry, sizeof(entry), "\n.B %s ", name);
		start = strstr(cmds, entry);
		if (!ASSERT_NOT_NULL(start, name)) {
			fprintf(stderr, "  faultguardctl(1) has no entry for %s\n", name);
			continue;
		}
		end = strstr(start + 1, "\n.TP");
		if (end)
			*end = '\0';
		n = long_options(line, opts, 32);
		for (i = 0; i < n; i++)
			if (!ASSERT_TRUE(has_word(start, opts[i]), opts[i]))
				fprintf(stderr, "  faultguardctl(1) does not give %s %s\n", name,
					opts[i]);
		if (end)
			*end = '\n';
		name[0] = '\0';
	}
	ASSERT_GE(commands, 8, "the commands were found in --help");
out:
	free(man);
	free(cmds);
}
