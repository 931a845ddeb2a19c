// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditlog/audit.h"
#include "common/text.h"
#include "common/timefmt.h"

#define AUDIT_STR_MAX 4096

struct audit {
	int fd;
	int owned;
	audit_observer_fn observer;
	void *observer_arg;
};

/* The fd for @path ("-" is stdout, not ours to close); sets *owned. */
static int open_log(const char *path, int *owned)
{
	int fd;

	if (!strcmp(path, "-")) {
		*owned = 0;
		return STDOUT_FILENO;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	*owned = 1;
	return fd;
}

int audit_open(struct audit **out, const char *path)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->fd = open_log(path, &a->owned);
	if (a->fd < 0) {
		int err = a->fd;

		free(a);
		return err;
	}
	*out = a;
	return 0;
}

int audit_reopen(struct audit *a, const char *path)
{
	int owned = 0, fd = open_log(path, &owned);

	if (fd < 0)
		return fd;
	if (a->owned)
		close(a->fd);
	a->fd = fd;
	a->owned = owned;
	return 0;
}

void audit_set_observer(struct audit *a, audit_observer_fn fn, void *arg)
{
	a->observer = fn;
	a->observer_arg = arg;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	if (a->owned)
		close(a->fd);
	free(a);
}

json_object *audit_record(const char *event)
{
	json_object *rec = json_object_new_object();
	char ts[TIME_RFC3339_LEN];

	time_rfc3339_ms(time_now_ms(), ts);
	json_object_object_add(rec, "ts", json_object_new_string(ts));
	json_object_object_add(rec, "event", json_object_new_string(event));
	return rec;
}

int audit_emit(struct audit *a, json_object *rec)
{
	const char *s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(s);
	char *line = malloc(len + 1);
	int err = 0;
	ssize_t w;

	if (!line) {
		json_object_put(rec);
		return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len] = '\n';
	/* One write of the whole line: O_APPEND keeps concurrent lines whole. */
	do
		w = write(a->fd, line, len + 1);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		err = -errno;
	else if ((size_t)w != len + 1)
		err = -EIO;
	if (a->observer)
		a->observer(rec, line, len, a->observer_arg);
	free(line);
	json_object_put(rec);
	return err;
}

json_object *audit_strn(const char *s, size_t len)
{
	char *clean;
	json_object *o;

	if (!s)
		return NULL;
	clean = text_utf8_sanitize(s, len, AUDIT_STR_MAX);
	if (!clean)
		return NULL;
	o = json_object_new_string(clean);
	free(clean);
	return o;
}

json_object *audit_str(const char *s)
{
	return s ? audit_strn(s, strnlen(s, AUDIT_STR_MAX)) : NULL;
}

json_object *audit_argv(char *const *argv)
{
	json_object *arr;
	size_t i;

	if (!argv)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; argv[i]; i++)
		json_object_array_add(arr, audit_str(argv[i]));
	return arr;
}
