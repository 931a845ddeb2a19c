// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/sysmacros.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gelf.h>
#include <linux/types.h>

#include "ctl/run_trace.h"
#include "faultguard_event.h"

/* As much of the stack as the collector's BPF program copies. */
#define STACK_MAX FG_STACK_MAX
#define MAPS_MAX 64

struct run_capture {
	struct unwind_input in;
	struct unwind_map maps[MAPS_MAX];
	char paths[MAPS_MAX][PATH_MAX];
	uint8_t stack[STACK_MAX];
	pid_t tid;
	char exe[PATH_MAX];
};

/* Whether the executable of @pid carries LeakSanitizer: linked to libasan/liblsan or exporting __lsan_*. */
static int has_leak_sanitizer(pid_t pid)
{
	char path[64];
	Elf_Scn *scn = NULL;
	int fd, found = 0;
	Elf *elf;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNAMIC && sh.sh_type != SHT_DYNSYM))
			continue;
		d = elf_getdata(scn, NULL);
		n = d && sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		for (i = 0; i < n && !found; i++) {
			const char *name = NULL;

			if (sh.sh_type == SHT_DYNAMIC) {
				GElf_Dyn dyn;

				if (gelf_getdyn(d, (int)i, &dyn) && dyn.d_tag == DT_NEEDED)
					name = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
				found = name && (strstr(name, "libasan") || strstr(name, "liblsan"));
			} else {
				GElf_Sym sym;

				if (gelf_getsym(d, (int)i, &sym))
					name = elf_strptr(elf, sh.sh_link, sym.st_name);
				found = name && !strncmp(name, "__lsan_", 7);
			}
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

int run_trace_seize(pid_t pid)
{
	long opts = PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

	return ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) < 0 ? -errno : 0;
}

int run_trace_until_exec(pid_t pid, int *wstatus)
{
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, __WALL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			*wstatus = st;
			return 0;
		}
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 16 == PTRACE_EVENT_EXEC)
			return 1;
		if (st >> 16 == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_LISTEN, pid, 0, 0);
			continue;
		}
		/* A signal before the exec: it does to the child what it would untraced. */
		ptrace(PTRACE_CONT, pid, 0, (void *)(long)(st >> 16 ? 0 : WSTOPSIG(st)));
	}
}

int run_trace_go(pid_t pid)
{
	if (has_leak_sanitizer(pid)) {
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return -EBUSY;
	}
	return ptrace(PTRACE_CONT, pid, 0, 0) < 0 ? -errno : 0;
}

/* Whether @sig, delivered to @tid now, ends the process by its default action. */
static int fatal_by_default(pid_t tid, int sig)
{
	char path[64], line[256];
	unsigned long long caught = 0, ignored = 0;
	FILE *f;

	switch (sig) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: case SIGSTOP: case SIGTSTP:
	case SIGTTIN: case SIGTTOU: case SIGKILL:
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "SigCgt: %llx", &caught);
		sscanf(line, "SigIgn: %llx", &ignored);
	}
	fclose(f);
	return !((caught | ignored) & (1ull << (sig - 1)));
}

/* The code mappings of @pid with their files, from /proc/PID/maps. */
static void read_maps(struct run_capture *c, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], file[PATH_MAX], perm[8];
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	FILE *f;
	size_t n = 0, i;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (n < MAPS_MAX && fgets(line, sizeof(line), f)) {
		struct unwind_map *m = &c->maps[n];

		file[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4095[^\n]", &start, &end, perm, &off,
			   &maj, &min, &ino, file) < 8 ||
		    perm[2] != 'x' || file[0] != '/' || strstr(file, " (deleted)"))
			continue;
		*m = (struct unwind_map){ .start = start, .end = end, .pgoff = off,
					  .dev = makedev(maj, min), .ino = ino, .file = (int)n };
		for (i = 0; i < n; i++)
			if (c->maps[i].dev == m->dev && c->maps[i].ino == m->ino)
				m->file = c->maps[i].file;
		snprintf(c->paths[n], sizeof(c->paths[n]), "%s", file);
		m->path = c->paths[n];
		n++;
	}
	fclose(f);
	c->in.maps = c->maps;
	c->in.nmaps = n;
}

