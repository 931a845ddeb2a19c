/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unwinding a thread's stack after its process is gone, from a copy: the
 * registers at the fault, the top of its stack and the code's file
 * mappings. elfutils' libdwfl does the work (DWARF CFI from .eh_frame, so
 * code without frame pointers unwinds): we report the mappings as modules
 * and give it Dwfl_Thread_Callbacks whose memory is the copied stack.
 * Names come from .symtab/.dynsym, file and line from DWARF in the file or
 * its debug file (/usr/lib/debug/.build-id/xx/rest.debug, .gnu_debuglink).
 *
 * Nothing here prints: what could not be done is a sentence in the result.
 * Nothing is made up: a field that is not known stays NULL / unset.
 */
#ifndef FG_UNWIND_UNWIND_H
#define FG_UNWIND_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNWIND_NREGS 17       /* x86-64 DWARF: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define UNWIND_REG_SP 7
#define UNWIND_REG_IP 16
#define UNWIND_BUILD_ID_MAX 41 /* 20 bytes in hex and a NUL (longer ids are cut) */
#define UNWIND_SIGNATURE_LEN 17
#define UNWIND_MAX_FRAMES 64

struct unwind_map {
	uint64_t start, end;
	uint64_t pgoff; /* file offset of start */
	uint64_t dev;   /* st_dev (userspace encoding) */
	uint64_t ino;
	const char *path; /* NULL or "": unknown */
	int file;         /* maps with the same file share it */
};

struct unwind_input {
	uint64_t regs[UNWIND_NREGS];
	uint64_t stack_start; /* the address stack[0] was copied from */
	const uint8_t *stack;
	size_t stack_len;
	const struct unwind_map *maps;
	size_t nmaps;
	pid_t tid;
	int exe_file; /* the maps' file number of the executable, -1 unknown */
};

/* Opens the file of @m for reading if it is still the one the process mapped: fd or -errno. */
typedef int (*unwind_open_fn)(const struct unwind_map *m, void *arg);

struct symbolizer;

struct unwind_opts {
	size_t sz;
	unwind_open_fn open_file; /* NULL: open(path) checked against dev and inode */
	void *arg;
	size_t max_frames;        /* 0 (or more): UNWIND_MAX_FRAMES */
	struct symbolizer *symbolizer; /* keeps files' symbols between calls; NULL: one for this call */
};

struct unwind_frame {
	uint64_t addr;
	const char *module;       /* the file's path, NULL when in no known mapping */
	char build_id[UNWIND_BUILD_ID_MAX]; /* "" unknown */
	int have_module_offset;
	uint64_t module_offset;   /* the address in the file's own terms (ELF vaddr) */
	char *function;           /* NULL unknown */
	uint64_t function_offset;
	char *file;               /* NULL unknown */
	int line;                 /* 0 unknown */
};

struct unwind_result {
	struct unwind_frame *frames;
	size_t nframes;
	char exe_build_id[UNWIND_BUILD_ID_MAX]; /* "" unknown */
	char signature[UNWIND_SIGNATURE_LEN];   /* "" when no frame names the site */
	char why[512]; /* why the backtrace ends where it does, or is partial; "" complete */
};

/*
 * Unwinds @in into @out (frames innermost first). 0 with whatever frames
 * could be found (maybe none: see out->why), -ENOMEM.
 */
int unwind_run(const struct unwind_input *in, const struct unwind_opts *o,
	       struct unwind_result *out);
void unwind_result_free(struct unwind_result *r); /* accepts a zeroed one */

/*
 * The crash site's signature: the module base names and function names of
 * the innermost few frames that have a name, hashed (SHA-256, the first 16
 * hex digits). Addresses stay out, so it holds across runs, ASLR and hosts.
 * Without any named frame: the module and offset of the innermost frame
 * that has a module; "" when there is none.
 */
void unwind_signature(const struct unwind_frame *f, size_t n, char sig[UNWIND_SIGNATURE_LEN]);

#endif
