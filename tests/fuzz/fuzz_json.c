/* fuzz_json: strict client-JSON parsing, then the getters and the serialiser on the result. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *obj;
	const char *text;
	size_t len;
	int64_t n;
	int b;

	if (ns_json_parse_object((const char *)data, size, &obj) != NS_OK)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		abort();	/* the parser promised an object */
	json_object_object_foreach(obj, key, val) {
		(void)val;
		(void)ns_json_get_str(obj, key);
		(void)ns_json_get_int(obj, key, &n);
		(void)ns_json_get_bool(obj, key, &b);
		(void)ns_json_get_obj(obj, key);
	}
	text = ns_json_text(obj, &len);
	/* What we serialise must parse again under the same strict rules. */
	{
		json_object *again;

		if (ns_json_parse_object(text, len, &again) != NS_OK)
			abort();
		json_object_put(again);
	}
	json_object_put(obj);
	return 0;
}
