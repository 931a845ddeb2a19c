// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardd --check-config: a valid file passes, every error of a bad one
 * is reported with its line number, and the example config documents (and
 * the collector accepts) every setting there is. No root needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

/* The source tree: the working directory (make check), else the build dir's parent. */
static bool source_path(const char *rel, char *buf, size_t len)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(buf, len, "%s", rel);
	if (access(buf, R_OK) == 0)
		return true;
	snprintf(dir, sizeof(dir), "%s", test_build_dir());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%.3000s/%.1000s", dir, rel);
	return ASSERT_OK(access(buf, R_OK), rel);
}

static int check_config(const struct fx *e, const char *file, char *out, size_t cap)
{
	const char *args[] = { "--check-config", "--config", file, NULL };

	return fx_run_built(e, "faultguardd", args, out, cap);
}

TEST(check_config_accepts_a_valid_file)
{
	struct fx e;
	char out[4096], path[PATH_MAX + 32];
	int st;

	if (!fx_init(&e))
		return;
	snprintf(path, sizeof(path), "%s/good.conf", e.dir);
	ASSERT_OK(fx_write_file(path, "# a comment\n\n"
				      "socket_mode = 0660\n"
				      "  rate_limit_burst = 3   \n"
				      "rate_limit_interval=1h\n"
				      "retention_max_bytes = 512M\n"
				      "retention_min_free = 5%\n"
				      "retention_max_age = 3d\n"
				      "autosave_interval = 30s\n"
				      "syslog = yes\n"
				      "syslog_facility = local3\n"
				      "metrics_textfile = /run/fg.prom\n"),
		  "write the file");
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0");
	ASSERT_TRUE(strstr(out, ": ok") != NULL, "says ok");
}

TEST(check_config_reports_every_error_with_its_line)
{
	/* Line numbers of the bad lines below, in order. */
	static const int bad[] = { 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21 };
	struct fx e;
	char out[16384], path[PATH_MAX + 32], want[PATH_MAX + 64];
	size_t i;
	int st, lines = 0;
	const char *p;

	if (!fx_init(&e))
		return;
	snprintf(path, sizeof(path), "%s/bad.conf", e.dir);
	ASSERT_OK(fx_write_file(path, "# line 1\n"
				      "rescue_timeout = 30\n"
				      "no_such_setting = 1\n"       /* 3 */
				      "rate_limit_burst = 4\n"
				      "rate_limit_burst = 5\n"      /* 5: twice */
				      "this line has no equals sign\n" /* 6 */
				      "socket = relative/path\n"    /* 7 */
				      "socket_mode = 777\n"         /* 8: not octal */
				      "rescue_timeout2 = 1\n"       /* 9 */
				      "rate_limit_interval = 0\n"   /* 10 */
				      "retention_max_bytes = lots\n" /* 11 */
				      "retention_min_free = 150%\n" /* 12 */
				      "retention_max_age = 2w\n"    /* 13 */
				      "autosave_interval = -1\n"    /* 14 */
				      "syslog = perhaps\n"          /* 15 */
				      "syslog_facility = kern\n"    /* 16 */
				      "metrics_textfile = /tmp/metrics.txt\n" /* 17 */
				      "max_dict_bytes = 1K\n"       /* 18: below 64K */
				      "socket_group = no-such-group-here\n" /* 19 */
				      "\n"
				      "syslog_socket = dev/log\n"), /* 21 */
		  "write the file");
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "%s:%d: ", path, bad[i]);
		if (!ASSERT_TRUE(strstr(out, want) != NULL, "an error names the bad line"))
			fprintf(stderr, "  missing: %s\n", want);
	}
	for (p = out; (p = strstr(p, path)); p++)
		if (p[strlen(path)] == ':' && p[strlen(path) + 1] >= '0' && p[strlen(path) + 1] <= '9')
			lines++;
	if (!ASSERT_EQ(lines, (int)(sizeof(bad) / sizeof(bad[0])), "one error per bad line"))
		fprintf(stderr, "  output:\n%s\n", out);
	ASSERT_TRUE(strstr(out, "has 17 errors") != NULL, "the total");
	ASSERT_TRUE(strstr(out, "already set on line 4") != NULL, "says where it was first set");
}

TEST(check_config_a_missing_explicit_file_is_an_error)
{
	struct fx e;
	char out[4096], path[PATH_MAX + 32];
	int st;

	if (!fx_init(&e))
		return;
	snprintf(path, sizeof(path), "%s/absent.conf", e.dir);
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1");
	ASSERT_TRUE(strstr(out, "cannot read") != NULL, "says it cannot read the file");
}

/*
 * A `#` after a space or tab starts a comment, also after a value; one
 * inside a value is part of it. The values are what stands before the
 * comment: `rescue_timeout = 0 # none` is refused for its 0.
 */
