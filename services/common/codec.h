/* codec: protobuf messages to and from ZeroMQ frames, safely.
 *
 * Packing goes straight into a zmq_msg_t (one allocation, no copy).
 * Unpacking goes through a bounded allocator: a decode may allocate at most
 * `max_bytes` in total, so a hostile frame cannot make a service allocate
 * without limit. After decoding, codec_check_enums walks the message and
 * refuses enum values the schema does not name (protobuf-c accepts any
 * integer for a proto2 enum) and codec_check_strings refuses string fields
 * that are not valid UTF-8 or hold a NUL. Packing repairs invalid UTF-8, so
 * no message sent ever carries it. Every failure is a value with a message that
 * the server turns into a MALFORMED_REQUEST reply; nothing here aborts.
 *
 * Ownership: codec_unpack returns a message the caller frees with
 * codec_free; all its memory lives in one arena. */
#ifndef PAY_CODEC_H
#define PAY_CODEC_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <zmq.h>

#include "common.pb-c.h"

/* Largest frame any socket accepts (ZMQ_MAXMSGSIZE) by default: 4 MiB. */
#define CODEC_MAX_FRAME (4L * 1024 * 1024)

#define CODEC_ERR_LEN 160

/* Packs `m` into `out` (which must not be initialised yet). Returns 0 or -1
 * (a message missing a required field, or out of memory); on failure `out`
 * is an empty initialised message, so closing it is harmless. */
int codec_pack_msg(const ProtobufCMessage *m, zmq_msg_t *out);

/* Decodes `len` bytes as `desc`, allocating at most `max_bytes` (0 means
 * 8 * len + 64 KiB). Refuses len > CODEC_MAX_FRAME, undecodable bytes, and
 * unknown enum values. Returns the message, or NULL with `err` filled. */
ProtobufCMessage *codec_unpack(const ProtobufCMessageDescriptor *desc,
                               const void *data, size_t len, size_t max_bytes,
                               char err[CODEC_ERR_LEN]);

/* 0 if every string field of the packed message (recursively, by the
 * descriptor) is valid UTF-8 without a NUL; else -1 with the field's name
 * in err. codec_unpack calls it; a consumer decoding feed events with its
 * own allocator must call it too. */
int codec_check_strings(const ProtobufCMessageDescriptor *desc, const void *data, size_t len,
                        char err[CODEC_ERR_LEN]);

/* Replaces, in place, the bytes of string fields that are not valid UTF-8
 * (and NULs) with '?', keeping every length. Returns the bytes replaced.
 * codec_pack_msg calls it on every message it packs. */
size_t codec_repair_strings(const ProtobufCMessageDescriptor *desc, void *data, size_t len);

/* Frees a message from codec_unpack. Accepts NULL; NULLs *msg_p. */
void codec_free(ProtobufCMessage **msg_p);

/* 0 if every enum field (recursively, including repeated and oneof fields)
 * holds a value the schema names; else -1 with the field's name in err. */
int codec_check_enums(const ProtobufCMessage *m, char err[CODEC_ERR_LEN]);

/* Packs a Pay__ReplyHeader (request_id may be NULL) into `out`. Any
 * service's Reply decodes it, since every Reply starts with these tags. */
int codec_error_reply(zmq_msg_t *out, const char *request_id,
                      Pay__Status status, const char *message);

/* The status name as the spec writes it ("SESSION_CLASH"). */
const char *codec_status_name(Pay__Status status);

#endif
