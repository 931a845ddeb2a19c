// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Many apps at once (issue 7): 2,000 registered processes.
 *
 *   - Registration time as the app sees it: from fg_open() to
 *     fg_registered() == 1, for each of the 2,000 apps, started one after
 *     another so that app n registers while n - 1 are registered. Beside
 *     it, interleaved (every tenth app), the same exchange with a minimal
 *     server: a child creates a 64 MiB sparse memfd and a thread that
 *     connects, passes the memfd with SCM_RIGHTS and waits for a one-byte
 *     answer; the server accepts, receives, answers and keeps the
 *     connection, nothing else. Both wait for the answer the same way
 *     (sched_yield between checks).
 *   - The collector's side alone, also every tenth app: a process that has
 *     its dictionary memfd and REGISTER message ready times connect ->
 *     sendmsg -> the ACK, against the collector and against the minimal
 *     server; and fg_open() with no collector, the library's local setup.
 *   - The collector's RSS with no registration and with 2,000 (VmRSS from
 *     /proc/PID/status), and its peak (VmHWM).
 *   - Its CPU over 10 idle seconds, with no registration and with 2,000:
 *     utime + stime in clock ticks (/proc/PID/stat), the scheduler's exact
 *     run time (schedstat) and its wake-ups (context switches).
 *
 *   BENCH_APPS=N        apps (default 2000)
 *   BENCH_IDLE_S=N      idle window in seconds (default 10)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "bench_common.h"
#include "common/proto.h"

#define MAX_APPS 20000

/* --- the minimal server and its client (the baseline) ---------------------------- */

__attribute__((noreturn)) static void echo_server(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC), i, n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (c >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			{
				char buf[4096], cbuf[CMSG_SPACE(16 * sizeof(int))];
				struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
				struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
						     .msg_control = cbuf,
						     .msg_controllen = sizeof(cbuf) };
				struct cmsghdr *cm;
				ssize_t r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

				if (r <= 0) {
					if (r == 0 || (errno != EAGAIN && errno != EINTR))
						close(fd);
					continue;
				}
				for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
					int k, cnt = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

					for (k = 0; k < cnt; k++) {
						int got;

						memcpy(&got, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
						close(got);
					}
				}
				(void)!send(fd, "k", 1, MSG_NOSIGNAL);
			}
		}
	}
}

struct echo {
	pid_t pid;
	char path[128];
};

static void echo_start(struct echo *e, const char *dir)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(e->path, sizeof(e->path), "%s/echo.sock", dir);
	if (strlen(e->path) >= sizeof(a.sun_path))
		bench_die("the baseline server's path is too long", ENAMETOOLONG);
	memcpy(a.sun_path, e->path, strlen(e->path) + 1);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, SOMAXCONN) < 0)
		bench_die("the baseline server's socket", errno);
	fflush(NULL);
	e->pid = fork();
	if (e->pid < 0)
		bench_die("fork", errno);
	if (e->pid == 0)
		echo_server(fd);
	close(fd);
}

struct base_client {
	const char *path;
	int memfd;
	atomic_int done;
};

static void *base_thread(void *arg)
{
	struct base_client *b = arg;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char msg[64] = "register", cbuf[CMSG_SPACE(sizeof(int))], ack;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	memcpy(a.sun_path, b->path, strlen(b->path) + 1); /* checked by echo_start */
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &b->memfd, sizeof(int));
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    sendmsg(s, &mh, MSG_NOSIGNAL) < 0 || recv(s, &ack, 1, 0) != 1)
		atomic_store(&b->done, -1);
	else
		atomic_store(&b->done, 1);
	return NULL;
}

/* One baseline exchange in a fresh child; returns its time in µs, or -1. */
static double base_once(const char *path)
{
	int p[2];
	double us = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork", errno);
	if (pid == 0) {
		struct base_client b = { .path = path };
		int64_t t0 = bench_now_ns();
		pthread_t th;

		b.memfd = memfd_create("base", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (b.memfd < 0 || ftruncate(b.memfd, 64 << 20) < 0 ||
		    pthread_create(&th, NULL, base_thread, &b))
			_exit(1);
		while (!atomic_load(&b.done))
			sched_yield();
		us = atomic_load(&b.done) > 0 ? (double)(bench_now_ns() - t0) / 1000.0 : -1;
		(void)!write(p[1], &us, sizeof(us));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &us, sizeof(us)) != (ssize_t)sizeof(us))
		us = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return us;
}

