/* test_eio_sio: Engine.IO / Socket.IO packet decoding and encoding, including malformed input. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eio.h"
#include "json.h"
#include "payload.h"
#include "sio.h"
#include "tap.h"

/* Decode a NUL-free literal; returns the result and leaves the packet in *p. */
static enum sio_result
dec(const char *s, struct sio_packet *p)
{
	return sio_decode(s, strlen(s), p);
}

static void
test_eio(void)
{
	struct eio_packet p;
	char buf[EIO_OPEN_MAX];
	int n;

	tap_is_int(eio_decode("2", 1, &p), 0, "eio: ping decodes");
	tap_is_int(p.type, EIO_PING, "eio: type ping");
	tap_is_int(p.len, 0, "eio: ping has no data");
	tap_is_int(eio_decode("42[\"a\"]", 7, &p), 0, "eio: message decodes");
	tap_ok(p.type == EIO_MESSAGE && p.len == 6 && memcmp(p.data, "2[\"a\"]", 6) == 0,
	    "eio: message data follows the type digit");
	tap_is_int(eio_decode("6", 1, &p), 0, "eio: noop decodes");
	tap_is_int(eio_decode("", 0, &p), -1, "eio: empty frame rejected");
	tap_is_int(eio_decode("7", 1, &p), -1, "eio: type 7 rejected");
	tap_is_int(eio_decode("x4", 2, &p), -1, "eio: non-digit type rejected");
	tap_is_int(eio_decode("/", 1, &p), -1, "eio: character below '0' rejected");

	n = eio_encode_open(buf, sizeof(buf), "abcDEF123_-abcDEF123", 25000, 60000, 1000000);
	tap_is_str(n > 0 ? buf : NULL, "0{\"sid\":\"abcDEF123_-abcDEF123\",\"upgrades\":[],"
	    "\"pingInterval\":25000,\"pingTimeout\":60000,\"maxPayload\":1000000}",
	    "eio: open packet");
	tap_is_int(n, (int)strlen(buf), "eio: open length");
	tap_is_int(eio_encode_open(buf, sizeof(buf), "a\"b", 1, 1, 1), -1,
	    "eio: open refuses a sid that needs escaping");
	tap_is_int(eio_encode_open(buf, 20, "abc", 1, 1, 1), -1, "eio: open refuses a short buffer");
}

