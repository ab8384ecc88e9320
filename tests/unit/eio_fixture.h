/* eio_fixture: what the Engine.IO session tests share (test_eio_session.c, test_eio_budget.c): a
 * recorder of the session's callbacks and helpers driving a session with injected time. */
#ifndef EIO_FIXTURE_H
#define EIO_FIXTURE_H

#include "eio_session.h"
#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define T0 1000000u /* handshake time of every test (ms) */

/** One message the session delivered through on_message. */
typedef struct got_msg {
    bool binary;
    util_buf data; /**< owned copy */
} got_msg;

/** What the callbacks saw. Passed as the session's userdata. */
typedef struct rec {
    eio_session *s;       /**< the session the callbacks must be called with */
    int closes;           /**< on_close calls */
    const char *reason;   /**< last on_close reason */
    int writables;        /**< on_writable calls */
    int upgrade_timeouts; /**< on_upgrade_timeout calls */
    int bad_args;         /**< calls with the wrong session or userdata */
    got_msg msgs[64];     /**< messages, in order */
    int nmsgs;            /**< on_message calls */
} rec;

/** The callbacks recording into the rec given as userdata. */
extern const eio_session_cbs k_cbs;

/* Frees the message copies r recorded (r itself belongs to the caller). */
void rec_free(rec *r);

/* The default Engine.IO settings (eio_config_defaults), by value. */
eio_config cfg_default(void);

/* A session of transport t at time T0 whose callbacks record into r (zeroed first; borrowed for
 * the session's life). The caller frees it with eio_session_free. */
eio_session *session_new(const eio_config *cfg, eio_transport_kind t, rec *r);

/* Asserts s closed exactly once, for reason (the constant itself), with the right arguments. */
void assert_closed(eio_session *s, const rec *r, const char *reason);

/* Sends a GET that must be held and ready at once, and returns its body in out (reset first). */
size_t get_ready(eio_session *s, uint64_t now, util_buf *out);

/* Asserts b holds exactly want_len bytes equal to want. */
void assert_body(const util_buf *b, const char *want, size_t want_len);

/* Pops the next queued message and asserts its WebSocket wire bytes. */
void assert_pop(eio_session *s, bool binary, const char *wire, size_t len);

/* Runs the session like an event loop would: tick at each wakeup up to and including t. The clock
 * then reads t. */
void run_until(eio_session *s, uint64_t *clock, uint64_t t);

/* A text packet of type t borrowing data (a C string). */
eio_packet text_packet(eio_ptype t, const char *data);

/* Posts the C string body. In literals "\036" is the record separator 0x1E (an octal escape stops
 * after three digits, where "\x1e" would swallow a following hex digit). */
eio_post_result post_str(eio_session *s, uint64_t now, const char *body);

/* Checks an open packet's wire bytes: '0' then a JSON object with exactly these keys in order. */
void assert_open_packet(const uint8_t *wire, size_t len, const eio_session *s,
                        const eio_config *cfg, bool polling);

/* Takes the open packet off a fresh polling session with a first GET. */
void take_open_polling(eio_session *s, const eio_config *cfg);

/* Pops the open packet off a fresh WebSocket session. */
void take_open_ws(eio_session *s, const eio_config *cfg);

#define ASSERT_BODY(b, lit) assert_body((b), (lit), sizeof(lit) - 1)
#define ASSERT_POP_TEXT(s, lit) assert_pop((s), false, (lit), sizeof(lit) - 1)

/* The ring of 16 slots that 9..16 queued messages need, at its real cost (16 x 8 = 128 bytes:
 * a 144-byte chunk). */
#define RING16_COST 144u
/* A text message of 10 wire bytes: 32 (header) + 14 (headroom) + 10 = 56 bytes: a 64-byte chunk. */
#define MSG10_COST 64u

#define RING8_COST 80u /* 8 slots: 64 bytes -> an 80-byte chunk */

#endif
