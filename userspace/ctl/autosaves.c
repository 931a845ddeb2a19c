// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/autosaves.h"

#define SIDECAR_MAX (1u << 20)

static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -EINVAL : 0;
}

static void read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* /proc/PID/stat field 22, or 0 when there is no such process. */
static unsigned long long start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	read_small(path, buf, sizeof(buf));
	p = strrchr(buf, ')'); /* the comm may hold spaces and parentheses */
	if (!p)
		return 0;
	p += 2;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

static json_object *read_sidecar(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	json_object *o = NULL;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= SIDECAR_MAX) {
		buf = malloc((size_t)st.st_size + 1);
		n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
		if (n > 0) {
			buf[n] = '\0';
			o = json_tokener_parse(buf);
		}
		free(buf);
	}
	close(fd);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static char **argv_of(json_object *o)
{
	json_object *arr, *s;
	size_t i, n;
	char **argv;

	if (!json_object_object_get_ex(o, "rescue_argv", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	n = json_object_array_length(arr);
	if (!n || n > 256)
		return NULL;
	argv = calloc(n + 1, sizeof(*argv));
	for (i = 0; argv && i < n; i++) {
		s = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(s, json_type_string) ||
		    !(argv[i] = strdup(json_object_get_string(s)))) {
			for (; i > 0; i--)
				free(argv[i - 1]);
			free(argv);
			return NULL;
		}
	}
	return argv;
}

/* 1 when the process the sidecar describes still runs (same boot, same start time). */
static int still_running(json_object *side, pid_t pid, const char *boot_id)
{
	const char *boot = get_str(side, "boot_id");
	int64_t start = get_int(side, "start_ticks");

	if (!boot || strcmp(boot, boot_id))
		return 0;
	return start > 0 && start_ticks(pid) == (unsigned long long)start;
}

struct found {
	struct autosave_entry *v;
	size_t n, cap;
	const char *state_dir;
	const char *app;
	char boot_id[64];
};

static int add_entry(struct found *f, int afd, uid_t uid, const char *app, const char *file,
		     pid_t pid, const struct stat *snap_st, const struct stat *app_st)
{
	struct autosave_entry *e;
	json_object *side;
	char side_name[32];

	snprintf(side_name, sizeof(side_name), "%d.json", (int)pid);
	side = read_sidecar(afd, side_name);
	if (side && still_running(side, pid, f->boot_id)) {
		json_object_put(side);
		return 0;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct autosave_entry *v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			json_object_put(side);
			return -ENOMEM;
		}
		f->v = v;
		f->cap = cap;
	}
	e = &f->v[f->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%.2048s/autosave/%u/%s/%s", f->state_dir,
		 (unsigned int)uid, app, file);
	snprintf(e->app, sizeof(e->app), "%s", app);
	e->pid = pid;
	e->uid = uid;
	e->gid = app_st->st_gid;
	e->saved_ms = (int64_t)snap_st->st_mtim.tv_sec * 1000 + snap_st->st_mtim.tv_nsec / 1000000;
	if (!side) {
		e->problem = "its sidecar (the rescue command) is missing or unreadable";
	} else {
		const char *sapp = get_str(side, "app");

		if (!sapp || strcmp(sapp, app) || get_int(side, "pid") != pid ||
		    get_int(side, "uid") != (int64_t)uid)
			e->problem = "its sidecar does not match the autosave's place";
		else
			e->argv = argv_of(side);
	}
	json_object_put(side);
	return 0;
}

static int scan_app(struct found *f, int afd, uid_t uid, const char *app)
{
	struct stat app_st, st;
	unsigned long long pid;
	struct dirent *d;
	char num[32];
	DIR *dir;
	int err = 0;

	if (fstat(afd, &app_st) < 0 || !(dir = fdopendir(afd))) {
		close(afd);
		return 0;
	}
	while (!err && (d = readdir(dir))) {
		size_t len = strlen(d->d_name);

		if (d->d_name[0] == '.' || len < 8 || len >= sizeof(num) ||
		    strcmp(d->d_name + len - 7, ".fgsnap"))
			continue;
		snprintf(num, sizeof(num), "%.*s", (int)(len - 7), d->d_name);
		if (parse_uint(num, 1u << 30, &pid) || !pid)
			continue;
		if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		err = add_entry(f, dirfd(dir), uid, app, d->d_name, (pid_t)pid, &st, &app_st);
	}
	closedir(dir);
	return err;
}

static int scan_uid(struct found *f, int ufd, uid_t uid)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int err = 0, afd;

	/* The collector made <uid>/ the user's own: anything else is not an autosave of uid. */
	if (fstat(ufd, &st) < 0 || st.st_uid != uid || !(dir = fdopendir(ufd))) {
		close(ufd);
		return 0;
	}
	while (!err && (d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) > 64 ||
		    (f->app && strcmp(d->d_name, f->app)))
			continue;
		afd = open_dir_at(dirfd(dir), d->d_name);
		if (afd >= 0)
			err = scan_app(f, afd, uid, d->d_name);
	}
	closedir(dir);
	return err;
}

int autosaves_find(const char *state_dir, const char *app, struct autosave_entry **out,
		   size_t *n, const char **why)
{
	struct found f = { .state_dir = state_dir, .app = app };
	unsigned long long uid;
	char path[4096 + 16];
	struct dirent *d;
	DIR *dir;
	int tfd, ufd, err = 0;

	read_small("/proc/sys/kernel/random/boot_id", f.boot_id, sizeof(f.boot_id));
	snprintf(path, sizeof(path), "%s/autosave", state_dir);
	tfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0 && errno == ENOENT) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (tfd < 0 || !(dir = fdopendir(tfd))) {
		err = -errno;
		if (tfd >= 0)
			close(tfd);
		*why = "cannot open STATE_DIR/autosave";
		return err;
	}
	while (!err && (d = readdir(dir))) {
		if (parse_uint(d->d_name, (uid_t)-2, &uid))
			continue;
		/* Root recovers everyone's; a user only their own. */
		if (geteuid() != 0 && uid != geteuid())
			continue;
		ufd = open_dir_at(dirfd(dir), d->d_name);
		if (ufd >= 0)
			err = scan_uid(&f, ufd, (uid_t)uid);
	}
	closedir(dir);
	if (err) {
		autosaves_free(f.v, f.n);
		*why = "out of memory";
		return err;
	}
	*out = f.v;
	*n = f.n;
	return 0;
}

void autosaves_free(struct autosave_entry *v, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; v[i].argv && v[i].argv[k]; k++)
			free(v[i].argv[k]);
		free(v[i].argv);
	}
	free(v);
}

int autosave_remove(const struct autosave_entry *e)
{
	char dir[4096], side[32], *slash;
	int afd, err = 0;

	snprintf(dir, sizeof(dir), "%s", e->path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	afd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0)
		return -errno;
	if (unlinkat(afd, slash + 1, 0) < 0)
		err = -errno;
	snprintf(side, sizeof(side), "%d.json", (int)e->pid);
	unlinkat(afd, side, 0);
	close(afd);
	return err;
}