static void
test_sio_decode(void)
{
	struct sio_packet p;

	tap_is_int(dec("0", &p), SIO_OK, "sio: bare CONNECT");
	tap_ok(p.type == SIO_CONNECT && strcmp(p.ns, "/") == 0 && !p.data && p.ack_id == -1,
	    "sio: bare CONNECT is namespace / without payload");
	sio_packet_free(&p);

	tap_is_int(dec("0{\"token\":\"t1\"}", &p), SIO_OK, "sio: CONNECT with auth");
	tap_is_str(json_object_get_string(json_object_object_get(p.data, "token")), "t1",
	    "sio: auth token parsed");
	sio_packet_free(&p);

	tap_is_int(dec("0/admin,", &p), SIO_OK, "sio: CONNECT to a namespace");
	tap_is_str(p.ns, "/admin", "sio: namespace parsed");
	sio_packet_free(&p);

	tap_is_int(dec("0/admin,{\"token\":\"x\"}", &p), SIO_OK, "sio: namespace and auth");
	tap_ok(strcmp(p.ns, "/admin") == 0 && json_object_is_type(p.data, json_type_object),
	    "sio: namespace then payload");
	sio_packet_free(&p);

	tap_is_int(dec("0/admin", &p), SIO_OK, "sio: namespace without comma at the end");
	tap_is_str(p.ns, "/admin", "sio: namespace to end of packet");
	sio_packet_free(&p);

	tap_is_int(dec("2[\"room:chat\",{\"text\":\"hi\"}]", &p), SIO_OK, "sio: EVENT");
	tap_is_str(p.event, "room:chat", "sio: event name");
	tap_is_str(json_object_get_string(json_object_object_get(p.arg, "text")), "hi",
	    "sio: event payload");
	sio_packet_free(&p);

	tap_is_int(dec("2[\"presence:join\"]", &p), SIO_OK, "sio: EVENT without payload");
	tap_ok(p.arg == NULL, "sio: missing payload is NULL");
	sio_packet_free(&p);

	tap_is_int(dec("212[\"x\",1]", &p), SIO_OK, "sio: EVENT with ack id");
	tap_ok(p.ack_id == 12 && strcmp(p.event, "x") == 0, "sio: ack id 12 parsed");
	sio_packet_free(&p);

	tap_is_int(dec("2/chat,7[\"x\"]", &p), SIO_OK, "sio: EVENT with namespace and ack id");
	tap_ok(p.ack_id == 7 && strcmp(p.ns, "/chat") == 0, "sio: namespace and ack id parsed");
	sio_packet_free(&p);

	tap_is_int(dec("1", &p), SIO_OK, "sio: DISCONNECT");
	tap_is_int(p.type, SIO_DISCONNECT, "sio: type DISCONNECT");
	sio_packet_free(&p);
	tap_is_int(dec("3[]", &p), SIO_OK, "sio: ACK");
	sio_packet_free(&p);
	tap_is_int(dec("4{\"message\":\"m\"}", &p), SIO_OK, "sio: CONNECT_ERROR");
	sio_packet_free(&p);

	/* Malformed or refused. */
	tap_is_int(dec("", &p), SIO_MALFORMED, "sio: empty packet");
	tap_is_int(dec("9", &p), SIO_MALFORMED, "sio: type 9");
	tap_is_int(dec("a", &p), SIO_MALFORMED, "sio: non-digit type");
	tap_is_int(dec("51-[\"x\",{\"_placeholder\":true,\"num\":0}]", &p), SIO_UNSUPPORTED,
	    "sio: BINARY_EVENT refused");
	tap_is_int(dec("6", &p), SIO_UNSUPPORTED, "sio: BINARY_ACK refused");
	tap_is_int(dec("0[1]", &p), SIO_MALFORMED, "sio: CONNECT with an array payload");
	tap_is_int(dec("0\"tok\"", &p), SIO_MALFORMED, "sio: CONNECT with a string payload");
	tap_is_int(dec("0{", &p), SIO_MALFORMED, "sio: truncated JSON");
	tap_is_int(dec("0{} x", &p), SIO_MALFORMED, "sio: trailing garbage");
	tap_is_int(dec("0{}{}", &p), SIO_MALFORMED, "sio: two JSON values");
	tap_is_int(dec("1{}", &p), SIO_MALFORMED, "sio: DISCONNECT with payload");
	tap_is_int(dec("2", &p), SIO_MALFORMED, "sio: EVENT without payload");
	tap_is_int(dec("2[]", &p), SIO_MALFORMED, "sio: EVENT with empty array");
	tap_is_int(dec("2[1,2]", &p), SIO_MALFORMED, "sio: EVENT name not a string");
	tap_is_int(dec("2{\"a\":1}", &p), SIO_MALFORMED, "sio: EVENT payload an object");
	tap_is_int(dec("2123", &p), SIO_MALFORMED, "sio: EVENT with ack id only");
	tap_is_int(dec("21234567890123456[\"x\"]", &p), SIO_MALFORMED, "sio: ack id too long");
	tap_is_int(dec("3{}", &p), SIO_MALFORMED, "sio: ACK with object");
	tap_is_int(dec("4", &p), SIO_MALFORMED, "sio: CONNECT_ERROR without payload");
	tap_is_int(dec("2['x']", &p), SIO_MALFORMED, "sio: single quotes are not JSON");
	tap_is_int(dec("2[\"\xff\"]", &p), SIO_MALFORMED, "sio: invalid UTF-8");
	tap_is_int(sio_decode("2[\"a\0\"]", 6, &p), SIO_MALFORMED, "sio: NUL inside the JSON");
	tap_is_int(sio_decode("0/a\0b,", 6, &p), SIO_MALFORMED, "sio: NUL inside the namespace");

	{	/* namespace ceiling */
		char big[SIO_NS_MAX + 8];

		big[0] = '0';
		big[1] = '/';
		memset(big + 2, 'n', SIO_NS_MAX);
		big[SIO_NS_MAX + 2] = ',';
		tap_is_int(sio_decode(big, SIO_NS_MAX + 3, &p), SIO_MALFORMED,
		    "sio: namespace over SIO_NS_MAX");
		tap_is_int(sio_decode(big, SIO_NS_MAX + 1, &p), SIO_OK,
		    "sio: namespace of exactly SIO_NS_MAX");
		sio_packet_free(&p);
	}
	{	/* nesting ceiling */
		char deep[200];
		int i;

		deep[0] = '2';
		deep[1] = '[';
		deep[2] = '"';
		deep[3] = 'x';
		deep[4] = '"';
		deep[5] = ',';
		for (i = 0; i < 64; i++) {
			deep[6 + i] = '[';
			deep[6 + 64 + i] = ']';
		}
		deep[6 + 128] = ']';
		tap_is_int(sio_decode(deep, 6 + 129, &p), SIO_MALFORMED,
		    "sio: nesting deeper than NS_JSON_DEPTH_MAX");
	}
}

