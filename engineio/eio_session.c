/* eio_session: Engine.IO v4 session state machine: outbound queue, heartbeat, polling rules,
 * upgrade handshake, close. Pure: no sockets, no clock; the glue passes `now` in. */
#include "eio_session.h"

#include "util_alloc.h"
#include "util_rand.h"

#include <stdio.h>
#include <string.h>

const char EIO_REASON_TRANSPORT_CLOSE[] = "transport close";
const char EIO_REASON_TRANSPORT_ERROR[] = "transport error";
const char EIO_REASON_PING_TIMEOUT[] = "ping timeout";
const char EIO_REASON_PARSE_ERROR[] = "parse error";
const char EIO_REASON_FORCED_CLOSE[] = "forced close";
const char EIO_REASON_SHUTDOWN[] = "server shutting down";

struct eio_session {
    char sid[EIO_SID_LEN + 1];
    eio_config cfg;
    eio_session_cbs cbs;
    void *ud;
    eio_state state;
    eio_transport_kind transport;
    bool get_held;      /* a polling GET is waiting for an answer */
    bool probed;        /* the probe WebSocket sent 2probe */
    bool client_closed; /* the client sent a close packet over polling */
    const char *close_reason;
    const char *closing;       /* a graceful close waiting for the queue to drain */
    uint64_t next_ping;        /* when the next ping is due (no ping outstanding) */
    uint64_t pong_deadline;    /* 0, or when the outstanding ping times out */
    uint64_t upgrade_deadline; /* when an upgrade in progress is abandoned */
    /* Outbound queue: a ring of message references; q_cap is 0 or a power of two. */
    eio_msg **q;
    size_t q_head, q_len, q_cap;
    size_t q_bytes;
};

void eio_config_defaults(eio_config *cfg)
{
    cfg->ping_interval_ms = 25000;
    cfg->ping_timeout_ms = 20000;
    cfg->max_payload = 1000000;
    cfg->max_queue_bytes = 16u * 1024 * 1024;
    cfg->upgrade_timeout_ms = 10000;
    cfg->poll_max_packets = 16;
}

/* Makes room for `more` references beyond those queued (one allocation for a whole burst). */
static void q_reserve(eio_session *s, size_t more)
{
    if (s->q_len + more <= s->q_cap)
        return;
    size_t ncap = s->q_cap ? s->q_cap : 8;
    while (ncap < s->q_len + more)
        ncap *= 2;
    eio_msg **nq = util_malloc(ncap * sizeof *nq);
    for (size_t i = 0; i < s->q_len; i++)
        nq[i] = s->q[(s->q_head + i) & (s->q_cap - 1)];
    util_free(s->q);
    s->q = nq;
    s->q_cap = ncap;
    s->q_head = 0;
}

static void q_push(eio_session *s, eio_msg *m)
{
    q_reserve(s, 1);
    s->q[(s->q_head + s->q_len) & (s->q_cap - 1)] = m;
    s->q_len++;
    s->q_bytes += m->len;
}

static eio_msg *q_peek(const eio_session *s)
{
    return s->q_len ? s->q[s->q_head] : NULL;
}

eio_msg *eio_session_pop(eio_session *s)
{
    if (!s->q_len)
        return NULL;
    eio_msg *m = s->q[s->q_head];
    s->q_head = (s->q_head + 1) & (s->q_cap - 1);
    s->q_len--;
    s->q_bytes -= m->len;
    return m;
}

static void q_clear(eio_session *s)
{
    eio_msg *m;
    while ((m = eio_session_pop(s)))
        eio_msg_unref(m);
}

static void notify_writable(eio_session *s)
{
    if (s->cbs.on_writable)
        s->cbs.on_writable(s, s->ud);
}

static void queue_open_packet(eio_session *s)
{
    char json[256];
    int n = snprintf(json, sizeof json,
                     "{\"sid\":\"%s\",\"upgrades\":%s,\"pingInterval\":%u,\"pingTimeout\":%u,"
                     "\"maxPayload\":%zu}",
                     s->sid, s->transport == EIO_TR_POLLING ? "[\"websocket\"]" : "[]",
                     s->cfg.ping_interval_ms, s->cfg.ping_timeout_ms, s->cfg.max_payload);
    eio_msg *m = eio_msg_new(EIO_OPEN, false, json, (size_t)n);
    q_push(s, m);
}

