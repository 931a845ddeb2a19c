// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The config file: `key = value` lines, `#` comments, blank lines ignored.
 * Unknown keys and bad values are errors reported with their line number;
 * the caller decides whether to stop (start-up) or keep the old settings.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "collector/config.h"

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
	c->max_conns_per_uid = 4096;
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

/* A size with an optional K/M/G suffix (powers of 1024). */
static int parse_size(const char *v, unsigned long long *out)
{
	unsigned long long n, mul = 1;
	char buf[64], *end;
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	switch (buf[len - 1]) {
	case 'K': case 'k': mul = 1ull << 10; buf[len - 1] = '\0'; break;
	case 'M': case 'm': mul = 1ull << 20; buf[len - 1] = '\0'; break;
	case 'G': case 'g': mul = 1ull << 30; buf[len - 1] = '\0'; break;
	}
	errno = 0;
	if (buf[0] == '-' || !buf[0])
		return -EINVAL;
	n = strtoull(buf, &end, 10);
	if (errno || *end || n > ULLONG_MAX / mul)
		return -EINVAL;
	*out = n * mul;
	return 0;
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
	} else if (!strcmp(key, "max_registrations_per_uid")) {
		if (parse_uint(v, 1u << 20, &n) || n == 0)
			return "must be a number from 1 to 1048576";
		c->max_regs_per_uid = (unsigned int)n;
	} else if (!strcmp(key, "max_connections_per_uid")) {
		if (parse_uint(v, 1u << 20, &n) || n == 0)
			return "must be a number from 1 to 1048576";
		c->max_conns_per_uid = (unsigned int)n;
	} else {
		return "is not a known setting";
	}
	return NULL;
}

int config_load(struct config *c, const char *path, FILE *err)
{
	char line[8192];
	int lineno = 0, errors = 0;
	FILE *f = fopen(path, "re");

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
		eq = strchr(s, '=');
		if (!eq) {
			fprintf(err, "%s:%d: expected `key = value`\n", path, lineno);
			errors++;
			continue;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		why = apply(c, key, val);
		if (why) {
			fprintf(err, "%s:%d: %s %s\n", path, lineno, key, why);
			errors++;
		}
	}
	fclose(f);
	return errors;
}
