/* ws_frame: the RFC 6455 frame layer, sans-I/O: a decoder that checks every rule a server (or a
 * client) must enforce and reassembles fragmented messages, and the frame-header encoder. */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Opcodes. */
enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/** Close codes used here (RFC 6455 section 7.4.1). */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_NO_STATUS = 1005, /**< never sent: a close frame without a code */
    WS_CLOSE_BAD_DATA = 1007,  /**< text that is not UTF-8 */
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

/** Largest frame header: 2 + 8 (length) + 4 (mask). */
#define WS_MAX_HEADER 14

/** Decoder state of one connection. Zero-initialise with ws_decoder_init. */
typedef struct ws_decoder {
    bool server;        /**< frames must be masked (a server's decoder) or must not be */
    uint8_t msg_op;     /**< opcode of the fragmented message in progress, 0 if none */
    size_t max_message; /**< largest message (data frames reassembled), in bytes */
    util_buf frag;      /**< fragments of the message in progress (owned) */
} ws_decoder;

/** What ws_decode found. */
typedef enum ws_result {
    WS_NEED_MORE = 0, /**< the buffer ends inside a frame: call again with more bytes */
    WS_MESSAGE,       /**< a whole text or binary message (ev.data, ev.len, ev.opcode) */
    WS_CONTROL,       /**< a ping, pong or close frame (ev.opcode, ev.data/len; close code) */
    WS_FRAGMENT,      /**< a fragment was stored; nothing to deliver yet */
    WS_ERROR,         /**< protocol violation: close with ev.close_code (and ev.reason) */
} ws_result;

/** One decoded event. data points into the caller's buffer (unmasked in place) or into the
 * decoder's fragment buffer; it is valid until the next call. */
typedef struct ws_event {
    uint8_t opcode;      /**< WS_OP_TEXT/BINARY for a message, the control opcode otherwise */
    const uint8_t *data; /**< payload (for a close frame: the reason after the code) */
    size_t len;
    uint16_t close_code; /**< a close frame's code (WS_CLOSE_NO_STATUS if it had none), or the
                              code to close with after WS_ERROR */
    const char *reason;  /**< after WS_ERROR: a static description for the log */
} ws_event;

/* Initialises d for a server (masked frames required) or a client (unmasked frames required),
 * with max_message as the bound of a reassembled message. */
void ws_decoder_init(ws_decoder *d, bool server, size_t max_message);

/* Frees what d holds (a partial fragmented message). */
void ws_decoder_free(ws_decoder *d);

/* Decodes at most one frame from buf[0..len). Masked payloads are unmasked in place, so buf must
 * be writable and owned by the caller. *used is set to the bytes consumed (0 with WS_NEED_MORE);
 * the caller drops them and calls again while bytes remain. Every rule of RFC 6455 section 5 a
 * receiver checks is enforced: reserved bits (no extension is negotiated), known opcodes, the
 * mask bit, control frames (final, at most 125 bytes, a valid close code and UTF-8 reason),
 * continuation order, the 64-bit length's top bit, UTF-8 in text messages, and max_message
 * (WS_CLOSE_TOO_BIG). A frame whose header announces more than max_message is refused before its
 * payload arrives. */
ws_result ws_decode(ws_decoder *d, uint8_t *buf, size_t len, size_t *used, ws_event *ev);

/* Writes the header of an unmasked frame (FIN set) of opcode and payload length len into out
 * (at least WS_MAX_HEADER bytes). Returns the header length (2, 4 or 10). */
size_t ws_frame_header(uint8_t *out, uint8_t opcode, uint64_t len);

/* Appends a whole frame (FIN set) of opcode with payload data to out, masked with mask_key when
 * masked is true (a client's frame). */
void ws_frame_append(util_buf *out, uint8_t opcode, const void *data, size_t len, bool masked,
                     uint32_t mask_key);

/* Applies the 4-byte mask key (starting at key offset off) to data in place. */
void ws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t off);

/* True when data[0..len) is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool ws_utf8_valid(const uint8_t *data, size_t len);

#endif
