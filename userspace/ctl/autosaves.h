/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector's autosaves, STATE_DIR/autosave/<uid>/<app>/<pid>.fgsnap,
 * each with its sidecar <pid>.json (who registered, the rescue argv, and
 * the boot id and start time that tell whether that process still runs).
 * The sidecar sits in a directory its user owns, so it is read as
 * untrusted: the uid comes from the directory, not from the file.
 */
#ifndef FG_CTL_AUTOSAVES_H
#define FG_CTL_AUTOSAVES_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

struct autosave_entry {
	char path[4096];     /* absolute path of the .fgsnap */
	char app[65];
	pid_t pid;
	uid_t uid;           /* the owner of STATE_DIR/autosave/<uid>/ */
	gid_t gid;           /* the group of the app directory (one the user may use) */
	int64_t saved_ms;    /* the autosave's modification time */
	char **argv;         /* the rescue command; NULL for none */
	const char *problem; /* why it cannot be run (a sentence), or NULL */
};

/*
 * The autosaves under @state_dir whose process is gone, of every user when
 * we are root, else only ours; @app (may be NULL) narrows them. *out is a
 * malloc'd array freed with autosaves_free(). Returns 0 or -errno (with a
 * sentence in *why).
 */
int autosaves_find(const char *state_dir, const char *app, struct autosave_entry **out,
		   size_t *n, const char **why);
void autosaves_free(struct autosave_entry *v, size_t n);

/* Deletes an autosave and its sidecar (after a rescue that succeeded). */
int autosave_remove(const struct autosave_entry *e);

#endif
