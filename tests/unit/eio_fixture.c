/* eio_fixture: the shared part of the Engine.IO session tests (eio_fixture.h). */
#include "eio_fixture.h"

#include "util_alloc.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_message(eio_session *s, const uint8_t *data, size_t len, bool binary, void *ud)
{
    rec *r = ud;
    if (s != r->s)
        r->bad_args++;
    if (r->nmsgs < 64) {
        got_msg *m = &r->msgs[r->nmsgs];
        m->binary = binary;
        m->data = (util_buf)UTIL_BUF_INIT;
        util_buf_append(&m->data, data, len);
    }
    r->nmsgs++;
}

static void on_close(eio_session *s, const char *reason, void *ud)
{
    rec *r = ud;
    if (s != r->s)
        r->bad_args++;
    /* on_close runs once the session is closed, with the reason it reports. */
    if (eio_session_state(s) != EIO_ST_CLOSED || eio_session_close_reason(s) != reason)
        r->bad_args++;
    r->closes++;
    r->reason = reason;
}

static void on_writable(eio_session *s, void *ud)
{
    rec *r = ud;
    if (s != r->s)
        r->bad_args++;
    r->writables++;
}

static void on_upgrade_timeout(eio_session *s, void *ud)
{
    rec *r = ud;
    if (s != r->s)
        r->bad_args++;
    r->upgrade_timeouts++;
}

const eio_session_cbs k_cbs = {on_message, on_close, on_writable, on_upgrade_timeout};

void rec_free(rec *r)
{
    for (int i = 0; i < r->nmsgs && i < 64; i++)
        util_buf_free(&r->msgs[i].data);
}

eio_config cfg_default(void)
{
    eio_config cfg;
    eio_config_defaults(&cfg);
    return cfg;
}

eio_session *session_new(const eio_config *cfg, eio_transport_kind t, rec *r)
{
    memset(r, 0, sizeof *r);
    eio_session *s = eio_session_new(cfg, t, T0, &k_cbs, r);
    ck_assert_ptr_nonnull(s);
    r->s = s;
    return s;
}

/* Asserts s closed exactly once, for reason (the constant itself), with the right arguments. */
void assert_closed(eio_session *s, const rec *r, const char *reason)
{
    ck_assert_int_eq(eio_session_state(s), EIO_ST_CLOSED);
    ck_assert_int_eq(r->closes, 1);
    ck_assert_int_eq(r->bad_args, 0);
    ck_assert_ptr_nonnull(r->reason);
    ck_assert_str_eq(r->reason, reason);
    ck_assert_ptr_eq(r->reason, reason);
    ck_assert_ptr_eq(eio_session_close_reason(s), reason);
    ck_assert_uint_eq(eio_session_next_wakeup(s), UINT64_MAX);
}

/* Sends a GET that must be held and ready at once, and returns its body in out (reset first). */
size_t get_ready(eio_session *s, uint64_t now, util_buf *out)
{
    ck_assert_int_eq(eio_session_poll_get(s, now), EIO_POLL_HOLD);
    ck_assert(eio_session_poll_pending(s));
    ck_assert(eio_session_poll_ready(s));
    util_buf_reset(out);
    size_t n = eio_session_poll_take(s, out);
    ck_assert(!eio_session_poll_pending(s));
    return n;
}

void assert_body(const util_buf *b, const char *want, size_t want_len)
{
    ck_assert_msg(b->len == want_len && memcmp(b->data, want, want_len) == 0,
                  "body is \"%.*s\" (%zu bytes), expected \"%.*s\"", (int)b->len,
                  b->len ? (const char *)b->data : "", b->len, (int)want_len, want);
}

/* Pops the next queued message and asserts its WebSocket wire bytes. */
void assert_pop(eio_session *s, bool binary, const char *wire, size_t len)
{
    eio_msg *m = eio_session_pop(s);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->binary, binary);
    ck_assert_msg(m->len == len && memcmp(m->wire, wire, len) == 0,
                  "popped \"%.*s\", expected \"%.*s\"", (int)m->len, (const char *)m->wire,
                  (int)len, wire);
    eio_msg_unref(m);
}

/* Runs the session like an event loop would: tick at each wakeup up to and including t. The clock
 * then reads t. */
void run_until(eio_session *s, uint64_t *clock, uint64_t t)
{
    for (int guard = 0;; guard++) {
        ck_assert_msg(guard < 100000, "next_wakeup does not advance (stuck at %llu)",
                      (unsigned long long)eio_session_next_wakeup(s));
        uint64_t w = eio_session_next_wakeup(s);
        if (w > t)
            break;
        if (w > *clock)
            *clock = w;
        eio_session_tick(s, *clock);
    }
    *clock = t;
}

eio_packet text_packet(eio_ptype t, const char *data)
{
    eio_packet p = {t, false, (const uint8_t *)data, strlen(data)};
    return p;
}

/* Posts the C string body. In literals "\036" is the record separator 0x1E (an octal escape stops
 * after three digits, where "\x1e" would swallow a following hex digit). */
eio_post_result post_str(eio_session *s, uint64_t now, const char *body)
{
    return eio_session_poll_post(s, (const uint8_t *)body, strlen(body), now);
}

/* Checks an open packet's wire bytes: '0' then a JSON object with exactly these keys in order. */
void assert_open_packet(const uint8_t *wire, size_t len, const eio_session *s,
                        const eio_config *cfg, bool polling)
{
    ck_assert_uint_ge(len, 2);
    ck_assert_int_eq(wire[0], '0');
    json_error_t err;
    json_t *j = json_loadb((const char *)wire + 1, len - 1, 0, &err);
    ck_assert_msg(j != NULL, "open packet is not JSON: %s", err.text);
    ck_assert(json_is_object(j));
    static const char *const keys[] = {"sid", "upgrades", "pingInterval", "pingTimeout",
                                       "maxPayload"};
    ck_assert_uint_eq(json_object_size(j), 5);
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        ck_assert_str_eq(key, keys[i]);
        i++;
    }
    ck_assert_str_eq(json_string_value(json_object_get(j, "sid")), eio_session_sid(s));
    json_t *up = json_object_get(j, "upgrades");
    ck_assert(json_is_array(up));
    if (polling) {
        ck_assert_uint_eq(json_array_size(up), 1);
        ck_assert_str_eq(json_string_value(json_array_get(up, 0)), "websocket");
    } else {
        ck_assert_uint_eq(json_array_size(up), 0);
    }
    ck_assert(json_is_integer(json_object_get(j, "pingInterval")));
    ck_assert(json_is_integer(json_object_get(j, "pingTimeout")));
    ck_assert(json_is_integer(json_object_get(j, "maxPayload")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pingInterval")), cfg->ping_interval_ms);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pingTimeout")), cfg->ping_timeout_ms);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "maxPayload")),
                     (json_int_t)cfg->max_payload);
    json_decref(j);
}

/* Takes the open packet off a fresh polling session with a first GET. */
void take_open_polling(eio_session *s, const eio_config *cfg)
{
    util_buf b = UTIL_BUF_INIT;
    ck_assert_uint_eq(get_ready(s, T0, &b), 1);
    assert_open_packet(b.data, b.len, s, cfg, true);
    util_buf_free(&b);
}

/* Pops the open packet off a fresh WebSocket session. */
void take_open_ws(eio_session *s, const eio_config *cfg)
{
    eio_msg *m = eio_session_pop(s);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->type, EIO_OPEN);
    ck_assert(!m->binary);
    assert_open_packet(m->wire, m->len, s, cfg, false);
    eio_msg_unref(m);
    ck_assert_uint_eq(eio_session_queued(s), 0);
}
