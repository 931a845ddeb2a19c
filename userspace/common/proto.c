// SPDX-License-Identifier: LGPL-2.1-or-later
/* Encoding and decoding of the collector protocol (see proto.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/proto.h"

int proto_app_name_ok(const char *app)
{
	size_t i, n;

	if (!app)
		return 0;
	n = strnlen(app, PROTO_APP_MAX + 1);
	if (n == 0 || n > PROTO_APP_MAX)
		return 0;
	/* The name becomes a directory name: "." and ".." would escape it. */
	if (!strcmp(app, ".") || !strcmp(app, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		char c = app[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

struct out {
	uint8_t *p;
	size_t cap, len;
	int err;
};

static void out_put(struct out *o, const void *src, size_t n)
{
	if (o->err || n > o->cap - o->len) {
		o->err = -E2BIG;
		return;
	}
	memcpy(o->p + o->len, src, n);
	o->len += n;
}

static void out_u32(struct out *o, uint32_t v)
{
	v = htole32(v);
	out_put(o, &v, 4);
}

static void out_hdr(struct out *o, uint16_t type)
{
	struct proto_hdr h = {
		.magic = htole32(PROTO_MAGIC),
		.version = htole16(PROTO_VERSION),
		.type = htole16(type),
	};

	out_put(o, &h, sizeof(h));
}

static int out_finish(struct out *o)
{
	struct proto_hdr *h = (struct proto_hdr *)o->p;

	if (o->err)
		return o->err;
	if (o->len > PROTO_MAX_MSG)
		return -E2BIG;
	h->len = htole32((uint32_t)(o->len - sizeof(*h)));
	return (int)o->len;
}

int proto_encode_register(void *buf, size_t cap, const char *app, const char *const *argv,
			  uint32_t flags)
{
	struct out o = { .p = buf, .cap = cap };
	uint32_t argc = 0, i;

	if (!proto_app_name_ok(app))
		return -EINVAL;
	if (argv) {
		while (argv[argc])
			argc++;
		if (argc == 0 || argc > PROTO_MAX_ARGS)
			return -EINVAL;
	}
	out_hdr(&o, PROTO_REGISTER);
	out_u32(&o, flags);
	out_u32(&o, (uint32_t)strlen(app));
	out_put(&o, app, strlen(app));
	/* argc 0 means no rescue command. */
	out_u32(&o, argc);
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (n > PROTO_MAX_ARG)
			return -EINVAL;
		out_u32(&o, (uint32_t)n);
		out_put(&o, argv[i], n);
	}
	return out_finish(&o);
}

int proto_encode_simple(void *buf, size_t cap, uint16_t type)
{
	struct out o = { .p = buf, .cap = cap };

	out_hdr(&o, type);
	return out_finish(&o);
}

int proto_encode_ack(void *buf, size_t cap, int32_t status, const char *text)
{
	struct out o = { .p = buf, .cap = cap };
	size_t n = text ? strnlen(text, PROTO_TEXT_MAX) : 0;

	out_hdr(&o, PROTO_ACK);
	out_u32(&o, (uint32_t)status);
	out_u32(&o, (uint32_t)n);
	out_put(&o, text, n);
	return out_finish(&o);
}

int proto_encode_text(void *buf, size_t cap, uint16_t type, const char *text, size_t len)
{
	struct out o = { .p = buf, .cap = cap };

	if (len > PROTO_TEXT_MAX)
		return -E2BIG;
	out_hdr(&o, type);
	out_u32(&o, (uint32_t)len);
	out_put(&o, text, len);
	return out_finish(&o);
}

struct in {
	const uint8_t *p;
	size_t len, off;
};

static int in_u32(struct in *in, uint32_t *v)
{
	if (in->len - in->off < 4)
		return -1;
	memcpy(v, in->p + in->off, 4);
	*v = le32toh(*v);
	in->off += 4;
	return 0;
}

/* A length-prefixed string of at most @max bytes, without NUL bytes, malloc'd. */
static char *in_str(struct in *in, uint32_t max, int allow_empty)
{
	uint32_t n;
	char *s;

	if (in_u32(in, &n) || n > max || n > in->len - in->off || (!n && !allow_empty))
		return NULL;
	if (memchr(in->p + in->off, 0, n))
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, in->p + in->off, n);
	s[n] = '\0';
	in->off += n;
	return s;
}

static int decode_register(struct in *in, struct proto_msg *m, const char **why)
{
	char *app;
	uint32_t i;

	if (in_u32(in, &m->flags)) {
		*why = "the registration message is truncated";
		return -EBADMSG;
	}
	app = in_str(in, PROTO_APP_MAX, 0);
	if (!app || !proto_app_name_ok(app)) {
		free(app);
		*why = "the app name must be 1-64 characters of [A-Za-z0-9._-]";
		return -EBADMSG;
	}
	strcpy(m->app, app);
	free(app);
	if (in_u32(in, &m->argc) || m->argc > PROTO_MAX_ARGS) {
		*why = "the rescue command has too many arguments (at most 256)";
		return -EBADMSG;
	}
	if (m->argc) {
		m->argv = calloc((size_t)m->argc + 1, sizeof(char *));
		if (!m->argv) {
			*why = "out of memory";
			return -EBADMSG;
		}
		for (i = 0; i < m->argc; i++) {
			m->argv[i] = in_str(in, PROTO_MAX_ARG, i > 0);
			if (!m->argv[i]) {
				*why = "a rescue command argument is empty, too long, truncated "
				       "or holds a NUL byte";
				return -EBADMSG;
			}
		}
	}
	return 0;
}

int proto_decode(const void *buf, size_t len, struct proto_msg *m, const char **why)
{
	struct in in = { .p = buf, .len = len };
	struct proto_hdr h;
	const char *dummy;
	int err = 0;

	if (!why)
		why = &dummy;
	memset(m, 0, sizeof(*m));
	if (len < sizeof(h)) {
		*why = "the message is shorter than its header";
		return -EBADMSG;
	}
	memcpy(&h, buf, sizeof(h));
	if (le32toh(h.magic) != PROTO_MAGIC) {
		*why = "the message does not start with the faultguard magic number";
		return -EBADMSG;
	}
	if (le16toh(h.version) != PROTO_VERSION) {
		*why = "the message uses an unknown protocol version";
		return -EBADMSG;
	}
	if (len > PROTO_MAX_MSG || le32toh(h.len) != len - sizeof(h)) {
		*why = "the message length does not match its header";
		return -EBADMSG;
	}
	in.off = sizeof(h);
	m->type = le16toh(h.type);
	switch (m->type) {
	case PROTO_REGISTER:
		err = decode_register(&in, m, why);
		break;
	case PROTO_CLOSE:
	case PROTO_END:
		break;
	case PROTO_ACK:
		if (in_u32(&in, (uint32_t *)&m->status)) {
			*why = "the reply is truncated";
			err = -EBADMSG;
			break;
		}
		/* fall through */
	case PROTO_QUERY:
	case PROTO_TEXT:
	case PROTO_CLAIM:
		if (err)
			break;
		m->text = in_str(&in, PROTO_TEXT_MAX, 1);
		if (!m->text) {
			*why = "the message text is truncated, too long or holds a NUL byte";
			err = -EBADMSG;
		}
		break;
	default:
		*why = "the message type is unknown";
		err = -EBADMSG;
	}
	if (!err && in.off != in.len) {
		*why = "the message has trailing bytes";
		err = -EBADMSG;
	}
	if (err)
		proto_msg_free(m);
	return err;
}

void proto_msg_free(struct proto_msg *m)
{
	uint32_t i;

	if (m->argv) {
		for (i = 0; i < m->argc; i++)
			free(m->argv[i]);
		free(m->argv);
	}
	free(m->text);
	m->argv = NULL;
	m->text = NULL;
}
