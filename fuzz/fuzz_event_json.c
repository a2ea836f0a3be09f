/*
 * fuzz/fuzz_event_json.c - libFuzzer target for the generic JSON event form
 * (core/event.c rfx_event_from_json). Whatever json-c accepts is handed to
 * the decoder; an accepted event is then serialised and fingerprinted so
 * that the fields the decoder filled are used the way the pipeline uses
 * them. A rejected one must leave a terminated message in err.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text = malloc(size + 1);
	struct json_object *obj = NULL, *out = NULL;
	rfx_event *ev = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	obj = json_tokener_parse(text);
	if (!obj)
		goto out;
	memset(err, 'x', sizeof(err));
	ev = rfx_event_from_json(obj, err, sizeof(err));
	if (!ev) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			__builtin_trap(); /* rejected without a message */
		goto out;
	}
	if (ev->severity < 0 || ev->severity > 7 || !ev->attrs)
		__builtin_trap();
	if (ev->nlabels > RFX_LABELS_MAX)
		__builtin_trap();
	if (rfx_event_default_fingerprint(ev) != 0)
		goto out;
	out = rfx_event_to_json(ev);
	if (out)
		(void)json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN);
out:
	json_object_put(out);
	rfx_event_unref(ev);
	json_object_put(obj);
	free(text);
	return 0;
}
