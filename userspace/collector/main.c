// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardd: the collector. Setup in one line: settings -> state dir ->
 * audit log -> BPF (load, attach, ring buffer) -> socket (its appearance
 * means ready; READY=1 to the service manager) -> the event loop until
 * SIGTERM/SIGINT -> one cleanup path.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "collector/backtrace.h"
#include "collector/collector.h"
#include "collector/crash.h"
#include "collector/handover.h"
#include "collector/held.h"
#include "collector/late.h"
#include "collector/notify.h"
#include "collector/ops.h"
#include "collector/workers.h"
#include "spawn/caps.h"

#define AUDIT_RETRY_MS 1000

static void usage(FILE *f)
{
	fprintf(f, "usage: faultguardd [--socket PATH] [--state-dir DIR] [--audit-log PATH|-]\n"
		   "                   [--config FILE] [--rescue-timeout SECONDS] [--verbose]\n"
		   "       faultguardd --check-config [--config FILE]\n"
		   "       faultguardd --version | --help\n");
}

struct flags {
	struct config_flags cfg;
	int check_config;
	int handover_check; /* the old image asks whether this binary can take over */
};

static int parse_flags(int argc, char **argv, struct flags *f)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "rescue-timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "handover-check", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char *end;
	int o;

	memset(f, 0, sizeof(*f));
	f->cfg.rescue_timeout = -1;
	while ((o = getopt_long(argc, argv, "s:d:a:c:t:vh", opts, NULL)) != -1) {
		switch (o) {
		case 's': f->cfg.socket = optarg; break;
		case 'd': f->cfg.state_dir = optarg; break;
		case 'a': f->cfg.audit_log = optarg; break;
		case 'c': f->cfg.config = optarg; break;
		case 'v': f->cfg.verbose++; break;
		case 'C': f->check_config = 1; break;
		case 'H': f->handover_check = 1; break;
		case 't':
			errno = 0;
			f->cfg.rescue_timeout = strtol(optarg, &end, 10);
			if (errno || *end || f->cfg.rescue_timeout < 1 ||
			    f->cfg.rescue_timeout > 86400) {
				fprintf(stderr, "faultguardd: --rescue-timeout must be a number of "
						"seconds from 1 to 86400\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("faultguardd %s\n", FG_VERSION); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "faultguardd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* --check-config: every error was printed by config_build; say what was checked. */
static int check_config(const struct config *cfg, int rc)
{
	if (rc)
		return rc;
	if (!cfg->config_explicit && access(cfg->config_path, F_OK) < 0)
		printf("%s: absent, the defaults apply\n", cfg->config_path);
	else
		printf("%s: ok\n", cfg->config_path);
	return 0;
}

static void begin_shutdown(struct collector *c)
{
	if (c->stopping)
		return;
	c->stopping = 1;
	notify_stopping(c);
	/* No new registrations; let snapshots and running rescues finish and be recorded. */
	server_close(c);
	if (!rescue_running(c) && !crash_in_progress(c))
		loop_stop(c->loop);
}

static void on_signal(struct watch *w, uint32_t events)
{
	struct collector *c = w->data;
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_shutdown(c);
		else if (si.ssi_signo == SIGUSR2)
			handover_request(c);
		else if (si.ssi_signo == SIGHUP && !c->stopping) {
			notify_reloading(c);
			ops_reload(c);
			notify_ready(c);
		}
	}
}

/* Records the kernel dropped mean crashes we never saw: say so as it happens. */
static void report_lost(struct collector *c)
{
	static uint64_t reported;
	uint64_t lost = monitor_lost(c->mon);

	if (lost == reported)
		return;
	fprintf(stderr, "faultguardd: the BPF ring buffer was full: %llu exit record%s lost "
			"(%llu in all); those deaths were not seen\n",
		(unsigned long long)(lost - reported), lost - reported == 1 ? "" : "s",
		(unsigned long long)lost);
	reported = lost;
}

static void on_tick(struct watch *w, uint32_t events)
{
	struct collector *c = w->data;
	uint64_t n;

	(void)events;
	(void)!read(w->fd, &n, sizeof(n));
	c->tick_armed = 0; /* a one-shot timer: fired, so disarmed */
	/* During a hand-over deaths, clients and hang-ups wait for the new image. */
	if (!handover_draining(c)) {
		monitor_consume(c->mon);
		if (!c->stopping)
			server_tick(c);
		ending_tick(c);
	}
	crash_tick(c);
	if (audit_pending(c->audit) && mono_ms() >= c->audit_retry_ms) {
		audit_retry(c->audit);
		c->audit_retry_ms = mono_ms() + AUDIT_RETRY_MS;
	}
	backtrace_tick(c);
	report_lost(c);
	ops_tick(c);
	notify_tick(c);
}

/*
 * Before every wait: the timer is set for the earliest deadline anything
 * has (a client's, a hang-up's grace, retention, autosave, metrics), and
 * not at all when nothing has one, so an idle collector sleeps.
 *
 * It is moved earlier at once but never later: a deadline that went away
 * (a client registered in time) costs one early wake-up at most, after
 * which the timer is set again. Moving it on every registration and back
 * cost each registration two timerfd_settime calls, and the app's
 * fg_open -> registered median went from 298 to 470 µs on this VM.
 */
static void arm_tick(void *arg)
{
	struct collector *c = arg;
	int64_t next = server_next_deadline(c), t;
	struct itimerspec its = { 0 };

	handover_poll(c);
	t = handover_next_deadline(c);
	if (t < next)
		next = t;
	t = ending_next_deadline(c);
	if (t < next)
		next = t;
	t = ops_next_deadline(c);
	if (t < next)
		next = t;
	t = crash_next_deadline(c);
	if (t < next)
		next = t;
	/* Records the audit log refused: it is tried again every AUDIT_RETRY_MS. */
	if (audit_pending(c->audit)) {
		if (!c->audit_retry_ms)
			c->audit_retry_ms = mono_ms() + AUDIT_RETRY_MS;
		if (c->audit_retry_ms < next)
			next = c->audit_retry_ms;
	} else {
		c->audit_retry_ms = 0;
	}
	t = backtrace_next_deadline(c);
	if (t < next)
		next = t;
	t = notify_next_deadline(c);
	if (t < next)
		next = t;
	if (next < 1)
		next = 1; /* due now: an absolute 0 would disarm */
	if (next == c->tick_armed || (c->tick_armed && next > c->tick_armed))
		return;
	if (next != INT64_MAX) {
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000L;
	}
	if (timerfd_settime(c->tick_w.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		c->tick_armed = next;
}

static void on_monitor(struct watch *w, uint32_t events)
{
	struct collector *c = w->data;

	(void)events;
	if (handover_draining(c))
		return; /* left in the ring for the new image */
	monitor_consume(c->mon);
	report_lost(c);
}

static int watch_signals(struct collector *c)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c->signal_w.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	c->signal_w.fn = on_signal;
	c->signal_w.data = c;
	return c->signal_w.fd < 0 ? -errno : loop_add(c->loop, &c->signal_w, EPOLLIN);
}

static int watch_ticks(struct collector *c)
{
	c->tick_w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->tick_w.fn = on_tick;
	c->tick_w.data = c;
	if (c->tick_w.fd < 0)
		return -errno;
	loop_before_wait(c->loop, arm_tick, c);
	return loop_add(c->loop, &c->tick_w, EPOLLIN);
}

static void audit_start(struct collector *c)
{
	json_object *rec = audit_record("start");

	json_object_object_add(rec, "version", json_object_new_string(FG_VERSION));
	json_object_object_add(rec, "socket", audit_str(c->cfg.socket_path));
	json_object_object_add(rec, "state_dir", audit_str(c->cfg.state_dir));
	audit_emit(c->audit, rec);
}

/* Registrations hold fds: allow as many as the hard limit lets us. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * What faultguardd.service grants (CapabilityBoundingSet=), and why, is
 * written there; here, as there, nothing more and nothing less. Root has
 * them all; any user may be given them as ambient capabilities.
 */
static const uint64_t needed_caps =
	CAPS_BIT(CAP_BPF) | CAPS_BIT(CAP_PERFMON) | CAPS_BIT(CAP_SYS_PTRACE) | CAPS_BIT(CAP_SETUID) |
	CAPS_BIT(CAP_SETGID) | CAPS_BIT(CAP_CHOWN) | CAPS_BIT(CAP_FOWNER) |
	CAPS_BIT(CAP_DAC_OVERRIDE) | CAPS_BIT(CAP_KILL);

static int check_capabilities(void)
{
	uint64_t missing = needed_caps & ~caps_effective();
	char lack[512], all[512];

	if (!missing)
		return 0;
	caps_names(missing, lack, sizeof(lack));
	caps_names(needed_caps, all, sizeof(all));
	fprintf(stderr, "faultguardd: lacks %s: it needs %s to watch processes with BPF and run "
			"rescues as their users (root has them; so does a user given them as "
			"ambient capabilities)\n",
		lack, all);
	return 1;
}

static char last_error[512];

static int fail(const char *what, int err)
{
	snprintf(last_error, sizeof(last_error), "%s%s%s", what, err ? ": " : "",
		 err ? strerror(-err) : "");
	fprintf(stderr, "faultguardd: %s%s%s\n", what, err ? ": " : "", err ? strerror(-err) : "");
	return 1;
}

int main(int argc, char **argv)
{
	struct collector c;
	char pin_dir[PATH_MAX];
	const char *why = NULL;
	struct flags f;
	int err, rc, keep, ho_fd;

	memset(&c, 0, sizeof(c));
	c.state_dirfd = -1;
	c.listen_w.fd = -1;
	/* Started by a predecessor's hand-over (SIGUSR2)? Its state is in this fd. */
	ho_fd = handover_incoming();
	rc = parse_flags(argc, argv, &f);
	if (!rc)
		rc = config_build(&c.cfg, &f.cfg, stderr);
	if (rc && ho_fd >= 0)
		handover_fallback(ho_fd, "the new binary does not accept the flags or the config");
	if (rc || f.check_config)
		return f.check_config ? check_config(&c.cfg, rc) : rc;
	if ((rc = check_capabilities())) {
		handover_fallback(ho_fd, "the new binary lacks capabilities");
		return rc;
	}
	if (f.handover_check)
		return handover_check(&c);
	if (ho_fd < 0 && server_in_use(c.cfg.socket_path)) {
		fprintf(stderr, "faultguardd: another faultguardd is already listening on %s\n",
			c.cfg.socket_path);
		return 1;
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if ((err = loop_new(&c.loop)) || (err = registry_init(&c)) || (err = rescue_init(&c)) ||
	    (err = held_init(&c)) || (err = workers_new(&c)) ||
	    (err = handover_init(&c, argc, argv))) {
		fail("cannot set up", err);
		goto cleanup;
	}
	if ((err = notify_open(&c.notify, &why))) {
		fail(why, err);
		goto cleanup;
	}
	if ((err = store_open(&c, &why))) {
		fail(why, err);
		goto cleanup;
	}
	if ((err = audit_open(&c.audit, c.cfg.audit_log))) {
		fprintf(stderr, "faultguardd: cannot open the audit log %s: %s\n", c.cfg.audit_log,
			strerror(-err));
		goto cleanup;
	}
	if ((err = ops_init(&c, &f.cfg, &why))) {
		fail(why, err);
		goto cleanup;
	}
	if ((err = late_pin_dir(c.cfg.state_dir, pin_dir, sizeof(pin_dir)))) {
		fail("cannot name the BPF pin directory", err);
		goto cleanup;
	}
	if ((err = monitor_open(&c.mon, ending_on_event, &c, c.cfg.verbose > 1, pin_dir, &why))) {
		fail(why, err);
		goto cleanup;
	}
	if ((err = backtrace_init(&c))) {
		fail("cannot start the backtrace worker", err);
		goto cleanup;
	}
	c.monitor_w = (struct watch){ .fd = monitor_fd(c.mon), .fn = on_monitor, .data = &c };
	if ((err = loop_add(c.loop, &c.monitor_w, EPOLLIN)) || (err = watch_signals(&c)) ||
	    (err = watch_ticks(&c))) {
		fail("cannot set up the event loop", err);
		goto cleanup;
	}
	if (ho_fd >= 0) {
		/* A hand-over: the socket, registrations and connections are ours already. */
		if ((err = handover_restore(&c, ho_fd, &why))) {
			fail(why, err);
			goto cleanup;
		}
		ho_fd = -1;
	} else {
		audit_start(&c);
		/* Deaths while no collector ran: recorded before anyone is served. */
		if (monitor_adopted(c.mon) && c.cfg.verbose)
			fprintf(stderr, "faultguardd: took over %u watched processes from %s\n",
				monitor_adopted(c.mon), pin_dir);
		monitor_drain_adopted(c.mon);
		late_sweep(&c);
		/* Last: the socket's appearance tells everyone we are ready. */
		if ((err = server_open(&c, &why))) {
			fail(why, err);
			goto cleanup;
		}
	}
	notify_ready(&c);
	if (c.cfg.verbose)
		fprintf(stderr, "faultguardd: ready on %s\n", c.cfg.socket_path);
	err = loop_run(c.loop);
	if (err)
		fail("the event loop failed", err);
	else
		rc = 0;
	backtrace_flush(&c);
	/* Writes still in flight (late copies) end before the last record. */
	workers_drain(&c);
	audit_emit(c.audit, audit_record("stop"));
	if (monitor_lost(c.mon))
		fprintf(stderr, "faultguardd: the kernel dropped %llu exit records (ring buffer full)\n",
			(unsigned long long)monitor_lost(c.mon));

cleanup:
	/* A new image that could not take over: the old binary takes the state back. */
	if (ho_fd >= 0)
		handover_fallback(ho_fd, last_error[0] ? last_error : "the new binary failed at start");
	handover_free(&c);
	workers_drain(&c);
	workers_free(&c);
	held_free(&c);
	ops_free(&c);
	server_close(&c);
	/*
	 * Processes still registered (or taken over and alive) stay watched by
	 * the pinned programs for the next collector: a restart loses no death.
	 * With none, the pins go.
	 */
	keep = !c.mon || monitor_noted(c.mon) > 0 || rc;
	if (c.mon && c.cfg.verbose)
		fprintf(stderr, "faultguardd: %s\n",
			keep ? "the BPF programs stay pinned, watching for the next collector"
			     : "nothing left to watch: the BPF pins are removed");
	monitor_close(c.mon, keep);
	c.mon = NULL;
	registry_free(&c);
	rescue_free(&c);
	backtrace_free(&c);
	audit_close(c.audit);
	if (c.state_dirfd >= 0)
		close(c.state_dirfd);
	loop_free(c.loop);
	notify_close(c.notify);
	return rc;
}
