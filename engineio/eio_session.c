/* eio_session: Engine.IO v4 session state machine: outbound queue, heartbeat, polling rules,
 * upgrade handshake, close. Pure: no sockets, no clock; the glue passes `now` in. */
#include "eio_session.h"

#include "util_alloc.h"
#include "util_log.h"
#include "util_rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char EIO_REASON_TRANSPORT_CLOSE[] = "transport close";
const char EIO_REASON_TRANSPORT_ERROR[] = "transport error";
const char EIO_REASON_PING_TIMEOUT[] = "ping timeout";
const char EIO_REASON_PARSE_ERROR[] = "parse error";
const char EIO_REASON_FORCED_CLOSE[] = "forced close";
const char EIO_REASON_SHUTDOWN[] = "server shutting down";
const char EIO_REASON_SLOW_CONSUMER[] = "slow consumer";
const char EIO_REASON_PACKET_FLOOD[] = "packet flood";

/* Queue slots are message pointers whose two low bits (free: malloc aligns to 16) mark volatile
 * packets: the first message of one, and the messages that follow it (its attachments). */
#define SLOT_VOL_HEAD ((uintptr_t)1)
#define SLOT_VOL_TAIL ((uintptr_t)2)
#define SLOT_TAGS (SLOT_VOL_HEAD | SLOT_VOL_TAIL)

/** A ring bigger than this many slots is freed when the queue empties (a burst's ring is not kept
 * by an idle session); smaller rings stay, so steady traffic allocates nothing. */
#define RING_KEEP_SLOTS 256u

struct eio_budget {
    size_t max;            /**< 0: no limit */
    size_t used;           /**< bytes charged by every session */
    eio_session *sessions; /**< every session charging it (doubly linked) */
    size_t n_sessions;
    uint64_t shed; /**< sessions closed to come back under max */
    bool shedding; /**< inside budget_shed (closing runs callbacks) */
};

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
    /* Outbound queue: a ring of tagged message references (SLOT_*); q_cap is 0 or a power of
     * two. */
    uintptr_t *q;
    size_t q_head, q_len, q_cap;
    size_t q_bytes;              /* wire bytes queued */
    size_t q_cost;               /* eio_msg_cost of the queued messages */
    size_t ring_cost;            /* util_alloc_cost of the ring */
    size_t held[EIO_HOLD_COUNT]; /* held outside the queue (eio_session_hold) */
    size_t held_sum;
    size_t n_volatile; /* queued slots tagged volatile */
    uint64_t vol_dropped;
    eio_budget *budget;
    eio_session *b_prev, *b_next; /* in budget->sessions */
};

void eio_config_defaults(eio_config *cfg)
{
    cfg->ping_interval_ms = 25000;
    cfg->ping_timeout_ms = 20000;
    cfg->max_payload = 1000000;
    cfg->max_queue_bytes = EIO_DEFAULT_MAX_QUEUE;
    cfg->upgrade_timeout_ms = 10000;
    cfg->poll_max_packets = 16;
    cfg->budget = NULL;
}

static inline eio_msg *slot_msg(uintptr_t e)
{
    return (eio_msg *)(e & ~SLOT_TAGS);
}

static inline uintptr_t *slot_at(const eio_session *s, size_t i)
{
    return &s->q[(s->q_head + i) & (s->q_cap - 1)];
}

/* ---- memory accounting ---- */

static void budget_charge(eio_budget *b, size_t n)
{
    if (b)
        b->used += n;
}

static void budget_discharge(eio_budget *b, size_t n)
{
    if (b)
        b->used = b->used > n ? b->used - n : 0; /* never wraps, even if sessions mixed budgets */
}

/* Sets a counter of s whose bytes the budget also holds (ring, tx, rx) to n. */
static void set_charged(eio_session *s, size_t *field, size_t n)
{
    if (n > *field)
        budget_charge(s->budget, n - *field);
    else
        budget_discharge(s->budget, *field - n);
    *field = n;
}

static size_t ring_cost_for(size_t cap)
{
    return cap ? util_alloc_cost(cap * sizeof(uintptr_t)) : 0;
}

