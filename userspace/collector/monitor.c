// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collector/monitor.h"
#include "faultguard.skel.h"

_Static_assert(sizeof(struct fg_event) == 72, "fg_event is shared with BPF: keep its size");
_Static_assert(sizeof(struct fg_stack_event) == 192 + FG_MAX_MAPS * 40 + FG_MAX_FILES * (FG_PATH_BYTES + 16) +
						   FG_STACK_MAX,
	       "fg_stack_event is shared with BPF: keep its size");

struct monitor {
	struct faultguard_bpf *skel;
	struct ring_buffer *rb;
	monitor_event_fn fn;
	void *ctx;
	monitor_stack_fn stack_fn;
	void *stack_ctx;
};

static int verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct monitor *m = ctx;

	if (len < sizeof(struct fg_event))
		return 0;
	m->fn(data, m->ctx);
	return 0;
}

static int on_stack(void *ctx, void *data, size_t len)
{
	struct monitor *m = ctx;

	if (len < sizeof(struct fg_stack_event) || !m->stack_fn)
		return 0;
	m->stack_fn(data, m->stack_ctx);
	return 0;
}

void monitor_on_stack(struct monitor *m, monitor_stack_fn fn, void *ctx)
{
	m->stack_fn = fn;
	m->stack_ctx = ctx;
}

uint64_t monitor_lost_stacks(const struct monitor *m)
{
	return __atomic_load_n(&m->skel->bss->lost_stacks, __ATOMIC_RELAXED);
}

int monitor_open(struct monitor **out, monitor_event_fn fn, void *ctx, int verbose,
		 const char **why)
{
	struct monitor *m;
	const char *dummy;
	int err;

	if (!why)
		why = &dummy;
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_print);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fn = fn;
	m->ctx = ctx;
	m->skel = faultguard_bpf__open();
	if (!m->skel) {
		err = -errno;
		*why = "cannot open the BPF object";
		goto err_free;
	}
	err = faultguard_bpf__load(m->skel);
	if (err) {
		*why = err == -EPERM || err == -EACCES
			       ? "the kernel refused to load the BPF programs: faultguardd needs root "
				 "(CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)"
			       : "the kernel refused to load the BPF programs (run with --verbose for "
				 "the verifier log; BTF at /sys/kernel/btf/vmlinux is required)";
		goto err_destroy;
	}
	err = faultguard_bpf__attach(m->skel);
	if (err) {
		*why = "cannot attach the BPF programs to the tracepoints";
		goto err_destroy;
	}
	/*
	 * The stack ring first: ring_buffer__consume() reads the rings in the
	 * order they were added, so a crash's stack record (sent at the signal,
	 * before the exit) is always delivered before its exit record.
	 */
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.stacks), on_stack, m, NULL);
	if (!m->rb ||
	    ring_buffer__add(m->rb, bpf_map__fd(m->skel->maps.events), on_record, m) < 0) {
		err = -errno;
		*why = "cannot set up the BPF ring buffers";
		goto err_destroy;
	}
	*out = m;
	return 0;

err_destroy:
	faultguard_bpf__destroy(m->skel);
err_free:
	free(m);
	return err;
}

void monitor_close(struct monitor *m)
{
	if (!m)
		return;
	ring_buffer__free(m->rb);
	faultguard_bpf__destroy(m->skel);
	free(m);
}

int monitor_fd(const struct monitor *m)
{
	return ring_buffer__epoll_fd(m->rb);
}

int monitor_consume(struct monitor *m)
{
	return ring_buffer__consume(m->rb);
}

/*
 * The BPF side's pre-filter (watched_bits, mapped with .bss): a tgid's bit
 * is set before it enters `watched` and cleared after it leaves, so a
 * clear bit always means "not watched". We are its only writer.
 */
static void watched_bit(struct monitor *m, uint32_t tgid, int on)
{
	__u64 *word, bit = 1ull << (tgid % 64);

	if (tgid / 64 >= sizeof(m->skel->bss->watched_bits) / sizeof(uint64_t))
		return; /* beyond the bitmap, BPF always asks the map */
	word = &m->skel->bss->watched_bits[tgid / 64];
	if (on)
		__atomic_or_fetch(word, bit, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(word, ~bit, __ATOMIC_SEQ_CST);
}

int monitor_watch(struct monitor *m, uint32_t tgid)
{
	const uint8_t present = 1;

	/*
	 * Left set even if the update fails: the tgid may be in the map already
	 * for another of its dictionaries, and a stray bit only costs a lookup.
	 */
	watched_bit(m, tgid, 1);
	return bpf_map__update_elem(m->skel->maps.watched, &tgid, sizeof(tgid), &present,
				    sizeof(present), BPF_ANY);
}

int monitor_unwatch(struct monitor *m, uint32_t tgid)
{
	int err = bpf_map__delete_elem(m->skel->maps.watched, &tgid, sizeof(tgid), 0);

	/* The BPF program removes a tgid itself when the process exits or execs. */
	if (err == -ENOENT)
		err = 0;
	if (!err)
		watched_bit(m, tgid, 0);
	return err;
}

uint64_t monitor_lost(const struct monitor *m)
{
	return __atomic_load_n(&m->skel->bss->lost_events, __ATOMIC_RELAXED);
}
