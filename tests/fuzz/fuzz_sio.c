/* fuzz_sio: one WebSocket text frame through the Engine.IO and Socket.IO decoders, then
 * whatever decoded back through the encoders, which must read back the same way. */
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
	char *ev;

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
