// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "unwind/stack_record.h"

/* Whether @name (@n bytes) is one path component. */
static int component_ok(const char *name, size_t n)
{
	if (n == 0 || (n == 1 && name[0] == '.') || (n == 2 && !memcmp(name, "..", 2)))
		return 0;
	return memchr(name, '/', n) == NULL;
}

/* "/" + the components from the outermost in; "" if any is unusable or it was cut. */
static void join_path(const struct fg_stack_file *f, char *out, size_t len)
{
	const char *comp[FG_PATH_BYTES / 2 + 1];
	size_t at = 0, i, n = 0, off = 0;

	out[0] = '\0';
	if (f->ncomp == 0 || f->len > FG_PATH_BYTES || (f->flags & FG_FILE_PATH_CUT))
		return;
	while (off < f->len && n < f->ncomp) {
		const char *end = memchr(f->names + off, '\0', f->len - off);

		if (!end || !component_ok(f->names + off, (size_t)(end - (f->names + off))))
			return;
		comp[n++] = f->names + off;
		off = (size_t)(end - f->names) + 1;
	}
	if (n != f->ncomp)
		return;
	for (i = n; i-- > 0;) {
		size_t k = strlen(comp[i]);

		if (at + 1 + k + 1 > len) {
			out[0] = '\0';
			return;
		}
		out[at++] = '/';
		memcpy(out + at, comp[i], k);
		at += k;
	}
	out[at] = '\0';
}

int stack_record_parse(const void *data, size_t len, struct stack_record *out)
{
	const struct fg_stack_event *e = data;
	size_t i;

	if (len < sizeof(*e) || e->nmaps > FG_MAX_MAPS || e->nfiles > FG_MAX_FILES ||
	    e->stack_len > FG_STACK_MAX)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->start_boottime = e->start_boottime;
	out->ktime_ns = e->ktime_ns;
	out->tgid = e->tgid;
	out->tid = e->tid;
	out->signal = e->signal;
	out->flags = e->flags;
	for (i = 0; i < e->nfiles; i++)
		join_path(&e->files[i], out->paths[i], sizeof(out->paths[i]));
	out->exe = e->exe_file < e->nfiles ? (int)e->exe_file : -1;
	for (i = 0; i < e->nmaps; i++) {
		const struct fg_stack_map *m = &e->maps[i];
		struct unwind_map *u = &out->maps[out->in.nmaps];

		/* A mapping that makes no sense is left out, not trusted. */
		if (m->end <= m->start || m->file >= e->nfiles)
			continue;
		u->start = m->start;
		u->end = m->end;
		u->pgoff = m->pgoff;
		u->dev = makedev(m->dev >> 20, m->dev & 0xfffff);
		u->ino = m->ino;
		u->file = (int)m->file;
		u->path = out->paths[m->file];
		out->in.nmaps++;
	}
	memcpy(out->in.regs, e->regs, sizeof(out->in.regs));
	out->in.stack_start = e->stack_start;
	out->in.stack = e->stack;
	out->in.stack_len = e->stack_len;
	out->in.maps = out->maps;
	out->in.tid = (pid_t)e->tid;
	out->in.exe_file = out->exe;
	return 0;
}

const char *stack_record_gaps(const struct stack_record *r)
{
	if (r->flags & FG_STK_NO_VMA_LOCK)
		return "the mappings could not be read at the signal (the mmap lock was busy)";
	if (r->flags & FG_STK_SP_UNMAPPED)
		return "the stack pointer was in no mapping (a stack overflow?): no stack was copied";
	if (r->flags & FG_STK_MAPS_CUT)
		return "more code mappings than a record holds: some frames may lack a module";
	if (r->flags & FG_STK_READ_CUT)
		return "part of the stack could not be read at the signal";
	return NULL;
}
