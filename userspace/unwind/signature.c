// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <string.h>

#include "digest/sha256.h"
#include "unwind/unwind.h"

#define SIGNATURE_FRAMES 4 /* named frames hashed: enough to tell abort() callers apart */

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

void unwind_signature(const struct unwind_frame *f, size_t n, char sig[UNWIND_SIGNATURE_LEN])
{
	char hex[SHA256_HEX_LEN], text[4096];
	size_t i, at = 0, named = 0;

	sig[0] = '\0';
	for (i = 0; i < n && named < SIGNATURE_FRAMES; i++) {
		int k;

		if (!f[i].function)
			continue;
		k = snprintf(text + at, sizeof(text) - at, "%s!%s\n", base_name(f[i].module),
			     f[i].function);
		if (k < 0 || (size_t)k >= sizeof(text) - at)
			break;
		at += (size_t)k;
		named++;
	}
	if (!named) {
		/* No names: the innermost frame in a file, by offset (stable for one build). */
		for (i = 0; i < n && !(f[i].module && f[i].have_module_offset); i++)
			;
		if (i == n)
			return;
		at = (size_t)snprintf(text, sizeof(text), "%s+%llx\n", base_name(f[i].module),
				      (unsigned long long)f[i].module_offset);
	}
	if (sha256_hex(text, at, hex))
		return;
	memcpy(sig, hex, UNWIND_SIGNATURE_LEN - 1);
	sig[UNWIND_SIGNATURE_LEN - 1] = '\0';
}
