/* eio_packet: Engine.IO v4 packet and payload codec (sans-I/O; pure functions over bytes). */
#ifndef EIO_PACKET_H
#define EIO_PACKET_H

#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Engine.IO v4 packet types. */
typedef enum eio_ptype {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
} eio_ptype;

/** A decoded packet: a borrowed view into the decoder's input (or scratch) bytes. */
typedef struct eio_packet {
    eio_ptype type;      /**< packet type */
    bool binary;         /**< true for a binary message (always type EIO_MESSAGE) */
    const uint8_t *data; /**< payload after the type digit (raw bytes for binary); borrowed */
    size_t len;          /**< payload length */
} eio_packet;

/** Parse errors reported by the decoders. */
#define EIO_EPARSE (-1)

/* Decodes one packet carried by a WebSocket frame. A text frame is a type digit '0'..'6' followed
 * by the payload; a binary frame is a binary message whose bytes are the whole frame. Returns 0 and
 * fills *out (pointing into buf), or EIO_EPARSE for an empty text frame or an unknown type. */
int eio_decode_ws(const uint8_t *buf, size_t len, bool binary_frame, eio_packet *out);

/** Called once per packet of a payload; return non-zero to stop early. */
typedef int (*eio_packet_cb)(const eio_packet *p, void *ud);

/* Decodes a polling payload: packets separated by 0x1E; a packet starting with 'b' is a binary
 * message in base64. The whole payload is validated first; only if every packet is valid is cb
 * called for each, in order (binary data points into a scratch buffer valid during the call).
 * Returns 0, EIO_EPARSE for an invalid payload (cb never called), or the first non-zero value cb
 * returned. An empty body is invalid. */
int eio_decode_payload(const uint8_t *buf, size_t len, eio_packet_cb cb, void *ud);

/* Appends the text form of a packet (type digit + data) to out; for binary messages appends 'b' +
 * base64(data) (the polling form). */
void eio_encode_polling(util_buf *out, const eio_packet *p);

/* Appends the separator 0x1E. */
#define EIO_RECORD_SEP 0x1e

/* Returns the length the polling form of p takes (for maxPayload accounting) without encoding. */
size_t eio_polling_len(const eio_packet *p);

#endif
