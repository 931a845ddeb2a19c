// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl metrics [--socket P]: the collector's metrics, Prometheus text format. */
#include <getopt.h>
#include <stdio.h>

#include "ctl/ask_collector.h"
#include "ctl/ctl.h"

static int print_chunk(const char *text, void *arg)
{
	(void)arg;
	/* The collector cuts the text at line ends: the chunks join as they come. */
	return fputs(text, stdout) < 0 ? ctl_fail("cannot write the metrics") : 0;
}

static int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (c == 's')
			sock = optarg;
		else
			return c == 'h' ? ctl_help("metrics")
					: ctl_bad_option("metrics");
	}
	if (optind != argc)
		return ctl_usage("metrics", "takes no arguments");
	return ctl_ask_collector(ctl_socket_path(sock), "metrics", print_chunk, NULL);
}

CTL_COMMAND("metrics", cmd_metrics, "[--socket PATH]",
	    "the collector's metrics in the Prometheus text format");