TEST(check_config_comments_after_a_value)
{
	struct fx e;
	char out[4096], path[PATH_MAX + 32];
	int st;

	if (!fx_init(&e))
		return;
	snprintf(path, sizeof(path), "%s/comments.conf", e.dir);
	ASSERT_OK(fx_write_file(path, "rate_limit_burst = 3 # three\n"
				      "rate_limit_interval = 1h\t# an hour\n"
				      "socket = /run/fg#1.sock # a # in a path stays\n"),
		  "write the file");
	st = check_config(&e, path, out, sizeof(out));
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status 0"))
		fprintf(stderr, "  output:\n%s\n", out);
	ASSERT_TRUE(strstr(out, ": ok") != NULL, "says ok");

	ASSERT_OK(fx_write_file(path, "rescue_timeout = 0 # none\nsyslog = yes#no\n"),
		  "write the file");
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1");
	ASSERT_TRUE(strstr(out, ":1: rescue_timeout must be a number of seconds from 1") != NULL,
		    "the value before the comment is judged");
	ASSERT_TRUE(strstr(out, ":2: syslog must be yes or no") != NULL,
		    "a # without a space before it is part of the value");
}

/* A directory is no config file: not "ok" with the defaults, neither checked nor started. */
TEST(a_directory_is_not_a_config_file)
{
	const char *args[] = { "--config", NULL, NULL };
	char out[4096], want[PATH_MAX + 64];
	struct fx e;
	int st;

	if (!fx_init(&e))
		return;
	snprintf(want, sizeof(want), "faultguardd: %s is a directory, not a config file\n", e.dir);
	st = check_config(&e, e.dir, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "--check-config: exit status 1");
	ASSERT_STREQ(out, want, "--check-config says why");
	args[1] = e.dir;
	st = fx_run_built(&e, "faultguardd", args, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "faultguardd: exit status 1");
	ASSERT_STREQ(out, want, "faultguardd says why");
}

/*
 * The metrics textfile is written through a temporary file beside it, 22
 * bytes longer: a path without room for that is refused in one sentence
 * that says the limit, not accepted and then failing at every write.
 */
TEST(check_config_a_textfile_path_without_room_is_an_error)
{
	static char text[8192];
	struct fx e;
	char out[8192], path[PATH_MAX + 32];
	int st;

	if (!fx_init(&e))
		return;
	snprintf(path, sizeof(path), "%s/long.conf", e.dir);
	snprintf(text, sizeof(text), "metrics_textfile = /%0*d.prom\n", 4060, 0);
	ASSERT_OK(fx_write_file(path, text), "write the file");
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1");
	ASSERT_TRUE(strstr(out, ":1: metrics_textfile must be an absolute path ending in .prom, "
				"shorter than 4064 bytes") != NULL,
		    "one sentence with the limit");
	snprintf(text, sizeof(text), "metrics_textfile = /%0*d.prom\n", 4050, 0);
	ASSERT_OK(fx_write_file(path, text), "write the file");
	st = check_config(&e, path, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a path with room is accepted");
}

/* Every setting the collector knows (each `strcmp(key, "...")` in config.c). */
static int known_settings(char names[][64], int max)
{
	char path[PATH_MAX], *src, *p;
	int n = 0;

	if (!source_path("userspace/collector/config.c", path, sizeof(path)))
		return -1;
	src = fx_read_file(path, NULL);
	for (p = src; p && n < max && (p = strstr(p, "strcmp(key, \"")); n++) {
		p += strlen("strcmp(key, \"");
		snprintf(names[n], 64, "%.*s", (int)strcspn(p, "\""), p);
	}
	free(src);
	return n;
}

TEST(example_config_documents_every_setting_and_passes)
{
	char names[64][64], path[PATH_MAX], all[PATH_MAX + 32], want[96], out[4096];
	char *text, *line, *save = NULL, *uncommented;
	struct fx e;
	size_t used = 0;
	int n, i, st;

	if (!fx_init(&e))
		return;
	if (!source_path("etc/faultguard/faultguardd.conf.example", path, sizeof(path)))
		return;
	n = known_settings(names, 64);
	if (!ASSERT_GE(n, 21, "settings found in config.c"))
		return;
	text = fx_read_file(path, NULL);
	if (!ASSERT_NOT_NULL(text, "read the example"))
		return;
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "\n#%.60s = ", names[i]);
		if (!ASSERT_TRUE(strstr(text, want) != NULL, "the example shows the setting"))
			fprintf(stderr, "  not in the example: %s\n", names[i]);
	}
	/* Uncommented, the example must be a valid config: the documented values are real. */
	uncommented = calloc(1, strlen(text) + 1);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = "))
			line++;
		used += (size_t)sprintf(uncommented + used, "%s\n", line);
	}
	snprintf(all, sizeof(all), "%s/all.conf", e.dir);
	ASSERT_OK(fx_write_file(all, uncommented), "write the uncommented example");
	st = check_config(&e, all, out, sizeof(out));
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the uncommented example is valid"))
		fprintf(stderr, "%s\n", out);
	free(uncommented);
	free(text);
}
