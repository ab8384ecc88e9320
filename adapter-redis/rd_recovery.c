/* rd_recovery: connection state recovery over Redis (docs/recovery.md). A logged packet is one
 * EVAL: XADD to the namespace's stream, PUBLISH of the broadcast with the entry id spliced in as its
 * last argument (and as a 4th element that receivers read), and PUBLISH of "TOKEN ID" on this
 * adapter's echo channel. Redis runs scripts one at a time, so the order of the stream is the order
 * of the publishes, which every subscriber receives in that order on its one subscriber connection:
 * this node delivers its own logged packets when their echo arrives, in line with the packets of
 * the other nodes, and a client's last offset always means "everything before it, nothing after".
 * Session records are hashes written while the socket lives (so a node killed with -9 leaves them
 * complete), refreshed in batches to live a window past their node, guarded by the socket's owner
 * token. */
#include "rd_recovery.h"

#include "rd_codec.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_log.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** How long a packet may wait for its echo once Redis has answered its script (the subscriber
 * connection lost it): then it is delivered with the offset the answer gave. */
#define RD_ECHO_GRACE_MS 1000
/** Entries read per XRANGE while replaying. */
#define RD_REPLAY_CHUNK 512

const char RD_RECOV_LOG_SCRIPT[] =
    "-- siobroker recovery log v1: KEYS[1] stream; ARGV: maxlen, stream ttl, d, r, e, n,\n"
    "-- echo channel, token, broadcast channel, message, splice\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3], 'r',\n"
    "  ARGV[4], 'e', ARGV[5], 'n', ARGV[6])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "if ARGV[9] ~= '' then\n"
    "  local s = string.char(217, #id) .. id\n"
    "  local p = tonumber(ARGV[11])\n"
    "  redis.call('PUBLISH', ARGV[9], string.sub(ARGV[10], 1, p) .. s .. string.sub(ARGV[10], p + "
    "1) .. s)\n"
    "end\n"
    "if ARGV[7] ~= '' then\n"
    "  redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. id)\n"
    "end\n"
    "return id\n";

/* KEYS[1] record; ARGV: op (open, set, drop), owner, ttl ('' keeps it), field value pairs. Every
 * op but open is a no-op unless the record is still the owner's. */
static const char k_record_script[] =
    "local k = KEYS[1]\n"
    "if ARGV[1] ~= 'open' and redis.call('HGET', k, 'o') ~= ARGV[2] then return 0 end\n"
    "if ARGV[1] == 'drop' then redis.call('DEL', k) return 1 end\n"
    "if ARGV[1] == 'open' then redis.call('DEL', k) end\n"
    "if #ARGV > 3 then redis.call('HSET', k, unpack(ARGV, 4)) end\n"
    "if ARGV[1] == 'open' then redis.call('HSET', k, 'o', ARGV[2]) end\n"
    "if ARGV[3] ~= '' then redis.call('PEXPIRE', k, ARGV[3]) end\n"
    "return 1\n";

/* KEYS[1] record, KEYS[2] stream; ARGV: nsp, offset. Takes the record (restored at most once) and
 * says whether the offset is still in the log. */
static const char k_restore_script[] =
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "if #h == 0 then return {'unknown'} end\n"
    "local r = {}\n"
    "for i = 1, #h, 2 do r[h[i]] = h[i + 1] end\n"
    "if r['n'] ~= ARGV[1] then return {'unknown'} end\n"
    "redis.call('DEL', KEYS[1])\n"
    "local why = 'ok'\n"
    "if r['gap'] == '1' then why = 'gap'\n"
    "elseif #redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2]) == 0 then why = 'offset' end\n"
    "return {why, r['s'] or '', r['live'] or '0', r['node'] or '', r['r'] or '', r['d'] or ''}\n";

/* KEYS[1] stream; ARGV[1] window: drops the entries older than the window (Redis' clock). */
static const char k_trim_script[] =
    "local t = redis.call('TIME')\n"
    "local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])\n"
    "if ms > 0 then redis.call('XTRIM', KEYS[1], 'MINID', '~', ms) end\n"
    "return 0\n";

enum { FL_WAIT, FL_ECHOED, FL_FAILED };

/** A logged packet waiting for its echo. */
typedef struct rd_flight {
    uint64_t token;
    int state;
    bool replied; /**< the script answered with an id */
    uint64_t replied_at;
    char id[SIO_OFFSET_MAX];
    json_t *packet; /**< for the fallback publish */
    char **rooms, **except;
    size_t n_rooms, n_except;
    unsigned flags;
    struct rd_flight *next;
} rd_flight;