eio_session *eio_session_new(const eio_config *cfg, eio_transport_kind t, uint64_t now,
                             const eio_session_cbs *cbs, void *ud)
{
    eio_session *s = util_calloc(1, sizeof *s);
    util_rand_id(s->sid, 20);
    s->cfg = *cfg;
    if (cbs)
        s->cbs = *cbs;
    s->ud = ud;
    s->state = EIO_ST_OPEN;
    s->transport = t;
    s->next_ping = now + cfg->ping_interval_ms;
    queue_open_packet(s);
    return s;
}

void eio_session_free(eio_session *s)
{
    if (!s)
        return;
    q_clear(s);
    util_free(s->q);
    util_free(s);
}

const char *eio_session_sid(const eio_session *s)
{
    return s->sid;
}

eio_state eio_session_state(const eio_session *s)
{
    return s->state;
}

eio_transport_kind eio_session_transport(const eio_session *s)
{
    return s->transport;
}

void *eio_session_userdata(const eio_session *s)
{
    return s->ud;
}

void eio_session_set_userdata(eio_session *s, void *ud)
{
    s->ud = ud;
}

const char *eio_session_close_reason(const eio_session *s)
{
    return s->close_reason;
}

size_t eio_session_queued(const eio_session *s)
{
    return s->q_len;
}

size_t eio_session_queued_bytes(const eio_session *s)
{
    return s->q_bytes;
}

static void close_now(eio_session *s, const char *reason)
{
    if (s->state == EIO_ST_CLOSED)
        return;
    s->state = EIO_ST_CLOSED;
    s->closing = NULL;
    s->close_reason = reason;
    q_clear(s);
    if (s->cbs.on_close)
        s->cbs.on_close(s, reason, s->ud);
    if (s->get_held)
        notify_writable(s);
}

void eio_session_close(eio_session *s, const char *reason)
{
    if (s->state == EIO_ST_CLOSED)
        return;
    bool graceful =
        strcmp(reason, EIO_REASON_FORCED_CLOSE) == 0 || strcmp(reason, EIO_REASON_SHUTDOWN) == 0;
    if (graceful && !s->closing && s->state == EIO_ST_OPEN) {
        if (s->transport == EIO_TR_POLLING) {
            /* What is queued goes out first, then the close packet, as engine.io drains its write
             * buffer before closing. */
            s->closing = reason;
            eio_msg *m = eio_msg_new(EIO_CLOSE, false, NULL, 0);
            q_push(s, m);
            notify_writable(s);
            return;
        }
        if (s->q_len) {
            s->closing = reason;
            notify_writable(s);
            return;
        }
    }
    close_now(s, reason);
}

void eio_session_abort(eio_session *s, const char *reason)
{
    close_now(s, reason);
}

bool eio_session_closing(const eio_session *s)
{
    return s->closing != NULL;
}

void eio_session_flushed(eio_session *s)
{
    if (s->closing && s->q_len == 0)
        close_now(s, s->closing);
}

int eio_session_send(eio_session *s, eio_msg *m)
{
    if (s->state == EIO_ST_CLOSED || s->closing)
        return -1;
    if (s->q_bytes + m->len > s->cfg.max_queue_bytes) {
        eio_session_close(s, EIO_REASON_TRANSPORT_ERROR);
        return -1;
    }
    bool was_empty = s->q_len == 0;
    q_push(s, eio_msg_ref(m));
    if (was_empty)
        notify_writable(s);
    return 0;
}

int eio_session_send_many(eio_session *s, eio_msg *const *m, size_t n)
{
    if (s->state == EIO_ST_CLOSED || s->closing)
        return -1;
    bool was_empty = s->q_len == 0;
    q_reserve(s, n);
    for (size_t i = 0; i < n; i++) {
        if (s->q_bytes + m[i]->len > s->cfg.max_queue_bytes) {
            eio_session_close(s, EIO_REASON_TRANSPORT_ERROR);
            return -1;
        }
        q_push(s, eio_msg_ref(m[i]));
    }
    if (was_empty && n)
        notify_writable(s);
    return 0;
}