/* The capacity the ring needs for n slots. */
static size_t ring_cap_for(const eio_session *s, size_t n)
{
    if (n <= s->q_cap)
        return s->q_cap;
    size_t cap = s->q_cap ? s->q_cap : 8;
    while (cap < n)
        cap *= 2;
    return cap;
}

size_t eio_session_memory(const eio_session *s)
{
    return s->q_cost + s->ring_cost + s->held_sum;
}

/* The memory s would hold with `more` more messages costing `cost` together. */
static size_t memory_with(const eio_session *s, size_t cost, size_t more)
{
    size_t ring = s->q_len + more <= s->q_cap ? s->ring_cost
                                              : ring_cost_for(ring_cap_for(s, s->q_len + more));
    return s->q_cost + cost + ring + s->held_sum;
}

/* Makes room for `more` references beyond those queued (one allocation for a whole burst). */
static void q_reserve(eio_session *s, size_t more)
{
    if (s->q_len + more <= s->q_cap)
        return;
    size_t ncap = ring_cap_for(s, s->q_len + more);
    uintptr_t *nq = util_malloc(ncap * sizeof *nq);
    for (size_t i = 0; i < s->q_len; i++)
        nq[i] = *slot_at(s, i);
    util_free(s->q);
    s->q = nq;
    s->q_cap = ncap;
    s->q_head = 0;
    set_charged(s, &s->ring_cost, ring_cost_for(ncap));
}

/* Accounts for m entering a queue: its cost to the session, and to the node when no other queue
 * holds it. */
static void msg_enter(eio_session *s, eio_msg *m)
{
    size_t c = eio_msg_cost(m);
    s->q_cost += c;
    s->q_bytes += m->len;
    if (m->qrefs++ == 0)
        budget_charge(s->budget, c);
}

static void msg_leave(eio_session *s, eio_msg *m)
{
    size_t c = eio_msg_cost(m);
    s->q_cost -= c;
    s->q_bytes -= m->len;
    if (m->qrefs && --m->qrefs == 0)
        budget_discharge(s->budget, c);
}

/* Appends m (the queue's reference) with tags. The ring has room (q_reserve). */
static void q_push_tagged(eio_session *s, eio_msg *m, uintptr_t tags)
{
    *slot_at(s, s->q_len) = (uintptr_t)m | tags;
    s->q_len++;
    if (tags)
        s->n_volatile++;
    msg_enter(s, m);
}

static void q_push(eio_session *s, eio_msg *m)
{
    q_reserve(s, 1);
    q_push_tagged(s, m, 0);
}

static eio_msg *q_peek(const eio_session *s)
{
    return s->q_len ? slot_msg(s->q[s->q_head]) : NULL;
}

/* The ring of an empty queue: a big one is freed (see RING_KEEP_SLOTS). */
static void q_emptied(eio_session *s)
{
    if (s->q_cap > RING_KEEP_SLOTS) {
        util_free(s->q);
        s->q = NULL;
        s->q_cap = s->q_head = 0;
        set_charged(s, &s->ring_cost, 0);
    }
}

eio_msg *eio_session_pop(eio_session *s)
{
    if (!s->q_len)
        return NULL;
    uintptr_t e = s->q[s->q_head];
    eio_msg *m = slot_msg(e);
    s->q_head = (s->q_head + 1) & (s->q_cap - 1);
    s->q_len--;
    if (e & SLOT_TAGS)
        s->n_volatile--;
    msg_leave(s, m);
    if (!s->q_len)
        q_emptied(s);
    return m;
}

static void q_clear(eio_session *s)
{
    eio_msg *m;
    while ((m = eio_session_pop(s)))
        eio_msg_unref(m);
}

/* Drops every volatile packet whose first message is still queued (a packet whose head already
 * left keeps its tail: the client is reading it). Order of the rest is kept. Returns the number of
 * messages dropped. */