struct rd_recov {
    rd_link *link; /**< NULL once detached */
    uv_loop_t *loop;
    sio_nsp *nsp;
    char *key, *uid;
    char *stream; /**< K:csr-log#NSP */
    char *echo;   /**< K-csr#NSP#UID# */
    uint32_t window;
    uint32_t period;
    size_t max_packets;
    void (*fallback)(void *ud, json_t *packet, const sio_bcast_opts *o);
    void *fallback_ud;
    rd_flight *fl_head, **fl_tail;
    int pending; /**< callbacks still to come that use this struct */
    bool dead;   /**< rd_recov_free ran: freed when pending reaches 0 */
};

/* ---- helpers ------------------------------------------------------------------------------------ */

static char *fmt(const char *f, const char *a, const char *b, const char *c)
{
    util_buf bf = UTIL_BUF_INIT;
    util_buf_printf(&bf, f, a, b, c);
    return util_buf_steal_str(&bf);
}

static void maybe_free(rd_recov *r)
{
    if (!r->dead || r->pending > 0)
        return;
    util_free(r->key);
    util_free(r->uid);
    util_free(r->stream);
    util_free(r->echo);
    util_free(r);
}

static void record_key(rd_recov *r, util_buf *b, const char *pid)
{
    util_buf_reset(b);
    util_buf_printf(b, "%s:csr:%s", r->key, pid);
    util_buf_putc(b, '\0');
}

/* Runs a command; reply to cb (which must release r->pending) or ignored when cb is NULL. */
static void command(rd_recov *r, rd_reply_fn cb, void *ud, int argc, const char **argv,
                    const size_t *lens)
{
    if (!r->link) {
        if (cb)
            cb(ud, NULL);
        return;
    }
    size_t l[32];
    if (!lens) {
        for (int i = 0; i < argc; i++)
            l[i] = strlen(argv[i]);
        lens = l;
    }
    rd_link_command(r->link, cb, ud, argc, argv, lens);
}

static uint64_t now_ms(rd_recov *r)
{
    return uv_now(r->loop);
}

uint32_t rd_recov_period_ms(uint32_t window_ms)
{
    uint32_t p = window_ms / 4;
    return p < 1000 ? 1000 : p > 5000 ? 5000 : p;
}

/* ---- the log ------------------------------------------------------------------------------------ */

static void flight_free(rd_flight *f)
{
    json_decref(f->packet);
    util_strv_free(f->rooms, f->n_rooms);
    util_strv_free(f->except, f->n_except);
    util_free(f);
}

/* Completes, in order, the packets at the head that are echoed or failed. */
static void flights_flush(rd_recov *r)
{
    rd_flight *f;
    while ((f = r->fl_head) && f->state != FL_WAIT) {
        r->fl_head = f->next;
        if (!r->fl_head)
            r->fl_tail = &r->fl_head;
        if (f->state == FL_FAILED && r->fallback && !(f->flags & SIO_BC_LOCAL)) {
            sio_bcast_opts o = {(const char *const *)f->rooms, f->n_rooms,
                                (const char *const *)f->except, f->n_except, f->flags};
            r->fallback(r->fallback_ud, f->packet, &o);
        }
        sio_nsp_log_done(r->nsp, f->token, f->state == FL_ECHOED ? f->id : NULL);
        flight_free(f);
    }
}

static rd_flight *flight_find(rd_recov *r, uint64_t token)
{
    for (rd_flight *f = r->fl_head; f; f = f->next)
        if (f->token == token)
            return f;
    return NULL;
}

typedef struct log_ctx {
    rd_recov *r;
    uint64_t token;
} log_ctx;

static void on_logged(void *ud, const void *reply)
{
    log_ctx *c = ud;
    rd_recov *r = c->r;
    const redisReply *rep = reply;
    r->pending--;
    rd_flight *f = r->dead ? NULL : flight_find(r, c->token);
    if (f && f->state == FL_WAIT) {
        if (rep && rep->type == REDIS_REPLY_STRING && rep->len < sizeof f->id) {
            memcpy(f->id, rep->str, rep->len);
            f->id[rep->len] = '\0';
            f->replied = true;
            f->replied_at = now_ms(r);
        } else {
            if (rep && rep->type == REDIS_REPLY_ERROR)
                UTIL_LOGW(UTIL_SUB_ADAPTER, "%s: a packet could not be logged for recovery: %s",
                          sio_nsp_name(r->nsp), rep->str);
            f->state = FL_FAILED;
            flights_flush(r);
        }
    }
    util_free(c);
    maybe_free(r);
}

