// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The config file: `key = value` lines, `#` comments (on a line of their
 * own or after a space or tab), blank lines ignored. Unknown keys and bad
 * values are errors reported with their line number; the caller decides
 * whether to stop (start-up) or keep the old settings.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "collector/config.h"

#define MAX_KEYS 64

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->socket_path, CONFIG_DEFAULT_SOCKET);
	strcpy(c->state_dir, CONFIG_DEFAULT_STATE_DIR);
	strcpy(c->config_path, CONFIG_DEFAULT_PATH);
	c->socket_group = (gid_t)-1;
	c->socket_mode = 0666;
	c->rescue_timeout_s = 60;
	c->rescue_concurrency = 16;
	c->max_dict_bytes = 4ull << 30;
	c->max_regs_per_uid = 4096;
	c->max_bytes_per_uid = 1ull << 40;
	c->max_conns_per_uid = 4096;
	c->rate_limit_burst = 5;
	c->rate_limit_interval_s = 10 * 60;
	c->retention_max_bytes = 1ull << 30;
	c->spill_max_bytes = 256ull << 20;
	c->retention_min_free_pct = 10;
	c->retention_max_age_s = 14 * 86400;
	strcpy(c->syslog_socket, CONFIG_DEFAULT_SYSLOG_SOCKET);
	c->syslog_facility = LOG_DAEMON;
	c->metrics_interval_s = 15;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * An inline comment starts at a `#` after a space or tab, so that
 * `rate_limit_burst = 3  # three` means 3, while a `#` inside a value
 * (`socket = /run/fg#1.sock`) stays part of it.
 */
