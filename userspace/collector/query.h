/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers to faultguardctl's questions over the socket ("status", ...). */
#ifndef FG_COLLECTOR_QUERY_H
#define FG_COLLECTOR_QUERY_H

struct collector;
struct conn;

/* Sends the answer to @what as PROTO_TEXT packets and a PROTO_END, then ends @conn. */
void query_answer(struct collector *c, struct conn *conn, const char *what);

#endif
