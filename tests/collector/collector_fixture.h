/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector tests' harness, one for every suite (test_collector_*,
 * test_hostile_*, test_ops_*): a real faultguardd on a socket, state
 * directory, audit log and config file in the test's scratch directory;
 * the helper apps (tests/helpers/col_app, ops_app, col_two_dicts) that
 * register with it and die as told; the rescue command
 * tests/helpers/col_rescue, which reports the world it ran in; commands
 * (faultguardctl, faultguardd --check-config, any program) run with their
 * output captured; and readers for the audit log, which every check goes
 * through.
 *
 * Nothing here sleeps for a fixed time to decide an outcome: every wait
 * polls for a record, a file or an exit with a generous deadline, and
 * "nothing happened" is proven with a barrier (a later process's record,
 * which the collector can only write after the earlier one's).
 *
 * Linked into every tests/collector binary (the Makefile's COLT_OBJS).
 * What one suite alone needs is in a file of its own: crash_check.h
 * (test_collector_*), hostile.h (test_hostile_*), ops.h (test_ops_*).
 */
#ifndef FG_COLLECTOR_FIXTURE_H
#define FG_COLLECTOR_FIXTURE_H

#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FX_WAIT_MS 10000   /* for a record, a report, an exit */
#define FX_START_MS 20000  /* for the collector's socket, an app's "ready", a SIGTERM */
#define FX_MAX_APPS 64     /* apps running at once */
#define FX_MAX_GROUPS 8
#define FX_NOBODY 65534    /* an unprivileged uid and gid */

/* What the collector's environment holds that no rescue command may see. */
#define FX_CANARY_NAME "FG_TEST_CANARY"
#define FX_CANARY_VALUE "collector-secret"

struct fx_app;

struct fx {
	char dir[PATH_MAX];   /* the test's scratch directory */
	char sock[108];
	char state[PATH_MAX];
	char audit[PATH_MAX]; /* STATE/audit.jsonl, so faultguardctl finds it from --state-dir */
	char conf[PATH_MAX];  /* the config file, written from @config at each start */
	char out[PATH_MAX];   /* rescue reports; mode 01777 so any user can write there */
	char log[PATH_MAX];   /* the collector's stdout and stderr */
	char build[PATH_MAX];
	int rescue_timeout;   /* --rescue-timeout; 0 = the default */
	const char *const *env; /* NAME=VALUE more for the collector's environment */
	const char *config;   /* the text of the --config file, or NULL for none */
	bool paths_in_config; /* no --socket/--state-dir/--audit-log: the config names them */
	bool relative_paths;  /* started in @dir with --socket fg.sock --state-dir state */
	const char *const *wrapper; /* runs the collector (setpriv ...), NULL-terminated */
	const char *collector; /* the faultguardd to run (a copy to replace); NULL: the build's */
	pid_t pid;            /* the running collector, 0 when stopped */
	int fds;              /* the fds it held when last seen idle (fx_idle) */
	int starts;
	int starts_ok;        /* starts that reached "ready" */
	struct fx_app *apps[FX_MAX_APPS]; /* started and not yet reaped */
	int napps;
	char ctl_err[4096];   /* what the last fx_ctl printed on stderr */
};

/* --- the collector --------------------------------------------------------- */

/* Root, BTF and the built binaries; otherwise test_skip() says why and false. */
bool fx_can_run(void);
/* Sets up the paths in test_tmpdir() and makes the rescue reports' folder. */
bool fx_init(struct fx *fx);
/* fx_can_run, fx_init, then fx_start with these settings. */
bool fx_begin(struct fx *fx, int rescue_timeout, const char *const *env);
/* Writes the config file (if any), starts faultguardd and waits for its socket. */
bool fx_start(struct fx *fx);
/* Whether the collector runs; one that ended is reaped and said so. */
bool fx_alive(struct fx *fx);
/*
 * Waits until the collector sleeps in its event loop with nothing under way
 * and counts the fds it holds then into fx->fds; false after @timeout_ms.
 */
bool fx_idle(struct fx *fx, int timeout_ms);
/* kill(2) to the collector: 0 or -errno. */
int fx_signal(struct fx *fx, int sig);
/* SIGSTOP, and waits until the collector is really stopped (state T). */
bool fx_freeze(struct fx *fx);
/*
 * SIGTERM and reap: the wait status (0 when none ran); a collector still
 * there after @timeout_ms fails the test, is SIGKILLed and gives -1.
 */
int fx_terminate(struct fx *fx, int timeout_ms);
/* SIGKILL and reap: the collector dies without a word. */
void fx_kill(struct fx *fx);
/* SIGTERM; the collector must exit 0 and leave a well-formed audit log. */
bool fx_stop(struct fx *fx);
/*
 * Ends whatever the test left running: its apps, the collector (SIGKILL),
 * and the BPF pins a collector leaves watching (fx_forget_pins).
 */
void fx_cleanup(struct fx *fx);
/* Where the collector of this state directory pins its BPF objects (as faultguardd names it). */
bool fx_pin_dir(const struct fx *fx, char *buf, size_t len);
/* Removes those pins: the programs detach once no collector holds them. */
void fx_forget_pins(struct fx *fx);

/* --- apps -------------------------------------------------------------------- */

enum fx_helper {
	FX_COL_APP,    /* col_app --app APP [--signal-only] MODE [-- RESCUE...] */
	FX_OPS_APP,    /* ops_app APP MODE [RESCUE...] */
	FX_TWO_DICTS,  /* col_two_dicts */
	FX_BT_APP,     /* bt_app APP MODE [RESCUE...] (the backtrace tests' app) */
};

struct fx_app_spec {
	enum fx_helper helper;   /* which program of tests/helpers */
	const char *app;         /* default "col_app" */
	const char *mode;        /* see the helper */
	int signal_only;         /* FG_RESCUE_SIGNAL_ONLY (col_app) */
	const char *const *rescue_argv; /* NULL: no rescue command */
	uid_t uid;               /* default 0 */
	gid_t gid;
	int ngroups;             /* 0: { gid } */
	gid_t groups[FX_MAX_GROUPS];
	const char *cgroup;      /* a cgroup directory to run in, or NULL */
	const char *core_dir;    /* run there with core dumps allowed; NULL: cwd kept, no core */
	unsigned int fill_mib;     /* col_app --fill: this many MiB of incompressible data more */
	unsigned int capacity_mib; /* col_app --capacity: the dictionary's size (0: default) */
	int scribbler;             /* col_app --scribbler: a process that maps the dictionary
				      and writes all over it, and lives on after the app */
	const char *program;     /* a copy of the helper to run instead (an absolute path) */
};

struct fx_app {
	struct fx_app_spec spec;
	struct fx *fx;
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

/*
 * Starts an app and waits for its "ready <pid>" (it is then registered).
 * An app that does not get there is ended.
 */
bool fx_app_start(struct fx *fx, struct fx_app *a, const struct fx_app_spec *spec);
bool fx_app_send(struct fx_app *a, const char *line);
/*
 * The next line of @fd into @line (@len bytes), reading through @buf (@cap
 * bytes, *@used of them held): 1, 0 when none came within @timeout_ms (or
 * @buf is full), -1 when @fd closed.
 */
int fx_fd_read_line(int fd, char *buf, size_t cap, size_t *used, char *line, size_t len,
		    int timeout_ms);
bool fx_app_read_line(struct fx_app *a, char *line, size_t len, int timeout_ms);
/*
 * Waits for the app to end: its wait status in a->status, its pipes
 * closed. One that outlives @timeout_ms fails the test and is SIGKILLed.
 */
bool fx_app_wait(struct fx_app *a, int timeout_ms);
bool fx_app_alive(const struct fx_app *a);

/* --- rescue commands --------------------------------------------------------- */

/* A col_rescue command line writing its report to OUT/<tag>.json. */
struct fx_rescue {
	char report[PATH_MAX];
	char bin[PATH_MAX];
	const char *argv[16];
	int argc;
};

/* col_rescue REPORT EXTRA... (NULL-terminated). */
void fx_rescue_init(struct fx *fx, struct fx_rescue *r, const char *tag, ...)
	__attribute__((sentinel));
/* The report as JSON, waiting for it; NULL (and a failure) if it never came. */
json_object *fx_rescue_report(struct fx_rescue *r, int timeout_ms);

/* --- the audit log ----------------------------------------------------------- */

/*
 * The records of @event (NULL: all) in the log at @path, as a JSON array; a
 * line that is not a JSON object fails the test.
 */
json_object *fx_records_in(const char *path, const char *event);
json_object *fx_records(struct fx *fx, const char *event);
/* The @nth (0-based) record of @event about @pid (-1: any pid), or NULL. New reference. */
json_object *fx_find(struct fx *fx, const char *event, long pid, int nth);
json_object *fx_find_id(struct fx *fx, const char *event, const char *id);
int fx_count(struct fx *fx, const char *event, long pid);
/* Waits for fx_find(...) to be non-NULL; a failure names what did not come. */
json_object *fx_wait(struct fx *fx, const char *event, long pid, int nth, int timeout_ms);
json_object *fx_wait_id(struct fx *fx, const char *event, const char *id, int timeout_ms);
/* The same for the @nth record of @event whose string @key is @value. */
json_object *fx_wait_with(struct fx *fx, const char *event, const char *key, const char *value,
			  int nth, int timeout_ms);
/*
 * Proves that everything the collector would do about deaths before now is
 * in the log: a fresh app exits 0 and its unregister record is awaited.
 */
bool fx_barrier(struct fx *fx);
/* Whether @ts reads as RFC 3339 UTC with milliseconds, as the audit log writes it. */
bool fx_ts_ok(const char *ts);

/* --- commands ---------------------------------------------------------------- */

/*
 * Runs @argv (NULL-terminated; argv[0] a path, or a name looked up in PATH)
 * with stdout and stderr into @out (@cap bytes, NUL-terminated; may be
 * NULL), and $FAULTGUARD_SOCKET the socket of @fx unless @fx is NULL.
 * Returns the wait status, or -errno.
 */
int fx_run(const struct fx *fx, const char *const *argv, char *out, size_t cap);
/* fx_run of a program of the build directory ("faultguardctl", "faultguardd"). */
int fx_run_built(const struct fx *fx, const char *prog, const char *const *args, char *out,
		 size_t cap);
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

/* --- JSON fields ------------------------------------------------------------- */

/* Absent and null both give NULL / false. */
const char *jstr(json_object *o, const char *key);
bool jint(json_object *o, const char *key, long long *v);
/* A duration in ms with three decimals (SPEC §8.6) into *@val. */
bool jms(json_object *o, const char *key, double *val);
long long jint_or(json_object *o, const char *key, long long dflt);
bool jis_null(json_object *o, const char *key); /* present and null */

bool fx_check_str(const char *file, int line, json_object *o, const char *key, const char *want);
bool fx_check_int(const char *file, int line, json_object *o, const char *key, long long want);
bool fx_check_null(const char *file, int line, json_object *o, const char *key);
#define CHECK_STR(o, k, w) fx_check_str(__FILE__, __LINE__, (o), (k), (w))
#define CHECK_INT(o, k, w) fx_check_int(__FILE__, __LINE__, (o), (k), (w))
#define CHECK_NULL(o, k) fx_check_null(__FILE__, __LINE__, (o), (k))

/* --- files, time, processes -------------------------------------------------- */

long long fx_now_ms(void);
void fx_nap(int ms);
/* snprintf into a path buffer; a path too long fails the test. */
bool fx_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The whole file, malloc'd and NUL-terminated (its length in *len); NULL if unreadable. */
char *fx_read_file(const char *path, size_t *len);
/* 0 or -errno. */
int fx_write_file(const char *path, const char *text);
/* Waits for @path to exist (@exists) or to be gone; false after @timeout_ms. */
bool fx_wait_file(const char *path, bool exists, int timeout_ms);
/* Becomes @uid:@gid with @groups (@ngroups 0: { @gid }), all three ids: 0 or -errno. */
int fx_become(uid_t uid, gid_t gid, int ngroups, const gid_t *groups);
/* The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z'...), 0 when there is none. */
char fx_proc_state(pid_t pid);
/*
 * The number in field @field ("VmRSS", "voluntary_ctxt_switches") of
 * /proc/@pid/status, or of its thread @tid's (0: the process's); -1 if absent.
 */
long long fx_proc_status(pid_t pid, pid_t tid, const char *field);
/* The fds @pid holds (-errno), each shown on stderr if @show. */
int fx_fd_count(pid_t pid, bool show);
/* A connection to the socket at @path: the fd, or -errno. */
int fx_connect(const char *path);

/* A cgroup v1 memory cgroup limited to @limit bytes; false (skip) without v1 memory. */
bool fx_memcg_create(char *path, size_t len, unsigned long long limit);
void fx_memcg_remove(const char *path);

#endif
