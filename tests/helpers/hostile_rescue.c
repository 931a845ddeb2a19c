// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The rescue command of the hostile-client suite: hostile_rescue MODE [ARGS].
 *
 *   report      what the collector gave it, one fact a line: uid, gid,
 *               groups, stdin, open fds, the environment, snapshot keys
 *   flood N     N bytes of 'x' on stdout, then exit 0
 *   forever [N] 'y' lines until killed, from N processes at once (default 1)
 *   daemon      fork a child that keeps stdout open for 5 minutes; the parent
 *               prints "daemon=<pid>" and exits 0 at once
 *   args        prints each argument as is, raw bytes, one a line
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultguard.h"

extern char **environ;

static int report(void)
{
	gid_t groups[64];
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	char target[256];
	struct fg_snapshot *s;
	const char *snap = getenv("FAULTGUARD_SNAPSHOT");
	struct dirent *d;
	ssize_t n;
	DIR *dp;
	int i, ng;

	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	printf("uid=%u,%u,%u\ngid=%u,%u,%u\ngroups=", ruid, euid, suid, rgid, egid, sgid);
	ng = getgroups(64, groups);
	for (i = 0; i < ng; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	n = readlink("/proc/self/fd/0", target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	printf("\nstdin=%s\nfds=", target);
	/* Every fd but the one this listing itself holds. */
	dp = opendir("/proc/self/fd");
	while (dp && (d = readdir(dp)))
		if (d->d_name[0] != '.' && atoi(d->d_name) != dirfd(dp))
			printf("%s ", d->d_name);
	if (dp)
		closedir(dp);
	printf("\n");
	for (i = 0; environ[i]; i++)
		printf("env %s\n", environ[i]);
	s = snap ? fg_snapshot_open(snap) : NULL;
	printf("snapshot keys=%zu\n", s ? fg_snapshot_count(s) : (size_t)0);
	fg_snapshot_close(s);
	return fflush(stdout) ? 1 : 0;
}

static int flood(unsigned long long n)
{
	static char buf[65536];

	memset(buf, 'x', sizeof(buf));
	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		ssize_t w = write(1, buf, k);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 1;
		n -= (unsigned long long)w;
	}
	return 0;
}

static int forever(int writers)
{
	static char buf[65536];
	size_t i;

	/* Several writers keep the pipe full however fast the collector reads. */
	while (--writers > 0 && fork() > 0)
		;

	for (i = 0; i < sizeof(buf); i += 2)
		memcpy(buf + i, "y\n", 2);
	for (;;)
		if (write(1, buf, sizeof(buf)) < 0 && errno != EINTR)
			return 1;
}

static int daemon_child(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* Holds stdout and stderr, the collector's pipe, and does nothing. */
		sleep(300);
		_exit(0);
	}
	printf("daemon=%d\n", (int)pid);
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 64;
	if (!strcmp(argv[1], "report"))
		return report();
	if (!strcmp(argv[1], "flood") && argc == 3)
		return flood(strtoull(argv[2], NULL, 10));
	if (!strcmp(argv[1], "forever"))
		return forever(argc > 2 ? atoi(argv[2]) : 1);
	if (!strcmp(argv[1], "daemon"))
		return daemon_child();
	if (!strcmp(argv[1], "args")) {
		for (i = 2; i < argc; i++)
			printf("%s\n", argv[i]);
		return fflush(stdout) ? 1 : 0;
	}
	return 64;
}
