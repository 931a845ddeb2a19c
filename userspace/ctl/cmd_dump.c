// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl dump [SNAPSHOT] [--json]: the snapshot's entries. SNAPSHOT
 * defaults to $FAULTGUARD_SNAPSHOT, so a rescue command can be
 * ["faultguardctl", "dump", "--json"] without a shell.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/timefmt.h"
#include "ctl/ctl.h"
#include "ctl/open_snapshot.h"
#include "faultguard.h"

static json_object *entry_json(const char *key, const void *val, size_t len)
{
	json_object *e = json_object_new_object();
	int utf8 = text_is_utf8(val, len);

	json_object_object_add(e, "key", json_object_new_string(key));
	json_object_object_add(e, "bytes", json_object_new_int64((int64_t)len));
	json_object_object_add(e, "encoding", json_object_new_string(utf8 ? "utf8" : "base64"));
	if (utf8) {
		json_object_object_add(e, "value", json_object_new_string_len(val, (int)len));
	} else {
		char *b = text_base64(val, len);

		json_object_object_add(e, "value", b ? json_object_new_string(b) : NULL);
		free(b);
	}
	return e;
}

static int dump_json(const struct fg_snapshot *s)
{
	json_object *root = json_object_new_object(), *entries = json_object_new_array();
	char when[TIME_RFC3339_LEN];
	const char *app, *key;
	unsigned int uid;
	long long ms;
	const void *val;
	size_t i, len;
	int pid;

	fg_snapshot_meta(s, &app, &pid, &uid, &ms);
	time_rfc3339_ms(ms, when);
	json_object_object_add(root, "app", json_object_new_string(app));
	json_object_object_add(root, "pid", json_object_new_int(pid));
	json_object_object_add(root, "uid", json_object_new_int64(uid));
	json_object_object_add(root, "time", json_object_new_string(when));
	for (i = 0; fg_snapshot_entry(s, i, &key, &val, &len) == 0; i++)
		json_object_array_add(entries, entry_json(key, val, len));
	json_object_object_add(root, "entries", entries);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}

/* One line per entry: key, length, and the value (printable, else base64). */
static int dump_text(const struct fg_snapshot *s)
{
	char when[TIME_RFC3339_LEN];
	const char *app, *key;
	unsigned int uid;
	long long ms;
	const void *val;
	size_t i, len;
	int pid;

	fg_snapshot_meta(s, &app, &pid, &uid, &ms);
	time_rfc3339_ms(ms, when);
	printf("# app %s, pid %d, uid %u, %s, %zu entries\n", app, pid, uid, when,
	       fg_snapshot_count(s));
	for (i = 0; fg_snapshot_entry(s, i, &key, &val, &len) == 0; i++) {
		int printable = text_is_utf8(val, len) && !memchr(val, '\n', len);

		if (printable) {
			printf("%s\t%zu\t%.*s\n", key, len, (int)len, (const char *)val);
		} else {
			char *b = text_base64(val, len);

			printf("%s\t%zu\tbase64:%s\n", key, len, b ? b : "");
			free(b);
		}
	}
	return 0;
}

int ctl_dump_snapshot(const struct fg_snapshot *s, int json)
{
	return json ? dump_json(s) : dump_text(s);
}

static int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = getenv("FAULTGUARD_SNAPSHOT");
	struct fg_snapshot *s;
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'h')
			return ctl_help("dump");
		else
			return ctl_bad_option("dump");
	}
	if (optind + 1 < argc)
		return ctl_usage("dump", "expects one SNAPSHOT file");
	if (optind < argc)
		path = argv[optind];
	else if (!path || !*path)
		return ctl_usage("dump", "expects a SNAPSHOT file ($FAULTGUARD_SNAPSHOT is not set)");
	s = ctl_open_snapshot(path);
	if (!s)
		return EXIT_FAILURE_EXPLAINED;
	rc = json ? dump_json(s) : dump_text(s);
	fg_snapshot_close(s);
	return rc;
}

CTL_COMMAND("dump", cmd_dump, "[SNAPSHOT] [--json]",
	    "print a snapshot's entries (SNAPSHOT defaults to $FAULTGUARD_SNAPSHOT)");
