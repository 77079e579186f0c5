/* fuzz_sio: one WebSocket text frame through the Engine.IO and Socket.IO decoders, then
 * whatever decoded back through the encoders, which must read back the same way, and an
 * event's payload through the field readers of the handlers (payload.h); the same bytes as
 * a bus emit ("e <sid> <event> <data>") through its splitter and encoder, and as a chat
 * line. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"
#include "payload.h"
#include "valid.h"
#include "sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHAT_MAX 500	/* room.h ROOM_CHAT_MAX */

/* A chat line comes out non-empty, trimmed, no longer, within its ceiling, still UTF-8 when
 * it came in as UTF-8, and with no '>' after a '<' (every <…> was removed). */
static void
chat_check(const char *s, size_t len)
{
	char *out = payload_chat_text(s, len, CHAT_MAX);
	size_t n, k;
	const char *lt;

	if (!out)
		return;
	n = strlen(out);
	k = n;
	if (n == 0 || n > len || ns_valid_trim(out, &k) != out || k != n)
		abort();
	if (ns_valid_utf8(s, len) && (!ns_valid_utf8(out, n) || ns_valid_utf8_len(out, n) > CHAT_MAX))
		abort();
	if ((lt = memchr(out, '<', n)) && memchr(lt, '>', n - (size_t)(lt - out)))
		abort();
	free(out);
}

/* Whatever the readers accept is what the handlers rely on. */
static void
payload_check(json_object *arg)
{
	static const char *const keys[] = { "roomId", "inviteId", "toUserId" };
	char id[NS_UUID_LEN + 1], again[NS_UUID_LEN + 1];
	json_object *v;
	int64_t secs;
	size_t i;
	int null_ok;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (payload_uuid(arg, keys[i], id) && (strlen(id) != NS_UUID_LEN ||
		    !ns_rand_uuid_parse(id, again) || strcmp(again, id) != 0 ||
		    strspn(id, "0123456789abcdef-") != NS_UUID_LEN))
			abort();
	if (payload_seconds(arg, 60, 1800, &secs) && (secs < 60 || secs > 1800))
		abort();
	for (null_ok = 0; null_ok < 2; null_ok++)
		if (payload_rtc(arg, "candidate", null_ok, &v) &&
		    (v ? !json_object_is_type(v, json_type_object) : !null_ok))
			abort();
	if (json_object_is_type(arg, json_type_object) &&
	    json_object_object_get_ex(arg, "text", &v) && json_object_is_type(v, json_type_string))
		chat_check(json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eio_packet ep;
	struct sio_packet sp, again;
	char buf[SIO_SMALL_MAX];
	size_t len;
	struct sio_emit em;
	char *ev;

	if (sio_emit_split((const char *)data, size, &em) == 0) {
		if (em.data + em.data_len != (const char *)data + size ||
		    (em.sent_us != 0 && data[0] != 'r') || em.sent_us < 0)
			abort();
		ev = sio_encode_event_raw(em.event, em.data, em.data_len, &len);
		if (ev && (len < 6 || memcmp(ev, "42[\"", 4) != 0 || ev[len - 1] != ']' ||
		    strlen(ev) > len))
			abort();
		free(ev);
	}
	chat_check((const char *)data, size);
	if (eio_decode((const char *)data, size, &ep) < 0 || ep.type != EIO_MESSAGE)
		return 0;
	if (sio_decode(ep.data, ep.len, &sp) != SIO_OK)
		return 0;
	sio_encode_connect_error(buf, sizeof(buf), sp.ns, sp.event ? sp.event : "m");
	if (sp.type == SIO_EVENT) {
		payload_check(sp.arg);
		ev = sio_encode_event(sp.event, sp.arg, &len);
		if (ev) {
			/* Our own output must always decode, to the same event name. */
			if (sio_decode(ev + 1, len - 1, &again) != SIO_OK ||
			    strcmp(again.event, sp.event) != 0)
				abort();
			sio_packet_free(&again);
			free(ev);
		}
	}
	sio_packet_free(&sp);
	return 0;
}
