/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_EXPORT_H
#define FG_EXPORT_H

/* Marks a function of the public API (everything else is hidden). */
#define FG_EXPORT __attribute__((visibility("default")))

#endif
