// SPDX-License-Identifier: LGPL-2.1-or-later
/* The operations tests' own helpers: see ops.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

bool ops_app_start(struct fx *fx, struct fx_app *a, uid_t uid, const char *app, const char *mode,
		   const char *const *rescue_argv)
{
	return fx_app_start(fx, a,
			    &(struct fx_app_spec){ .helper = FX_OPS_APP, .app = app, .mode = mode,
						   .rescue_argv = rescue_argv, .uid = uid,
						   .gid = uid });
}

json_object *ops_crash(struct fx *fx, const char *app, const char *mode,
		       const char *const *rescue_argv)
{
	struct fx_app a;

	if (!ops_app_start(fx, &a, 0, app, "stdin", rescue_argv))
		return NULL;
	/* Waited for whatever the send did: an app of this frame must not outlive it. */
	fx_app_send(&a, mode);
	fx_app_wait(&a, OPS_WAIT_MS);
	return fx_wait(fx, "rescue", a.pid, 0, OPS_WAIT_MS);
}

void ops_stop(struct fx *fx)
{
	fx_terminate(fx, OPS_WAIT_MS);
	fx_cleanup(fx);
}

double ops_metric(const char *text, const char *series)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", series);
	p = strstr(text, want);
	return p ? strtod(p + strlen(want), NULL) : -1;
}

bool ops_wait_metric(struct fx *fx, const char *series, double value, char *out, size_t cap)
{
	const char *args[] = { "metrics", NULL };
	long long deadline = fx_now_ms() + OPS_WAIT_MS;

	if (cap)
		out[0] = '\0';
	while (fx_now_ms() < deadline) {
		if (fx_run_built(fx, "faultguardctl", args, out, cap) == 0 &&
		    ops_metric(out, series) == value)
			return true;
		fx_nap(20);
	}
	fprintf(stderr, "  %s is %g, expected %g\n", series, ops_metric(out, series), value);
	return false;
}
