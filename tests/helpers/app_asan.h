/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Include once in a program whose deaths are under test: under ASan its
 * SIGSEGV, SIGBUS and SIGABRT must stay real signals, not become a sanitizer
 * report and exit(1). The runtime looks the function up by name, so it is
 * exported despite -fvisibility=hidden; without ASan it is never called.
 */
#ifndef FG_TEST_APP_ASAN_H
#define FG_TEST_APP_ASAN_H

const char *__asan_default_options(void);

__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0";
}

#endif
