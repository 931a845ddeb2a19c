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
#define CONFIG_DEFAULT_SYSLOG_SOCKET "/dev/log"

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
	uint64_t max_bytes_per_uid; /* sum of one uid's registered dictionary sizes */
	unsigned int max_conns_per_uid;
	/* Crash loops: at most this many rescues per app and uid per interval (0 = no limit). */
	unsigned int rate_limit_burst;
	unsigned int rate_limit_interval_s;
	/* Retention of snapshots; each 0 = no such limit. */
	uint64_t retention_max_bytes;
	unsigned int retention_min_free_pct;
	uint64_t retention_max_age_s;
	/* Snapshots the disk refused, held in memory until it takes them: at most this much. */
	uint64_t spill_max_bytes;
	unsigned int autosave_interval_s; /* 0 = no autosave */
	int syslog;                       /* copy every audit record to syslog_socket */
	char syslog_socket[108];
	int syslog_facility;              /* LOG_DAEMON, LOG_LOCAL0, ... (already shifted) */
	char metrics_textfile[4096];      /* "" = none */
	unsigned int metrics_interval_s;
	unsigned int verbose;
};

/* What the command line said; NULL / -1 = not given, so the file decides. */
struct config_flags {
	const char *socket, *state_dir, *audit_log, *config;
	long rescue_timeout;
	int verbose;
};

void config_defaults(struct config *c);
/*
 * Reads a `key = value` file into @c. Every error is printed to @err with
 * the file name and line number; returns the number of errors (0 = valid),
 * or -errno when the file cannot be read.
 */
int config_load(struct config *c, const char *path, FILE *err);

/*
 * Defaults, then the config file (@f->config or the default path; the
 * default may be absent), then the flags. Explains every problem on @err.
 * Returns 0, 1 when the file is unreadable or has errors, 2 for a bad flag.
 */
int config_build(struct config *c, const struct config_flags *f, FILE *err);

#endif
