// SPDX-License-Identifier: LGPL-2.1-or-later
/* A process may register several dictionaries; a crash rescues each of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector_fixture.c"

TEST(two_dictionaries_in_one_process_are_both_rescued)
{
	char bin[PATH_MAX + 64], line[64] = "";
	json_object *snap[2] = { NULL, NULL };
	struct fx fx;
	int out[2], status, i, seen_first = 0, seen_second = 0;
	FILE *f;
	pid_t pid;

	if (!fx_begin(&fx, 0, NULL))
		return;
	snprintf(bin, sizeof(bin), "%s/tests/helpers/col_two_dicts", fx.build);
	if (!ASSERT_OK(pipe(out), "pipe"))
		goto out;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		setenv("FAULTGUARD_SOCKET", fx.sock, 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (!ASSERT_NOT_NULL(fgets(line, sizeof(line), f), "the app says ready") ||
	    !ASSERT_TRUE(!strncmp(line, "ready", 5), "ready line")) {
		fclose(f);
		goto out;
	}
	fclose(f);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "the app segfaulted");
	for (i = 0; i < 2; i++) {
		snap[i] = fx_wait(&fx, "snapshot", pid, i, FX_WAIT_MS);
		if (!ASSERT_NOT_NULL(snap[i], "a snapshot record per dictionary"))
			goto out;
	}
	ASSERT_EQ(fx_count(&fx, "crash", pid), 2, "one crash record per dictionary");
	for (i = 0; i < 2; i++) {
		struct fg_snapshot *s = fg_snapshot_open(jstr(snap[i], "path"));
		const void *v;
		size_t len;

		if (!ASSERT_NOT_NULL(s, "the snapshot opens"))
			goto out;
		if (ASSERT_OK(fg_snapshot_get(s, "who", &v, &len), "who")) {
			const char *app = jstr(snap[i], "app");

			ASSERT_TRUE(app && len == strlen(app) && !memcmp(v, app, len),
				    "each dictionary holds its own data");
			seen_first |= app && !strcmp(app, "first");
			seen_second |= app && !strcmp(app, "second");
		}
		fg_snapshot_close(s);
	}
	ASSERT_TRUE(seen_first && seen_second, "both apps were rescued");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}
