/* wsraw: siobench's own WebSocket client protocol (RFC 6455) for the raw transport: the HTTP
 * Upgrade request, the 101 / Sec-WebSocket-Accept check, masked client frames, and a bulk parser
 * of the server's (unmasked) frames. Pure: no I/O, no libwebsockets. */
#ifndef SB_WSRAW_H
#define SB_WSRAW_H

#include "util_buf.h"

#include <stddef.h>
#include <stdint.h>

/** Largest frame header: 2 bytes, 8 bytes of extended length, 4 bytes of mask. */
#define SB_WSR_MAX_HDR 14
/** Largest message the parser accepts (a bench event is a few hundred bytes). */
#define SB_WSR_MAX_MESSAGE (64u << 20)
/** Length of a Sec-WebSocket-Key (base64 of 16 bytes), without the NUL. */
#define SB_WSR_KEY_LEN 24
/** Length of a Sec-WebSocket-Accept (base64 of a SHA-1), without the NUL. */
#define SB_WSR_ACCEPT_LEN 28

enum {
    SB_WSR_CONT = 0x0,
    SB_WSR_TEXT = 0x1,
    SB_WSR_BINARY = 0x2,
    SB_WSR_CLOSE = 0x8,
    SB_WSR_PING = 0x9,
    SB_WSR_PONG = 0xA,
};

/* Advances the xorshift64* generator in *state (never 0) and returns the next 64 bits. Fast, not
 * cryptographic: enough for frame masks and handshake keys of a load generator. */
uint64_t sb_wsr_rand(uint64_t *state);

/* Writes a fresh Sec-WebSocket-Key (16 bytes from rng, base64) plus a NUL into key. */
void sb_wsr_key(char key[SB_WSR_KEY_LEN + 1], uint64_t *rng);

/* Writes the Sec-WebSocket-Accept a server must answer to key (base64(SHA-1(key + GUID))) plus a
 * NUL into out. */
void sb_wsr_accept(const char *key, char out[SB_WSR_ACCEPT_LEN + 1]);

/* Writes the Upgrade request for ws://host:port + path_query into out (cap bytes). Returns its
 * length, or 0 when it does not fit. */
size_t sb_wsr_request(char *out, size_t cap, const char *host, int port, const char *path_query,
                      const char *key);

/* Checks the server's answer to the Upgrade request in in[0..len): "HTTP/1.1 101", Upgrade:
 * websocket, and the Sec-WebSocket-Accept of key. Returns the length of the response head (the
 * bytes after it are already WebSocket frames), 0 while the head is incomplete, or -1 when it is
 * not a valid 101 for key. */
long sb_wsr_response(const char *in, size_t len, const char *key);

/* Writes one masked client frame (FIN set) of opcode with payload[0..len) masked by mask into out,
 * which must hold len + SB_WSR_MAX_HDR bytes. Returns the frame's length. */
size_t sb_wsr_frame(uint8_t *out, unsigned opcode, const void *payload, size_t len, uint32_t mask);

/* Called for each complete message (TEXT / BINARY, reassembled from its fragments) and each
 * control frame (CLOSE / PING / PONG). data is borrowed for the call. A nonzero return stops the
 * parse, and sb_wsr_parse returns it. */
typedef int (*sb_wsr_msg_cb)(void *ud, unsigned opcode, const uint8_t *data, size_t len);

/** Parser state between reads. Zero-initialise; sb_wsr_parser_free releases it. */
typedef struct sb_wsr_parser {
    util_buf part;   /**< an incomplete frame (header and payload so far), owned */
    util_buf frag;   /**< payload of a fragmented message so far, owned */
    uint8_t frag_op; /**< opcode of the fragmented message (0: none in progress) */
} sb_wsr_parser;

/* Parses in[0..len), the next bytes from the server, calling cb for each complete message.
 * Frames wholly inside in are delivered in place; a frame split across reads is kept in p->part
 * until complete. Returns 0, -1 on a protocol error (masked or RSV bits set, unknown opcode, bad
 * control frame, continuation without a start, message over SB_WSR_MAX_MESSAGE), or cb's nonzero
 * return. After a nonzero return the parser's state is unspecified: close the connection. */
int sb_wsr_parse(sb_wsr_parser *p, const uint8_t *in, size_t len, sb_wsr_msg_cb cb, void *ud);

/* Frees p's buffers and zeroes it. */
void sb_wsr_parser_free(sb_wsr_parser *p);

#endif
