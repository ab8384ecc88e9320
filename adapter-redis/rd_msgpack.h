/* rd_msgpack: msgpack <-> jansson as notepack.io 3 maps msgpack onto JavaScript (the value layer
 * of the socket.io-redis codec), and the packer helpers the message encoders share. Internal to
 * adapter-redis: the public entry points are declared in rd_codec.h. */
#ifndef RD_MSGPACK_H
#define RD_MSGPACK_H

#include "rd_codec.h"

#include <msgpack.h>

/** Containers nested deeper than this are written as nil by the encoders (only a cyclic or absurd
 *  tree gets there; sio_binary's walk stops at the same depth). */
#define RD_ENCODE_MAX_DEPTH 2048

/* Aborts when jansson could not allocate v (out of memory), as util_alloc does elsewhere. Returns
 * v, the reference passed through. */
json_t *rd_need(json_t *v);

/* Aborts when a jansson insertion failed (only on out-of-memory here). */
void rd_need_ok(int rc);

/* Starts a packer appending to out. */
void rd_packer_init(msgpack_packer *pk, util_buf *out);

/* Packs s[0..n) as a msgpack str (never bin). */
void rd_pack_strn(msgpack_packer *pk, const char *s, size_t n);

/* Packs a NUL-terminated string as str. */
void rd_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs a string, or nil for NULL. */
void rd_pack_cstr_or_nil(msgpack_packer *pk, const char *s);

/* Packs v (borrowed) as notepack would (see rd_codec.h); depth is the current nesting. */
void rd_pack_json(msgpack_packer *pk, const json_t *v, int depth);

#endif
