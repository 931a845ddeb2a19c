// SPDX-License-Identifier: LGPL-2.1-or-later
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unwind/symbolizer.h"

struct sym_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias; /* where the file's vaddr 0 is in this session */
	uint64_t used;   /* for LRU */
	int64_t used_ms; /* CLOCK_MONOTONIC */
};

struct symbolizer {
	struct sym_file *files;
	size_t n, max;
	uint64_t clock;
};

static char *debuginfo_path; /* libdwfl's default: ":.debug:/usr/lib/debug" */

static const Dwfl_Callbacks cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer_new(size_t max_files)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max_files ? max_files : 1;
	s->files = calloc(s->max, sizeof(*s->files));
	if (!s->files) {
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		dwfl_end(s->files[i].dwfl);
	free(s->files);
	free(s);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t symbolizer_expire(struct symbolizer *s, int64_t idle_ms)
{
	int64_t now = now_ms();
	size_t i = 0;

	while (s && i < s->n) {
		if (now - s->files[i].used_ms >= idle_ms) {
			dwfl_end(s->files[i].dwfl);
			s->files[i] = s->files[--s->n];
		} else {
			i++;
		}
	}
	return s ? s->n : 0;
}

static struct sym_file *find(struct symbolizer *s, const struct stat *st)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct sym_file *f = &s->files[i];

		if (f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
		    f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return f;
	}
	return NULL;
}

/* A new session for the file at @fd (taken), in a free slot or the least recently used. */
static struct sym_file *add(struct symbolizer *s, int fd, const char *path, const struct stat *st)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct sym_file *f;
	size_t i, old = 0;
	Dwfl *dwfl = dwfl_begin(&cbs);
	Dwfl_Module *mod;

	if (!dwfl) {
		close(fd);
		return NULL;
	}
	dwfl_report_begin(dwfl);
	mod = dwfl_report_elf(dwfl, name, path, fd, 0, false);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		close(fd);
		dwfl_end(dwfl);
		return NULL;
	}
	if (s->n < s->max) {
		f = &s->files[s->n++];
	} else {
		for (i = 1; i < s->n; i++)
			if (s->files[i].used < s->files[old].used)
				old = i;
		f = &s->files[old];
		dwfl_end(f->dwfl);
	}
	memset(f, 0, sizeof(*f));
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->size = st->st_size;
	f->mtime = st->st_mtim;
	f->dwfl = dwfl;
	f->mod = mod;
	if (!dwfl_module_getelf(mod, &f->bias))
		f->bias = 0;
	return f;
}

int symbolizer_lookup(struct symbolizer *s, int fd, const char *path, uint64_t module_offset,
		      uint64_t look_offset, struct unwind_frame *out)
{
	struct sym_file *f;
	struct stat st;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	const char *name;

	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	f = find(s, &st);
	if (f)
		close(fd);
	else
		f = add(s, fd, path, &st);
	if (!f)
		return -ENOEXEC;
	f->used = ++s->clock;
	f->used_ms = now_ms();
	name = dwfl_module_addrinfo(f->mod, look_offset + f->bias, &off, &sym, NULL, NULL, NULL);
	if (name && name[0]) {
		/* .dynsym names carry their symbol version: "__libc_start_main@@GLIBC_2.34". */
		out->function = strndup(name, strcspn(name, "@"));
		out->function_offset = off + (module_offset - look_offset);
	}
	line = dwfl_module_getsrc(f->mod, look_offset + f->bias);
	if (line) {
		int lineno = 0;
		const char *src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (src && lineno > 0) {
			out->file = strdup(src);
			out->line = lineno;
		}
	}
	return 0;
}
