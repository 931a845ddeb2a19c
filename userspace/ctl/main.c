// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl: dispatch to the command named by the first argument. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

extern const struct ctl_command __start_fg_ctl_commands[];
extern const struct ctl_command __stop_fg_ctl_commands[];

static const struct ctl_command *find(const char *name)
{
	const struct ctl_command *c;

	for (c = __start_fg_ctl_commands; c < __stop_fg_ctl_commands; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("faultguardctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE_EXPLAINED;
}

int ctl_usage(const char *cmd, const char *fmt, ...)
{
	const struct ctl_command *c = find(cmd);
	va_list ap;

	fprintf(stderr, "faultguardctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		fprintf(stderr, "usage: faultguardctl %s %s\n", c->name, c->usage);
	return EXIT_USAGE;
}

int ctl_help(const char *cmd)
{
	const struct ctl_command *c = find(cmd);

	if (c)
		printf("usage: faultguardctl %s %s\n\n%s\n", c->name, c->usage, c->summary);
	return 0;
}

int ctl_bad_option(const char *cmd)
{
	const struct ctl_command *c = find(cmd);

	if (c)
		fprintf(stderr, "usage: faultguardctl %s %s\n", c->name, c->usage);
	return EXIT_USAGE;
}

static void help(FILE *f)
{
	const struct ctl_command *c;

	fprintf(f, "usage: faultguardctl COMMAND [OPTIONS]\n\ncommands:\n");
	for (c = __start_fg_ctl_commands; c < __stop_fg_ctl_commands; c++)
		fprintf(f, "  %-8s %s\n           %s\n", c->name, c->summary, c->usage);
}

int main(int argc, char **argv)
{
	const struct ctl_command *c;
	static char name[64];

	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("faultguardctl %s\n", FG_VERSION);
		return 0;
	}
	c = find(argv[1]);
	if (!c) {
		fprintf(stderr, "faultguardctl: unknown command '%s' (try --help)\n", argv[1]);
		return EXIT_USAGE;
	}
	/* getopt's own messages then name the command: "faultguardctl list: ...". */
	snprintf(name, sizeof(name), "faultguardctl %s", c->name);
	argv[1] = name;
	return c->run(argc - 1, argv + 1);
}
