// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stddef.h>
#include <string.h>

#include "common/proto.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "lib/opts.h"

int opts_valid(const struct fg_opts *opts)
{
	size_t n = 0;

	if (!opts || opts->sz < offsetof(struct fg_opts, flags) + sizeof(opts->flags))
		return 0;
	if (!proto_app_name_ok(opts->app))
		return 0;
	if (opts->flags & ~FG_RESCUE_SIGNAL_ONLY)
		return 0;
	if (opts->max_bytes && (opts->max_bytes < DICT_MIN_BYTES || opts->max_bytes > DICT_MAX_BYTES))
		return 0;
	if (opts->rescue_argv) {
		while (opts->rescue_argv[n])
			if (strlen(opts->rescue_argv[n++]) > PROTO_MAX_ARG)
				return 0;
		if (n == 0 || n > PROTO_MAX_ARGS || !opts->rescue_argv[0][0])
			return 0;
	}
	return 1;
}
