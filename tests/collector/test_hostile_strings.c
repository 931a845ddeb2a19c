// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 7: strings. Every string an app controls reaches
 * the audit log: its rescue argv, its comm (prctl), the comm of whoever
 * kills it, and what its rescue command prints. Fill them with quotes,
 * newlines, backslashes, control characters, fake JSON and invalid UTF-8:
 * every line of the log must still parse as one JSON object (json-c, and
 * jq when installed), there must be exactly one record per line, and each
 * string must come back as sent, invalid bytes replaced by U+FFFD. (App
 * names are [A-Za-z0-9._-] only: the input suite shows the rest refused.)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "hostile.h"

static const char *const nasty[] = {
	"quote\"d \"\"",
	"new\nline\r\n",
	"back\\slash\\\\ \\u0000 \\n",
	"ctl \x01\x02\x1b[31mred\x1b[0m \x7f \t",
	"{\"event\":\"stop\"}\n{\"event\":\"crash\",",
	"bad \xff\xfe utf8",
	"cut \xc3",
	"overlong \xc0\xaf",
	"surrogate \xed\xa0\x80",
	"beyond \xf4\x90\x80\x80",
	"line sep \xe2\x80\xa8 para \xe2\x80\xa9",
	"ok \xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
};
#define NNASTY (sizeof(nasty) / sizeof(nasty[0]))

