// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl list [--state-dir D | --audit-log F | --socket P] [--app NAME] [--since TIME] [--json] */
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "ctl/crash_source.h"
#include "ctl/ctl.h"

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int wanted(json_object *o, const char *app, int64_t since)
{
	int64_t ms = 0;

	if (app && strcmp(str(o, "app"), app))
		return 0;
	if (since && (time_parse(str(o, "time"), &ms) || ms < since))
		return 0;
	return 1;
}

/*
 * --by-signature: one row per signature (SPEC §8.6), in order of first
 * appearance: count, first and last time, app (all of them, if the same
 * crash site ends several), innermost named frame. Crashes without a
 * signature (exits, kills) are one row with signature null.
 */
/* Whether @item is one of the comma-separated names of @list. */
static bool in_list(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, item, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

static json_object *by_signature(json_object *crashes)
{
	json_object *rows = json_object_new_array();
	size_t i, j, n = json_object_array_length(crashes);

	for (i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(crashes, i), *row = NULL, *v;
		const char *sig = NULL, *app = str(c, "app");

		if (json_object_object_get_ex(c, "signature", &v) && v)
			sig = json_object_get_string(v);
		for (j = 0; j < json_object_array_length(rows) && !row; j++) {
			json_object *r = json_object_array_get_idx(rows, j), *rs;
			const char *s = json_object_object_get_ex(r, "signature", &rs) && rs
						? json_object_get_string(rs)
						: NULL;

			if ((!s && !sig) || (s && sig && !strcmp(s, sig)))
				row = r;
		}
		if (!row) {
			row = json_object_new_object();
			json_object_object_add(row, "signature",
					       sig ? json_object_new_string(sig) : NULL);
			json_object_object_add(row, "count", json_object_new_int64(0));
			json_object_object_add(row, "first", json_object_new_string(str(c, "time")));
			json_object_object_add(row, "last", json_object_new_string(str(c, "time")));
			json_object_object_add(row, "app", json_object_new_string(app));
			json_object_object_add(row, "frame",
					       json_object_object_get_ex(c, "frame", &v) && v
						       ? json_object_new_string(json_object_get_string(v))
						       : NULL);
			json_object_array_add(rows, row);
		}
		json_object_object_get_ex(row, "count", &v);
		json_object_set_int64(v, json_object_get_int64(v) + 1);
		/* The list is in time order: this one is the last so far. */
		json_object_object_add(row, "last", json_object_new_string(str(c, "time")));
		json_object_object_get_ex(row, "app", &v);
		if (!in_list(json_object_get_string(v), app)) {
			char apps[1024];

			snprintf(apps, sizeof(apps), "%s,%s", json_object_get_string(v), app);
			json_object_object_add(row, "app", json_object_new_string(apps));
		}
	}
	return rows;
}

static void print_signatures(json_object *rows)
{
	size_t i, n = json_object_array_length(rows);

	printf("%-16s %6s %-24s %-24s %-16s %s\n", "SIGNATURE", "COUNT", "FIRST", "LAST", "APP",
	       "FRAME");
	for (i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rows, i), *v;
		const char *sig = str(r, "signature"), *frame = str(r, "frame");

		json_object_object_get_ex(r, "count", &v);
		printf("%-16s %6lld %-24s %-24s %-16s %s\n", sig[0] ? sig : "-",
		       (long long)json_object_get_int64(v), str(r, "first"), str(r, "last"),
		       str(r, "app"), frame[0] ? frame : "-");
	}
	if (!n)
		printf("(no crashes recorded)\n");
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "app", required_argument, NULL, 'A' },
		{ "since", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "by-signature", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct crash_source src = { 0 };
	json_object *all, *shown;
	int grouped = 0;
	const char *app = NULL;
	int64_t since = 0;
	size_t i, n;
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "d:a:s:A:S:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': src.state_dir = optarg; break;
		case 'a': src.audit_log = optarg; break;
		case 's': src.socket = optarg; break;
		case 'A': app = optarg; break;
		case 'j': json = 1; break;
		case 'B': grouped = 1; break;
		case 'S':
			if (time_parse(optarg, &since))
				return ctl_usage("list", "--since takes an RFC 3339 time "
							 "(2026-11-25T18:05:12Z), a date or an age "
							 "such as 90m or 7d");
			break;
		case 'h': return ctl_help("list");
		default: return ctl_bad_option("list");
		}
	}
	if (optind != argc)
		return ctl_usage("list", "takes no arguments");
	if ((rc = crash_source_check(&src, "list")))
		return rc;
	rc = crash_source_list(&src, &all);
	if (rc)
		return rc;
	shown = json_object_new_array();
	n = json_object_array_length(all);
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(all, i);

		if (wanted(o, app, since))
			json_object_array_add(shown, json_object_get(o));
	}
	if (grouped) {
		json_object *rows = by_signature(shown);

		if (json)
			puts(json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_signatures(rows);
		json_object_put(rows);
	} else if (json) {
		puts(json_object_to_json_string_ext(shown, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		n = json_object_array_length(shown);
		printf("%-36s %-24s %-16s %8s %-20s %s\n", "ID", "TIME", "APP", "PID", "CAUSE",
		       "RESCUE");
		for (i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(shown, i);

			printf("%-36s %-24s %-16s %8s %-20s %s\n", str(o, "id"), str(o, "time"),
			       str(o, "app"), str(o, "pid"), str(o, "cause"), str(o, "rescue"));
		}
		if (!n)
			printf("(no crashes recorded)\n");
	}
	json_object_put(shown);
	json_object_put(all);
	return 0;
}

CTL_COMMAND("list", cmd_list,
	    "[--state-dir D | --audit-log F | --socket PATH] [--app NAME] [--since TIME] "
	    "[--by-signature] [--json]",
	    "one row per crash (id, time, app, pid, cause, rescue status), or per crash "
	    "signature with --by-signature (count, first, last, app, innermost named frame)");
