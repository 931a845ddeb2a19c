/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The collector's settings: defaults, the config file, then command-line flags. */
#ifndef FG_COLLECTOR_CONFIG_H
#define FG_COLLECTOR_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_PATH "/etc/faultguard/faultguardd.conf"
#define CONFIG_DEFAULT_SOCKET "/run/faultguard/faultguard.sock"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/faultguard"

struct config {
	char socket_path[108];
	char state_dir[4096];
	char audit_log[4096]; /* "" = STATE_DIR/audit.jsonl, "-" = stdout */
	char config_path[4096];
	int config_explicit;  /* --config given: a missing file is an error */
	gid_t socket_group;   /* (gid_t)-1: root's group */
	unsigned int socket_mode;
	unsigned int rescue_timeout_s;
	unsigned int rescue_concurrency;
	uint64_t max_dict_bytes;
	unsigned int max_regs_per_uid;
	unsigned int max_conns_per_uid;
	unsigned int verbose;
};

void config_defaults(struct config *c);
/*
 * Reads a `key = value` file into @c. Every error is printed to @err with
 * the file name and line number; returns the number of errors (0 = valid),
 * or -errno when the file cannot be read.
 */
int config_load(struct config *c, const char *path, FILE *err);

#endif
