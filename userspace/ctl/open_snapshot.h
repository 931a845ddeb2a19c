/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_CTL_OPEN_SNAPSHOT_H
#define FG_CTL_OPEN_SNAPSHOT_H

struct fg_snapshot;

/* Opens a .fgsnap file, or explains on stderr in one line why not and returns NULL. */
struct fg_snapshot *ctl_open_snapshot(const char *path);
/* Prints @s's entries as `dump` does (cmd_dump.c): text, or with @json one JSON object. */
int ctl_dump_snapshot(const struct fg_snapshot *s, int json);

#endif