/* "TOKEN ID" on the echo channel: the packet is in the log, and here is its place in the order. */
static void on_echo(void *ud, const char *channel, size_t channel_len, const uint8_t *payload,
                    size_t len)
{
    (void)channel, (void)channel_len;
    rd_recov *r = ud;
    char buf[96];
    if (r->dead || len >= sizeof buf)
        return;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    char *sp = strchr(buf, ' ');
    uint64_t a, b;
    if (!sp || !sio_offset_parse(sp + 1, &a, &b))
        return;
    *sp = '\0';
    char *end;
    uint64_t token = strtoull(buf, &end, 10);
    if (*end)
        return;
    /* Redis runs this node's scripts in order: one that has no echo before this one failed. */
    for (rd_flight *f = r->fl_head; f; f = f->next) {
        if (f->token == token) {
            f->state = FL_ECHOED;
            snprintf(f->id, sizeof f->id, "%s", sp + 1);
            break;
        }
        if (f->state == FL_WAIT)
            f->state = f->replied ? FL_ECHOED : FL_FAILED;
    }
    flights_flush(r);
}

/* The subscriber connection may have lost echoes: packets Redis confirmed complete with the id it
 * gave. */
static void flights_release_replied(rd_recov *r, bool all)
{
    uint64_t now = now_ms(r);
    for (rd_flight *f = r->fl_head; f; f = f->next)
        if (f->state == FL_WAIT && f->replied && (all || now - f->replied_at >= RD_ECHO_GRACE_MS))
            f->state = FL_ECHOED;
    flights_flush(r);
}

/* msgpack of a list of rooms, or "" when empty. */
static void pack_rooms(util_buf *b, const char *const *v, size_t n)
{
    util_buf_reset(b);
    if (!n)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    rd_json_to_msgpack(b, a);
    json_decref(a);
}

void rd_recov_log_packet(rd_recov *r, json_t *packet, const sio_bcast_opts *o, uint64_t token)
{
    rd_flight *f = util_calloc(1, sizeof *f);
    f->token = token;
    f->packet = json_incref(packet);
    f->rooms = util_strv_dup(o ? o->rooms : NULL, f->n_rooms = o ? o->n_rooms : 0);
    f->except = util_strv_dup(o ? o->except : NULL, f->n_except = o ? o->n_except : 0);
    f->flags = o ? o->flags : 0;
    *r->fl_tail = f;
    r->fl_tail = &f->next;
    if (!r->link) {
        f->state = FL_FAILED;
        flights_flush(r);
        return;
    }
    bool local = f->flags & SIO_BC_LOCAL;
    util_buf d = UTIL_BUF_INIT, rooms = UTIL_BUF_INIT, except = UTIL_BUF_INIT;
    util_buf msg = UTIL_BUF_INIT, ch = UTIL_BUF_INIT;
    rd_json_to_msgpack(&d, packet);
    pack_rooms(&rooms, o ? o->rooms : NULL, o ? o->n_rooms : 0);
    pack_rooms(&except, o ? o->except : NULL, o ? o->n_except : 0);
    size_t splice = 0;
    if (!local) {
        rd_broadcast b;
        memset(&b, 0, sizeof b);
        b.uid = r->uid;
        b.data = packet;
        b.nsp = (char *)sio_nsp_name(r->nsp);
        b.rooms = f->rooms;
        b.n_rooms = f->n_rooms;
        b.except = f->except;
        b.n_except = f->n_except;
        rd_broadcast_encode_logged(&msg, &b, &splice);
        rd_channel_broadcast(&ch, r->key, b.nsp, b.n_rooms == 1 ? b.rooms[0] : NULL);
    }
    char maxlen[24], ttl[24], tok[24], spl[24];
    snprintf(maxlen, sizeof maxlen, "%zu", r->max_packets);
    snprintf(ttl, sizeof ttl, "%llu", 2ULL * r->window + 60000ULL);
    snprintf(tok, sizeof tok, "%" PRIu64, token);
    snprintf(spl, sizeof spl, "%zu", splice);
    const char *argv[] = {"EVAL",
                          RD_RECOV_LOG_SCRIPT,
                          "1",
                          r->stream,
                          maxlen,
                          ttl,
                          (const char *)d.data,
                          (const char *)rooms.data,
                          (const char *)except.data,
                          local ? r->uid : "",
                          r->echo,
                          tok,
                          local ? "" : (const char *)ch.data,
                          local ? "" : (const char *)msg.data,
                          spl};
    size_t lens[] = {4,
                     strlen(RD_RECOV_LOG_SCRIPT),
                     1,
                     strlen(r->stream),
                     strlen(maxlen),
                     strlen(ttl),
                     d.len,
                     rooms.len,
                     except.len,
                     local ? strlen(r->uid) : 0,
                     strlen(r->echo),
                     strlen(tok),
                     local ? 0 : ch.len,
                     local ? 0 : msg.len,
                     strlen(spl)};
    for (size_t i = 0; i < sizeof argv / sizeof *argv; i++)
        if (!argv[i])
            argv[i] = "";
    log_ctx *c = util_malloc(sizeof *c);
    c->r = r;
    c->token = token;
    r->pending++;
    command(r, on_logged, c, (int)(sizeof argv / sizeof *argv), argv, lens);
    util_buf_free(&d);
    util_buf_free(&rooms);
    util_buf_free(&except);
    util_buf_free(&msg);
    util_buf_free(&ch);
}