static size_t q_drop_volatile(eio_session *s)
{
    if (!s->n_volatile)
        return 0;
    size_t w = 0, dropped = 0, packets = 0;
    bool dropping = false;
    for (size_t i = 0; i < s->q_len; i++) {
        uintptr_t e = *slot_at(s, i);
        if (e & SLOT_VOL_HEAD) {
            dropping = true;
            packets++;
        } else if (!(e & SLOT_VOL_TAIL)) {
            dropping = false;
        }
        if (dropping) {
            eio_msg *m = slot_msg(e);
            s->n_volatile--;
            msg_leave(s, m);
            eio_msg_unref(m);
            dropped++;
        } else {
            *slot_at(s, w++) = e;
        }
    }
    s->q_len = w;
    s->vol_dropped += packets;
    if (!s->q_len)
        q_emptied(s);
    return dropped;
}

static void close_now(eio_session *s, const char *reason);

/* s cannot hold `cost` more bytes in `more` messages: its volatile packets go first; if that is not
 * enough, it is closed as a slow consumer. Returns true when the messages now fit. */
static bool make_room(eio_session *s, size_t cost, size_t more)
{
    if (q_drop_volatile(s) && memory_with(s, cost, more) <= s->cfg.max_queue_bytes)
        return true;
    UTIL_LOGW_RL(UTIL_SUB_ENGINEIO,
                 "sid=%s slow consumer: holds %zu bytes for its client, bound %zu "
                 "(--max-session-queue): closed",
                 s->sid, eio_session_memory(s) + cost, s->cfg.max_queue_bytes);
    close_now(s, EIO_REASON_SLOW_CONSUMER);
    return false;
}

static int cmp_memory_desc(const void *a, const void *b)
{
    size_t ma = eio_session_memory(*(eio_session *const *)a);
    size_t mb = eio_session_memory(*(eio_session *const *)b);
    return ma < mb ? 1 : ma > mb ? -1 : 0;
}

/* The budget is over its max: closes the sessions holding the most until it is at most 7/8 of it.
 * Shared messages stay charged while any queue holds them, so closing a session gives back its
 * slots and what only it held; what its transport holds is given back when the transport lets go,
 * so it counts as gone already. */
static void budget_shed(eio_budget *b)
{
    if (b->shedding || !b->n_sessions)
        return;
    b->shedding = true;
    size_t n = 0, leaving = 0;
    eio_session **v = util_malloc(b->n_sessions * sizeof *v);
    for (eio_session *x = b->sessions; x; x = x->b_next) {
        if (x->state == EIO_ST_CLOSED)
            leaving += x->held_sum;
        else if (eio_session_memory(x) > 0)
            v[n++] = x;
    }
    qsort(v, n, sizeof *v, cmp_memory_desc);
    size_t before = b->used, target = b->max - b->max / 8, closed = 0;
    size_t largest = n ? eio_session_memory(v[0]) : 0;
    for (size_t i = 0; i < n && b->used > target + leaving; i++) {
        eio_session *x = v[i];
        if (x->state == EIO_ST_CLOSED) /* closed meanwhile by another's callback */
            continue;
        close_now(x, EIO_REASON_SLOW_CONSUMER);
        leaving += x->held_sum;
        closed++;
    }
    util_free(v);
    b->shed += closed;
    UTIL_LOGW_RL(UTIL_SUB_ENGINEIO,
                 "memory budget: sessions held %zu bytes, over --max-memory %zu: closed the %zu "
                 "holding the most (largest %zu bytes); now %zu",
                 before, b->max, closed, largest, b->used);
    b->shedding = false;
}

/* After a charge: sheds when the budget went over its max. */
static void budget_check(eio_budget *b)
{
    if (b && b->max && b->used > b->max)
        budget_shed(b);
}

eio_budget *eio_budget_new(size_t max_bytes)
{
    eio_budget *b = util_calloc(1, sizeof *b);
    b->max = max_bytes;
    return b;
}

void eio_budget_free(eio_budget *b)
{
    util_free(b);
}

size_t eio_budget_used(const eio_budget *b)
{
    return b->used;
}

size_t eio_budget_max(const eio_budget *b)
{
    return b->max;
}

