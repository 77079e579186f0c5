/* payload: the fields of client event payloads (contract §3), read and checked before any
 * Redis or PostgreSQL call. Pure functions of the payload, so the fuzz target (fuzz_sio)
 * runs them on whatever the Socket.IO decoder accepts. A payload that is not an object has
 * none of the fields. */
#ifndef NS_GW_PAYLOAD_H
#define NS_GW_PAYLOAD_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "rand.h"

/* The UUID in field key, normalised to lower case into out: 1, else 0. */
int payload_uuid(json_object *payload, const char *key, char out[NS_UUID_LEN + 1]);

/* requestedSeconds: a JSON integer, or a number with no fraction, in [min, max]: 1 and *out,
 * else 0. */
int payload_seconds(json_object *payload, int64_t min, int64_t max, int64_t *out);

/* rtc:* (§3.7): field must be an object, or also absent or null when null_ok. 1 with *value
 * the object (NULL for absent/null), else 0: the event is dropped. */
int payload_rtc(json_object *payload, const char *field, int null_ok, json_object **value);

/* A chat line (§3.7): every <…> removed (the shortest match from each '<') and every NUL,
 * cut to max characters, trimmed. Malloc'd and NUL-terminated, or NULL when nothing is
 * left. */
char *payload_chat_text(const char *s, size_t len, size_t max);

#endif
