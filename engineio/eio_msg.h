/* eio_msg: an immutable, refcounted outbound Engine.IO packet, encoded once and shared by every
 * session it is sent to (the broadcast fast path of ARCHITECTURE.md). */
#ifndef EIO_MSG_H
#define EIO_MSG_H

#include "eio_packet.h"
#include "util_alloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes reserved in front of the wire bytes, where a transport may place a frame header once. */
#define EIO_MSG_HEADROOM 14

/** A shared outbound packet. Fields are read-only for everyone but the transport, which may fill
 * the headroom once (frame_hdr_len != 0 afterwards) since all holders would write the same bytes. */
typedef struct eio_msg {
    uint32_t refs;         /**< reference count */
    eio_ptype type;        /**< packet type */
    bool binary;           /**< binary message (WebSocket binary frame, 'b'+base64 on polling) */
    uint8_t frame_hdr_len; /**< bytes of transport frame header stored just before wire; 0 = none */
    uint32_t qrefs;        /**< session queues holding it (eio_session's memory accounting) */
    size_t len;            /**< wire length: type digit + data for text, raw data for binary */
    uint8_t *wire;         /**< the WebSocket payload form; points into storage */
    uint8_t storage[];     /**< EIO_MSG_HEADROOM bytes of headroom, then the wire bytes */
} eio_msg;

/* Builds a message of type t from data[0..len). For text, the wire form is the type digit followed
 * by data; for binary (t must be EIO_MESSAGE) it is data itself. Returns a new message with one
 * reference that the caller owns. */
eio_msg *eio_msg_new(eio_ptype t, bool binary, const void *data, size_t len);

/* Builds a text message "4" + data1 + data2 (convenience for callers that hold a prefix and a
 * body). The caller owns the one reference. */
eio_msg *eio_msg_new2(eio_ptype t, const void *d1, size_t l1, const void *d2, size_t l2);

/* Adds a reference; returns m. */
eio_msg *eio_msg_ref(eio_msg *m);

/* Drops a reference and frees the message with the last one. Accepts NULL. */
void eio_msg_unref(eio_msg *m);

/* The memory m really takes: its header, headroom and wire bytes as glibc allocates them. A
 * message shared by many sessions takes it once. */
static inline size_t eio_msg_cost(const eio_msg *m)
{
    return util_alloc_cost(sizeof *m + EIO_MSG_HEADROOM + m->len);
}

/* Returns the packet view of m (data after the type digit for text). Borrowed from m. */
eio_packet eio_msg_packet(const eio_msg *m);

#endif
