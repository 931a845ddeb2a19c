/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * faultguardctl: each command lives in its own cmd_*.c file and registers
 * itself with CTL_COMMAND(); main.c finds them by name.
 *
 * Exit status of every command: 0 success, 1 a failure explained in one
 * line on stderr, 2 bad usage.
 */
#ifndef FG_CTL_H
#define FG_CTL_H

#include <stdio.h>

#define EXIT_FAILURE_EXPLAINED 1
#define EXIT_USAGE 2

struct ctl_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *usage;                 /* the arguments, for --help */
	const char *summary;
};

#define CTL_COMMAND(n, fn, use, sum)                                                       \
	static const struct ctl_command ctl_command_##fn                                   \
		__attribute__((used, section("fg_ctl_commands"), aligned(sizeof(void *)))) = { \
			.name = (n),                                                       \
			.run = (fn),                                                       \
			.usage = (use),                                                    \
			.summary = (sum),                                                  \
		}

/* Prints "faultguardctl: <message>" on stderr; returns EXIT_FAILURE_EXPLAINED. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "faultguardctl <cmd>: <message>" and the command's usage line; returns EXIT_USAGE. */
int ctl_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt said what was wrong with an option: the usage line; returns EXIT_USAGE. */
int ctl_bad_option(const char *cmd);
/* `<cmd> --help`: its usage and summary on stdout; returns 0. */
int ctl_help(const char *cmd);

#endif
