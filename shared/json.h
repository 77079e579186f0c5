/* json: small helpers over json-c: strict parsing, typed getters, builders. */
#ifndef NS_JSON_H
#define NS_JSON_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "err.h"

#define NS_JSON_DEPTH_MAX 32	/* nesting ceiling for client JSON */

/* Parse exactly one JSON value from buf[0..len) (trailing whitespace allowed; invalid UTF-8,
 * trailing garbage or a non-object top level → NS_E_INVALID_JSON). Caller puts the result. */
enum ns_err ns_json_parse_object(const char *buf, size_t len, json_object **out);
/* The process' strict tokener (depth NS_JSON_DEPTH_MAX, UTF-8 checked), reset for a new
 * parse; NULL when out of memory. Valid until the next call: the daemons are
 * single-threaded. */
json_tokener *ns_json_tokener(void);

/* Typed getters: return the field only when present and of that JSON type, else NULL/0. */
const char *ns_json_get_str(json_object *obj, const char *key);
int ns_json_get_int(json_object *obj, const char *key, int64_t *out);	/* integers only */
int ns_json_get_bool(json_object *obj, const char *key, int *out);
json_object *ns_json_get_obj(json_object *obj, const char *key);

/* Builders that never fail silently: on allocation failure they abort the process, since a
 * half-built response would be worse than a restart by the supervisor. */
json_object *ns_json_obj(void);
void ns_json_set_str(json_object *obj, const char *key, const char *val);	/* NULL → null */
void ns_json_set_int(json_object *obj, const char *key, int64_t val);
void ns_json_set_bool(json_object *obj, const char *key, int val);
void ns_json_set_null(json_object *obj, const char *key);
void ns_json_set(json_object *obj, const char *key, json_object *val);	/* takes ownership */
/* Compact serialisation, owned by obj. */
const char *ns_json_text(json_object *obj, size_t *len);

#endif
