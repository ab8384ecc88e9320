/* sio_memlog: connection state recovery in the in-memory adapter (one node, no Redis): a ring of
 * the namespace's logged packets, bounded by the window and recovery_max_packets, and the sessions
 * of its sockets (a live socket by reference, a disconnected one as a snapshot until its window
 * ends). Offsets are "BOOT-SEQ": BOOT is random per adapter, so an offset from another process
 * (the node restarted) matches nothing. */
#include "sio_internal.h"

#include "util_alloc.h"
#include "util_log.h"
#include "util_rand.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/** A logged packet. */
typedef struct mem_pkt {
    uint64_t seq;
    uint64_t at;  /**< host time it was logged */
    json_t *data; /**< [event, args...] without its offset; a private deep copy */
    char **rooms, **except;
    size_t n_rooms, n_except;
} mem_pkt;

/** A session: a live socket, or the snapshot of a socket that disconnected recoverably. */
typedef struct mem_sess {
    char pid[SIO_SOCKET_ID_LEN + 1];
    UT_hash_handle hh;
    uint64_t owner;
    sio_socket *live; /**< while connected (borrowed: session_close ends it), else NULL */
    char sid[SIO_SOCKET_ID_LEN + 1];
    json_t *rooms; /**< snapshot: rooms joined (without the id room) */
    json_t *data;  /**< snapshot: a deep copy of the data */
    bool gap;
    uint64_t expires;           /**< snapshot: host time it stops being restorable */
    struct mem_sess *exp_next;  /**< snapshots in order of expiry */
    struct mem_sess **exp_prev; /**< where this one is linked from, or NULL */
} mem_sess;

struct memlog {
    sio_nsp *nsp;
    uint64_t boot;
    mem_pkt *ring; /**< cap slots, len used from head */
    size_t cap, head, len;
    uint64_t next_seq;
    mem_sess *sessions; /**< uthash by pid */
    mem_sess *exp_head, **exp_tail;
    void *timer; /**< host timer at the first snapshot's expiry, or NULL */
};

static sio_server *srv_of(memlog *m)
{
    return m->nsp->srv;
}

static uint64_t now_of(memlog *m)
{
    return srv_of(m)->ops.now(srv_of(m)->host);
}

memlog *memlog_new(sio_nsp *nsp)
{
    memlog *m = util_calloc(1, sizeof *m);
    m->nsp = nsp;
    uint32_t boot;
    util_rand_bytes(&boot, sizeof boot);
    m->boot = boot | 1u; /* never 0 */
    m->next_seq = 1;
    m->exp_tail = &m->exp_head;
    size_t max = nsp->srv->cfg.recovery_max_packets;
    m->cap = max ? max : 10000;
    return m;
}

static void pkt_clear(mem_pkt *p)
{
    json_decref(p->data);
    util_strv_free(p->rooms, p->n_rooms);
    util_strv_free(p->except, p->n_except);
    memset(p, 0, sizeof *p);
}

static void sess_unlink_exp(memlog *m, mem_sess *e)
{
    if (!e->exp_prev)
        return;
    *e->exp_prev = e->exp_next;
    if (e->exp_next)
        e->exp_next->exp_prev = e->exp_prev;
    else
        m->exp_tail = e->exp_prev;
    e->exp_next = NULL;
    e->exp_prev = NULL;
}

static void sess_free(memlog *m, mem_sess *e)
{
    HASH_DEL(m->sessions, e);
    sess_unlink_exp(m, e);
    json_decref(e->rooms);
    json_decref(e->data);
    util_free(e);
}

