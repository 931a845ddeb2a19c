/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_LIB_OPTS_H
#define FG_LIB_OPTS_H

struct fg_opts;

/*
 * 1 when @opts is acceptable to fg_open: sz, an app name of 1-64 chars of
 * [A-Za-z0-9._-], known flags, a capacity in range, a rescue argv that the
 * protocol can carry.
 */
int opts_valid(const struct fg_opts *opts);

#endif
