/*
 * plugins/inputs/webhook/webhook.h - private to the webhook input: the
 * instance state shared by the request handling (webhook.c) and the body
 * formats (format_*.c), and the interface a format implements.
 *
 * A format turns one parsed request body into events. Bodies are parsed by
 * webhook.c before a format sees them: JSON bodies into a json-c value,
 * form bodies (application/x-www-form-urlencoded, for formats that accept
 * them) into a JSON object of strings. Formats never see the raw bytes.
 */
#ifndef RFX_WEBHOOK_H
#define RFX_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <reflex/plugin.h>

enum webhook_auth_type { WEBHOOK_AUTH_NONE, WEBHOOK_AUTH_BEARER, WEBHOOK_AUTH_BASIC,
			 WEBHOOK_AUTH_HMAC };

struct webhook_auth_config {
	int type;        /* enum webhook_auth_type */
	char *token;     /* bearer */
	char *username;  /* basic */
	char *password;  /* basic */
	char *secret;    /* hmac: key of HMAC-SHA256 over the raw body */
	char *header;    /* hmac: header carrying the hex signature */
};

struct webhook_config {
	char *path;
	int64_t max_events;
	int64_t ack_timeout_ms;
	int format; /* index into webhook_formats[] */
	struct webhook_auth_config auth;
	/* format options; each format documents which it reads */
	char *host_label;               /* alertmanager: label naming the host */
	bool strip_port;                /* alertmanager: "db1:9100" -> "db1" */
	char *severity_label;           /* alertmanager, grafana: label with the severity */
	struct rfx_strmap severity_map; /* source severity -> reflex severity name */
	struct rfx_strmap mapping;      /* json-mapped: event field -> JSON pointer */
};

struct webhook {
	rfx_instance *inst;
	const rfx_host *host;
	const struct webhook_config *cfg; /* borrowed from the core */
	rfx_metric *requests;
	rfx_metric *rejected;
	rfx_metric *events;
};

/* Serialisation used for the raw payload we store with each event: compact,
 * and without json-c's "\/" escaping so URLs read as they were sent. */
#define WEBHOOK_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Longest error message we send back; event_from_json messages are short. */
#define WEBHOOK_ERR_MAX 512

/*
 * Decodes a parsed body. On success returns 0 and fills evs[0..*n) (each one
 * reference, owned by the caller; *n >= 1). On failure returns -1 having
 * built nothing that outlives the call, and fills resp with the error to
 * send (422 naming the offending field, 413 for too many events).
 */
typedef int (*webhook_decode_fn)(struct webhook *w, struct json_object *root,
				 rfx_event ***evs, size_t *n, rfx_http_response *resp);

struct webhook_format {
	const char *name;
	webhook_decode_fn decode;
	bool accepts_form; /* also takes application/x-www-form-urlencoded */
};

/* Indexed by the `format` option; NULL-name terminated. */
extern const struct webhook_format webhook_formats[] __attribute__((visibility("hidden")));

/* Helpers for formats (webhook.c). */
__attribute__((visibility("hidden"))) void webhook_unref_all(struct webhook *w, rfx_event **evs,
							      size_t n);
/* "a number", "an object", ... for messages naming what a sender sent
 * (the same words the core's generic event form uses). NULL is "null". */
__attribute__((visibility("hidden"))) const char *webhook_type_name(struct json_object *o);
/* Sets the JSON text of elem as the event's raw payload. 0 or RFX_ENOMEM. */
__attribute__((visibility("hidden"))) int webhook_set_raw(struct webhook *w, rfx_event *ev,
							   struct json_object *elem);

/* The formats, one file each (format_NAME.c). */
#define WEBHOOK_DECODER(name)                                                            \
	__attribute__((visibility("hidden"))) int name(struct webhook *w,                \
						       struct json_object *root,         \
						       rfx_event ***evs, size_t *n,      \
						       rfx_http_response *resp)
WEBHOOK_DECODER(webhook_decode_json);         /* generic form, or `mapping` */
WEBHOOK_DECODER(webhook_decode_alertmanager); /* Alertmanager webhook v4 */
WEBHOOK_DECODER(webhook_decode_zabbix);       /* etc/zabbix/media_reflex.yaml */
WEBHOOK_DECODER(webhook_decode_nagios);       /* etc/nagios/reflex.cfg */
WEBHOOK_DECODER(webhook_decode_grafana);      /* Grafana unified alerting */

/* Added for the json format's `mapping` mode (format_json.c): checks at
 * init that every mapping key names an event field, every value is a JSON
 * pointer ("" or starting with '/'), mapping is only set with format json,
 * and every severity_map value is a reflex severity. 0, or RFX_EINVAL with
 * err filled. */
__attribute__((visibility("hidden"))) int webhook_mapping_validate(const rfx_host *host,
								    const struct webhook_config *cfg,
								    char *err, size_t errlen);

#endif