/* ---- session records ---------------------------------------------------------------------------- */

typedef struct room_acc {
    json_t *rooms;
    const char *skip;
} room_acc;

static void add_room(const char *room, void *ud)
{
    room_acc *a = ud;
    if (strcmp(room, a->skip) != 0)
        json_array_append_new(a->rooms, json_string(room));
}

static void pack_socket_rooms(util_buf *b, const sio_socket *s)
{
    room_acc a = {json_array(), sio_socket_id(s)};
    sio_socket_rooms(s, add_room, &a);
    util_buf_reset(b);
    rd_json_to_msgpack(b, a.rooms);
    json_decref(a.rooms);
}

static void pack_socket_data(util_buf *b, sio_socket *s)
{
    util_buf_reset(b);
    rd_json_to_msgpack(b, sio_socket_data_json(s));
}

/* TTL of the record of a connected socket: the window past the last refresh, plus a period. */
static uint64_t live_ttl(rd_recov *r)
{
    return (uint64_t)r->window + 2ULL * r->period;
}

/* EVAL of the record script: op, the socket's owner, ttl (0: unchanged), then n field/value pairs
 * (values with their lengths). */
static void record_op(rd_recov *r, sio_socket *s, const char *op, uint64_t ttl, int n,
                      const char **fv, const size_t *fvlen)
{
    util_buf key = UTIL_BUF_INIT;
    record_key(r, &key, sio_socket_pid(s));
    char owner[24], ttls[24];
    snprintf(owner, sizeof owner, "%" PRIu64, sio_socket_owner(s));
    if (ttl)
        snprintf(ttls, sizeof ttls, "%" PRIu64, ttl);
    else
        ttls[0] = '\0';
    const char *argv[32] = {"EVAL", k_record_script, "1", (const char *)key.data, op, owner, ttls};
    size_t lens[32] = {
        4,          strlen(k_record_script), 1,           strlen((const char *)key.data),
        strlen(op), strlen(owner),           strlen(ttls)};
    int argc = 7;
    for (int i = 0; i < 2 * n && argc < 32; i++, argc++) {
        argv[argc] = fv[i];
        lens[argc] = fvlen[i];
    }
    command(r, NULL, NULL, argc, argv, lens);
    util_buf_free(&key);
}

void rd_recov_session_open(rd_recov *r, sio_socket *s)
{
    util_buf rooms = UTIL_BUF_INIT, data = UTIL_BUF_INIT;
    pack_socket_rooms(&rooms, s);
    pack_socket_data(&data, s);
    const char *gap = sio_socket_gap(s) ? "1" : "0";
    const char *fv[] = {"s",    sio_socket_id(s),
                        "n",    sio_nsp_name(r->nsp),
                        "node", r->uid,
                        "r",    (const char *)rooms.data,
                        "d",    (const char *)data.data,
                        "live", "1",
                        "gap",  gap};
    size_t fl[] = {
        1, strlen(fv[1]), 1, strlen(fv[3]), 4, strlen(r->uid), 1, rooms.len, 1, data.len, 4, 1, 3,
        1};
    record_op(r, s, "open", live_ttl(r), 7, fv, fl);
    util_buf_free(&rooms);
    util_buf_free(&data);
}