/* Registers, stack and mappings of @tid of @pid, stopped at its fatal signal. */
static struct run_capture *capture(pid_t pid, pid_t tid)
{
	struct run_capture *c = calloc(1, sizeof(*c));
	struct user_regs_struct regs;
	char path[64];
	ssize_t n;
	int fd;

	if (!c)
		return NULL;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
		free(c);
		return NULL;
	}
	c->tid = tid;
	c->in.tid = tid;
	c->in.exe_file = -1;
	c->in.regs[0] = regs.rax;
	c->in.regs[1] = regs.rdx;
	c->in.regs[2] = regs.rcx;
	c->in.regs[3] = regs.rbx;
	c->in.regs[4] = regs.rsi;
	c->in.regs[5] = regs.rdi;
	c->in.regs[6] = regs.rbp;
	c->in.regs[7] = regs.rsp;
	c->in.regs[8] = regs.r8;
	c->in.regs[9] = regs.r9;
	c->in.regs[10] = regs.r10;
	c->in.regs[11] = regs.r11;
	c->in.regs[12] = regs.r12;
	c->in.regs[13] = regs.r13;
	c->in.regs[14] = regs.r14;
	c->in.regs[15] = regs.r15;
	c->in.regs[16] = regs.rip;
	read_maps(c, pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, c->exe, sizeof(c->exe) - 1);
	c->exe[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; c->exe[0] && i < c->in.nmaps; i++)
		if (!strcmp(c->maps[i].path, c->exe))
			c->in.exe_file = c->maps[i].file;
	/* Page by page: the copy ends at the first page that cannot be read (the stack's top). */
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	c->in.stack_start = regs.rsp;
	c->in.stack = c->stack;
	while (fd >= 0 && c->in.stack_len < STACK_MAX) {
		size_t want = 4096 - ((regs.rsp + c->in.stack_len) & 4095);

		if (want > STACK_MAX - c->in.stack_len)
			want = STACK_MAX - c->in.stack_len;
		n = pread(fd, c->stack + c->in.stack_len, want,
			  (off_t)(regs.rsp + c->in.stack_len));
		if (n <= 0)
			break;
		c->in.stack_len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return c;
}

int run_trace_wait(pid_t pid, int *wstatus, struct run_capture **cap)
{
	*cap = NULL;
	for (;;) {
		int st, sig, event;
		pid_t w = waitpid(-1, &st, __WALL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (w == pid) {
				*wstatus = st;
				return 0;
			}
			continue; /* another of its threads */
		}
		if (!WIFSTOPPED(st))
			continue;
		sig = WSTOPSIG(st);
		event = st >> 16;
		if (event == PTRACE_EVENT_STOP) {
			/* A group stop (Ctrl-Z) stays one; a new thread's first stop just goes on. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, w, 0, 0);
			else
				ptrace(PTRACE_CONT, w, 0, 0);
			continue;
		}
		if (event) { /* PTRACE_EVENT_CLONE: the new thread is traced too; or another exec */
			ptrace(PTRACE_CONT, w, 0, 0);
			continue;
		}
		/* A signal-delivery stop: see where a fatal one struck, then let it go on. */
		if (!*cap && fatal_by_default(w, sig))
			*cap = capture(pid, w);
		ptrace(PTRACE_CONT, w, 0, (void *)(long)sig);
	}
}

const struct unwind_input *run_capture_input(const struct run_capture *cap, pid_t *tid,
					     const char **exe)
{
	*tid = cap->tid;
	*exe = cap->exe[0] ? cap->exe : NULL;
	return &cap->in;
}

void run_capture_free(struct run_capture *cap)
{
	free(cap);
}
