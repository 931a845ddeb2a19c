// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl status [--socket P] [--json]: the collector's live registrations. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ask_collector.h"
#include "ctl/ctl.h"

struct rows {
	json_object *arr;
};

static int collect(const char *text, void *arg)
{
	struct rows *r = arg;
	json_object *o = json_tokener_parse(text);

	if (!o)
		return ctl_fail("the collector sent a line that is not JSON");
	json_object_array_add(r->arr, o);
	return 0;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static int is_held(json_object *o)
{
	return !strcmp(str(o, "state"), "held");
}

static void print_table(json_object *arr)
{
	size_t i, n = json_object_array_length(arr), regs = 0, held = 0;

	printf("%-24s %8s %6s %6s %10s  %s\n", "APP", "PID", "UID", "KEYS", "BYTES", "REGISTERED");
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (is_held(o)) {
			held++;
			continue;
		}
		regs++;
		printf("%-24s %8s %6s %6s %10s  %s\n", str(o, "app"), str(o, "pid"), str(o, "uid"),
		       str(o, "keys"), str(o, "bytes"), str(o, "registered"));
	}
	if (!regs)
		printf("(no registrations)\n");
	if (!held)
		return;
	printf("\nHeld in memory (the state directory's disk refused them; retried at every "
	       "retention pass):\n");
	printf("%-34s %-16s %8s %6s %10s  %s\n", "ID", "APP", "PID", "UID", "MEMORY", "SINCE");
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		if (!is_held(o))
			continue;
		printf("%-34s %-16s %8s %6s %10s  %s\n", str(o, "id"), str(o, "app"), str(o, "pid"),
		       str(o, "uid"), str(o, "memory"), str(o, "since"));
		printf("    %s\n", str(o, "error"));
	}
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct rows rows = { .arr = json_object_new_array() };
	const char *sock = NULL;
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else if (c == 'j')
			json = 1;
		else {
			json_object_put(rows.arr);
			return c == 'h' ? ctl_help("status")
					: ctl_bad_option("status");
		}
	}
	if (optind != argc) {
		json_object_put(rows.arr);
		return ctl_usage("status", "takes no arguments");
	}
	rc = ctl_ask_collector_lines(ctl_socket_path(sock), "status", collect, &rows);
	if (!rc) {
		if (json)
			puts(json_object_to_json_string_ext(rows.arr, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_table(rows.arr);
	}
	json_object_put(rows.arr);
	return rc;
}

CTL_COMMAND("status", cmd_status, "[--socket PATH] [--json]",
	    "live registrations: app, pid, uid, keys, bytes; snapshots held in memory");
