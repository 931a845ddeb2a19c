// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the stack record parser and the unwinder behind it,
 * which the collector runs on what a dying process left in its stack and
 * registers. Two kinds of input (the first byte says which):
 *   0  the bytes are a whole record (the parser's checks on counts, names
 *      and paths), unwound if it parses
 *   1  the bytes overwrite part of a real record, taken from this very
 *      process at start (its registers, its stack, its code mappings), so
 *      the unwinder works through real CFI over a stack gone wrong
 * The unwinder may open only the files of this process's own mappings
 * (never a path an input names). It must end, stay within its bounds and
 * leave every frame well formed.
 *
 * fuzz-sources: -Ibpf userspace/unwind/stack_record.c userspace/unwind/unwind.c
 * fuzz-sources: userspace/unwind/signature.c userspace/unwind/symbolizer.c
 * fuzz-sources: userspace/digest/sha256.c -ldw -lelf -lcrypto
 * fuzz-options: -max_len=60000
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "faultguard_event.h"
#include "unwind/stack_record.h"
#include "unwind/unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static struct fg_stack_event *base, *work;
static struct stack_record rec;
/* The files this process maps: the only ones the unwinder may open. */
static struct {
	char path[1024];
	dev_t dev;
	ino_t ino;
} own[FG_MAX_FILES];
static size_t nown;

/* Puts @path into @f as the BPF program does: components, the base name first. */
static void put_path(struct fg_stack_file *f, const char *path)
{
	const char *end = path + strlen(path), *p;
	size_t at = 0;

	memset(f, 0, sizeof(*f));
	while (end > path) {
		p = end;
		while (p > path && p[-1] != '/')
			p--;
		if (p < end && at + (size_t)(end - p) + 1 <= FG_PATH_BYTES) {
			memcpy(f->names + at, p, (size_t)(end - p));
			at += (size_t)(end - p) + 1;
			f->ncomp++;
		}
		end = p > path ? p - 1 : path;
	}
	f->len = (uint32_t)at;
}

/*
 * Registers and stack taken in one frame, which stays alive while the copy
 * is made (a later call would overwrite the return addresses above it).
 * The copy goes through /proc/self/mem: ASan would call our own stack's
 * redzones an overflow.
 */
static void __attribute__((noinline)) take_stack(struct fg_stack_event *e, uint64_t stack_end)
{
	uint64_t sp, ip, bp;
	int fd;

	__asm__ volatile("mov %%rsp, %0\n\tlea 0(%%rip), %1\n\tmov %%rbp, %2"
			 : "=r"(sp), "=r"(ip), "=r"(bp));
	e->regs[6] = bp;
	e->regs[UNWIND_REG_SP] = sp;
	e->regs[UNWIND_REG_IP] = ip;
	e->stack_start = sp;
	e->stack_len = stack_end > sp ? (uint32_t)(stack_end - sp < FG_STACK_MAX ? stack_end - sp
										 : FG_STACK_MAX)
				      : 0;
	fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, e->stack, e->stack_len, (off_t)sp) != (ssize_t)e->stack_len)
		abort();
	close(fd);
	__asm__ volatile("" ::: "memory");
}

/* A real record of this process: its code mappings from /proc/self/maps, its stack. */
static void make_base(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096], path[1024], perm[8];
	unsigned long long start, end, off, ino, stack_end = 0;
	unsigned int maj, min;
	size_t i;

	base = calloc(1, sizeof(*base));
	work = calloc(1, sizeof(*work));
	if (!base || !work || !f)
		abort();
	while (fgets(line, sizeof(line), f)) {
		struct stat st;

		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %1023s", &start, &end, perm, &off,
			   &maj, &min, &ino, path) < 7)
			continue;
		if (strstr(line, "[stack]"))
			stack_end = end;
		if (perm[2] != 'x' || path[0] != '/' || base->nmaps >= FG_MAX_MAPS ||
		    stat(path, &st) < 0)
			continue;
		for (i = 0; i < nown && strcmp(own[i].path, path); i++)
			;
		if (i == nown) {
			if (nown == FG_MAX_FILES)
				continue;
			snprintf(own[nown].path, sizeof(own[nown].path), "%s", path);
			own[nown].dev = st.st_dev;
			own[nown].ino = st.st_ino;
			put_path(&base->files[nown], path);
			nown++;
		}
		base->maps[base->nmaps] = (struct fg_stack_map){
			.start = start, .end = end, .pgoff = off, .ino = st.st_ino,
			.dev = (uint32_t)(major(st.st_dev) << 20 | minor(st.st_dev)), .file = (uint32_t)i,
		};
		base->nmaps++;
	}
	fclose(f);
	base->nfiles = (uint32_t)nown;
	base->exe_file = 0;
	base->tid = base->tgid = (uint32_t)getpid();
	take_stack(base, stack_end);
}

static int open_own(const struct unwind_map *m, void *arg)
{
	size_t i;
	int fd;

	(void)arg;
	for (i = 0; i < nown; i++)
		if (m->path && !strcmp(m->path, own[i].path) && m->dev == own[i].dev &&
		    m->ino == own[i].ino)
			break;
	if (i == nown)
		return -ENOENT;
	fd = open(own[i].path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_base();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unwind_opts o = { .sz = sizeof(o), .open_file = open_own, .max_frames = 32 };
	struct unwind_result r;
	size_t i, at;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		memcpy(work, base, sizeof(*work));
		if (size >= 4) {
			at = ((size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16) %
			     sizeof(*work);
			memcpy((char *)work + at, data + 4,
			       size - 4 < sizeof(*work) - at ? size - 4 : sizeof(*work) - at);
		}
	} else {
		memset(work, 0, sizeof(*work));
		memcpy(work, data + 1, size - 1 < sizeof(*work) ? size - 1 : sizeof(*work));
	}
	if (stack_record_parse(work, sizeof(*work), &rec))
		return 0;
	CHECK(rec.in.nmaps <= FG_MAX_MAPS && rec.in.stack_len <= FG_STACK_MAX);
	for (i = 0; i < rec.in.nmaps; i++)
		CHECK(rec.in.maps[i].path && strlen(rec.in.maps[i].path) < STACK_RECORD_PATH_MAX);
	(void)stack_record_gaps(&rec);
	if (unwind_run(&rec.in, &o, &r))
		return 0;
	CHECK(r.nframes >= 1 && r.nframes <= 32);
	/* FUZZ_SHOW=1: what an input unwinds to (to see that the real record does). */
	if (getenv("FUZZ_SHOW"))
		for (i = 0; i < r.nframes; i++)
			fprintf(stderr, "#%zu 0x%llx %s\n", i, (unsigned long long)r.frames[i].addr,
				r.frames[i].function ? r.frames[i].function : "??");
	if (getenv("FUZZ_SHOW"))
		fprintf(stderr, "why: %s\n", r.why);
	CHECK(strlen(r.signature) == 0 || strlen(r.signature) == 16);
	for (i = 0; i < r.nframes; i++) {
		CHECK(!r.frames[i].function || strlen(r.frames[i].function) < 65536);
		CHECK(!r.frames[i].file || r.frames[i].line > 0);
	}
	unwind_result_free(&r);
	return 0;
}
