// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the wire protocol decoder (proto_decode), which the
 * collector runs on every packet a client sends. A rejected message must
 * come with a reason; an accepted one must encode back to the very same
 * bytes (the header's reserved word aside), so the decoder accepts
 * nothing the encoders could not have produced.
 *
 * fuzz-sources: userspace/common/proto.c
 * fuzz-options: -max_len=66000
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

static uint8_t out[PROTO_MAX_MSG + 64];

static int encode_again(const struct proto_msg *m)
{
	switch (m->type) {
	case PROTO_REGISTER:
		return proto_encode_register(out, sizeof(out), m->app, (const char *const *)m->argv,
					     m->flags);
	case PROTO_ACK:
		return proto_encode_ack(out, sizeof(out), m->status, m->text);
	case PROTO_QUERY:
	case PROTO_TEXT:
	case PROTO_CLAIM:
		return proto_encode_text(out, sizeof(out), m->type, m->text, strlen(m->text));
	default:
		return proto_encode_simple(out, sizeof(out), m->type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct proto_hdr *h;
	struct proto_msg m;
	const char *why = NULL;
	int len;

	if (proto_decode(data, size, &m, &why)) {
		CHECK(why && *why);
		CHECK(!m.argv && !m.text); /* nothing left to free on failure */
		return 0;
	}
	len = encode_again(&m);
	CHECK(len >= (int)sizeof(*h) && (size_t)len == size);
	/* Byte for byte, except the reserved word the decoder ignores. */
	CHECK(memcmp(out, data, offsetof(struct proto_hdr, reserved)) == 0);
	CHECK(memcmp(out + sizeof(*h), data + sizeof(*h), size - sizeof(*h)) == 0);
	if (m.type == PROTO_REGISTER)
		CHECK(proto_app_name_ok(m.app));
	proto_msg_free(&m);
	return 0;
}
