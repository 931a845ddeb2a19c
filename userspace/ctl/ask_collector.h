/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_CTL_ASK_COLLECTOR_H
#define FG_CTL_ASK_COLLECTOR_H

/* The socket to use: @flag, else $FAULTGUARD_SOCKET, else the default. */
const char *ctl_socket_path(const char *flag);

/*
 * Sends query @what to the collector at @socket_path and calls @fn with each
 * line of the answer. Returns 0, or explains on stderr and returns 1.
 */
int ctl_ask_collector(const char *socket_path, const char *what,
		      int (*fn)(const char *text, void *arg), void *arg);

/* The same for answers made of lines (JSON objects): @fn gets one line at a time. */
int ctl_ask_collector_lines(const char *socket_path, const char *what,
			    int (*fn)(const char *line, void *arg), void *arg);

#endif