static void
test_sio_encode(void)
{
	char buf[SIO_SMALL_MAX], *ev;
	json_object *o;
	size_t len = 0;
	int n;

	n = sio_encode_connect(buf, sizeof(buf), "SID_-1");
	tap_is_str(n > 0 ? buf : NULL, "40{\"sid\":\"SID_-1\"}", "sio: CONNECT reply");
	tap_is_int(sio_encode_connect(buf, sizeof(buf), "bad sid"), -1,
	    "sio: CONNECT reply refuses an unsafe sid");

	n = sio_encode_connect_error(buf, sizeof(buf), NULL, "Session invalidated");
	tap_is_str(n > 0 ? buf : NULL, "44{\"message\":\"Session invalidated\"}",
	    "sio: CONNECT_ERROR on /");
	n = sio_encode_connect_error(buf, sizeof(buf), "/admin", "Invalid namespace");
	tap_is_str(n > 0 ? buf : NULL, "44/admin,{\"message\":\"Invalid namespace\"}",
	    "sio: CONNECT_ERROR on another namespace");
	n = sio_encode_connect_error(buf, sizeof(buf), "/", "a \"quoted\"\n/text");
	tap_is_str(n > 0 ? buf : NULL, "44{\"message\":\"a \\\"quoted\\\"\\n/text\"}",
	    "sio: CONNECT_ERROR message escaped");
	tap_is_int(sio_encode_connect_error(buf, 10, NULL, "too long for ten"), -1,
	    "sio: CONNECT_ERROR refuses a short buffer");

	o = json_object_new_object();
	json_object_object_add(o, "userId", json_object_new_string("u1"));
	json_object_object_add(o, "online", json_object_new_boolean(1));
	ev = sio_encode_event("presence:update", o, &len);
	tap_is_str(ev, "42[\"presence:update\",{\"userId\":\"u1\",\"online\":true}]",
	    "sio: EVENT with payload");
	tap_is_int(len, ev ? strlen(ev) : 0, "sio: EVENT length");
	free(ev);
	tap_is_int(json_object_put(o), 1, "sio: encoder left the caller's reference alone");

	ev = sio_encode_event("peer:disconnected", NULL, &len);
	tap_is_str(ev, "42[\"peer:disconnected\"]", "sio: EVENT without payload");
	free(ev);

	ev = sio_encode_event_raw("rtc:offer", "{\"sdp\":\"v=0\"}", 13, &len);
	tap_is_str(ev, "42[\"rtc:offer\",{\"sdp\":\"v=0\"}]", "sio: raw EVENT with payload");
	tap_is_int(len, ev ? strlen(ev) : 0, "sio: raw EVENT length");
	free(ev);
	ev = sio_encode_event_raw("session:finalized", "", 0, &len);
	tap_is_str(ev, "42[\"session:finalized\"]", "sio: raw EVENT without payload");
	free(ev);
	tap_ok(sio_encode_event_raw("a\"b", "1", 1, &len) == NULL,
	    "sio: raw EVENT refuses a name that needs escaping");
	{
		static const char m1[] = "e AbC-_123 rtc:ice {\"candidate\":\"a b\"}";
		static const char m2[] = "e AbC session:finalized";
		struct sio_emit em;

		tap_ok(sio_emit_split(m1, sizeof(m1) - 1, &em) == 0 && strcmp(em.sid, "AbC-_123") == 0 &&
		    strcmp(em.event, "rtc:ice") == 0 && em.data_len == 19 &&
		    memcmp(em.data, "{\"candidate\":\"a b\"}", 19) == 0,
		    "sio: bus emit split into sid, event and the data as it is (spaces in it kept)");
		tap_ok(sio_emit_split(m2, sizeof(m2) - 1, &em) == 0 && em.data_len == 0 &&
		    strcmp(em.event, "session:finalized") == 0, "sio: bus emit without data");
		tap_ok(sio_emit_split("e  x", 4, &em) < 0, "sio: bus emit with an empty sid refused");
		tap_ok(sio_emit_split("e abc", 5, &em) < 0, "sio: bus emit without an event refused");
		tap_ok(sio_emit_split("e abc  {}", 9, &em) < 0, "sio: bus emit with an empty event refused");
		tap_ok(sio_emit_split("{\"type\":\"emit\"}", 15, &em) < 0, "sio: JSON is not a bus emit");
		tap_ok(sio_emit_split("e 012345678901234567890123456789012 ev", 38, &em) < 0,
		    "sio: bus emit sid over its ceiling refused");
		tap_ok(sio_emit_split(m1, sizeof(m1) - 1, &em) == 0 && em.sent_us == 0,
		    "sio: a plain bus emit has no arrival time");
		{
			static const char r1[] = "r 1795599238127001 AbC rtc:offer {\"offer\":{}}";

			tap_ok(sio_emit_split(r1, sizeof(r1) - 1, &em) == 0 &&
			    em.sent_us == 1795599238127001LL && strcmp(em.sid, "AbC") == 0 &&
			    strcmp(em.event, "rtc:offer") == 0 && em.data_len == 12,
			    "sio: a relay's emit gives its arrival time, sid, event and data");
		}
		tap_ok(sio_emit_split("r AbC rtc:ice {}", 16, &em) < 0,
		    "sio: a relay's emit without its time refused");
		tap_ok(sio_emit_split("r 12x AbC ev", 12, &em) < 0,
		    "sio: a relay's time that is not digits refused");
		tap_ok(sio_emit_split("r 1234567890123456789 AbC ev", 28, &em) < 0,
		    "sio: a relay's time over its ceiling refused");
		tap_ok(sio_emit_split("r 12", 4, &em) < 0, "sio: a relay's emit cut after its time refused");
	}

	/* What the encoder writes, the decoder reads back. */
	o = json_object_new_array();
	json_object_array_add(o, json_object_new_int(3));
	ev = sio_encode_event("x\"y", o, &len);
	json_object_put(o);
	{
		struct eio_packet ep;
		struct sio_packet sp;

		tap_ok(ev && eio_decode(ev, len, &ep) == 0 && ep.type == EIO_MESSAGE &&
		    sio_decode(ep.data, ep.len, &sp) == SIO_OK, "sio: EVENT round trip decodes");
		if (ev && sp.data) {
			tap_is_str(sp.event, "x\"y", "sio: round trip keeps the name");
			tap_is_int(json_object_get_int(json_object_array_get_idx(sp.arg, 0)), 3,
			    "sio: round trip keeps the payload");
			sio_packet_free(&sp);
		}
	}
	free(ev);
}

