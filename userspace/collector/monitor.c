// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collector/monitor.h"
#include "faultguard.skel.h"

_Static_assert(sizeof(struct fg_event) == 72, "fg_event is shared with BPF: keep its size");
_Static_assert(sizeof(struct fg_stack_event) == 192 + FG_MAX_MAPS * 40 + FG_MAX_FILES * (FG_PATH_BYTES + 16) +
						   FG_STACK_MAX,
	       "fg_stack_event is shared with BPF: keep its size");

#define BPFFS "/sys/fs/bpf"
#define BPF_FS_MAGIC_NR 0xcafe4a11
#define MAX_LINKS 16
#define REGINFO_ENTRIES 65536 /* as many as `watched` */

/* The maps a successor opens by path; the links keep the programs (and every map) alive. */
static const char *const pinned_maps[] = { "watched", "causes", "events" };

struct monitor {
	struct faultguard_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MAX_LINKS];
	const char *link_names[MAX_LINKS]; /* the programs' names */
	unsigned int nlinks;
	char pin_dir[PATH_MAX]; /* "" = nothing pinned */
	int reginfo_fd;         /* -1: none */
	struct ring_buffer *old_rb; /* the predecessor's `events`, until drained */
	int old_events_fd;
	unsigned int adopted;
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

static int pin_path(const struct monitor *m, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", m->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* bpffs at /sys/fs/bpf (mounted when it is not), then @dir and its parents. */
static int make_pin_dir(const char *dir)
{
	char buf[PATH_MAX], *p;
	struct statfs sf;

	if (statfs(BPFFS, &sf) < 0 || (unsigned long)sf.f_type != BPF_FS_MAGIC_NR) {
		if (mount("bpf", BPFFS, "bpf", 0, "mode=0700") < 0)
			return -errno;
	}
	if (strlen(dir) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, dir);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The pinned map of who each watched tgid is: the predecessor's, or a new one. */
static int open_reginfo(struct monitor *m)
{
	char path[PATH_MAX];
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd, err;

	if ((err = pin_path(m, "reginfo", path, sizeof(path))))
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_MAP_TYPE_HASH &&
		    info.key_size == sizeof(__u32) &&
		    info.value_size == sizeof(struct monitor_reginfo)) {
			m->reginfo_fd = fd;
			return 0;
		}
		/* Another layout (another version): what it said is lost, said once. */
		fprintf(stderr, "faultguardd: %s has another layout: replaced\n", path);
		close(fd);
		unlink(path);
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fg_reginfo", sizeof(__u32),
			    sizeof(struct monitor_reginfo), REGINFO_ENTRIES, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	m->reginfo_fd = fd;
	return 0;
}

static int open_pinned(const struct monitor *m, const char *name)
{
	char path[PATH_MAX];

	return pin_path(m, name, path, sizeof(path)) ? -1 : bpf_obj_get(path);
}

static void unpin(const struct monitor *m, const char *name)
{
	char path[PATH_MAX];

	if (!pin_path(m, name, path, sizeof(path)))
		unlink(path);
}

/*
 * Takes over what a predecessor pinned: its watched tgids are put in our
 * `watched` (our programs already run, so from here both see their deaths),
 * then its programs are detached, the signals they saw copied into our
 * `causes`, and its ring kept for monitor_drain_adopted(). A death in the
 * overlap is in both rings: the callback sees the second for a tgid it no
 * longer knows, and ignores it.
 */
static void adopt(struct monitor *m)
{
	int old_watched = open_pinned(m, "watched"), old_causes = open_pinned(m, "causes");
	int causes_fd = bpf_map__fd(m->skel->maps.causes);
	struct fg_cause cause;
	struct dirent *de;
	__u32 key, next;
	DIR *d;

	m->old_events_fd = open_pinned(m, "events");
	if (old_watched >= 0) {
		for (int more = !bpf_map_get_next_key(old_watched, NULL, &next); more;
		     more = !bpf_map_get_next_key(old_watched, &key, &next)) {
			key = next;
			if (!monitor_watch(m, key))
				m->adopted++;
		}
	}
	d = opendir(m->pin_dir);
	while (d && (de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		fd = open_pinned(m, de->d_name);
		unpin(m, de->d_name); /* the last reference goes with fd: detached */
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
	if (old_causes >= 0) {
		for (int more = !bpf_map_get_next_key(old_causes, NULL, &next); more;
		     more = !bpf_map_get_next_key(old_causes, &key, &next)) {
			key = next;
			if (!bpf_map_lookup_elem(old_causes, &key, &cause))
				bpf_map_update_elem(causes_fd, &key, &cause, BPF_NOEXIST);
		}
	}
	if (old_watched >= 0)
		close(old_watched);
	if (old_causes >= 0)
		close(old_causes);
}

static int on_old_record(void *ctx, void *data, size_t len)
{
	return on_record(ctx, data, len);
}

/* Our links and the maps a successor opens, pinned (replacing the predecessor's names). */
static int pin_all(struct monitor *m)
{
	char path[PATH_MAX];
	unsigned int i;
	int err;

	for (i = 0; i < m->nlinks; i++) {
		char name[128];

		snprintf(name, sizeof(name), "link_%s", m->link_names[i]);
		if ((err = pin_path(m, name, path, sizeof(path))))
			return err;
		unlink(path);
		if ((err = bpf_link__pin(m->links[i], path)))
			return err;
	}
	for (i = 0; i < sizeof(pinned_maps) / sizeof(pinned_maps[0]); i++) {
		struct bpf_map *map =
			bpf_object__find_map_by_name(m->skel->obj, pinned_maps[i]);

		if (!map)
			return -ENOENT;
		if ((err = pin_path(m, pinned_maps[i], path, sizeof(path))))
			return err;
		unlink(path);
		if (bpf_obj_pin(bpf_map__fd(map), path) < 0)
			return -errno;
	}
	return 0;
}

/* Every program, attached by us (so that we hold, and can pin, each link). */
static int attach_all(struct monitor *m)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, m->skel->obj) {
		struct bpf_link *l;

		if (!bpf_program__autoload(prog))
			continue;
		if (m->nlinks >= MAX_LINKS)
			return -E2BIG;
		l = bpf_program__attach(prog);
		if (!l)
			return -errno;
		m->link_names[m->nlinks] = bpf_program__name(prog);
		m->links[m->nlinks++] = l;
	}
	return 0;
}

int monitor_open(struct monitor **out, monitor_event_fn fn, void *ctx, int verbose,
		 const char *pin_dir, const char **why)
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
	m->reginfo_fd = -1;
	m->old_events_fd = -1;
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
	if (pin_dir && *pin_dir) {
		if (strlen(pin_dir) >= sizeof(m->pin_dir) - 64) {
			err = -ENAMETOOLONG;
			*why = "the BPF pin directory's name is too long";
			goto err_destroy;
		}
		strcpy(m->pin_dir, pin_dir);
		if ((err = make_pin_dir(pin_dir)) || (err = open_reginfo(m))) {
			*why = "cannot set up the BPF pin directory (bpffs at /sys/fs/bpf)";
			goto err_destroy;
		}
	}
	err = attach_all(m);
	if (err) {
		*why = "cannot attach the BPF programs to the tracepoints";
		goto err_destroy;
	}
	if (*m->pin_dir) {
		adopt(m);
		if ((err = pin_all(m))) {
			*why = "cannot pin the BPF programs and maps";
			goto err_destroy;
		}
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
	if (m->old_events_fd >= 0) {
		m->old_rb = ring_buffer__new(m->old_events_fd, on_old_record, m, NULL);
		if (!m->old_rb)
			fprintf(stderr, "faultguardd: cannot read the previous collector's ring "
					"buffer: deaths while none ran are not recorded\n");
	}
	*out = m;
	return 0;

err_destroy:
	monitor_close(m, 1);
	return err;
err_free:
	free(m);
	return err;
}

int monitor_check(const char **why)
{
	struct faultguard_bpf *skel;
	int err;

	libbpf_set_print(libbpf_print);
	skel = faultguard_bpf__open();
	if (!skel) {
		*why = "cannot open the BPF object";
		return -errno;
	}
	err = faultguard_bpf__load(skel);
	if (err)
		*why = "the kernel refused to load the BPF programs";
	faultguard_bpf__destroy(skel);
	return err;
}

int monitor_drain_adopted(struct monitor *m)
{
	int n = 0;

	if (m->old_rb) {
		n = ring_buffer__consume(m->old_rb);
		ring_buffer__free(m->old_rb);
		m->old_rb = NULL;
	}
	if (m->old_events_fd >= 0)
		close(m->old_events_fd);
	m->old_events_fd = -1;
	return n;
}

unsigned int monitor_adopted(const struct monitor *m)
{
	return m->adopted;
}

static void remove_pins(struct monitor *m)
{
	struct dirent *de;
	DIR *d = opendir(m->pin_dir);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unpin(m, de->d_name);
	if (d)
		closedir(d);
	rmdir(m->pin_dir);
}

void monitor_close(struct monitor *m, int keep_watching)
{
	unsigned int i;

	if (!m)
		return;
	ring_buffer__free(m->rb);
	ring_buffer__free(m->old_rb);
	if (m->old_events_fd >= 0)
		close(m->old_events_fd);
	if (*m->pin_dir && !keep_watching)
		remove_pins(m);
	/* A pinned link outlives its fd: closing it detaches nothing. */
	for (i = 0; i < m->nlinks; i++)
		bpf_link__destroy(m->links[i]);
	if (m->reginfo_fd >= 0)
		close(m->reginfo_fd);
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
	int err;

	if (!m)
		return 0; /* closed already (at exit): the pins, if kept, go on watching */
	err = bpf_map__delete_elem(m->skel->maps.watched, &tgid, sizeof(tgid), 0);

	monitor_reginfo_forget(m, tgid);
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

int monitor_note(struct monitor *m, uint32_t tgid, const struct monitor_reginfo *ri)
{
	if (m->reginfo_fd < 0)
		return 0;
	return bpf_map_update_elem(m->reginfo_fd, &tgid, ri, BPF_ANY) < 0 ? -errno : 0;
}

int monitor_reginfo(struct monitor *m, uint32_t tgid, struct monitor_reginfo *ri)
{
	if (m->reginfo_fd < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(m->reginfo_fd, &tgid, ri) < 0 ? -errno : 0;
}

unsigned int monitor_noted(struct monitor *m)
{
	__u32 key, next;
	unsigned int n = 0;

	if (m->reginfo_fd < 0)
		return 0;
	for (int more = !bpf_map_get_next_key(m->reginfo_fd, NULL, &next); more;
	     more = !bpf_map_get_next_key(m->reginfo_fd, &key, &next)) {
		key = next;
		n++;
	}
	return n;
}

void monitor_reginfo_forget(struct monitor *m, uint32_t tgid)
{
	if (m->reginfo_fd >= 0)
		bpf_map_delete_elem(m->reginfo_fd, &tgid);
}

void monitor_reginfo_each(struct monitor *m,
			  void (*fn)(uint32_t tgid, const struct monitor_reginfo *ri, void *arg),
			  void *arg)
{
	__u32 key, next, *keys = NULL;
	size_t n = 0, cap = 0, i;
	struct monitor_reginfo ri;

	if (m->reginfo_fd < 0)
		return;
	for (int more = !bpf_map_get_next_key(m->reginfo_fd, NULL, &next); more;
	     more = !bpf_map_get_next_key(m->reginfo_fd, &key, &next)) {
		key = next;
		if (n == cap) {
			__u32 *k = realloc(keys, (cap = cap ? 2 * cap : 256) * sizeof(*k));

			if (!k)
				break;
			keys = k;
		}
		keys[n++] = key;
	}
	for (i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(m->reginfo_fd, &keys[i], &ri))
			fn(keys[i], &ri, arg);
	free(keys);
}
