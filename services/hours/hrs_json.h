/* hrs_json: protobuf-c messages to and from JSON text, by reflection.
 *
 * Why this module exists: the process-level tests are Python (standard
 * library only, so no zmq and no protobuf), and they talk to the real
 * pay-hours through pay-hours-client, which turns one JSON object per line
 * into a request and prints each reply as one JSON line. Field names are
 * the .proto names; enums are written by name ("SESSION_CLASH") and read by
 * name or number; a oneof member is set by naming it; repeated fields are
 * arrays; bytes are hex strings; 64-bit integers are plain JSON numbers.
 *
 * Memory: hrs_json_to_msg returns a message built with malloc that the
 * caller frees with protobuf_c_message_free_unpacked(m, NULL);
 * hrs_json_from_msg returns a malloc'd string the caller frees. */
#ifndef PAY_HRS_JSON_H
#define PAY_HRS_JSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#define HRS_JSON_ERR_LEN 160

/* Parses `text` (one JSON object) as a message of type `desc`. Keys that
 * start with '_' are ignored (the client's own options). Returns NULL with
 * `err` filled on malformed JSON, an unknown field or a type mismatch. */
ProtobufCMessage *hrs_json_to_msg(const ProtobufCMessageDescriptor *desc, const char *text,
                                  char err[HRS_JSON_ERR_LEN]);

/* The message as one line of JSON (no newline). NULL if out of memory. */
char *hrs_json_from_msg(const ProtobufCMessage *m);

/* The string value of top-level key `key` in JSON object `text`, copied
 * into out (at most outlen - 1 bytes); -1 if absent or not a string. A
 * number value is copied as its text. */
int hrs_json_get(const char *text, const char *key, char *out, size_t outlen);

#endif
