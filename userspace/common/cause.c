// SPDX-License-Identifier: LGPL-2.1-or-later
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "common/cause.h"

/* The kernel's signal numbers (_NSIG - 1 on every Linux architecture). */
#define SIG_LAST 64

const char *cause_name(int sig, int exit_code, int oom)
{
	switch (sig) {
	case 0:
		return exit_code ? "exit_error" : NULL;
	case SIGSEGV:
		return "segfault";
	case SIGBUS:
		return "bus_error";
	case SIGABRT:
		return "abort";
	case SIGILL:
		return "illegal_instruction";
	case SIGFPE:
		return "fp_exception";
	case SIGTRAP:
		return "trap";
	case SIGKILL:
		return oom ? "oom_killed" : "killed";
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
	case SIGQUIT:
		return "terminated";
	default:
		return "signal";
	}
}

const char *cause_of_wstatus(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return cause_name(WTERMSIG(wstatus), 0, 0);
	return cause_name(0, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 0, 0);
}

/* Names by number, so the table is right on every architecture. */
static const char *const classic[] = {
	[SIGHUP] = "SIGHUP",	   [SIGINT] = "SIGINT",	    [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",	   [SIGTRAP] = "SIGTRAP",   [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",	   [SIGFPE] = "SIGFPE",	    [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",	   [SIGSEGV] = "SIGSEGV",   [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",	   [SIGALRM] = "SIGALRM",   [SIGTERM] = "SIGTERM",
#ifdef SIGSTKFLT /* not on every architecture */
	[SIGSTKFLT] = "SIGSTKFLT",
#endif
	[SIGCHLD] = "SIGCHLD",	   [SIGCONT] = "SIGCONT",   [SIGSTOP] = "SIGSTOP",
	[SIGTSTP] = "SIGTSTP",	   [SIGTTIN] = "SIGTTIN",   [SIGTTOU] = "SIGTTOU",
	[SIGURG] = "SIGURG",	   [SIGXCPU] = "SIGXCPU",   [SIGXFSZ] = "SIGXFSZ",
	[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",   [SIGWINCH] = "SIGWINCH",
	[SIGIO] = "SIGIO",	   [SIGPWR] = "SIGPWR",	    [SIGSYS] = "SIGSYS",
};

/*
 * Real-time signals: glibc keeps the first kernel ones for itself and
 * starts SIGRTMIN after them. A fixed table (SIGRTMIN is a function call)
 * keeps the returned strings static.
 */
static const char *const realtime[] = {
	"SIGRTMIN",    "SIGRTMIN+1",  "SIGRTMIN+2",  "SIGRTMIN+3",  "SIGRTMIN+4",  "SIGRTMIN+5",
	"SIGRTMIN+6",  "SIGRTMIN+7",  "SIGRTMIN+8",  "SIGRTMIN+9",  "SIGRTMIN+10", "SIGRTMIN+11",
	"SIGRTMIN+12", "SIGRTMIN+13", "SIGRTMIN+14", "SIGRTMIN+15", "SIGRTMIN+16", "SIGRTMIN+17",
	"SIGRTMIN+18", "SIGRTMIN+19", "SIGRTMIN+20", "SIGRTMIN+21", "SIGRTMIN+22", "SIGRTMIN+23",
	"SIGRTMIN+24", "SIGRTMIN+25", "SIGRTMIN+26", "SIGRTMIN+27", "SIGRTMIN+28", "SIGRTMIN+29",
	"SIGRTMIN+30", "SIGRTMIN+31", "SIGRTMIN+32",
};

/* The kernel signals below glibc's SIGRTMIN that are not classic ones. */
static const char *const reserved[] = { "SIG32", "SIG33", "SIG34", "SIG35" };

const char *signal_name(int sig)
{
	int rtmin = SIGRTMIN;

	if (sig <= 0 || sig > SIG_LAST)
		return NULL;
	if ((size_t)sig < sizeof(classic) / sizeof(classic[0]) && classic[sig])
		return classic[sig];
	if (sig >= rtmin && (size_t)(sig - rtmin) < sizeof(realtime) / sizeof(realtime[0]))
		return realtime[sig - rtmin];
	if (sig >= 32 && (size_t)(sig - 32) < sizeof(reserved) / sizeof(reserved[0]))
		return reserved[sig - 32];
	return NULL;
}
