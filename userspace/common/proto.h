/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wire protocol between the library (and faultguardctl) and the
 * collector, over a SOCK_SEQPACKET Unix socket: one message per packet, a
 * 16-byte header and a type-specific payload, little-endian. The decoder
 * takes untrusted bytes and either fills a message or says why not.
 */
#ifndef FG_PROTO_H
#define FG_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x31474746u /* "FGG1" */
#define PROTO_VERSION 1u
#define PROTO_MAX_MSG (64u * 1024)
#define PROTO_MAX_ARGS 256u
#define PROTO_MAX_ARG 4096u
#define PROTO_APP_MAX 64u
#define PROTO_TEXT_MAX (32u * 1024)

enum proto_type {
	PROTO_REGISTER = 1, /* client: app, rescue argv, flags; carries the memfd */
	PROTO_CLOSE = 2,    /* client: orderly end, no rescue */
	PROTO_ACK = 3,      /* collector: status (0 or -errno) and a sentence */
	PROTO_QUERY = 4,    /* faultguardctl: a named query ("status", "metrics") */
	PROTO_TEXT = 5,     /* collector: one chunk of a query's answer */
	PROTO_END = 6,      /* collector: the answer is complete */
	PROTO_CLAIM = 7,    /* client: the app whose snapshot to claim; the ACK carries its fd */
};

struct proto_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len; /* payload bytes after the header */
	uint32_t reserved;
};

struct proto_msg {
	uint16_t type;
	/* PROTO_REGISTER */
	uint32_t flags;
	char app[PROTO_APP_MAX + 1];
	uint32_t argc;
	char **argv; /* NULL-terminated, or NULL when no rescue command */
	/* PROTO_ACK */
	int32_t status;
	/* PROTO_ACK, PROTO_QUERY, PROTO_TEXT, PROTO_CLAIM: NUL-terminated copy of the text */
	char *text;
};

/* 1-64 chars of [A-Za-z0-9._-], and not "." or ".." (it names a directory). */
int proto_app_name_ok(const char *app);

/* Each encoder returns the message length written to @buf, or -E2BIG / -EINVAL. */
int proto_encode_register(void *buf, size_t cap, const char *app, const char *const *argv,
			  uint32_t flags);
int proto_encode_simple(void *buf, size_t cap, uint16_t type);
int proto_encode_ack(void *buf, size_t cap, int32_t status, const char *text);
int proto_encode_text(void *buf, size_t cap, uint16_t type, const char *text, size_t len);

/*
 * Decodes one message. On error returns -EBADMSG and points *why at a
 * sentence saying what was wrong. proto_msg_free() releases what it holds.
 */
int proto_decode(const void *buf, size_t len, struct proto_msg *msg, const char **why);
void proto_msg_free(struct proto_msg *msg);

#endif
