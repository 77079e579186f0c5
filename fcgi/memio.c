/* memio: see memio.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memio.h"

static const char *
mem_param(void *ctx, const char *name)
{
	struct memio *m = ctx;
	int i;

	for (i = m->nparams - 1; i >= 0; i--)
		if (strcmp(m->names[i], name) == 0)
			return m->values[i];
	return NULL;
}

static ssize_t
mem_read(void *ctx, char *buf, size_t n)
{
	struct memio *m = ctx;
	size_t left = m->body_len - m->body_pos;

	if (m->piece && n > m->piece)
		n = m->piece;
	if (n > left)
		n = left;
	memcpy(buf, m->body + m->body_pos, n);
	m->body_pos += n;
	return (ssize_t)n;
}

static int
mem_write(void *ctx, const char *buf, size_t n)
{
	struct memio *m = ctx;

	if (n > MEMIO_OUT_MAX - m->out_len)
		return -1;
	memcpy(m->out + m->out_len, buf, n);
	m->out_len += n;
	m->out[m->out_len] = '\0';
	return 0;
}

void
memio_init(struct memio *m)
{
	memset(m, 0, sizeof(*m));
	m->io.ctx = m;
	m->io.param = mem_param;
	m->io.read = mem_read;
	m->io.write = mem_write;
}

void
memio_param(struct memio *m, const char *name, const char *value)
{
	if (m->nparams >= MEMIO_PARAMS_MAX)
		abort();	/* a test asking for more is a bug in the test */
	m->names[m->nparams] = name;
	m->values[m->nparams++] = value;
}

void
memio_body(struct memio *m, const char *body, size_t len)
{
	m->body = body;
	m->body_len = len;
	m->body_pos = 0;
}

const char *
memio_header(const struct memio *m, const char *name, char *buf, size_t len)
{
	const char *p = m->out, *end = strstr(m->out, "\r\n\r\n");
	size_t nl = strlen(name);

	if (!end)
		return NULL;
	while (p < end) {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = (size_t)(eol - v);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return buf;
		}
		p = eol + 2;
	}
	return NULL;
}

int
memio_status(const struct memio *m)
{
	if (strncmp(m->out, "Status: ", 8) != 0)
		return 0;
	return (int)strtol(m->out + 8, NULL, 10);
}

const char *
memio_resp_body(const struct memio *m)
{
	const char *end = strstr(m->out, "\r\n\r\n");

	return end ? end + 4 : NULL;
}