static json_object *
obj(const char *text)
{
	json_object *o = NULL;

	if (ns_json_parse_object(text, strlen(text), &o) != NS_OK)
		return NULL;
	return o;
}

/* chat_text(in) is want (NULL: nothing left) */
static void
chat_is(const char *in, const char *want, const char *desc)
{
	char *got = payload_chat_text(in, strlen(in), 10);

	if (want)
		tap_ok(got && strcmp(got, want) == 0, "%s", desc);
	else
		tap_ok(got == NULL, "%s", desc);
	free(got);
}

static void
test_payload(void)
{
	char id[NS_UUID_LEN + 1];
	json_object *o, *v;
	int64_t secs = -1;

	o = obj("{\"roomId\":\"0C97E781-EDDE-4E97-8387-057D66C26917\",\"requestedSeconds\":300}");
	tap_ok(payload_uuid(o, "roomId", id) && strcmp(id, "0c97e781-edde-4e97-8387-057d66c26917") == 0,
	    "payload: a UUID field is read and lower-cased");
	tap_ok(!payload_uuid(o, "inviteId", id), "payload: a missing UUID field is refused");
	tap_ok(payload_seconds(o, 60, 1800, &secs) && secs == 300, "payload: requestedSeconds 300");
	tap_ok(!payload_seconds(o, 301, 1800, &secs), "payload: requestedSeconds under the minimum");
	json_object_put(o);
	o = obj("{\"roomId\":\"not-a-uuid\",\"requestedSeconds\":300.0}");
	tap_ok(!payload_uuid(o, "roomId", id), "payload: a malformed UUID is refused");
	tap_ok(payload_seconds(o, 60, 1800, &secs) && secs == 300,
	    "payload: requestedSeconds 300.0 (no fraction) is 300");
	json_object_put(o);
	o = obj("{\"requestedSeconds\":300.5}");
	tap_ok(!payload_seconds(o, 60, 1800, &secs), "payload: requestedSeconds with a fraction refused");
	json_object_put(o);
	o = obj("{\"requestedSeconds\":1e300}");
	tap_ok(!payload_seconds(o, 60, 1800, &secs), "payload: requestedSeconds 1e300 refused");
	json_object_put(o);
	o = obj("{\"requestedSeconds\":\"300\"}");
	tap_ok(!payload_seconds(o, 60, 1800, &secs), "payload: requestedSeconds as a string refused");
	json_object_put(o);
	o = json_object_new_array();
	tap_ok(!payload_uuid(o, "roomId", id) && !payload_seconds(o, 60, 1800, &secs) &&
	    !payload_rtc(o, "candidate", 1, &v), "payload: an array payload has no fields");
	json_object_put(o);

	o = obj("{\"offer\":{\"type\":\"offer\"},\"candidate\":null,\"answer\":\"x\"}");
	tap_ok(payload_rtc(o, "offer", 0, &v) && json_object_is_type(v, json_type_object),
	    "payload: rtc offer object accepted");
	tap_ok(!payload_rtc(o, "answer", 0, &v), "payload: rtc answer that is a string refused");
	tap_ok(payload_rtc(o, "candidate", 1, &v) && v == NULL, "payload: rtc candidate null accepted");
	tap_ok(!payload_rtc(o, "candidate", 0, &v), "payload: null refused where not allowed");
	tap_ok(!payload_rtc(o, "sdp", 0, &v), "payload: a missing rtc field refused");
	tap_ok(payload_rtc(o, "sdp", 1, &v) && v == NULL,
	    "payload: a missing candidate accepted as null");
	json_object_put(o);

	chat_is("  hi  ", "hi", "payload: chat trimmed");
	chat_is("a<b>c", "ac", "payload: chat <tag> removed");
	chat_is("a<b<c>d>e", "ad>e", "payload: chat removes the shortest <…> from each '<'");
	chat_is("x < y", "x < y", "payload: chat keeps a '<' with no '>' after it");
	chat_is("<script>", NULL, "payload: chat of only a tag is nothing");
	chat_is("   ", NULL, "payload: chat of only spaces is nothing");
	chat_is("0123456789abc", "0123456789", "payload: chat cut to its ceiling");
	{
		char *got = payload_chat_text("a \0b ", 5, 10);

		tap_ok(got && strcmp(got, "a b") == 0, "payload: chat drops a NUL (\\u0000)");
		free(got);
	}
	chat_is("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    "payload: chat ceiling counts characters, not bytes");
}

int
main(void)
{
	test_eio();
	test_sio_decode();
	test_sio_encode();
	test_payload();
	return tap_done();
}
