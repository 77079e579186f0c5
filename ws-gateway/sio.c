/* sio: Socket.IO v5 packet parsing and encoding. Grammar of one packet:
 *   <type digit> [<attachments>-] [/<namespace>,] [<ack id digits>] [<JSON payload>] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sio.h"

#define SIO_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parse exactly buf[0..len) as one JSON value, strict and bounded in depth. */
static json_object *
parse_json(const char *buf, size_t len)
{
	json_tokener *tok;
	json_object *obj;

	if (len > INT32_MAX || !(tok = ns_json_tokener()))
		return NULL;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	/* A bare number at the end stays "continue": no payload type accepts one anyway. */
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

/* Does the payload have the shape the packet type requires? */
static int
payload_ok(struct sio_packet *p)
{
	json_type t = p->data ? json_object_get_type(p->data) : json_type_null;

	switch (p->type) {
	case SIO_CONNECT:
		return !p->data || t == json_type_object;
	case SIO_DISCONNECT:
		return !p->data;
	case SIO_CONNECT_ERROR:
		return t == json_type_object || t == json_type_string;
	case SIO_ACK:
		return t == json_type_array;
	case SIO_EVENT:
		if (t != json_type_array || json_object_array_length(p->data) < 1)
			return 0;
		if (!json_object_is_type(json_object_array_get_idx(p->data, 0), json_type_string))
			return 0;
		p->event = json_object_get_string(json_object_array_get_idx(p->data, 0));
		p->arg = json_object_array_get_idx(p->data, 1);
		return 1;
	default:
		return 0;
	}
}

enum sio_result
sio_decode(const char *buf, size_t len, struct sio_packet *out)
{
	size_t i = 1, n;

	memset(out, 0, sizeof(*out));
	out->ack_id = -1;
	strcpy(out->ns, "/");
	if (len == 0 || buf[0] < '0' || buf[0] >= '0' + SIO__COUNT)
		return SIO_MALFORMED;
	out->type = (enum sio_type)(buf[0] - '0');
	if (out->type == SIO_BINARY_EVENT || out->type == SIO_BINARY_ACK)
		return SIO_UNSUPPORTED;

	if (i < len && buf[i] == '/') {
		for (n = i; n < len && buf[n] != ','; n++)
			;
		if (n - i > SIO_NS_MAX)
			return SIO_MALFORMED;
		memcpy(out->ns, buf + i, n - i);
		out->ns[n - i] = '\0';
		if (memchr(out->ns, '\0', n - i))
			return SIO_MALFORMED;
		i = n < len ? n + 1 : n;
	}
	if (i < len && buf[i] >= '0' && buf[i] <= '9') {
		out->ack_id = 0;
		for (n = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++, n++) {
			if (n == SIO_ACK_DIGITS_MAX)
				return SIO_MALFORMED;
			out->ack_id = out->ack_id * 10 + (buf[i] - '0');
		}
	}
	if (i < len) {
		out->data = parse_json(buf + i, len - i);
		if (!out->data)
			return SIO_MALFORMED;
	}
	if (!payload_ok(out)) {
		sio_packet_free(out);
		return SIO_MALFORMED;
	}
	return SIO_OK;
}

void
sio_packet_free(struct sio_packet *p)
{
	json_object_put(p->data);
	p->data = NULL;
	p->event = NULL;
	p->arg = NULL;
}

int
sio_encode_connect(char *buf, size_t cap, const char *sid)
{
	size_t n = strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
	int w;

	if (n == 0 || sid[n] != '\0')
		return -1;
	w = snprintf(buf, cap, "40{\"sid\":\"%s\"}", sid);
	return w < 0 || (size_t)w >= cap ? -1 : w;
}

int
sio_encode_connect_error(char *buf, size_t cap, const char *ns, const char *message)
{
	json_object *o = json_object_new_object();
	int w = -1;

	if (!o)
		return -1;
	if (json_object_object_add(o, "message", json_object_new_string(message)) == 0) {
		const char *body = json_object_to_json_string_ext(o, SIO_JSON_FLAGS);

		if (ns && strcmp(ns, "/") != 0 && !strchr(ns, ','))
			w = snprintf(buf, cap, "44%s,%s", ns, body);
		else
			w = snprintf(buf, cap, "44%s", body);
		if (w < 0 || (size_t)w >= cap)
			w = -1;
	}
	json_object_put(o);
	return w;
}

char *
sio_encode_event(const char *name, json_object *payload, size_t *len)
{
	json_object *arr = json_object_new_array_ext(2);
	const char *text;
	size_t tlen;
	char *out = NULL;

	if (!arr)
		return NULL;
	if (json_object_array_add(arr, json_object_new_string(name)) != 0)
		goto done;
	if (payload && json_object_array_add(arr, json_object_get(payload)) != 0) {
		json_object_put(payload);
		goto done;
	}
	text = json_object_to_json_string_length(arr, SIO_JSON_FLAGS, &tlen);
	if (!text || !(out = malloc(tlen + 3)))
		goto done;
	out[0] = '4';
	out[1] = '2';
	memcpy(out + 2, text, tlen + 1);
	*len = tlen + 2;
done:
	json_object_put(arr);
	return out;
}

int
sio_emit_split(const char *msg, size_t len, struct sio_emit *out)
{
	const char *end = msg + len, *at, *sp;
	size_t n;

	if (len < 2 || (msg[0] != 'e' && msg[0] != 'r') || msg[1] != ' ')
		return -1;
	at = msg + 2;
	out->sent_us = 0;
	if (msg[0] == 'r') {
		for (n = 0; at < end && *at >= '0' && *at <= '9'; at++, n++) {
			if (n == SIO_EMIT_TIME_MAX)
				return -1;
			out->sent_us = out->sent_us * 10 + (*at - '0');
		}
		if (n == 0 || at == end || *at++ != ' ')
			return -1;
	}
	if (!(sp = memchr(at, ' ', (size_t)(end - at))) || sp == at ||
	    (n = (size_t)(sp - at)) > SIO_EMIT_SID_MAX)
		return -1;
	memcpy(out->sid, at, n);
	out->sid[n] = '\0';
	at = sp + 1;
	sp = memchr(at, ' ', (size_t)(end - at));
	n = (size_t)((sp ? sp : end) - at);
	if (n == 0 || n > SIO_EMIT_EVENT_MAX || memchr(at, '\0', n))
		return -1;
	memcpy(out->event, at, n);
	out->event[n] = '\0';
	out->data = sp ? sp + 1 : end;
	out->data_len = (size_t)(end - out->data);
	return 0;
}

char *
sio_encode_event_raw(const char *name, const char *raw, size_t rawlen, size_t *len)
{
	size_t nlen = strlen(name), n;
	const char *s;
	char *out;

	for (s = name; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return NULL;
	/* 42["name"] or 42["name",raw] */
	if (!(out = malloc(nlen + rawlen + 8)))
		return NULL;
	memcpy(out, "42[\"", 4);
	memcpy(out + 4, name, nlen);
	n = 4 + nlen;
	out[n++] = '"';
	if (rawlen > 0) {
		out[n++] = ',';
		memcpy(out + n, raw, rawlen);
		n += rawlen;
	}
	out[n++] = ']';
	out[n] = '\0';
	*len = n;
	return out;
}
