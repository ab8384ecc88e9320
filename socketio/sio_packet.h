/* sio_packet: Socket.IO v5 packet codec (sans-I/O): text packets with namespaces, ack ids and JSON
 * payloads; binary attachments as placeholders <-> attachments both ways. */
#ifndef SIO_PACKET_H
#define SIO_PACKET_H

#include "eio_msg.h"
#include "util_buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Socket.IO v5 packet types. */
typedef enum sio_ptype {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
} sio_ptype;

/* True for the event names Socket.IO reserves (connect, connect_error, disconnect, disconnecting,
 * newListener, removeListener): a server never emits them, and a client event carrying one is a
 * parse error, as in socket.io-parser. */
bool sio_event_reserved(const char *event);

/** Decoder limits. */
typedef struct sio_limits {
    size_t max_attachments; /**< attachments per packet (default 10) */
    size_t max_depth;       /**< JSON nesting depth (default 32) */
    size_t max_event_name;  /**< bytes of an event name (default 256) */
    /** Memory a binary packet may hold while its attachments arrive: its decoded JSON and the
     * attachments received, at their real cost (default 1000000, engine.io's maxHttpBufferSize,
     * which bounds a whole binary packet sent over polling). */
    size_t max_attachment_bytes;
} sio_limits;

/* Fills l with the defaults. */
void sio_limits_defaults(sio_limits *l);

/** A decoded packet. Owns nsp and data. For BINARY_* types, placeholders in data have been replaced
 * by binary values (sio_binary.h) and the type is reported as EVENT or ACK. */
typedef struct sio_packet {
    sio_ptype type; /**< CONNECT, DISCONNECT, EVENT, ACK or CONNECT_ERROR */
    char *nsp;      /**< namespace, "/" by default; owned */
    int64_t id;     /**< ack id, or -1 */
    json_t *data;   /**< payload or NULL; owned reference */
} sio_packet;

/* Releases what p owns and zeroes it. Accepts a zeroed packet. */
void sio_packet_clear(sio_packet *p);

/** Decoder status. */
typedef enum sio_decode_status {
    SIO_DEC_PACKET = 0,    /**< *out holds a complete packet (the caller owns it) */
    SIO_DEC_NEED_MORE = 1, /**< waiting for binary attachments */
    SIO_DEC_ERROR = -1,    /**< malformed input: close the session with "parse error" */
} sio_decode_status;

typedef struct sio_decoder sio_decoder;

/* The memory the decoder holds for a binary packet waiting for its attachments (0 when none is):
 * what max_attachment_bytes bounds. */
size_t sio_decoder_pending_bytes(const sio_decoder *d);

/* Creates a decoder (one per Engine.IO session). limits is copied. Caller owns; free with
 * sio_decoder_free. */
sio_decoder *sio_decoder_new(const sio_limits *limits);

/* Frees the decoder and any partial packet. Accepts NULL. */
void sio_decoder_free(sio_decoder *d);

/* Feeds one Engine.IO message (text or binary). On SIO_DEC_PACKET *out is filled; on SIO_DEC_ERROR
 * err (if non-NULL) points to a static description. Text while attachments are awaited, binary when
 * none is awaited, an unknown type, a bad namespace, a bad ack id, invalid JSON, a payload of the
 * wrong shape for the type (EVENT: non-empty array starting with a string; ACK: array;
 * CONNECT: object or nothing; CONNECT_ERROR: object or string; DISCONNECT: nothing), too many
 * attachments, a placeholder whose num does not match an attachment, or a limit exceeded
 * (max_attachment_bytes included) are errors. */
sio_decode_status sio_decoder_feed(sio_decoder *d, const uint8_t *data, size_t len, bool binary,
                                   sio_packet *out, const char **err);

/** An encoded packet: the text message and its binary attachments, ready to share. */
typedef struct sio_encoded {
    eio_msg *text;         /**< owned reference */
    eio_msg **attachments; /**< owned references */
    size_t n_attachments;
} sio_encoded;

/* Encodes a packet of type t (CONNECT, DISCONNECT, EVENT, ACK or CONNECT_ERROR) for namespace nsp,
 * ack id (or -1) and data (borrowed, may be NULL). Binary values in data become placeholders and
 * attachments, and the type becomes BINARY_EVENT or BINARY_ACK. JSON is compact with key order
 * kept. Fills *out (release with sio_encoded_clear). */
void sio_encode(sio_ptype t, const char *nsp, int64_t id, const json_t *data, sio_encoded *out);

/* Drops the references held by e and zeroes it. */
void sio_encoded_clear(sio_encoded *e);

/* Appends v (borrowed) to out as JSON text with jansson's dump flags. Returns 0, or -1 when
 * jansson cannot write v (NULL, a key that is not UTF-8): out is then as it was. */
int sio_json_append(util_buf *out, const json_t *v, size_t flags);

/** Longest recovery offset text ("A-B", two uint64) with its NUL. */
#define SIO_OFFSET_MAX 44

/* Parses a connection state recovery offset "A-B" (two decimal numbers of at most 20 digits, as a
 * Redis stream id), the string a logged packet carries as its last argument. Returns true and
 * fills *a, *b when s is one. */
bool sio_offset_parse(const char *s, uint64_t *a, uint64_t *b);

#endif