int eio_session_send_message(eio_session *s, const void *data, size_t len, bool binary)
{
    eio_msg *m = eio_msg_new(EIO_MESSAGE, binary, data, len);
    int rc = eio_session_send(s, m);
    eio_msg_unref(m);
    return rc;
}

int eio_session_on_packet(eio_session *s, const eio_packet *p, uint64_t now)
{
    if (s->state == EIO_ST_CLOSED)
        return 0;
    switch (p->type) {
    case EIO_PONG:
        s->pong_deadline = 0;
        s->next_ping = now + s->cfg.ping_interval_ms;
        return 0;
    case EIO_MESSAGE:
        if (s->cbs.on_message)
            s->cbs.on_message(s, p->data, p->len, p->binary, s->ud);
        return 0;
    case EIO_CLOSE:
        s->client_closed = true;
        eio_session_close(s, EIO_REASON_TRANSPORT_CLOSE);
        return 0;
    case EIO_NOOP:
    case EIO_UPGRADE: return 0;
    case EIO_OPEN:
    case EIO_PING:
    default:
        /* v4 clients never send open, and send ping only as the upgrade probe. */
        eio_session_close(s, EIO_REASON_PARSE_ERROR);
        return -1;
    }
}

uint64_t eio_session_next_wakeup(const eio_session *s)
{
    if (s->state == EIO_ST_CLOSED)
        return UINT64_MAX;
    uint64_t t = s->pong_deadline ? s->pong_deadline : s->next_ping;
    if (s->state == EIO_ST_UPGRADING && s->upgrade_deadline < t)
        t = s->upgrade_deadline;
    return t;
}

void eio_session_tick(eio_session *s, uint64_t now)
{
    if (s->state == EIO_ST_CLOSED)
        return;
    if (s->state == EIO_ST_UPGRADING && now >= s->upgrade_deadline) {
        eio_session_upgrade_abort(s);
        if (s->cbs.on_upgrade_timeout)
            s->cbs.on_upgrade_timeout(s, s->ud);
    }
    if (s->pong_deadline) {
        if (now >= s->pong_deadline && s->state == EIO_ST_UPGRADING && s->probed) {
            /* The ping waits for the WebSocket the client is switching to: it cannot be answered
             * before the upgrade completes (bounded by upgrade_timeout_ms). */
            s->pong_deadline = now + s->cfg.ping_timeout_ms;
            return;
        }
        if (now >= s->pong_deadline)
            eio_session_close(s, EIO_REASON_PING_TIMEOUT);
        return;
    }
    if (now >= s->next_ping) {
        s->pong_deadline = now + s->cfg.ping_timeout_ms;
        eio_msg *m = eio_msg_new(EIO_PING, false, NULL, 0);
        eio_session_send(s, m);
        eio_msg_unref(m);
    }
}

/* ---- polling ---- */

eio_poll_result eio_session_poll_get(eio_session *s, uint64_t now)
{
    (void)now;
    if (s->state == EIO_ST_CLOSED || s->transport != EIO_TR_POLLING)
        return EIO_POLL_BAD;
    if (s->get_held) {
        eio_session_close(s, EIO_REASON_TRANSPORT_ERROR);
        return EIO_POLL_DUP;
    }
    s->get_held = true;
    return EIO_POLL_HOLD;
}

bool eio_session_poll_pending(const eio_session *s)
{
    return s->get_held;
}

bool eio_session_poll_ready(const eio_session *s)
{
    if (!s->get_held)
        return false;
    if (s->state == EIO_ST_CLOSED || s->transport != EIO_TR_POLLING)
        return true;
    if (s->state == EIO_ST_UPGRADING && s->probed)
        return true;
    return s->q_len > 0;
}

eio_ptype eio_session_close_reply(const eio_session *s)
{
    return s->client_closed ? EIO_NOOP : EIO_CLOSE;
}

static void put_single(util_buf *out, eio_ptype t)
{
    util_buf_putc(out, (uint8_t)('0' + t));
}

