/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting a program as another user, the one way faultguard does it (the
 * collector's rescue commands, `faultguardctl recover --run`): a clean
 * environment (PATH, HOME, USER, LOGNAME, SHELL, LANG from the passwd
 * database) plus the caller's variables, stdin /dev/null, no inherited fd
 * beyond 0-2, a new session, the user's home as working directory, never a
 * shell, and — when we are root or hold CAP_SETUID — setgroups, setresgid,
 * setresuid, in that order, each checked, every capability dropped, then
 * proof that neither root nor a capability can be regained.
 */
#ifndef FG_USER_SPAWN_H
#define FG_USER_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A container to run the program in: namespace fds (mount, uts, ipc, net,
 * pid; -1: stay in ours) and its root directory (an O_PATH fd). The
 * program is forked into the PID namespace (one whose init died takes no
 * process: then into a PID namespace of its own, as its init, with its own
 * /proc in a private copy of the mount namespace), enters the others, takes the
 * root, drops to the user with no capability and no_new_privs, and only
 * then resolves a path (its home, its argv[0]) or reads a file (the
 * user's name, home and shell from the container's /etc/passwd, parsed
 * without NSS: no code of the container is ever loaded by root).
 */
struct user_spawn_ns {
	int mnt, uts, ipc, net, pid, root;
};

struct user_spawn {
	uid_t uid;
	gid_t gid;
	int ngroups;          /* -1: the user's groups from the group database */
	const gid_t *groups;
	char *const *argv;    /* argv[0] is looked up in PATH */
	char *const *extra_env; /* "NAME=value", NULL-terminated; may be NULL */
	int out_fd;           /* stdout and stderr; -1 keeps the caller's */
	/*
	 * A file the program gets as fd 3 (USER_SPAWN_FD), or -1. With
	 * @fd_path_var ("NAME"), NAME is set to /proc/PID/fd/3, PID being the
	 * program's own: a path to it that the program and everything it
	 * starts can open while the program runs, even one that closed its fds.
	 */
	int pass_fd;
	const char *fd_path_var;
	const struct user_spawn_ns *ns; /* NULL: on the host */
};

#define USER_SPAWN_FD 3

/*
 * Starts @u; *pid is its pid (the leader of a new session). Returns 0 once
 * the program runs, or -errno when it could not be started (a failed exec,
 * a failed privilege drop: the child is then already reaped).
 */
int user_spawn(const struct user_spawn *u, pid_t *pid);
/* The same; when it fails, a sentence saying why in @why (@len bytes; "" for a plain errno). */
int user_spawn_why(const struct user_spawn *u, pid_t *pid, char *why, size_t len);

#endif
