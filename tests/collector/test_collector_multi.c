// SPDX-License-Identifier: LGPL-2.1-or-later
/* A process may register several dictionaries; a crash rescues each of them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_check.h"
#include "faultguard.h"
#include "framework/test.h"

TEST(two_dictionaries_in_one_process_are_both_rescued)
{
	json_object *snap[2] = { NULL, NULL };
	struct fx_app a;
	struct fx fx;
	int i, seen_first = 0, seen_second = 0;
	pid_t pid;

	if (!fx_begin(&fx, 0, NULL))
		return;
	/* fx_app_start waits for its "ready <pid>". */
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .helper = FX_TWO_DICTS }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		goto out;
	pid = a.pid;
	ASSERT_TRUE(WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGSEGV, "the app segfaulted");
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
	json_object_put(snap[0]);
	json_object_put(snap[1]);
	fx_cleanup(&fx);
}

/* max_dict_bytes_per_uid: the sizes of one user's dictionaries, added up. */
TEST(per_uid_dictionary_bytes_are_limited)
{
	struct fg_opts o = { .sz = sizeof(o), .app = "quota", .max_bytes = 768 << 10 };
	struct fg *first = NULL, *second = NULL;
	json_object *rej;
	struct fx fx;
	int i;

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx.config = "max_dict_bytes_per_uid = 1M\n";
	if (!ASSERT_TRUE(fx_start(&fx), "the collector starts"))
		goto out;
	o.socket_path = fx.sock;
	first = fg_open(&o);
	if (!ASSERT_NOT_NULL(first, "fg_open"))
		goto out;
	for (i = 0; i < 2000 && !fg_registered(first); i++)
		usleep(5000);
	if (!ASSERT_TRUE(fg_registered(first), "the first 768K dictionary is registered"))
		goto out;
	second = fg_open(&o);
	if (!ASSERT_NOT_NULL(second, "fg_open"))
		goto out;
	rej = fx_wait(&fx, "reject", getpid(), 0, FX_WAIT_MS);
	if (ASSERT_NOT_NULL(rej, "the second is refused"))
		ASSERT_TRUE(strstr(jstr(rej, "reason"), "max_dict_bytes_per_uid") != NULL,
			    "the reason names the setting");
	ASSERT_FALSE(fg_registered(second), "the second is not registered");
	/* Once the first ends, its bytes are free again. */
	fg_close(first);
	first = NULL;
	for (i = 0; i < 4000 && !fg_registered(second); i++)
		usleep(5000);
	ASSERT_TRUE(fg_registered(second), "the second registers once the first is closed");
	fg_close(second);
	second = NULL;
	fx_stop(&fx);
out:
	fg_close(first);
	fg_close(second);
	fx_cleanup(&fx);
}

/* A second collector on a live socket refuses to start; the first keeps it. */
TEST(second_collector_on_the_same_socket_refuses)
{
	char cmd[3 * PATH_MAX];
	json_object *st;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		return;
	snprintf(cmd, sizeof(cmd), "'%s/faultguardd' --socket '%s' --state-dir '%s/second' 2>/dev/null",
		 fx.build, fx.sock, fx.dir);
	ASSERT_EQ(system(cmd), 1 << 8, "the second faultguardd exits 1");
	st = fx_query_as(&fx, 0, 0, "status");
	ASSERT_NOT_NULL(st, "the first still answers on the socket");
	json_object_put(st);
	fx_stop(&fx);
	fx_cleanup(&fx);
}
