/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deaths no collector saw happen (SPEC §8.2). The BPF links and maps stay
 * pinned in bpffs while no collector runs (monitor.c), and beside `watched`
 * a pinned map says who each watched tgid is (monitor_note). A collector
 * that starts adopts them: the exit records queued meanwhile, and those of
 * adopted processes that die before they register again, come here for a
 * tgid the registry does not hold. One that matches the noted process (the
 * same start time: a pid reused meanwhile is someone else) gets a `crash`
 * record with "seen_late": true; its autosave, if there is one, becomes the
 * crash's snapshot and the rescue runs with it (FAULTGUARD_AUTOSAVE=1).
 * Its dictionary itself is gone with it: nobody held it.
 */
#ifndef FG_COLLECTOR_LATE_H
#define FG_COLLECTOR_LATE_H

#include <stddef.h>

struct collector;
struct fg_event;
struct reg;

/* Where the pins of the collector of @state_dir live: /sys/fs/bpf/faultguard/<hash>. */
int late_pin_dir(const char *state_dir, char *buf, size_t len);
/* @r registered: noted for a successor. */
void late_note(struct collector *c, const struct reg *r);
/* An exit or exec record for a tgid no registration matches. */
void late_on_event(struct collector *c, const struct fg_event *e);
/*
 * After the predecessor's records were drained: noted processes that are
 * gone without a record (it was lost) are forgotten, said on stderr.
 */
void late_sweep(struct collector *c);

#endif
