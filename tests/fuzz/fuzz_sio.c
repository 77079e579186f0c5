/* fuzz_sio: one WebSocket text frame through the Engine.IO and Socket.IO decoders, then
 * whatever decoded back through the encoders, which must read back the same way; and the
 * same bytes as a bus emit ("e <sid> <event> <data>") through its splitter and encoder. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eio.h"
#include "sio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if (eio_decode((const char *)data, size, &ep) < 0 || ep.type != EIO_MESSAGE)
		return 0;
	if (sio_decode(ep.data, ep.len, &sp) != SIO_OK)
		return 0;
	sio_encode_connect_error(buf, sizeof(buf), sp.ns, sp.event ? sp.event : "m");
	if (sp.type == SIO_EVENT) {
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
