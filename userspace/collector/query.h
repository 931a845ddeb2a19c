/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers to faultguardctl's questions over the socket ("status", ...). */
#ifndef FG_COLLECTOR_QUERY_H
#define FG_COLLECTOR_QUERY_H

struct answer;
struct collector;
struct conn;

/*
 * Starts the answer to @what: PROTO_TEXT packets and a PROTO_END, made a
 * few packets at a time (query_continue), then @conn ends.
 */
void query_answer(struct collector *c, struct conn *conn, const char *what);
/* More of @conn's answer, if it has one and its queue is short: server.c calls it as it drains. */
void query_continue(struct collector *c, struct conn *conn);
/* An unfinished answer, when its connection goes. Accepts NULL. */
void query_free(struct answer *a);

#endif
