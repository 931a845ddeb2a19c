// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The unwinder on libdwfl, after perf's tools/perf/util/unwind-libdw.c:
 * one Dwfl per crash, the mappings reported as modules at their load bias
 * (start - file offset, the perf convention for ET_DYN), a thread whose
 * initial registers are the record's and whose memory is the copied stack.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unwind/symbolizer.h"
#include "unwind/unwind.h"

struct ctx {
	const struct unwind_input *in;
	Dwfl *dwfl;
	struct unwind_result *out;
	size_t max;
	uint64_t regs[UNWIND_NREGS]; /* where this unwind starts */
	int started;
	int first_is_return; /* the walk starts at a return address, not at the fault */
	size_t first;        /* the index of the walk's first frame */
	int bad_memory; /* a read outside the copied stack was asked for */
	char activation[UNWIND_MAX_FRAMES * 4]; /* per frame: the fault itself, not a return */
};

static void say(struct unwind_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a sentence to out->why (the first reasons matter most: later ones are dropped). */
static void say(struct unwind_result *r, const char *fmt, ...)
{
	size_t at = strlen(r->why);
	va_list ap;

	if (at + 3 >= sizeof(r->why))
		return;
	if (at) {
		strcpy(r->why + at, "; ");
		at += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->why + at, sizeof(r->why) - at, fmt, ap);
	va_end(ap);
}

static int default_open(const struct unwind_map *m, void *arg)
{
	struct stat st;
	int fd;

	(void)arg;
	if (!m->path || !m->path[0])
		return -ENOENT;
	fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* Still the file the process mapped? An upgrade may have replaced it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != m->dev ||
	    st.st_ino != m->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct ctx *c = arg;

	(void)dwfl;
	if (c->started)
		return 0;
	c->started = 1;
	*thread_argp = c;
	return c->in->tid > 0 ? c->in->tid : 1;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct ctx *c = arg;
	const struct unwind_input *in = c->in;

	(void)dwfl;
	if (addr < in->stack_start || in->stack_len < sizeof(*result) ||
	    addr - in->stack_start > in->stack_len - sizeof(*result)) {
		c->bad_memory = 1;
		return false;
	}
	memcpy(result, in->stack + (addr - in->stack_start), sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct ctx *c = arg;
	Dwarf_Word regs[UNWIND_NREGS];
	int i;

	for (i = 0; i < UNWIND_NREGS; i++)
		regs[i] = c->regs[i];
	return dwfl_thread_state_registers(thread, 0, UNWIND_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_cbs = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static char *debuginfo_path; /* NULL: libdwfl's default, ":.debug:/usr/lib/debug" */

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static const struct unwind_map *map_of(const struct unwind_input *in, uint64_t addr)
{
	size_t i;

	for (i = 0; i < in->nmaps; i++)
		if (addr >= in->maps[i].start && addr < in->maps[i].end)
			return &in->maps[i];
	return NULL;
}

static void hex_build_id(Dwfl_Module *mod, char out[UNWIND_BUILD_ID_MAX])
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr), i;

	out[0] = '\0';
	for (i = 0; i < n && i < (UNWIND_BUILD_ID_MAX - 1) / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", bits[i]);
}

/* Reports each file once, at the load bias of its first executable mapping. */
static void report_modules(struct ctx *c, const struct unwind_opts *o)
{
	const struct unwind_input *in = c->in;
	unwind_open_fn open_fn = o && o->open_file ? o->open_file : default_open;
	size_t i, j;

	dwfl_report_begin(c->dwfl);
	for (i = 0; i < in->nmaps; i++) {
		const struct unwind_map *m = &in->maps[i];
		const char *base;
		int fd, seen = 0;

		for (j = 0; j < i; j++)
			seen |= in->maps[j].file == m->file;
		if (seen)
			continue;
		if (!m->path || !m->path[0]) {
			say(c->out, "a code mapping at 0x%llx has no known file",
			    (unsigned long long)m->start);
			continue;
		}
		fd = open_fn(m, o ? o->arg : NULL);
		if (fd < 0) {
			say(c->out, "%s: %s", m->path,
			    fd == -ESTALE ? "not the file that was mapped (replaced since?)"
					  : strerror(-fd));
			continue;
		}
		base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
		if (!dwfl_report_elf(c->dwfl, base, m->path, fd, m->start - m->pgoff, false)) {
			say(c->out, "%s: %s", m->path, dwfl_errmsg(-1));
			close(fd);
		}
	}
	dwfl_report_end(c->dwfl, NULL, NULL);
}

/*
 * During the walk only what the per-crash session knows cheaply: the
 * mapping's file, its build id and the address in the file's terms.
 * Names and lines come after, from the symbolizer (symbolize_all).
 */
static void place(struct ctx *c, struct unwind_frame *f, uint64_t look)
{
	const struct unwind_map *m = map_of(c->in, f->addr);
	Dwfl_Module *mod = m ? dwfl_addrmodule(c->dwfl, look) : NULL;
	Dwarf_Addr bias = 0;

	if (!m)
		return;
	f->module = m->path && m->path[0] ? m->path : NULL;
	if (!mod)
		return; /* the file is not usable */
	hex_build_id(mod, f->build_id);
	if (dwfl_module_getelf(mod, &bias)) {
		f->have_module_offset = 1;
		f->module_offset = f->addr - bias;
	}
}

/* Names and lines of every frame that has a file, one symbolizer lookup each. */
static void symbolize_all(struct ctx *c, const struct unwind_opts *o, struct symbolizer *sym)
{
	unwind_open_fn open_fn = o && o->open_file ? o->open_file : default_open;
	struct unwind_result *r = c->out;
	size_t i;

	for (i = 0; i < r->nframes; i++) {
		struct unwind_frame *f = &r->frames[i];
		const struct unwind_map *m = map_of(c->in, f->addr);
		uint64_t look;
		int fd;

		if (!m || !f->have_module_offset)
			continue;
		/* A return address points after its call: look up the call itself. */
		look = c->activation[i] || f->module_offset == 0 ? f->module_offset
								 : f->module_offset - 1;
		fd = open_fn(m, o ? o->arg : NULL);
		if (fd >= 0)
			symbolizer_lookup(sym, fd, m->path, f->module_offset, look, f);
	}
}

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct ctx *c = arg;
	struct unwind_result *r = c->out;
	struct unwind_frame *f;
	Dwarf_Addr pc;
	bool activation;

	if (r->nframes >= c->max) {
		say(r, "stopped after %zu frames", c->max);
		return DWARF_CB_ABORT;
	}
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (r->nframes == c->first && c->first_is_return)
		activation = false;
	c->activation[r->nframes] = activation;
	f = &r->frames[r->nframes++];
	memset(f, 0, sizeof(*f));
	f->addr = pc;
	place(c, f, activation || pc == 0 ? pc : pc - 1);
	return DWARF_CB_OK;
}

/* One libdwfl walk from c->regs; the frames are appended. */
static void walk(struct ctx *c, const struct unwind_opts *o)
{
	struct unwind_result *r = c->out;
	size_t before = r->nframes;
	int rc;

	c->dwfl = dwfl_begin(&dwfl_cbs);
	if (!c->dwfl) {
		say(r, "libdwfl: %s", dwfl_errmsg(-1));
		return;
	}
	c->started = 0;
	c->bad_memory = 0;
	c->first = before;
	report_modules(c, o);
	if (!dwfl_attach_state(c->dwfl, NULL, c->in->tid > 0 ? c->in->tid : 1, &thread_cbs, c)) {
		say(r, "libdwfl cannot unwind here: %s", dwfl_errmsg(-1));
		goto out;
	}
	rc = dwfl_getthread_frames(c->dwfl, c->in->tid > 0 ? c->in->tid : 1, on_frame, c);
	if (rc != 0 && r->nframes > before + 1 && !map_of(c->in, r->frames[r->nframes - 1].addr)) {
		say(r, "frame #%zu (0x%llx) is in no mapping: no valid return address there (a "
		       "corrupted stack?)",
		    r->nframes - 1, (unsigned long long)r->frames[r->nframes - 1].addr);
	} else if (rc != 0 && r->nframes < c->max) {
		const char *e = dwfl_errmsg(-1);

		if (r->nframes > before && c->bad_memory)
			say(r, "the unwind left the copied stack after frame #%zu (%s)",
			    r->nframes - 1, e ? e : "no more memory");
		else if (r->nframes > before)
			say(r, "cannot unwind past frame #%zu: %s", r->nframes - 1,
			    e ? e : "no unwind information");
		else
			say(r, "cannot unwind: %s", e ? e : "no unwind information");
	}
out:
	if (!r->exe_build_id[0] && c->in->exe_file >= 0) {
		Dwfl_Module *mod = NULL;
		size_t i;

		for (i = 0; i < c->in->nmaps && !mod; i++)
			if (c->in->maps[i].file == c->in->exe_file)
				mod = dwfl_addrmodule(c->dwfl, c->in->maps[i].start);
		if (mod)
			hex_build_id(mod, r->exe_build_id);
	}
	/* The frames' module paths point into the input; names were copied. */
	dwfl_end(c->dwfl);
	c->dwfl = NULL;
}

int unwind_run(const struct unwind_input *in, const struct unwind_opts *o,
	       struct unwind_result *out)
{
	struct ctx c = { .in = in, .out = out };
	struct symbolizer *sym;
	uint64_t ip = in->regs[UNWIND_REG_IP], sp = in->regs[UNWIND_REG_SP], ret;

	memset(out, 0, sizeof(*out));
	c.max = o && o->max_frames && o->max_frames < UNWIND_MAX_FRAMES ? o->max_frames
								  : UNWIND_MAX_FRAMES;
	out->frames = calloc(c.max, sizeof(*out->frames));
	if (!out->frames)
		return -ENOMEM;
	memcpy(c.regs, in->regs, sizeof(c.regs));
	if (!in->stack_len)
		say(out, "no stack was copied: only the faulting instruction is known");
	/*
	 * A call through a bad pointer (to 0, say) faults on an address in no
	 * mapping, with the return address on top of the stack: that frame is
	 * the caller. Say the bad address, then unwind from the caller.
	 */
	if (!map_of(in, ip) && in->stack_len >= 8 && sp == in->stack_start) {
		memcpy(&ret, in->stack, sizeof(ret));
		if (map_of(in, ret)) {
			struct unwind_frame *f = &out->frames[out->nframes++];

			memset(f, 0, sizeof(*f));
			f->addr = ip;
			say(out, "frame #0 (0x%llx) is in no mapping: unwound from the return "
				 "address on top of the stack",
			    (unsigned long long)ip);
			c.regs[UNWIND_REG_IP] = ret;
			c.regs[UNWIND_REG_SP] = sp + 8;
		}
	}
	/* libdwfl takes its first frame as the fault itself: here it is a return address. */
	c.first_is_return = out->nframes > 0;
	walk(&c, o);
	if (!out->nframes) {
		struct unwind_frame *f = &out->frames[out->nframes++];

		/* Not even a first frame from libdwfl: the faulting address is still true. */
		memset(f, 0, sizeof(*f));
		f->addr = ip;
		if (!map_of(in, ip))
			say(out, "the instruction pointer 0x%llx is in no mapping",
			    (unsigned long long)ip);
	}
	sym = o && o->symbolizer ? o->symbolizer : symbolizer_new(16);
	if (sym)
		symbolize_all(&c, o, sym);
	if (sym && !(o && o->symbolizer))
		symbolizer_free(sym);
	unwind_signature(out->frames, out->nframes, out->signature);
	return 0;
}

void unwind_result_free(struct unwind_result *r)
{
	size_t i;

	if (!r || !r->frames)
		return;
	for (i = 0; i < r->nframes; i++) {
		free(r->frames[i].function);
		free(r->frames[i].file);
	}
	free(r->frames);
	r->frames = NULL;
	r->nframes = 0;
}