static void strip_comment(char *s)
{
	char *p;

	for (p = s + 1; *p; p++)
		if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (*v == '-' || !*v)
		return -EINVAL;
	*out = strtoull(v, &end, 0);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

struct unit {
	char suffix;
	unsigned long long mul;
};

/* A number with an optional one-letter unit from @units (a 0 suffix ends the list). */
static int parse_scaled(const char *v, const struct unit *units, unsigned long long max,
			unsigned long long *out)
{
	unsigned long long n, mul = 1;
	char buf[64], *end;
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	for (; units->suffix; units++)
		if (buf[len - 1] == units->suffix) {
			mul = units->mul;
			buf[len - 1] = '\0';
			break;
		}
	errno = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	n = strtoull(buf, &end, 10);
	if (errno || *end || n > max / mul)
		return -EINVAL;
	*out = n * mul;
	return 0;
}

/* A size with an optional K/M/G/T suffix (powers of 1024). */
static int parse_size(const char *v, unsigned long long *out)
{
	static const struct unit units[] = {
		{ 'K', 1ull << 10 }, { 'k', 1ull << 10 }, { 'M', 1ull << 20 }, { 'm', 1ull << 20 },
		{ 'G', 1ull << 30 }, { 'g', 1ull << 30 }, { 'T', 1ull << 40 }, { 't', 1ull << 40 },
		{ 0, 0 },
	};

	return parse_scaled(v, units, ULLONG_MAX, out);
}

/* A duration in seconds with an optional s/m/h/d suffix: 90, 90s, 10m, 2h, 14d. */
static int parse_duration(const char *v, unsigned long long max, unsigned long long *out)
{
	static const struct unit units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 0, 0 },
	};

	return parse_scaled(v, units, max, out);
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
			*out = !strcasecmp(v, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_facility(const char *v, int *out)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{ "daemon", LOG_DAEMON }, { "user", LOG_USER },	    { "auth", LOG_AUTH },
		{ "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i].name)) {
			*out = names[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_string(char *dst, size_t cap, const char *v, int absolute)
{
	if (!*v || strlen(v) >= cap || (absolute && v[0] != '/'))
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

/* Applies one setting; returns 0 or a sentence saying what is wrong. */
static const char *apply(struct config *c, const char *key, const char *v)
{
	unsigned long long n;

	if (!strcmp(key, "socket")) {
		return set_string(c->socket_path, sizeof(c->socket_path), v, 1)
			       ? "must be an absolute path shorter than 108 bytes" : NULL;
	} else if (!strcmp(key, "state_dir")) {
		return set_string(c->state_dir, sizeof(c->state_dir), v, 1)
			       ? "must be an absolute path" : NULL;
	} else if (!strcmp(key, "audit_log")) {
		if (!strcmp(v, "-")) {
			strcpy(c->audit_log, "-");
			return NULL;
		}
		return set_string(c->audit_log, sizeof(c->audit_log), v, 1)
			       ? "must be an absolute path or -" : NULL;
	} else if (!strcmp(key, "socket_group")) {
		struct group *g = getgrnam(v);

		if (g) {
			c->socket_group = g->gr_gid;
			return NULL;
		}
		if (parse_uint(v, UINT_MAX - 1, &n))
			return "names no group on this host";
		c->socket_group = (gid_t)n;
	} else if (!strcmp(key, "socket_mode")) {
		if (*v != '0' || parse_uint(v, 0777, &n))
			return "must be an octal mode such as 0660";
		c->socket_mode = (unsigned int)n;
	} else if (!strcmp(key, "rescue_timeout")) {
		if (parse_uint(v, 86400, &n) || n == 0)
			return "must be a number of seconds from 1 to 86400";
		c->rescue_timeout_s = (unsigned int)n;
	} else if (!strcmp(key, "rescue_concurrency")) {
		if (parse_uint(v, 1024, &n) || n == 0)
			return "must be a number from 1 to 1024";
		c->rescue_concurrency = (unsigned int)n;
	} else if (!strcmp(key, "max_dict_bytes")) {
		if (parse_size(v, &n) || n < (64u << 10) || n > (4ull << 30))
			return "must be a size from 64K to 4G";
		c->max_dict_bytes = n;
	} else if (!strcmp(key, "max_dict_bytes_per_uid")) {
		if (parse_size(v, &n) || n < (64u << 10) || n > (1ull << 50))
			return "must be a size from 64K to 1048576G";
		c->max_bytes_per_uid = n;
	} else if (!strcmp(key, "max_registrations_per_uid")) {
		if (parse_uint(v, 1u << 20, &n) || n == 0)
			return "must be a number from 1 to 1048576";
		c->max_regs_per_uid = (unsigned int)n;
	} else if (!strcmp(key, "max_connections_per_uid")) {
		if (parse_uint(v, 1u << 20, &n) || n == 0)
			return "must be a number from 1 to 1048576";
		c->max_conns_per_uid = (unsigned int)n;
	} else if (!strcmp(key, "rate_limit_burst")) {
		if (parse_uint(v, 1u << 20, &n))
			return "must be a number of rescues from 0 (no limit) to 1048576";
		c->rate_limit_burst = (unsigned int)n;
	} else if (!strcmp(key, "rate_limit_interval")) {
		if (parse_duration(v, 7 * 86400, &n) || n == 0)
			return "must be a duration from 1s to 7d, such as 600, 10m or 1h";
		c->rate_limit_interval_s = (unsigned int)n;
	} else if (!strcmp(key, "spill_max_bytes")) {
		if (parse_size(v, &n))
			return "must be a size such as 256M or 2G (0 = hold nothing the disk refused)";
		c->spill_max_bytes = n;
	} else if (!strcmp(key, "retention_max_bytes")) {
		if (parse_size(v, &n))
			return "must be a size such as 1G or 500M (0 = no limit)";
		c->retention_max_bytes = n;
	} else if (!strcmp(key, "retention_min_free")) {
		char buf[16];
		size_t len = strlen(v);

		if (len == 0 || len >= sizeof(buf))
			return "must be a percentage from 0 to 99, such as 10%";
		strcpy(buf, v);
		if (buf[len - 1] == '%')
			buf[len - 1] = '\0';
		if (parse_uint(buf, 99, &n))
			return "must be a percentage from 0 to 99, such as 10%";
		c->retention_min_free_pct = (unsigned int)n;
	} else if (!strcmp(key, "retention_max_age")) {
		if (parse_duration(v, 100ull * 365 * 86400, &n))
			return "must be a duration such as 14d or 12h (0 = keep forever)";
		c->retention_max_age_s = n;
	} else if (!strcmp(key, "autosave_interval")) {
		if (parse_duration(v, 86400, &n))
			return "must be a duration from 1s to 1d, such as 30s (0 = no autosave)";
		c->autosave_interval_s = (unsigned int)n;
	} else if (!strcmp(key, "syslog")) {
		if (parse_bool(v, &c->syslog))
			return "must be yes or no";
	} else if (!strcmp(key, "syslog_socket")) {
		return set_string(c->syslog_socket, sizeof(c->syslog_socket), v, 1)
			       ? "must be an absolute path shorter than 108 bytes" : NULL;
	} else if (!strcmp(key, "syslog_facility")) {
		if (parse_facility(v, &c->syslog_facility))
			return "must be daemon, user, auth, authpriv or local0 to local7";
	} else if (!strcmp(key, "metrics_textfile")) {
		size_t len = strlen(v);

		/* node_exporter's textfile collector reads only *.prom files. */
		/* Room for the temporary name beside it (atomic_file: 22 bytes more). */
		if (set_string(c->metrics_textfile, sizeof(c->metrics_textfile) - 32, v, 1) ||
		    len < 6 || strcmp(v + len - 5, ".prom"))
			return "must be an absolute path ending in .prom, shorter than 4064 bytes";
	} else if (!strcmp(key, "metrics_interval")) {
		if (parse_duration(v, 86400, &n) || n == 0)
			return "must be a duration from 1s to 1d, such as 15s";
		c->metrics_interval_s = (unsigned int)n;
	} else {
		return "is not a known setting";
	}
	return NULL;
}

struct seen {
	char key[64];
	int line;
};

/* A setting given twice is an error: one of the two lines is not what the operator thinks. */
static int seen_before(struct seen *seen, int *nseen, const char *key, int lineno)
{
	int i;

	for (i = 0; i < *nseen; i++)
		if (!strcmp(seen[i].key, key))
			return seen[i].line;
	if (*nseen < MAX_KEYS && strlen(key) < sizeof(seen[0].key)) {
		strcpy(seen[*nseen].key, key);
		seen[(*nseen)++].line = lineno;
	}
	return 0;
}

/*
 * A directory would read as an empty file (the defaults, silently): -EISDIR.
 * Opened without blocking, so a FIFO nobody writes to cannot hang the start,
 * then read blocking, so a pipe (--config <(...)) is read to its end.
 */
static FILE *open_config(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), err;
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		err = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		errno = err;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = errno;
		close(fd);
		errno = err;
	}
	return f;
}

int config_load(struct config *c, const char *path, FILE *err)
{
	char line[8192];
	int lineno = 0, errors = 0, nseen = 0, first;
	struct seen seen[MAX_KEYS];
	FILE *f = open_config(path);

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val;
		const char *why;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fprintf(err, "%s:%d: the line is longer than %zu bytes\n", path, lineno,
				sizeof(line) - 1);
			errors++;
			while (fgets(line, sizeof(line), f) && !strchr(line, '\n'))
				;
			continue;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		strip_comment(s);
		s = trim(s);
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(err, "%s:%d: expected `key = value`\n", path, lineno);
			errors++;
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		first = seen_before(seen, &nseen, key, lineno);
		if (first) {
			fprintf(err, "%s:%d: %s is already set on line %d\n", path, lineno, key,
				first);
			errors++;
			continue;
		}
		why = apply(c, key, val);
		if (why) {
			fprintf(err, "%s:%d: %s %s\n", path, lineno, key, why);
			errors++;
		}
	}
	fclose(f);
	return errors;
}

/*
 * A path from the command line; a relative one is taken from the working
 * directory at start (the collector never changes it), and made absolute
 * here, so that what the rescue and the audit log get resolves anywhere.
 */
static int set_path(char *dst, size_t cap, const char *v, const char *what, FILE *err)
{
	char cwd[PATH_MAX];
	int n;

	if (!*v) {
		fprintf(err, "faultguardd: the %s path is empty\n", what);
		return 2;
	}
	if (v[0] == '/') {
		n = snprintf(dst, cap, "%s", v);
	} else if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(err, "faultguardd: the %s path %s is relative, and the working directory "
			     "cannot be found (%s): give an absolute path\n", what, v,
			strerror(errno));
		return 2;
	} else {
		while (v[0] == '.' && v[1] == '/')
			for (v += 2; *v == '/'; v++)
				;
		n = snprintf(dst, cap, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", v);
	}
	if (n < 0 || (size_t)n >= cap) {
		fprintf(err, "faultguardd: the %s path %s%s is longer than %zu bytes\n", what, v,
			v[0] == '/' ? "" : ", made absolute from the working directory,", cap - 1);
		return 2;
	}
	return 0;
}

int config_build(struct config *c, const struct config_flags *f, FILE *err)
{
	int n;

	config_defaults(c);
	if (f->config) {
		if (set_path(c->config_path, sizeof(c->config_path), f->config, "config", err))
			return 2;
		c->config_explicit = 1;
	}
	n = config_load(c, c->config_path, err);
	if (n == -ENOENT && !c->config_explicit) {
		n = 0; /* absent = defaults */
	} else if (n == -EISDIR) {
		fprintf(err, "faultguardd: %s is a directory, not a config file\n",
			c->config_path);
		return 1;
	} else if (n < 0) {
		fprintf(err, "faultguardd: cannot read %s: %s\n", c->config_path, strerror(-n));
		return 1;
	} else if (n > 0) {
		fprintf(err, "faultguardd: %s has %d error%s\n", c->config_path, n,
			n == 1 ? "" : "s");
		return 1;
	}
	if ((f->socket &&
	     set_path(c->socket_path, sizeof(c->socket_path), f->socket, "socket", err)) ||
	    (f->state_dir &&
	     set_path(c->state_dir, sizeof(c->state_dir), f->state_dir, "state directory", err)) ||
	    (f->audit_log && strcmp(f->audit_log, "-") &&
	     set_path(c->audit_log, sizeof(c->audit_log), f->audit_log, "audit log", err)))
		return 2;
	if (f->audit_log && !strcmp(f->audit_log, "-"))
		strcpy(c->audit_log, "-");
	if (f->rescue_timeout > 0)
		c->rescue_timeout_s = (unsigned int)f->rescue_timeout;
	c->verbose = (unsigned int)f->verbose;
	if (!c->audit_log[0])
		snprintf(c->audit_log, sizeof(c->audit_log), "%.4000s/audit.jsonl", c->state_dir);
	return 0;
}
