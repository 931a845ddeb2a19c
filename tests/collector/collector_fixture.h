/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector tests' fixture: a real faultguardd on a socket, state
 * directory and audit log in the test's scratch directory; test apps
 * (tests/helpers/col_app) that register with it and die as told; the
 * rescue command tests/helpers/col_rescue, which reports the world it ran
 * in; and readers for the audit log, which every check goes through.
 *
 * Nothing here sleeps for a fixed time to decide an outcome: every wait
 * polls for a record, a file or an exit with a generous deadline, and
 * "nothing happened" is proven with a barrier (a later process's record,
 * which the collector can only write after the earlier one's).
 *
 * Test binaries include collector_fixture.c (the Makefile links each test
 * binary from its own object only).
 */
#ifndef FG_COLLECTOR_FIXTURE_H
#define FG_COLLECTOR_FIXTURE_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define FX_WAIT_MS 10000   /* for a record, a report, an exit */
#define FX_START_MS 20000  /* for the collector's socket, an app's "ready" */
#define FX_MAX_APPS 16
#define FX_MAX_GROUPS 8

/* What the collector's environment holds that no rescue command may see. */
#define FX_CANARY_NAME "FG_TEST_CANARY"
#define FX_CANARY_VALUE "collector-secret"

struct fx_app;

struct fx {
	char dir[PATH_MAX];   /* the test's scratch directory */
	char sock[108];
	char state[PATH_MAX];
	char audit[PATH_MAX]; /* STATE/audit.jsonl, so faultguardctl finds it from --state-dir */
	char out[PATH_MAX];   /* rescue reports; mode 01777 so any user can write there */
	char log[PATH_MAX];   /* the collector's stderr */
	char build[PATH_MAX];
	int rescue_timeout;   /* --rescue-timeout; 0 = the default */
	const char *const *env; /* NAME=VALUE more for the collector's environment */
	const char *config;   /* the text of a --config file, or NULL for none */
	pid_t pid;            /* the running collector, 0 when stopped */
	int starts;
	int starts_ok;        /* starts that reached "ready" */
	struct fx_app *apps[FX_MAX_APPS];
	int napps;
	char ctl_err[4096];   /* what the last fx_ctl printed on stderr */
};

struct fx_app_spec {
	const char *app;         /* default "col_app" */
	const char *mode;        /* see col_app.c */
	int signal_only;         /* FG_RESCUE_SIGNAL_ONLY */
	const char *const *rescue_argv; /* NULL: no rescue command */
	uid_t uid;               /* default 0 */
	gid_t gid;
	int ngroups;             /* 0: { gid } */
	gid_t groups[FX_MAX_GROUPS];
	const char *cgroup;      /* a cgroup directory to run in, or NULL */
	const char *core_dir;    /* run there with core dumps allowed; NULL: cwd kept, no core */
};

struct fx_app {
	struct fx_app_spec spec;
	char app[65];
	char mode[64];
	pid_t pid;
	int in;   /* the app's stdin */
	int out;  /* the app's stdout */
	char buf[4096];
	size_t len;
	int reaped;
	int status;
};

/* A col_rescue command line writing its report to OUT/<tag>.json. */
struct fx_rescue {
	char report[PATH_MAX];
	char bin[PATH_MAX];
	const char *argv[16];
	int argc;
};

/* Root, BTF and the built binaries; otherwise test_skip() says why and false. */
bool fx_can_run(void);
/* Sets up the paths in test_tmpdir(). */
bool fx_init(struct fx *fx);
/* fx_can_run, fx_init, then fx_start with these settings. */
bool fx_begin(struct fx *fx, int rescue_timeout, const char *const *env);
bool fx_start(struct fx *fx);
/* SIGTERM; the collector must exit 0 and leave a well-formed audit log. */
bool fx_stop(struct fx *fx);
/* Ends whatever the test left running. */
void fx_cleanup(struct fx *fx);

/* Starts an app and waits for its "ready <pid>" (it is then registered). */
bool fx_app_start(struct fx *fx, struct fx_app *a, const struct fx_app_spec *spec);
bool fx_app_send(struct fx_app *a, const char *line);
bool fx_app_read_line(struct fx_app *a, char *line, size_t len, int timeout_ms);
/* Waits for the app to end; its wait status in a->status. */
bool fx_app_wait(struct fx_app *a, int timeout_ms);
bool fx_app_alive(const struct fx_app *a);

/* col_rescue REPORT EXTRA... (NULL-terminated). */
void fx_rescue_init(struct fx *fx, struct fx_rescue *r, const char *tag, ...)
	__attribute__((sentinel));
/* The report as JSON, waiting for it; NULL (and a failure) if it never came. */
json_object *fx_rescue_report(struct fx_rescue *r, int timeout_ms);

/* Every record of the audit log; a line that is not a JSON object fails the test. */
json_object *fx_records(struct fx *fx);
/* The @nth (0-based) record of @event about @pid (-1: any pid), or NULL. New reference. */
json_object *fx_find(struct fx *fx, const char *event, long pid, int nth);
json_object *fx_find_id(struct fx *fx, const char *event, const char *id);
int fx_count(struct fx *fx, const char *event, long pid);
/* Waits for fx_find(...) to be non-NULL; a failure names what did not come. */
json_object *fx_wait(struct fx *fx, const char *event, long pid, int nth, int timeout_ms);
json_object *fx_wait_id(struct fx *fx, const char *event, const char *id, int timeout_ms);
/*
 * Proves that everything the collector would do about deaths before now is
 * in the log: a fresh app exits 0 and its unregister record is awaited.
 */
bool fx_barrier(struct fx *fx);

/*
 * Runs build/faultguardctl ARGS... (NULL-terminated): its exit status; its
 * stdout in *out (malloc'd), its stderr in fx->ctl_err.
 */
int fx_ctl(struct fx *fx, char **out, ...) __attribute__((sentinel));
/* The same, run as @uid:@gid (groups { @gid }). */
int fx_ctl_as(struct fx *fx, uid_t uid, gid_t gid, char **out, ...) __attribute__((sentinel));
/*
 * Asks the collector @query ("status", "list", "show ID") on the socket
 * directly, as @uid:@gid: the answer's lines as a JSON array, or NULL (a
 * failure) when the collector refused or did not answer.
 */
json_object *fx_query_as(struct fx *fx, uid_t uid, gid_t gid, const char *query);

/* JSON field access: absent and null both give NULL / false. */
const char *jstr(json_object *o, const char *key);
bool jint(json_object *o, const char *key, long long *v);
bool jis_null(json_object *o, const char *key); /* present and null */

bool fx_check_str(const char *file, int line, json_object *o, const char *key, const char *want);
bool fx_check_int(const char *file, int line, json_object *o, const char *key, long long want);
bool fx_check_null(const char *file, int line, json_object *o, const char *key);
#define CHECK_STR(o, k, w) fx_check_str(__FILE__, __LINE__, (o), (k), (w))
#define CHECK_INT(o, k, w) fx_check_int(__FILE__, __LINE__, (o), (k), (w))
#define CHECK_NULL(o, k) fx_check_null(__FILE__, __LINE__, (o), (k))

/* What a crash must look like in every place it leaves a trace. */
struct fx_crash {
	const char *cause;
	int signal;               /* 0: the app exited */
	int exit_code;            /* when signal == 0 */
	int si_code;              /* when signal != 0 */
	const char *fault_addr;   /* NULL: expected null */
	pid_t sender_pid;         /* 0: sender fields expected null */
	uid_t sender_uid;
	const char *sender_comm;
	const char *rescue_status; /* NULL: "ok" */
};

/*
 * Checks @a's crash end to end: the crash, snapshot and rescue records
 * (fields of SPEC §5, one shared id), the snapshot file (exact contents,
 * owner, mode, directories) and — when @r is not NULL — the rescue
 * command's report (environment, credentials, stdin, descriptors).
 * The crash id goes to @id (CRASH_ID_LEN bytes) when not NULL.
 */
bool fx_check_crash(struct fx *fx, struct fx_app *a, const struct fx_crash *x,
		    struct fx_rescue *r, char *id);
/* Checks the rescue report alone against the crash record @crash. */
bool fx_check_report(struct fx *fx, struct fx_app *a, json_object *crash, json_object *snapshot,
		     json_object *report, const struct fx_rescue *r);
/* The sum of the value lengths app_data.h writes for @a. */
size_t fx_expected_bytes(const struct fx_app *a);
/* No crash record for @a, no snapshot of its app (after a barrier). */
bool fx_check_no_crash(struct fx *fx, struct fx_app *a);

/* A cgroup v1 memory cgroup limited to @limit bytes; false (skip) without v1 memory. */
bool fx_memcg_create(char *path, size_t len, unsigned long long limit);
void fx_memcg_remove(const char *path);

#endif