bool eio_budget_over(const eio_budget *b)
{
    return b && b->max && b->used > b->max - b->max / 8;
}

uint64_t eio_budget_shed(const eio_budget *b)
{
    return b->shed;
}

bool eio_budget_take(eio_budget *b, size_t n)
{
    if (b && b->max && (b->used > b->max || n > b->max - b->used))
        return false;
    budget_charge(b, n);
    return true;
}

void eio_budget_give(eio_budget *b, size_t n)
{
    budget_discharge(b, n);
}

static void budget_attach(eio_session *s, eio_budget *b)
{
    s->budget = b;
    if (!b)
        return;
    s->b_next = b->sessions;
    if (b->sessions)
        b->sessions->b_prev = s;
    b->sessions = s;
    b->n_sessions++;
}

static void budget_detach(eio_session *s)
{
    eio_budget *b = s->budget;
    if (!b)
        return;
    for (int k = 0; k < EIO_HOLD_COUNT; k++)
        eio_session_hold(s, (eio_hold)k, 0);
    set_charged(s, &s->ring_cost, 0);
    if (s->b_prev)
        s->b_prev->b_next = s->b_next;
    else
        b->sessions = s->b_next;
    if (s->b_next)
        s->b_next->b_prev = s->b_prev;
    b->n_sessions--;
    s->budget = NULL;
}

void eio_session_hold(eio_session *s, eio_hold who, size_t n)
{
    if ((unsigned)who >= EIO_HOLD_COUNT)
        return;
    s->held_sum = s->held_sum - s->held[who] + n;
    set_charged(s, &s->held[who], n);
}

size_t eio_session_held(const eio_session *s, eio_hold who)
{
    return (unsigned)who < EIO_HOLD_COUNT ? s->held[who] : 0;
}

uint64_t eio_session_volatile_dropped(const eio_session *s)
{
    return s->vol_dropped;
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
    budget_attach(s, cfg->budget);
    queue_open_packet(s);
    return s;
}

void eio_session_free(eio_session *s)
{
    if (!s)
        return;
    q_clear(s);
    util_free(s->q);
    s->q = NULL;
    budget_detach(s);
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
    return eio_session_send_many(s, &m, 1);
}

int eio_session_send_many(eio_session *s, eio_msg *const *m, size_t n)
{
    if (s->state == EIO_ST_CLOSED || s->closing)
        return -1;
    bool was_empty = s->q_len == 0;
    for (size_t i = 0; i < n; i++) {
        size_t cost = eio_msg_cost(m[i]);
        if (memory_with(s, cost, n - i) > s->cfg.max_queue_bytes) {
            /* The ring is sized for the whole rest only when that fits: check this one alone. */
            if (memory_with(s, cost, 1) > s->cfg.max_queue_bytes && !make_room(s, cost, 1))
                return -1;
            q_reserve(s, 1);
        } else {
            q_reserve(s, n - i);
        }
        q_push_tagged(s, eio_msg_ref(m[i]), 0);
    }
    budget_check(s->budget);
    if (s->state == EIO_ST_CLOSED)
        return -1; /* shed with the sessions holding the most */
    if (was_empty && n)
        notify_writable(s);
    return 0;
}

int eio_session_send_volatile(eio_session *s, eio_msg *const *m, size_t n)
{
    if (s->state == EIO_ST_CLOSED || s->closing || !n)
        return -1;
    size_t cost = 0;
    for (size_t i = 0; i < n; i++)
        cost += eio_msg_cost(m[i]);
    if (memory_with(s, cost, n) > s->cfg.max_queue_bytes / 2) {
        s->vol_dropped++;
        return -1;
    }
    bool was_empty = s->q_len == 0;
    q_reserve(s, n);
    for (size_t i = 0; i < n; i++)
        q_push_tagged(s, eio_msg_ref(m[i]), i ? SLOT_VOL_TAIL : SLOT_VOL_HEAD);
    budget_check(s->budget);
    if (s->state == EIO_ST_CLOSED)
        return -1;
    if (was_empty)
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