void memlog_free(memlog *m)
{
    if (!m)
        return;
    if (m->timer)
        srv_of(m)->ops.timer_cancel(srv_of(m)->host, m->timer);
    while (m->len) {
        pkt_clear(&m->ring[m->head]);
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    util_free(m->ring);
    mem_sess *e, *tmp;
    HASH_ITER(hh, m->sessions, e, tmp)
    {
        sess_free(m, e);
    }
    util_free(m);
}

static memlog *log_of(sio_adapter *a)
{
    return ((mem_adapter *)a)->log;
}

static uint32_t window_of(memlog *m)
{
    return srv_of(m)->cfg.recovery_window_ms;
}

/* Drops the packets older than the window. */
static void ring_expire(memlog *m, uint64_t now)
{
    while (m->len && m->ring[m->head].at + window_of(m) < now) {
        pkt_clear(&m->ring[m->head]);
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
}

void memlog_log_packet(sio_adapter *a, json_t *packet, const sio_bcast_opts *o, uint64_t token)
{
    memlog *m = log_of(a);
    uint64_t now = now_of(m);
    ring_expire(m, now);
    if (!m->ring)
        m->ring = util_calloc(m->cap, sizeof *m->ring);
    if (m->len == m->cap) { /* the size bound: the oldest goes */
        pkt_clear(&m->ring[m->head]);
        m->head = (m->head + 1) % m->cap;
        m->len--;
    }
    mem_pkt *p = &m->ring[(m->head + m->len) % m->cap];
    m->len++;
    p->seq = m->next_seq++;
    p->at = now;
    /* A copy: the caller's values may change after the emit, the log must not. */
    p->data = json_deep_copy(packet);
    p->rooms = util_strv_dup(o ? o->rooms : NULL, p->n_rooms = o ? o->n_rooms : 0);
    p->except = util_strv_dup(o ? o->except : NULL, p->n_except = o ? o->n_except : 0);
    char off[SIO_OFFSET_MAX];
    snprintf(off, sizeof off, "%" PRIu64 "-%" PRIu64, m->boot, p->seq);
    sio_nsp_log_done(a->nsp, token, off);
}

void memlog_session_open(sio_adapter *a, sio_socket *s)
{
    memlog *m = log_of(a);
    const char *pid = sio_socket_pid(s);
    mem_sess *e = NULL;
    HASH_FIND_STR(m->sessions, pid, e);
    if (!e) {
        e = util_calloc(1, sizeof *e);
        snprintf(e->pid, sizeof e->pid, "%s", pid);
        HASH_ADD_STR(m->sessions, pid, e);
    }
    sess_unlink_exp(m, e);
    json_decref(e->rooms);
    json_decref(e->data);
    e->rooms = e->data = NULL;
    e->owner = sio_socket_owner(s);
    e->live = s;
    snprintf(e->sid, sizeof e->sid, "%s", sio_socket_id(s));
}

static void on_expiry(void *arg);

static void arm_expiry(memlog *m)
{
    if (m->timer || !m->exp_head)
        return;
    uint64_t now = now_of(m);
    uint64_t at = m->exp_head->expires;
    m->timer = srv_of(m)->ops.timer_start(srv_of(m)->host, at > now ? at - now : 0, on_expiry, m);
}

static void on_expiry(void *arg)
{
    memlog *m = arg;
    m->timer = NULL;
    uint64_t now = now_of(m);
    while (m->exp_head && m->exp_head->expires <= now)
        sess_free(m, m->exp_head);
    ring_expire(m, now);
    arm_expiry(m);
}

typedef struct room_acc {
    json_t *rooms;
    const char *skip; /**< the id room */
} room_acc;

static void add_room(const char *room, void *ud)
{
    room_acc *acc = ud;
    if (strcmp(room, acc->skip) != 0)
        json_array_append_new(acc->rooms, json_string(room));
}

/* The rooms s joined (without its id room), as a new array. */
static json_t *rooms_of(const sio_socket *s)
{
    room_acc acc = {json_array(), sio_socket_id(s)};
    sio_socket_rooms(s, add_room, &acc);
    return acc.rooms;
}

void memlog_session_close(sio_adapter *a, sio_socket *s, bool recoverable)
{
    memlog *m = log_of(a);
    mem_sess *e = NULL;
    HASH_FIND_STR(m->sessions, sio_socket_pid(s), e);
    if (!e || e->owner != sio_socket_owner(s))
        return; /* the session moved on (restored by a newer connection) */
    if (!recoverable) {
        sess_free(m, e);
        return;
    }
    e->live = NULL;
    e->rooms = rooms_of(s);
    e->data = json_deep_copy(sio_socket_data_json(s));
    e->gap = sio_socket_gap(s);
    e->expires = now_of(m) + window_of(m);
    e->exp_prev = m->exp_tail;
    *m->exp_tail = e;
    m->exp_tail = &e->exp_next;
    arm_expiry(m);
}

/* {sid, live} of e: what a failed restore still reports (to evict a live socket). */
static json_t *sess_ident(const mem_sess *e)
{
    return json_pack("{s:s,s:b}", "sid", e->sid, "live", e->live != NULL);
}

void memlog_restore(sio_adapter *a, const char *pid, const char *offset, sio_restore_fn cb,
                    void *ud)
{
    memlog *m = log_of(a);
    uint64_t now = now_of(m);
    ring_expire(m, now);
    mem_sess *e = NULL;
    HASH_FIND_STR(m->sessions, pid, e);
    if (!e) {
        cb(NULL, "unknown", ud);
        return;
    }
    if (!e->live && e->expires <= now) {
        sess_free(m, e);
        cb(NULL, "expired", ud);
        return;
    }
    json_t *sess;
    if (e->live) {
        sio_socket *s = e->live;
        sess = json_pack("{s:s,s:o,s:o,s:b}", "sid", e->sid, "rooms", rooms_of(s), "data",
                         json_deep_copy(sio_socket_data_json(s)), "live", 1);
        e->gap = sio_socket_gap(s);
    } else {
        sess = json_pack("{s:s,s:O,s:O,s:b}", "sid", e->sid, "rooms", e->rooms, "data", e->data,
                         "live", 0);
    }
    bool gap = e->gap;
    json_t *ident = sess_ident(e);
    sess_free(m, e); /* consumed: restored at most once */
    uint64_t boot, seq;
    const char *why = NULL;
    if (gap)
        why = "gap";
    else if (!sio_offset_parse(offset, &boot, &seq) || boot != m->boot || !m->len ||
             seq < m->ring[m->head].seq || seq >= m->next_seq)
        why = "offset"; /* too old (trimmed), or not one of ours */
    if (why)
        cb(ident, why, ud);
    else
        cb(sess, NULL, ud);
    json_decref(ident);
    json_decref(sess);
}

/* True when the socket is in any of v[0..n). */
static bool in_any(const sio_socket *s, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sio_socket_in_room(s, v[i]))
            return true;
    return false;
}

void memlog_replay(sio_adapter *a, sio_socket *s, json_t *session, const char *offset,
                   sio_replay_fn cb, void *ud)
{
    (void)session;
    memlog *m = log_of(a);
    uint64_t boot, seq;
    if (!sio_offset_parse(offset, &boot, &seq) || boot != m->boot) {
        cb(NULL, "bad offset", ud);
        return;
    }
    json_t *out = json_array();
    char off[SIO_OFFSET_MAX];
    for (size_t i = 0; i < m->len; i++) {
        const mem_pkt *p = &m->ring[(m->head + i) % m->cap];
        if (p->seq <= seq)
            continue;
        if ((p->n_rooms && !in_any(s, p->rooms, p->n_rooms)) || in_any(s, p->except, p->n_except))
            continue;
        snprintf(off, sizeof off, "%" PRIu64 "-%" PRIu64, m->boot, p->seq);
        json_array_append_new(out, json_pack("[s,O]", off, p->data));
    }
    cb(out, NULL, ud);
    json_decref(out);
}