void rd_recov_session_update(rd_recov *r, sio_socket *s, unsigned what)
{
    util_buf rooms = UTIL_BUF_INIT, data = UTIL_BUF_INIT;
    const char *fv[6];
    size_t fl[6];
    int n = 0;
    if (what & SIO_SESSION_ROOMS) {
        pack_socket_rooms(&rooms, s);
        fv[2 * n] = "r", fl[2 * n] = 1, fv[2 * n + 1] = (const char *)rooms.data,
               fl[2 * n + 1] = rooms.len, n++;
    }
    if (what & SIO_SESSION_DATA) {
        pack_socket_data(&data, s);
        fv[2 * n] = "d", fl[2 * n] = 1, fv[2 * n + 1] = (const char *)data.data,
               fl[2 * n + 1] = data.len, n++;
    }
    if (what & SIO_SESSION_GAP)
        fv[2 * n] = "gap", fl[2 * n] = 3, fv[2 * n + 1] = "1", fl[2 * n + 1] = 1, n++;
    if (n)
        record_op(r, s, "set", 0, n, fv, fl);
    util_buf_free(&rooms);
    util_buf_free(&data);
}

void rd_recov_session_close(rd_recov *r, sio_socket *s, bool recoverable)
{
    if (!recoverable) {
        record_op(r, s, "drop", 0, 0, NULL, NULL);
        return;
    }
    /* Final state, restorable for the window from now. */
    util_buf rooms = UTIL_BUF_INIT, data = UTIL_BUF_INIT;
    pack_socket_rooms(&rooms, s);
    pack_socket_data(&data, s);
    const char *gap = sio_socket_gap(s) ? "1" : "0";
    const char *fv[] = {
        "r", (const char *)rooms.data, "d", (const char *)data.data, "live", "0", "gap", gap};
    size_t fl[] = {1, rooms.len, 1, data.len, 4, 1, 3, 1};
    record_op(r, s, "set", r->window, 4, fv, fl);
    util_buf_free(&rooms);
    util_buf_free(&data);
}

/* ---- restore ------------------------------------------------------------------------------------ */

typedef struct restore_ctx {
    rd_recov *r;
    sio_restore_fn cb;
    void *ud;
} restore_ctx;

static const redisReply *elem(const redisReply *rep, size_t i)
{
    return rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements ? rep->element[i] : NULL;
}

static bool is_str(const redisReply *e)
{
    return e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS);
}

/* A msgpack field of a record, decoded; NULL when absent or invalid. */
static json_t *unpack(const redisReply *e)
{
    if (!is_str(e) || !e->len)
        return NULL;
    json_t *v = NULL;
    const char *err = NULL;
    if (rd_msgpack_to_json((const uint8_t *)e->str, e->len, &v, &err) != 0)
        return NULL;
    return v;
}

static void on_restore_reply(void *ud, const void *reply)
{
    restore_ctx *c = ud;
    rd_recov *r = c->r;
    const redisReply *rep = reply;
    r->pending--;
    if (!r->dead) {
        const redisReply *why = elem(rep, 0);
        if (!is_str(why)) {
            if (rep && rep->type == REDIS_REPLY_ERROR)
                UTIL_LOGW(UTIL_SUB_ADAPTER, "%s: session restore failed: %s", sio_nsp_name(r->nsp),
                          rep->str);
            c->cb(NULL, "error", c->ud);
        } else if (strcmp(why->str, "unknown") == 0) {
            c->cb(NULL, "unknown", c->ud);
        } else {
            const redisReply *sid = elem(rep, 1), *live = elem(rep, 2), *node = elem(rep, 3);
            json_t *s = json_object();
            if (is_str(sid))
                json_object_set_new(s, "sid", json_stringn(sid->str, sid->len));
            json_object_set_new(
                s, "live", json_boolean(is_str(live) && live->len == 1 && live->str[0] == '1'));
            if (is_str(node))
                json_object_set_new(s, "node", json_stringn(node->str, node->len));
            json_t *rooms = unpack(elem(rep, 4));
            json_object_set_new(s, "rooms", json_is_array(rooms) ? rooms : json_array());
            if (!json_is_array(rooms))
                json_decref(rooms);
            json_t *data = unpack(elem(rep, 5));
            json_object_set_new(s, "data", data ? data : json_null());
            bool ok = strcmp(why->str, "ok") == 0;
            c->cb(s, ok ? NULL : (strcmp(why->str, "gap") == 0 ? "gap" : "offset"), c->ud);
            json_decref(s);
        }
    }
    util_free(c);
    maybe_free(r);
}

