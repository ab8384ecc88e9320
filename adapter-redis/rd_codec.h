/* rd_codec: the socket.io-redis wire format (notepack 3 msgpack, JSON, channels), without I/O. */
#ifndef RD_CODEC_H
#define RD_CODEC_H

#include "util_buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Values. msgpack and jansson map onto each other as notepack.io 3 maps msgpack onto JavaScript:
 *
 *   msgpack                         jansson (decode)                 encode back
 *   str8/16/32, fixstr (UTF-8 only) string                           smallest str form
 *   bin8/16/32                      sio_binary value                 smallest bin form
 *   every int width                 integer (uint64 > INT64_MAX: real) smallest int form
 *   float32, float64                real (NaN, +-Infinity: null)     float64 (cb), always
 *   nil                             null                             nil
 *   true, false                     true, false                      true, false
 *   array16/32, fixarray            array                            smallest array form
 *   map16/32, fixmap                object, key order kept           smallest map form, same order
 *     (keys must be str, UTF-8, without NUL; a repeated key keeps its first place, last value)
 *   timestamp ext -1 (d6 ff, d7 ff, ISO-8601 string, as JS Date.toISOString() (null out of range)
 *     c7 0c ff)
 *     (c7 with type -1 and a length other than 12 is an error: notepack would misparse it)
 *   legacy d4 00 xx (undefined)     null in an array; the entry is left out of a map
 *   legacy d7 00 + int64 ms (Date)  ISO-8601 string
 *   ext8/16/32 of type 0            sio_binary value (notepack's ArrayBuffer)
 *   any other ext                   [type, sio_binary]                (notepack's [type, Buffer])
 *     (fixext 1/2/4/16 of type 0 included: notepack reads only ext8/16/32 of type 0 as binary)
 *
 * A jansson real is always written as float64, even when its value is integral (2.0): it was a
 * real, and writing it back as a real keeps decode(encode(x)) equal to x. JSON text "2" is an
 * integer and is written as the int 02, as notepack writes the JS number 2.
 */

/** Deepest container nesting accepted by the decoder. msgpack-c's unpacker has a fixed stack of 32
 *  (MSGPACK_EMBED_STACK_SIZE, compiled into libmsgpackc), so deeper input cannot be unpacked. */
#define RD_MAX_DEPTH 32
/** Most values in one message (array elements, map keys and map values, at every depth). */
#define RD_MAX_ELEMENTS 1000000

/* Decodes exactly one msgpack value filling buf[0..len) (trailing bytes are an error) into a new
 * jansson tree. Strings are copied out of buf. Returns 0 and sets *out (a new reference the caller
 * must json_decref), or -1 and sets *err to a static message (never freed) with *out NULL.
 * Never allocates more than a small multiple of len, whatever sizes the input declares. */
int rd_msgpack_to_json(const uint8_t *buf, size_t len, json_t **out, const char **err);

/* Appends the msgpack encoding of v to out, byte for byte as notepack.io 3 encodes the same JS
 * value (see the table above). v must be acyclic; containers nested deeper than 2048 are written
 * as nil. v is borrowed. */
void rd_json_to_msgpack(util_buf *out, const json_t *v);

/*
 * Broadcast messages on K#NSP# and K#NSP#ROOM#: the msgpack array [uid, packet, opts].
 */

/** A decoded broadcast. Every pointer is owned by the struct (free with rd_broadcast_clear). */
typedef struct rd_broadcast {
    char *uid;      /**< sender uid; NULL when it was nil or not a string (never equal to ours) */
    json_t *data;   /**< packet.data: [event name, args...], binary as sio_binary values */
    char *nsp;      /**< packet.nsp, "/" when it was missing */
    char **rooms;   /**< opts.rooms, duplicates removed, in wire order; NULL when n_rooms is 0 */
    size_t n_rooms; /**< number of rooms; 0 means every socket of the namespace */
    char **except;  /**< opts.except: rooms whose sockets are left out, duplicates removed */
    size_t n_except;
    bool volatile_;    /**< flags.volatile was truthy */
    bool compress_set; /**< flags.compress was present */
    bool compress;     /**< flags.compress, when compress_set */
    char *offset;      /**< a logged packet's offset (the 4th element, also the last argument of
                            data), or NULL */
} rd_broadcast;

/* Decodes a broadcast payload, with the tolerance of redis-adapter 8.x: uid may be any value;
 * packet.nsp missing means "/"; opts.rooms and opts.except may be missing, nil or "" (empty);
 * opts.flags may be missing, {} or "" and only volatile/compress are read; opts may be {}; extra
 * array elements after opts are ignored. Rejected: not an array of at least 3, packet not a map,
 * packet.type other than 2 (5 would break v4 clients), data not an array starting with a string,
 * nsp not a string (bin included), rooms/except not arrays of strings, opts not a map, NUL inside
 * nsp/rooms/except (a uid holding NUL counts as not a string). Returns 0 and fills *out (the
 * caller owns it and calls rd_broadcast_clear), or -1 with *err set to a static message and *out
 * zeroed. */
int rd_broadcast_decode(const uint8_t *buf, size_t len, rd_broadcast *out, const char **err);

/* Appends the msgpack [uid, {type:2, data, nsp}, opts] of b to out. opts keys are in the order of
 * redis-emitter 5.x ({rooms, flags, except}) when emitter_key_order is true, else of redis-adapter
 * 8.x ({rooms, except, flags}). flags holds only what is set: volatile:true, then compress:bool;
 * {} (0x80) when neither. Duplicate rooms/except are written once. A NULL uid is written as nil, a
 * NULL nsp as "/", a NULL data as []. b is borrowed. */
void rd_broadcast_encode(util_buf *out, const rd_broadcast *b, bool emitter_key_order);

/* Appends a logged broadcast (connection state recovery, docs/recovery.md) without its offset:
 * the msgpack array [uid, {type:2, data, nsp}, opts, OFFSET] whose data array is declared one
 * element longer than b->data, where the offset goes; *splice is the byte position in out where it
 * is inserted, and the 4th element is appended after the end. Redis' log script inserts and
 * appends the offset (a msgpack str8) once it knows it. b->offset is not used. */
void rd_broadcast_encode_logged(util_buf *out, const rd_broadcast *b, size_t *splice);

/* Frees what b owns and zeroes it. Accepts a zeroed struct; may be called twice. */
void rd_broadcast_clear(rd_broadcast *b);

/*
 * Channel names (§1). key is the prefix ("socket.io"), nsp the namespace with its leading "/".
 */

/* Appends the broadcast channel to out: "K#NSP#", or "K#NSP#ROOM#" when room is not NULL. Callers
 * pass a room exactly when a broadcast targets exactly one room. */
void rd_channel_broadcast(util_buf *out, const char *key, const char *nsp, const char *room);

/* Appends the request channel "K-request#NSP#" to out. */
void rd_channel_request(util_buf *out, const char *key, const char *nsp);

/* Appends the response channel to out: "K-response#NSP#", or "K-response#NSP#UID#" when uid is
 * not NULL. */
void rd_channel_response(util_buf *out, const char *key, const char *nsp, const char *uid);

/* Appends siobroker's own control channel (rd_control.h) to out: "K#siobroker#", which every
 * siobroker node subscribes to, or "K#siobroker#NODE#", the channel of one node, when node_id is
 * not NULL. No namespace starts without '/', so the adapters' pattern "K#NSP#*" never matches. */
void rd_channel_control(util_buf *out, const char *key, const char *node_id);

/* Appends a control reply channel to out: "K#siobroker-reply#", followed by "TOKEN#" when token is
 * not NULL. Nodes publish replies only on channels that start with "K#siobroker-reply#". */
void rd_channel_control_reply(util_buf *out, const char *key, const char *token);

/* Takes the room out of a channel name received through the pattern "K#NSP#*", as 8.x does (the
 * text between "K#NSP#" and the final '#'). Returns 0 and sets *room_out to a heap copy the caller
 * frees with util_free, or to NULL for the namespace channel "K#NSP#" (and for "K#NSP##"); returns
 * -1 (and *room_out NULL) when channel[0..len) does not start with "K#NSP#", does not end with '#',
 * or the room holds a NUL byte. */
int rd_channel_room(const char *channel, size_t len, const char *key, const char *nsp,
                    char **room_out);

/*
 * Requests and responses (§3): K-request#NSP# and K-response#NSP#[UID#]. A payload whose first
 * byte is '{' is JSON, anything else msgpack (a map).
 */

/** Request types of the classic adapter (redis-adapter 8.x RequestType). */
typedef enum rd_request_type {
    RD_REQ_SOCKETS = 0,                /**< legacy: {requestId, rooms} -> {requestId, sockets} */
    RD_REQ_ALL_ROOMS = 1,              /**< {requestId} -> {requestId, rooms} */
    RD_REQ_REMOTE_JOIN = 2,            /**< {opts, rooms}, or legacy {requestId, sid, room} */
    RD_REQ_REMOTE_LEAVE = 3,           /**< as REMOTE_JOIN */
    RD_REQ_REMOTE_DISCONNECT = 4,      /**< {opts, close}, or legacy {requestId, sid, close} */
    RD_REQ_REMOTE_FETCH = 5,           /**< {requestId, opts} -> {requestId, sockets} */
    RD_REQ_SERVER_SIDE_EMIT = 6,       /**< {data, [requestId]} -> {type:6, requestId, data} */
    RD_REQ_BROADCAST = 7,              /**< msgpack {uid, requestId, type, packet, opts} */
    RD_REQ_BROADCAST_CLIENT_COUNT = 8, /**< response {type:8, requestId, clientCount} */
    RD_REQ_BROADCAST_ACK = 9,          /**< msgpack response {type:9, requestId, packet} */
} rd_request_type;

/* Decodes a request or response payload, JSON when buf[0] is '{' and msgpack otherwise, which must
 * be an object (map) nested no deeper than RD_MAX_DEPTH (JSON too, so that whatever is accepted can
 * be re-sent as msgpack). No field is checked. Returns 0 and sets *out (a new reference), or -1
 * with *err set to a static message. */
int rd_message_decode(const uint8_t *buf, size_t len, json_t **out, const char **err);

/* rd_message_decode followed by rd_request_validate. Same contract. */
int rd_request_decode(const uint8_t *buf, size_t len, json_t **out, const char **err);

/* rd_message_decode followed by rd_response_validate. Same contract. */
int rd_response_decode(const uint8_t *buf, size_t len, json_t **out, const char **err);

/* Checks the fields a request of its type uses (borrowed req): type an integer 0..9; uid absent or
 * a string; requestId a string where the type needs one (0, 1, 5, 7, 8, 9 and the legacy forms of
 * 2, 3, 4), absent or a string otherwise; opts a map whose rooms/except are absent, nil or arrays
 * of strings (required for 5 and 7); rooms an array of strings (2, 3; optional for 0); close absent
 * or a bool (4); sid/room strings (legacy 2, 3, 4); data an array starting with a string (6);
 * packet a map with type 2 and a data array starting with a string (7); clientCount a JSON integer
 * >= 0 (8), so that json_integer_value reads it. Strings used as identifiers must not hold NUL.
 * Returns 0, or -1 with *err set. */
int rd_request_validate(const json_t *req, const char **err);

/* Checks a response (borrowed): requestId a string; type absent or an integer; for type 8
 * clientCount an integer >= 0. Returns 0, or -1 with *err set. */
int rd_response_validate(const json_t *resp, const char **err);

/* The type of req (borrowed) when it is 0..9 (RD_REQ_*), written as an integer or an integral real
 * (JS compares with ===); -1 otherwise. */
int rd_request_type_of(const json_t *req);

/* The string field name of obj (uid, requestId, sid, room...), borrowed from obj; NULL when absent
 * or not a string. */
const char *rd_request_str(const json_t *obj, const char *name);

/* True when v is an array whose elements are all strings without NUL. */
bool rd_is_string_array(const json_t *v);

/* Fills *out from a validated BROADCAST (type 7) request: uid from req.uid, the rest from packet
 * and opts with the rules of rd_broadcast_decode. Returns 0 (the caller owns *out and calls
 * rd_broadcast_clear), or -1 with *err set and *out zeroed. req is borrowed. */
int rd_request_broadcast(const json_t *req, rd_broadcast *out, const char **err);

/* Appends req as compact JSON to out, keys in tree order, the way JSON.stringify writes the same
 * object (binary values become Node's Buffer form {"type":"Buffer","data":[bytes]}, two levels
 * deeper than the binary was). Reals are written with 17 significant digits (jansson), where JS
 * writes the shortest form. req is borrowed. */
void rd_request_encode_json(util_buf *out, const json_t *req);

/* Appends req to out as Node would send it: msgpack (rd_json_to_msgpack) for BROADCAST (7) and
 * BROADCAST_ACK (9), and also whenever req holds binary so that it survives; JSON otherwise. */
void rd_request_encode(util_buf *out, const json_t *req);

/* Appends the msgpack BROADCAST request {uid, requestId, type:7, packet:{type:2, data, nsp},
 * opts:{rooms, except, flags}} of 8.x to out. uid is b->uid, left out when NULL; flags holds
 * volatile/compress as in rd_broadcast_encode, then timeout when timeout_ms >= 0. b is borrowed. */
void rd_request_encode_broadcast(util_buf *out, const char *request_id, const rd_broadcast *b,
                                 long long timeout_ms);

/* Appends the msgpack BROADCAST_ACK response {type:9, requestId, packet} to out; packet (borrowed)
 * is the first argument of the client's ack, and the key is left out when packet is NULL (as
 * notepack leaves out undefined). */
void rd_request_encode_broadcast_ack(util_buf *out, const char *request_id, const json_t *packet);

#endif
