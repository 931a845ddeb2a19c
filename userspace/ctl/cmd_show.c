// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl show [--state-dir D | --audit-log F | --socket P] [--json] ID: one crash's records. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ctl/crash_source.h"
#include "ctl/ctl.h"

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static long long num(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
		       ? json_object_get_int64(v)
		       : dflt;
}

/* SPEC §8.6: "#0 function+0x12 (module) file:line", one frame a line. */
static void print_backtrace(json_object *bt)
{
	size_t i, n = json_object_array_length(bt);

	printf("  backtrace\n");
	for (i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(bt, i);
		const char *fn = str(f, "function"), *file = str(f, "file");

		printf("    #%zu ", i);
		if (fn)
			printf("%s+0x%llx", fn, num(f, "function_offset", 0));
		else
			printf("%s", str(f, "addr") ? str(f, "addr") : "?");
		printf(" (%s)", str(f, "module") ? str(f, "module") : "?");
		if (file)
			printf(" %s:%lld", file, num(f, "line", 0));
		putchar('\n');
	}
}

/* One section per record: its event, then its fields one per line. */
static void print_record(json_object *rec)
{
	printf("%s at %s\n", str(rec, "event") ? str(rec, "event") : "?",
	       str(rec, "ts") ? str(rec, "ts") : "?");
	json_object_object_foreach(rec, key, val)
	{
		if (!strcmp(key, "event") || !strcmp(key, "ts") || !strcmp(key, "id"))
			continue;
		if (!strcmp(key, "backtrace") && val && json_object_is_type(val, json_type_array)) {
			print_backtrace(val);
			continue;
		}
		if (!strcmp(key, "output") && val && json_object_is_type(val, json_type_string)) {
			printf("  %-12s |\n", key);
			const char *p = json_object_get_string(val), *nl;

			for (; *p; p = nl + 1) {
				nl = strchr(p, '\n');
				if (!nl) {
					printf("    %s\n", p);
					break;
				}
				printf("    %.*s\n", (int)(nl - p), p);
			}
			continue;
		}
		printf("  %-12s %s\n", key,
		       val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN |
									 JSON_C_TO_STRING_NOSLASHESCAPE)
			   : "null");
	}
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct crash_source src = { 0 };
	json_object *recs;
	size_t i, n;
	int json = 0, c, rc;

	while ((c = getopt_long(argc, argv, "d:a:s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': src.state_dir = optarg; break;
		case 'a': src.audit_log = optarg; break;
		case 's': src.socket = optarg; break;
		case 'j': json = 1; break;
		case 'h': return ctl_help("show");
		default: return ctl_bad_option("show");
		}
	}
	if (optind + 1 != argc)
		return ctl_usage("show", "expects one crash ID (see faultguardctl list)");
	if ((rc = crash_source_check(&src, "show")))
		return rc;
	rc = crash_source_show(&src, argv[optind], &recs);
	if (rc)
		return rc;
	if (json) {
		puts(json_object_to_json_string_ext(recs, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("crash %s\n", argv[optind]);
		n = json_object_array_length(recs);
		for (i = 0; i < n; i++)
			print_record(json_object_array_get_idx(recs, i));
	}
	json_object_put(recs);
	return 0;
}

CTL_COMMAND("show", cmd_show, "[--state-dir D | --audit-log F | --socket PATH] [--json] ID",
	    "everything recorded about one crash");