size_t eio_session_poll_take(eio_session *s, util_buf *out)
{
    s->get_held = false;
    if (s->state == EIO_ST_CLOSED) {
        put_single(out, eio_session_close_reply(s));
        return 1;
    }
    if (s->transport != EIO_TR_POLLING || (s->state == EIO_ST_UPGRADING && s->probed) ||
        !s->q_len) {
        put_single(out, EIO_NOOP);
        return 1;
    }
    size_t n = 0, used = 0;
    eio_msg *m;
    while ((m = q_peek(s))) {
        /* The close packet of a graceful close travels alone, in the GET after the last data: a
         * client that handles it synchronously would otherwise drop the packets before it. */
        if (n && s->closing && m->type == EIO_CLOSE)
            break;
        eio_packet p = eio_msg_packet(m);
        size_t need = eio_polling_len(&p) + (n ? 1 : 0);
        if (n && used + need > s->cfg.max_payload)
            break;
        if (s->cfg.poll_max_packets && n >= s->cfg.poll_max_packets)
            break; /* the rest goes to the next GET, which the client sends at once */
        if (n)
            util_buf_putc(out, EIO_RECORD_SEP);
        eio_encode_polling(out, &p);
        used += need;
        n++;
        eio_msg_unref(eio_session_pop(s));
    }
    if (s->closing && !s->q_len)
        close_now(s, s->closing); /* the close packet is in this response */
    return n;
}

void eio_session_poll_release(eio_session *s)
{
    s->get_held = false;
}

void eio_session_poll_abort(eio_session *s)
{
    if (!s->get_held)
        return;
    s->get_held = false;
    eio_session_close(s, EIO_REASON_TRANSPORT_CLOSE);
}

struct post_ctx {
    eio_session *s;
    uint64_t now;
    bool invalid;
};

static int post_packet(const eio_packet *p, void *ud)
{
    struct post_ctx *c = ud;
    if (eio_session_on_packet(c->s, p, c->now) != 0)
        c->invalid = true;
    return c->s->state == EIO_ST_CLOSED ? 1 : 0;
}

eio_post_result eio_session_poll_post(eio_session *s, const uint8_t *body, size_t len, uint64_t now)
{
    if (s->state == EIO_ST_CLOSED || s->transport != EIO_TR_POLLING)
        return EIO_POST_BAD;
    struct post_ctx c = {s, now, false};
    int rc = eio_decode_payload(body, len, post_packet, &c);
    if (c.invalid)
        return EIO_POST_PARSE; /* a packet a client must not send: closed with "parse error" */
    if (rc == EIO_EPARSE) {
        eio_session_close(s, EIO_REASON_PARSE_ERROR);
        return EIO_POST_PARSE;
    }
    return EIO_POST_OK;
}

/* ---- upgrade ---- */

int eio_session_upgrade_begin(eio_session *s, uint64_t now)
{
    if (s->state != EIO_ST_OPEN || s->transport != EIO_TR_POLLING || s->closing)
        return -1;
    s->state = EIO_ST_UPGRADING;
    s->probed = false;
    s->upgrade_deadline = now + s->cfg.upgrade_timeout_ms;
    return 0;
}

eio_upgrade_result eio_session_upgrade_packet(eio_session *s, const eio_packet *p, uint64_t now)
{
    if (s->state != EIO_ST_UPGRADING)
        return EIO_UPG_FAIL;
    if (p->type == EIO_PING && p->len == 5 && memcmp(p->data, "probe", 5) == 0) {
        s->probed = true;
        if (s->get_held)
            notify_writable(s);
        return EIO_UPG_PROBE;
    }
    if (p->type == EIO_UPGRADE) {
        s->state = EIO_ST_OPEN;
        s->transport = EIO_TR_WEBSOCKET;
        s->probed = false;
        if (s->pong_deadline) /* an outstanding ping leaves now, on the WebSocket */
            s->pong_deadline = now + s->cfg.ping_timeout_ms;
        notify_writable(s);
        return EIO_UPG_DONE;
    }
    if (p->type == EIO_NOOP)
        return EIO_UPG_IGNORE;
    eio_session_upgrade_abort(s);
    return EIO_UPG_FAIL;
}

void eio_session_upgrade_abort(eio_session *s)
{
    if (s->state != EIO_ST_UPGRADING)
        return;
    s->state = EIO_ST_OPEN;
    s->probed = false;
    if (s->get_held && s->q_len)
        notify_writable(s);
}
