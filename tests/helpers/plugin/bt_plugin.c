// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libbt_plugin.so: what tests/helpers/bt_app dlopens after it registered,
 * so that the code that crashes was mapped after the collector read the
 * app's mappings at registration.
 */
/* No sanitizer report: these crashes must stay real signals in the sanitizer pass too. */
#define EXPORT __attribute__((noinline, used, visibility("default"), \
			       no_sanitize("address"), no_sanitize("undefined")))

int *volatile bt_plugin_null;

EXPORT void bt_plugin_inner(int v)
{
	*bt_plugin_null = v; /* crash: plugin */
}

EXPORT void bt_plugin_crash(int v)
{
	bt_plugin_inner(v + 1);
	__asm__ volatile("" ::: "memory");
}