void rd_recov_restore(rd_recov *r, const char *pid, const char *offset, sio_restore_fn cb, void *ud)
{
    restore_ctx *c = util_malloc(sizeof *c);
    c->r = r;
    c->cb = cb;
    c->ud = ud;
    util_buf key = UTIL_BUF_INIT;
    record_key(r, &key, pid);
    const char *argv[] = {"EVAL",    k_restore_script,     "2",   (const char *)key.data,
                          r->stream, sio_nsp_name(r->nsp), offset};
    r->pending++;
    command(r, on_restore_reply, c, 7, argv, NULL);
    util_buf_free(&key);
}

/* ---- replay ------------------------------------------------------------------------------------- */

typedef struct replay_ctx {
    rd_recov *r;
    sio_socket *s; /**< held by socketio for the replay */
    char *node;    /**< the session's node: its node-local entries count */
    json_t *out;
    char last[SIO_OFFSET_MAX];
    sio_replay_fn cb;
    void *ud;
} replay_ctx;

static void replay_next(replay_ctx *c);

static void replay_end(replay_ctx *c, const char *err)
{
    if (!c->r->dead)
        c->cb(err ? NULL : c->out, err, c->ud);
    json_decref(c->out);
    util_free(c->node);
    rd_recov *r = c->r;
    util_free(c);
    maybe_free(r);
}

/* True when s is in a room of the msgpack list e (an empty list: no room named). */
static int in_rooms(const sio_socket *s, const redisReply *e, bool *named)
{
    *named = false;
    if (!is_str(e) || !e->len)
        return 0;
    json_t *v = unpack(e);
    if (!json_is_array(v)) {
        json_decref(v);
        return -1;
    }
    size_t i;
    json_t *room;
    int in = 0;
    json_array_foreach(v, i, room)
    {
        *named = true;
        if (json_is_string(room) && sio_socket_in_room(s, json_string_value(room)))
            in = 1;
    }
    json_decref(v);
    return in;
}

/* Adds the entry (XRANGE element) to the replay when the session selects it. */
static void replay_entry(replay_ctx *c, const redisReply *ent)
{
    const redisReply *id = elem(ent, 0), *fields = elem(ent, 1);
    if (!is_str(id) || !fields || fields->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *d = NULL, *rooms = NULL, *except = NULL, *node = NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *f = fields->element[i], *v = fields->element[i + 1];
        if (!is_str(f))
            continue;
        if (strcmp(f->str, "d") == 0)
            d = v;
        else if (strcmp(f->str, "r") == 0)
            rooms = v;
        else if (strcmp(f->str, "e") == 0)
            except = v;
        else if (strcmp(f->str, "n") == 0)
            node = v;
    }
    snprintf(c->last, sizeof c->last, "%.*s", (int)id->len, id->str);
    if (is_str(node) && node->len &&
        (!c->node || strlen(c->node) != node->len || memcmp(c->node, node->str, node->len) != 0))
        return; /* another node's local packet */
    bool named;
    int in = in_rooms(c->s, rooms, &named);
    if (in < 0 || (named && !in))
        return;
    if (in_rooms(c->s, except, &named) != 0)
        return;
    json_t *data = unpack(d);
    if (!json_is_array(data) || !json_is_string(json_array_get(data, 0))) {
        json_decref(data);
        return;
    }
    json_array_append_new(c->out, json_pack("[s#,o]", id->str, (int)id->len, data));
}

static void on_replay_chunk(void *ud, const void *reply)
{
    replay_ctx *c = ud;
    const redisReply *rep = reply;
    c->r->pending--;
    if (c->r->dead) {
        replay_end(c, "adapter closed");
        return;
    }
    if (!rep || rep->type != REDIS_REPLY_ARRAY) {
        replay_end(c, rep && rep->type == REDIS_REPLY_ERROR ? "log read failed"
                                                            : "redis "
                                                              "unavailable");
        return;
    }
    for (size_t i = 0; i < rep->elements; i++)
        replay_entry(c, rep->element[i]);
    if (json_array_size(c->out) > c->r->max_packets) {
        replay_end(c, "too many packets to replay");
        return;
    }
    if (rep->elements < RD_REPLAY_CHUNK) {
        replay_end(c, NULL);
        return;
    }
    replay_next(c);
}