/*
 * The round trip alone: a fresh process (the collector registers one per
 * process) with its dictionary memfd and message ready; µs, or -1.
 */
static double round_trip_once(const char *path)
{
	int p[2];
	double us = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork", errno);
	if (pid == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		uint8_t msg[PROTO_MAX_MSG], reply[PROTO_MAX_MSG];
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = msg };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		int memfd = fg_memfd_create("roundtrip", 0), len, s;
		int64_t t0;

		len = proto_encode_register(msg, sizeof(msg), "roundtrip", NULL, 0);
		if (memfd < 0 || len < 0)
			_exit(1);
		iov.iov_len = (size_t)len;
		memcpy(a.sun_path, path, strlen(path) + 1); /* checked by echo_start */
		memset(cbuf, 0, sizeof(cbuf));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
		t0 = bench_now_ns();
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    sendmsg(s, &mh, MSG_NOSIGNAL) == len && recv(s, reply, sizeof(reply), 0) > 0)
			us = (double)(bench_now_ns() - t0) / 1000.0;
		(void)!write(p[1], &us, sizeof(us));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &us, sizeof(us)) != (ssize_t)sizeof(us))
		us = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return us;
}

/* fg_open() where no collector listens: what the library does before any exchange. */
static double fg_open_once(const char *dir)
{
	int p[2];
	double us = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork", errno);
	if (pid == 0) {
		char sock[160];
		struct fg_opts o = { .sz = sizeof(o), .app = "alone", .socket_path = sock };
		int64_t t0;

		snprintf(sock, sizeof(sock), "%s/nobody-listens.sock", dir);
		t0 = bench_now_ns();
		if (fg_open(&o))
			us = (double)(bench_now_ns() - t0) / 1000.0;
		(void)!write(p[1], &us, sizeof(us));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &us, sizeof(us)) != (ssize_t)sizeof(us))
		us = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return us;
}

/* --- the collector's idle cost ----------------------------------------------------- */

struct idle {
	long long ticks, ns, wakeups;
};

static struct idle idle_window(pid_t pid, int seconds)
{
	long long t0 = bench_cpu_ticks(pid), s0, n0 = bench_cpu_ns(pid, &s0), s1, n1;
	struct idle r;

	bench_sleep_ms(seconds * 1000L);
	n1 = bench_cpu_ns(pid, &s1);
	r.ticks = bench_cpu_ticks(pid) - t0;
	r.ns = n1 - n0;
	r.wakeups = s1 - s0;
	return r;
}