/* Is @p[0..n) one valid UTF-8 character (RFC 3629)? An oracle of our own. */
static bool one_char(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t i;

	if (n == 1)
		return p[0] && p[0] < 0x80;
	if (n == 2 && p[0] >= 0xc2 && p[0] <= 0xdf)
		cp = p[0] & 0x1f;
	else if (n == 3 && (p[0] & 0xf0) == 0xe0)
		cp = p[0] & 0x0f;
	else if (n == 4 && p[0] >= 0xf0 && p[0] <= 0xf4)
		cp = p[0] & 0x07;
	else
		return false;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	return !((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		 (cp >= 0xd800 && cp <= 0xdfff));
}

/* What a string should read as in the log: each invalid byte one U+FFFD. */
static void sanitized(const char *in, size_t len, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	while (i < len && o + 5 < cap) {
		for (n = 1; n <= 4 && i + n <= len; n++)
			if (one_char(p + i, n))
				break;
		if (n <= 4 && i + n <= len) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
}

static bool same_as_sent(const char *got, const char *sent, size_t len, const char *what)
{
	char want[1024];

	sanitized(sent, len, want, sizeof(want));
	if (got && !strcmp(got, want))
		return true;
	test_fail(__FILE__, __LINE__, "%s came back wrong", what);
	return false;
}

/* Every line one JSON object with ts and event; the number of records. */
static int check_every_line(const struct fx *c)
{
	size_t len, i, start = 0;
	char *all = fx_read_file(c->audit, &len);
	int records = 0;

	if (!ASSERT_NOT_NULL(all, "read the log") || !ASSERT_TRUE(len > 0 && all[len - 1] == '\n',
								  "the log ends with a newline")) {
		free(all);
		return -1;
	}
	for (i = 0; i < len; i++) {
		json_tokener *tok;
		json_object *o;

		if (all[i] != '\n')
			continue;
		all[i] = '\0';
		tok = json_tokener_new();
		o = json_tokener_parse_ex(tok, all + start, (int)(i - start));
		/* The whole line is the object: nothing before, nothing after. */
		if (!ASSERT_TRUE(o && json_object_is_type(o, json_type_object) &&
					 json_tokener_get_error(tok) == json_tokener_success &&
					 (size_t)json_tokener_get_parse_end(tok) == i - start,
				 "a line is one JSON object") ||
		    !ASSERT_NOT_NULL(jstr(o, "event"), "every record has an event") ||
		    !ASSERT_NOT_NULL(jstr(o, "ts"), "every record has a ts")) {
			fprintf(stderr, "    line: %.200s\n", all + start);
			json_object_put(o);
			json_tokener_free(tok);
			free(all);
			return -1;
		}
		json_object_put(o);
		json_tokener_free(tok);
		records++;
		start = i + 1;
	}
	free(all);
	return records;
}

/* jq agrees: it parses the whole log and prints as many objects as there are lines. */
static bool jq_agrees(const struct fx *c, int records)
{
	char cmd[PATH_MAX + 128], buf[64] = "";
	FILE *p;

	if (access("/usr/bin/jq", X_OK))
		return true; /* json-c's word alone; jq is optional */
	snprintf(cmd, sizeof(cmd), "/usr/bin/jq -c 'select(type == \"object\")' < '%s' | wc -l",
		 c->audit);
	p = popen(cmd, "re");
	if (!ASSERT_NOT_NULL(p, "run jq"))
		return false;
	(void)!fgets(buf, sizeof(buf), p);
	return ASSERT_OK(pclose(p), "jq parses the log") &&
	       ASSERT_EQ(atoi(buf), records, "jq's record count");
}

static const char killer_comm[] = "k\"\n\\\xff)(\x01x";

/* Kills @pid from a process whose comm is hostile too (sender_comm). */
static void kill_as(pid_t pid, int sig)
{
	pid_t k;

	fflush(NULL);
	k = fork();
	if (k == 0) {
		prctl(PR_SET_NAME, killer_comm);
		_exit(kill(pid, sig) ? 1 : 0);
	}
	waitpid(k, NULL, 0);
}

TEST(hostile_strings_in_the_audit_log)
{
	static const char comm[] = "a) 1 (\n\"\\\xff\xc3";
	const char *argv[NNASTY + 3];
	struct fx col;
	struct hostile_app a;
	json_object *reg = NULL, *crash = NULL, *resc = NULL, *arr;
	char out_sent[4096] = "";
	size_t i;
	int records;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	argv[0] = hostile_rescue_bin();
	argv[1] = "args";
	for (i = 0; i < NNASTY; i++) {
		argv[i + 2] = nasty[i];
		/* The command prints each argument on a line of its own, raw. */
		strcat(out_sent, nasty[i]);
		strcat(out_sent, "\n");
	}
	argv[NNASTY + 2] = NULL;
	a = (struct hostile_app){ .app = "nasty", .rescue = argv, .comm = comm, .seed = 9 };
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "registered"))
		goto out;
	kill_as(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
	a.pid = -a.pid;
	resc = hostile_expect_rescued(&col, &a, "the nasty app");
	if (!ASSERT_NOT_NULL(resc, "rescued") ||
	    !ASSERT_STREQ(jstr(resc, "status"), "ok", "the rescue ran"))
		goto out;
	hostile_settle_fds(&col, "strings");
	hostile_stop(&col); /* the log is complete: "stop" is its last line */

	records = check_every_line(&col);
	if (!ASSERT_GE(records, 6, "start, register, crash, snapshot, rescue, stop") ||
	    !jq_agrees(&col, records))
		goto out;
	/* Each string came back as sent, but for the invalid bytes. */
	reg = fx_find(&col, "register", hostile_app_pid(&a), 0);
	if (!ASSERT_NOT_NULL(reg, "register record") ||
	    !ASSERT_TRUE(json_object_object_get_ex(reg, "rescue_argv", &arr) &&
				 json_object_array_length(arr) == NNASTY + 2, "rescue_argv"))
		goto out;
	for (i = 0; i < NNASTY; i++)
		same_as_sent(json_object_get_string(json_object_array_get_idx(arr, i + 2)), nasty[i],
			     strlen(nasty[i]), nasty[i]);
	/* The kernel keeps 15 bytes of a comm. */
	same_as_sent(jstr(reg, "comm"), comm, strnlen(comm, 15), "comm");
	crash = fx_find(&col, "crash", hostile_app_pid(&a), 0);
	if (ASSERT_NOT_NULL(crash, "crash record"))
		same_as_sent(jstr(crash, "sender_comm"), killer_comm, strnlen(killer_comm, 15),
			     "sender_comm");
	same_as_sent(jstr(resc, "output"), out_sent, strlen(out_sent), "output");
	if (json_object_object_get_ex(resc, "argv", &arr))
		same_as_sent(json_object_get_string(json_object_array_get_idx(arr, 5)), nasty[3],
			     strlen(nasty[3]), "the rescue record's argv");
out:
	json_object_put(reg);
	json_object_put(crash);
	json_object_put(resc);
	hostile_stop(&col);
}

TEST(hostile_strings_then_legit)
{
	struct fx col;
	const char *argv[NNASTY + 3];
	struct hostile_app a;
	json_object *resc;
	size_t i;

	/* The same attack, then the usual checks: alive, fds, a legit rescue. */
	if (!hostile_start(&col, NULL, 0))
		goto out;
	argv[0] = hostile_rescue_bin();
	argv[1] = "args";
	for (i = 0; i < NNASTY; i++)
		argv[i + 2] = nasty[i];
	argv[NNASTY + 2] = NULL;
	a = (struct hostile_app){ .app = "nasty", .rescue = argv, .comm = "\n\n\"\xff", .seed = 10 };
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "registered"))
		goto out;
	kill_as(a.pid, SIGSEGV);
	waitpid(a.pid, NULL, 0);
	a.pid = -a.pid;
	resc = hostile_expect_rescued(&col, &a, "the nasty app");
	json_object_put(resc);
	if (hostile_after(&col, "nasty strings"))
		ASSERT_GE(check_every_line(&col), 9, "every line parses");
out:
	hostile_stop(&col);
}