static void replay_next(replay_ctx *c)
{
    char from[SIO_OFFSET_MAX + 1], count[16];
    snprintf(from, sizeof from, "(%s", c->last);
    snprintf(count, sizeof count, "%d", RD_REPLAY_CHUNK);
    const char *argv[] = {"XRANGE", c->r->stream, from, "+", "COUNT", count};
    c->r->pending++;
    command(c->r, on_replay_chunk, c, 6, argv, NULL);
}

void rd_recov_replay(rd_recov *r, sio_socket *s, json_t *session, const char *offset,
                     sio_replay_fn cb, void *ud)
{
    replay_ctx *c = util_calloc(1, sizeof *c);
    c->r = r;
    c->s = s;
    const char *node = json_string_value(json_object_get(session, "node"));
    c->node = node ? util_strdup(node) : NULL;
    c->out = json_array();
    snprintf(c->last, sizeof c->last, "%s", offset);
    c->cb = cb;
    c->ud = ud;
    replay_next(c);
}

/* ---- upkeep ------------------------------------------------------------------------------------- */

typedef struct refresh_ctx {
    rd_recov *r;
    util_buf key;
    char ttl[24];
} refresh_ctx;

static void refresh_one(sio_socket *s, void *ud)
{
    refresh_ctx *c = ud;
    const char *pid = sio_socket_pid(s);
    if (!pid)
        return;
    record_key(c->r, &c->key, pid);
    const char *argv[] = {"PEXPIRE", (const char *)c->key.data, c->ttl};
    command(c->r, NULL, NULL, 3, argv, NULL);
}

void rd_recov_maintain(rd_recov *r)
{
    flights_release_replied(r, false);
    if (!r->link || !rd_link_ready(r->link))
        return;
    refresh_ctx c = {r, UTIL_BUF_INIT, ""};
    snprintf(c.ttl, sizeof c.ttl, "%" PRIu64, live_ttl(r));
    sio_nsp_each_local(r->nsp, NULL, refresh_one, &c);
    util_buf_free(&c.key);
    char window[24];
    snprintf(window, sizeof window, "%u", r->window);
    const char *argv[] = {"EVAL", k_trim_script, "1", r->stream, window};
    command(r, NULL, NULL, 5, argv, NULL);
}

void rd_recov_link_state(rd_recov *r, bool ready)
{
    if (!ready)
        flights_release_replied(r, true);
}

/* ---- life --------------------------------------------------------------------------------------- */

rd_recov *rd_recov_new(const rd_recov_env *env)
{
    rd_recov *r = util_calloc(1, sizeof *r);
    r->link = env->link;
    r->loop = env->loop;
    r->nsp = env->nsp;
    r->key = util_strdup(env->key);
    r->uid = util_strdup(env->uid);
    const char *name = sio_nsp_name(env->nsp);
    r->stream = fmt("%s:csr-log#%s%s", env->key, name, "");
    r->echo = fmt("%s-csr#%s#%s#", env->key, name, env->uid);
    r->window = sio_nsp_recovery_window(env->nsp);
    r->period = rd_recov_period_ms(r->window);
    r->max_packets = sio_nsp_recovery_max_packets(env->nsp);
    r->fallback = env->fallback;
    r->fallback_ud = env->ud;
    r->fl_tail = &r->fl_head;
    rd_link_subscribe(r->link, r->echo, false, on_echo, r);
    return r;
}

void rd_recov_detach(rd_recov *r)
{
    if (!r)
        return;
    r->link = NULL;
    for (rd_flight *f = r->fl_head; f; f = f->next)
        if (f->state == FL_WAIT)
            f->state = f->replied ? FL_ECHOED : FL_FAILED;
    flights_flush(r);
}

void rd_recov_free(rd_recov *r)
{
    if (!r)
        return;
    while (r->fl_head) {
        rd_flight *f = r->fl_head;
        r->fl_head = f->next;
        flight_free(f);
    }
    r->fl_tail = &r->fl_head;
    r->dead = true;
    maybe_free(r);
}