int main(int argc, char **argv)
{
	long napps = bench_env_long("BENCH_APPS", 2000, 1, MAX_APPS);
	int idle_s = (int)bench_env_long("BENCH_IDLE_S", 10, 1, 3600);
	struct bench_app_opts o = { .app = "many", .fill_bytes = 1024, .spin = 1 };
	static double base[MAX_APPS], rt_col[MAX_APPS], rt_echo[MAX_APPS], alone[MAX_APPS];
	long nrc = 0, nre = 0, nal = 0;
	struct bench_stats src, sre, sal;
	struct bench_collector col;
	struct bench_apps apps;
	struct bench_stats sr, sb;
	struct idle idle0, idle1;
	long rss0, rss1, hwm, i, nb = 0, regs, started;
	long long cpu0, cpu1;
	struct echo echo;
	char conf[256];
	int err;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("registration of 2,000 apps"))
		return 0;
	bench_print_machine();
	bench_raise_nofile();
	snprintf(conf, sizeof(conf), "max_registrations_per_uid = %ld\nmax_connections_per_uid = %ld\n",
		 napps + 100, napps + 100);
	bench_collector_start(&col, conf);
	o.sock = col.sock;
	echo_start(&echo, col.dir);
	bench_sleep_ms(500);
	rss0 = bench_status_kib(col.pid, "VmRSS");
	idle0 = idle_window(col.pid, idle_s);

	bench_apps_init(&apps, napps);
	cpu0 = bench_cpu_ns(col.pid, NULL);
	for (i = 0; i < napps; i++) {
		err = bench_app_start(&apps, &o);
		if (err) {
			fprintf(stderr, "bench_many_apps: app %ld did not register: %s\n", i,
				strerror(-err));
			break;
		}
		if (i % 10 == 0) {
			double us = base_once(echo.path);

			if (us >= 0)
				base[nb++] = us;
			if ((us = round_trip_once(col.sock)) >= 0)
				rt_col[nrc++] = us;
			if ((us = round_trip_once(echo.path)) >= 0)
				rt_echo[nre++] = us;
			if ((us = fg_open_once(col.dir)) >= 0)
				alone[nal++] = us;
		}
	}
	cpu1 = bench_cpu_ns(col.pid, NULL);
	bench_sleep_ms(1000);
	regs = bench_audit_count_with(&col, "register", "\"app\":\"many\"");
	rss1 = bench_status_kib(col.pid, "VmRSS");
	idle1 = idle_window(col.pid, idle_s);
	hwm = bench_status_kib(col.pid, "VmHWM");

	sr = bench_summarize(apps.reg_us, (size_t)apps.n);
	sb = bench_summarize(base, (size_t)nb);
	src = bench_summarize(rt_col, (size_t)nrc);
	sre = bench_summarize(rt_echo, (size_t)nre);
	sal = bench_summarize(alone, (size_t)nal);
	printf("| registration (fg_open → fg_registered), %ld apps one after another | median %.0f µs, "
	       "p99 %.0f µs (%.0f-%.0f, n=%zu) | minimal server (memfd + thread + connect + "
	       "SCM_RIGHTS + ack): median %.0f µs, p99 %.0f µs (n=%zu) | %.2fx | median ≤ 200 µs |\n",
	       napps, sr.median, sr.p99, sr.min, sr.max, sr.n, sb.median, sb.p99, sb.n,
	       sr.median / sb.median);
	printf("| registration round trip at the collector (connect → REGISTER + memfd → ACK, "
	       "dictionary ready), among up to %ld registered | median %.0f µs, p99 %.0f µs (%.0f-%.0f, "
	       "n=%zu) | minimal server, same round trip: median %.0f µs, p99 %.0f µs | %.2fx (+%.0f µs) "
	       "| — |\n",
	       napps, src.median, src.p99, src.min, src.max, src.n, sre.median, sre.p99,
	       src.median / sre.median, src.median - sre.median);
	printf("| fg_open alone, no collector listening (the library's local setup: dictionary memfd, "
	       "mapping, writer, thread) | median %.0f µs, p99 %.0f µs (n=%zu) | — | — | — |\n",
	       sal.median, sal.p99, sal.n);
	printf("| collector RSS with %ld registrations | %.1f MiB (%.1f KiB per registration above "
	       "none; peak %.1f MiB) | no registration: %.1f MiB | %.2fx | ≤ 32 MiB + 8 KiB × %ld "
	       "= %.1f MiB |\n",
	       apps.n, rss1 / 1024.0, apps.n ? (double)(rss1 - rss0) / (double)apps.n : 0.0,
	       hwm / 1024.0, rss0 / 1024.0, (double)rss1 / (double)rss0, napps,
	       32.0 + 8.0 * (double)napps / 1024.0);
	printf("| collector CPU over %d idle s with %ld registrations | %lld ticks (%.2f ms run time, "
	       "%lld wake-ups) | no registration: %lld ticks (%.2f ms, %lld wake-ups) | — | 0 |\n",
	       idle_s, apps.n, idle1.ticks, idle1.ns / 1e6, idle1.wakeups, idle0.ticks,
	       idle0.ns / 1e6, idle0.wakeups);
	fprintf(stderr, "bench_many_apps: %ld register records of the %ld apps in the audit log; the "
			"collector spent %.1f µs of CPU per registration (its timer ticks "
			"included)\n",
		regs, apps.n, (double)(cpu1 - cpu0) / 1000.0 / (double)(apps.n ? apps.n : 1));
	started = apps.n;
	bench_apps_end(&apps);
	kill(echo.pid, SIGKILL);
	waitpid(echo.pid, NULL, 0);
	bench_collector_stop(&col);
	return started == napps && regs == napps ? 0 : 1;
}
