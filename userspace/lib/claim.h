/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fg_claim_previous (claim.c), with the standalone state directory chosen by the caller. */
#ifndef FG_LIB_CLAIM_H
#define FG_LIB_CLAIM_H

struct fg_opts;
struct fg_snapshot;

/*
 * fg_claim_previous, but with no collector the standalone state directory
 * @state_dir (NULL: the default, SPEC §6). Its id in @id (may be NULL,
 * 256 bytes), and in *@from_collector whether the collector answered.
 */
struct fg_snapshot *claim_previous(const struct fg_opts *opts, const char *state_dir, char *id,
				   int *from_collector);

#endif
