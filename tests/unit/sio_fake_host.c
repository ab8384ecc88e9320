/* sio_fake_host: the fake host, recording handlers and fixture of the Socket.IO server tests. */
#include "sio_fake_host.h"

fake_host H;

static int host_send(void *conn, eio_msg *m, bool volatile_, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || fc < H.conns || fc >= H.conns + MAX_CONNS || !fc->open) {
        H.bad++;
        return -1;
    }
    if (volatile_ && fc->refuse_volatile)
        return -1;
    if (fc->n_out == MAX_OUT) {
        H.bad++;
        return -1;
    }
    sent *s = &fc->out[fc->n_out++];
    s->m = eio_msg_ref(m);
    s->vol = volatile_;
    s->binary = m->binary;
    s->len = m->len;
    s->text = malloc(m->len + 1);
    memcpy(s->text, m->wire, m->len);
    s->text[m->len] = '\0';
    s->seq = ++H.seq;
    return 0;
}

static void host_close(void *conn, const char *reason, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open) {
        if (fc)
            fc->late_close++;
        H.bad++;
        return;
    }
    fc->n_close++;
    fc->close_reason = reason;
    fc->close_seq = ++H.seq;
    if (H.close_sync) {
        fc->open = false;
        sio_client_closed(fc->c, reason);
    }
}

static uint64_t host_now(void *host)
{
    if (host != &H)
        H.bad++;
    return H.now;
}

static void *host_timer_start(void *host, uint64_t delay_ms, void (*cb)(void *arg), void *arg)
{
    if (host != &H || !cb)
        H.bad++;
    ftimer *t = calloc(1, sizeof *t);
    t->at = H.now + delay_ms;
    t->cb = cb;
    t->arg = arg;
    t->state = T_ARMED;
    *H.tail = t;
    H.tail = &t->next;
    return t;
}

static void host_timer_cancel(void *host, void *timer)
{
    if (host != &H)
        H.bad++;
    for (ftimer *t = H.timers; t; t = t->next) {
        if (t == timer) {
            if (t->state != T_ARMED)
                H.bad++; /* cancelling a timer that fired or was cancelled */
            t->state = T_CANCELLED;
            return;
        }
    }
    H.bad++; /* not a handle we returned */
}

static void host_hold(void *conn, size_t n, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open)
        H.bad++;
    fc->held = n;
    fc->n_hold++;
}

/* The volatile group: recorded, then queued message by message as send would. */
static int host_send_volatile(void *conn, eio_msg *const *m, size_t n, void *host)
{
    fconn *fc = conn;
    if (host != &H || !fc || !fc->open || n == 0) {
        H.bad++;
        return -1;
    }
    if (fc->refuse_volatile)
        return -1;
    if (fc->n_vol_groups < 8)
        fc->vol_groups[fc->n_vol_groups++] = n;
    for (size_t i = 0; i < n; i++)
        if (host_send(conn, m[i], true, host) != 0)
            H.bad++;
    return 0;
}

const sio_host_ops k_ops = {host_send, host_close, host_now, host_timer_start, host_timer_cancel};

const sio_host_ops k_ops_full = {host_send,          host_close,        host_now,
                                 host_timer_start,   host_timer_cancel, NULL,
                                 host_send_volatile, host_hold};

/* Moves the clock forward by ms, firing due timers in deadline order (start order on ties). */
void advance(uint64_t ms)
{
    uint64_t target = H.now + ms;
    for (;;) {
        ftimer *next = NULL;
        for (ftimer *t = H.timers; t; t = t->next)
            if (t->state == T_ARMED && t->at <= target && (!next || t->at < next->at))
                next = t;
        if (!next)
            break;
        if (next->at > H.now)
            H.now = next->at;
        next->state = T_FIRED;
        next->cb(next->arg);
    }
    H.now = target;
}

int armed_timers(void)
{
    int n = 0;
    for (ftimer *t = H.timers; t; t = t->next)
        n += t->state == T_ARMED;
    return n;
}

/* ---------------------------------------------------------------------------------------------- */
/* Handlers                                                                                       */

/* Copies src into dst[cap], with anything but printable ASCII shown as '?' (so a failure message
 * never carries the bytes of a freed socket). */
void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "(null)");
    for (char *p = dst; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
}

void on_ack(sio_socket *s, json_t *args, const char *err, void *ud)
{
    if (ud != &H.ack || !s || (args == NULL) == (err == NULL))
        H.bad++;
    if (H.n_ack < MAX_REC) {
        ack_rec *r = &H.ack[H.n_ack];
        copy_str(r->sid, sizeof r->sid, s ? sio_socket_id(s) : NULL);
        r->args = args ? json_incref(args) : NULL;
        r->err = err ? strdup(err) : NULL;
    }
    H.n_ack++;
    if (H.ack_cb_action == AC_DISCONNECT) {
        H.ack_cb_action = AC_NONE;
        sio_socket_disconnect(s, false);
    }
}

static void on_connect_generic(sio_socket *s, const json_t *auth, void *ud)
{
    if (ud != &H || !s || !auth)
        H.bad++;
    H.n_connect++;
    json_decref(H.auth);
    H.auth = auth ? json_deep_copy(auth) : NULL;
    copy_str(H.connect_sid, sizeof H.connect_sid, sio_socket_id(s));
    copy_str(H.connect_nsp, sizeof H.connect_nsp, sio_nsp_name(sio_socket_nsp(s)));
}

static bool on_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    on_connect_generic(s, auth, ud);
    switch (H.connect_mode) {
    case C_REJECT:
        /* Whatever a refusing handler did first must not reach the client. */
        sio_socket_join(s, "lobby");
        sio_socket_emit(s, "hello", json_pack("[i]", 1));
        sio_reject_set(rej, "not authorized", json_pack("{s:i}", "code", 42));
        return false;
    case C_REJECT_NODATA: sio_reject_set(rej, "go away", NULL); return false;
    case C_REJECT_PENDING_ACK:
        sio_socket_emit_ack(s, "q", NULL, 1000, on_ack, &H.ack);
        sio_reject_set(rej, "no", NULL);
        return false;
    case C_CLOSE_TARGET: {
        /* Disconnects (close = true) the target socket of "/", which may be on this session. */
        sio_socket *t = sio_nsp_socket(H.root, H.disc_target);
        if (t)
            sio_socket_disconnect(t, true);
        return true;
    }
    case C_EMIT: {
        const uint8_t b[] = {1, 2};
        if (sio_socket_emit(s, "hello", json_pack("[i]", 1)) != 0)
            H.bad++;
        if (sio_socket_emit(s, "bin", json_pack("[o]", sio_binary_new(b, sizeof b))) != 0)
            H.bad++;
        if (sio_socket_join(s, "lobby") != 0)
            H.bad++;
        return true;
    }
    default: return true;
    }
}

static void handle_event(const char *via, sio_socket *s, const char *event, json_t *args,
                         sio_ack *ack)
{
    if (H.n_ev < MAX_REC) {
        ev_rec *r = &H.ev[H.n_ev];
        r->via = via;
        copy_str(r->nsp, sizeof r->nsp, sio_nsp_name(sio_socket_nsp(s)));
        copy_str(r->sid, sizeof r->sid, sio_socket_id(s));
        r->event = strdup(event);
        r->args = json_incref(args);
        r->had_ack = ack != NULL;
    }
    H.n_ev++;
    switch (H.ev_action) {
    case E_DISCONNECT:
        sio_socket_disconnect(s, false);
        H.emit_after_rc = sio_socket_emit(s, "after", NULL);
        break;
    case E_DISCONNECT_CLOSE:
        sio_socket_disconnect(s, true);
        H.emit_after_rc = sio_socket_emit(s, "after", NULL);
        break;
    default: break;
    }
    if (!ack)
        return;
    switch (H.ack_mode) {
    case A_DROP: sio_ack_drop(ack); break;
    case A_SEND: sio_ack_send(ack, json_pack("[s]", "ok")); break;
    case A_SEND_NULL: sio_ack_send(ack, NULL); break;
    case A_SEND_BINARY: {
        const uint8_t b[] = {9, 8, 7};
        sio_ack_send(ack, json_pack("[o]", sio_binary_new(b, sizeof b)));
        break;
    }
    case A_KEEP:
        if (H.kept_ack)
            H.bad++;
        H.kept_ack = ack;
        break;
    }
}

static void on_any(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    if (ud != &H || !json_is_array(args))
        H.bad++;
    handle_event("any", s, event, args, ack);
}

static void on_event(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    if (ud != &H.ev || !json_is_array(args))
        H.bad++;
    handle_event("event", s, event, args, ack);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    if (ud != &H || !reason)
        H.bad++;
    if (H.n_disc < MAX_REC) {
        disc_rec *r = &H.disc[H.n_disc];
        sio_nsp *nsp = sio_socket_nsp(s);
        copy_str(r->nsp, sizeof r->nsp, sio_nsp_name(nsp));
        copy_str(r->sid, sizeof r->sid, sio_socket_id(s));
        r->reason = strdup(reason ? reason : "(null)");
        r->rooms = sio_socket_room_count(s);
        r->in_r = sio_socket_in_room(s, "r");
        r->connected = sio_socket_connected(s);
        r->findable = sio_nsp_socket(nsp, sio_socket_id(s)) != NULL;
        r->emit_rc = sio_socket_emit(s, "gone", NULL);
    }
    H.n_disc++;
    if (H.disc_mode == D_EMIT_OTHERS) {
        H.disc_emit_rc =
            sio_nsp_emit(sio_socket_nsp(s), NULL, "left", json_pack("[s]", sio_socket_id(s)));
    } else if (H.disc_mode == D_DISCONNECT_TARGET && H.disc_target[0]) {
        sio_socket *t = sio_nsp_socket(H.root, H.disc_target);
        H.disc_target[0] = '\0';
        if (t)
            sio_socket_disconnect(t, H.disc_target_close);
    }
}

void on_bc(sio_nsp *nsp, json_t *replies, size_t expected, bool timed_out, void *ud)
{
    if (ud != &H.bc || !nsp || !json_is_array(replies))
        H.bad++;
    if (H.n_bc < MAX_REC) {
        bc_rec *r = &H.bc[H.n_bc];
        r->replies = json_deep_copy(replies);
        r->expected = expected;
        r->timed_out = timed_out;
    }
    H.n_bc++;
}

void on_fetch(sio_nsp *nsp, json_t *sockets, const char *err, void *ud)
{
    if (ud != &H.fetched || !nsp || err || !json_is_array(sockets))
        H.bad++;
    json_decref(H.fetched);
    H.fetched = sockets ? json_deep_copy(sockets) : NULL;
    H.n_fetch++;
}

/* ---------------------------------------------------------------------------------------------- */
/* Fixture                                                                                        */

/* Starts a test: a server with "/" (per-event handler for "chat"), "/chat" (the same handlers) and
 * "/bare" (no handlers at all). connect_timeout_ms 0 keeps the default. */
void fx_init_with(const sio_server_config *cfg, const sio_host_ops *ops)
{
    memset(&H, 0, sizeof H);
    H.now = T0;
    H.tail = &H.timers;
    H.srv = sio_server_new(cfg, ops, &H);
    ck_assert_ptr_nonnull(H.srv);
    const sio_nsp_handlers h = {on_connect, on_disconnect, on_any};
    H.root = sio_server_of(H.srv, "/", &h, &H);
    H.chat = sio_server_of(H.srv, "/chat", &h, &H);
    H.bare = sio_server_of(H.srv, "/bare", NULL, NULL);
    sio_nsp_on(H.root, "chat", on_event, &H.ev);
    ck_assert(sio_server_find_nsp(H.srv, "/") == H.root);
    ck_assert(sio_server_find_nsp(H.srv, "/chat") == H.chat);
    ck_assert_ptr_null(sio_server_find_nsp(H.srv, "/nope"));
}

void fx_init_timeout(uint32_t connect_timeout_ms)
{
    sio_server_config cfg;
    sio_server_config_defaults(&cfg);
    if (connect_timeout_ms)
        cfg.connect_timeout_ms = connect_timeout_ms;
    fx_init_with(&cfg, &k_ops);
}

void fx_init(void)
{
    fx_init_timeout(0);
}

/* The host reports that the session closed. */
void close_conn(fconn *fc, const char *reason)
{
    ck_assert(fc->open);
    fc->open = false;
    sio_client_closed(fc->c, reason);
}

/* Ends a test: closes every session, fires the timers still armed (as the broker's teardown does,
 * so their owners release what they hold), frees the server, checks that nothing was left behind
 * (no unexpected timer, no host misuse) and frees what the fake host recorded. */
void fx_finish(void)
{
    for (int i = 0; i < H.n_conns; i++)
        if (H.conns[i].open)
            close_conn(&H.conns[i], "transport close");
    int armed = armed_timers();
    for (;;) {
        ftimer *next = NULL;
        for (ftimer *t = H.timers; t; t = t->next)
            if (t->state == T_ARMED && (!next || t->at < next->at))
                next = t;
        if (!next)
            break;
        next->state = T_FIRED;
        next->cb(next->arg);
    }
    sio_server_free(H.srv);
    H.srv = NULL;
    int bad = H.bad;
    bool kept = H.kept_ack != NULL;

    while (H.timers) {
        ftimer *t = H.timers;
        H.timers = t->next;
        free(t);
    }
    for (int i = 0; i < H.n_conns; i++) {
        for (size_t k = 0; k < H.conns[i].n_out; k++) {
            eio_msg_unref(H.conns[i].out[k].m);
            free(H.conns[i].out[k].text);
        }
    }
    for (int i = 0; i < H.n_ev && i < MAX_REC; i++) {
        free(H.ev[i].event);
        json_decref(H.ev[i].args);
    }
    for (int i = 0; i < H.n_disc && i < MAX_REC; i++)
        free(H.disc[i].reason);
    for (int i = 0; i < H.n_ack && i < MAX_REC; i++) {
        json_decref(H.ack[i].args);
        free(H.ack[i].err);
    }
    for (int i = 0; i < H.n_bc && i < MAX_REC; i++)
        json_decref(H.bc[i].replies);
    json_decref(H.auth);
    json_decref(H.fetched);

    ck_assert_msg(armed == H.expect_drain, "%d timer(s) still armed after every client closed",
                  armed);
    ck_assert_msg(bad == 0, "%d bad host/handler call(s)", bad);
    ck_assert_msg(!kept, "test left an ack handle");
}

/* Opens a session with handshake hs, or a default one when hs is NULL. */
fconn *open_conn_hs(sio_handshake_info *hs)
{
    ck_assert_int_lt(H.n_conns, MAX_CONNS);
    fconn *fc = &H.conns[H.n_conns];
    fc->idx = H.n_conns++;
    fc->open = true;
    sio_handshake_info def = {
        .headers = hs ? NULL : json_pack("{s:s,s:s}", "host", "localhost", "user-agent", "check"),
        .query = hs ? NULL : json_pack("{s:s,s:s}", "EIO", "4", "transport", "websocket"),
        .address = "127.0.0.1",
        .url = "/socket.io/?EIO=4&transport=websocket",
        .secure = false,
        .xdomain = false,
        .issued_ms = 1700000000000ull,
    };
    fc->c = sio_client_open(H.srv, fc, hs ? hs : &def);
    ck_assert_ptr_nonnull(fc->c);
    return fc;
}

fconn *open_conn(void)
{
    return open_conn_hs(NULL);
}

/* Feeds one Engine.IO text message given in its wire form ("4" + Socket.IO packet). */
void feed(fconn *fc, const char *wire)
{
    ck_assert_msg(wire[0] == '4', "not an Engine.IO message: %s", wire);
    sio_client_message(fc->c, (const uint8_t *)wire + 1, strlen(wire) - 1, false);
}

/* Feeds one Engine.IO binary message. */
void feed_bin(fconn *fc, const void *data, size_t len)
{
    sio_client_message(fc->c, data, len, true);
}

const char *out_text(fconn *fc, size_t i)
{
    ck_assert_msg(i < fc->n_out, "conn %d: no message #%zu (%zu sent)", fc->idx, i, fc->n_out);
    ck_assert_msg(!fc->out[i].binary, "conn %d: message #%zu is binary", fc->idx, i);
    return fc->out[i].text;
}

const char *last_text(fconn *fc)
{
    ck_assert_msg(fc->n_out > 0, "conn %d: nothing sent", fc->idx);
    return out_text(fc, fc->n_out - 1);
}

void expect_out(fconn *fc, size_t i, const char *want)
{
    ck_assert_str_eq(out_text(fc, i), want);
}

void expect_bin(fconn *fc, size_t i, const void *bytes, size_t len)
{
    ck_assert_msg(i < fc->n_out, "conn %d: no message #%zu (%zu sent)", fc->idx, i, fc->n_out);
    ck_assert_msg(fc->out[i].binary, "conn %d: message #%zu is not binary: %s", fc->idx, i,
                  fc->out[i].text);
    ck_assert_uint_eq(fc->out[i].len, len);
    ck_assert(memcmp(fc->out[i].text, bytes, len) == 0);
}

static bool url_safe(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

/* Checks a CONNECT reply of nsp (`40{"sid":...}` or `40/nsp,{"sid":...}` with sid the only key,
 * 20 URL-safe characters) and copies the sid out. */
void parse_sid(const char *text, const char *nsp, char *sid)
{
    char prefix[128];
    if (strcmp(nsp, "/") == 0)
        snprintf(prefix, sizeof prefix, "40");
    else
        snprintf(prefix, sizeof prefix, "40%s,", nsp);
    size_t pl = strlen(prefix);
    ck_assert_msg(strncmp(text, prefix, pl) == 0, "CONNECT reply %s does not start with %s", text,
                  prefix);
    json_error_t je;
    json_t *o = json_loads(text + pl, 0, &je);
    ck_assert_msg(o && json_is_object(o), "CONNECT reply %s: payload is not an object", text);
    ck_assert_msg(json_object_size(o) == 1, "CONNECT reply %s: sid must be the only key", text);
    const char *v = json_string_value(json_object_get(o, "sid"));
    ck_assert_msg(v != NULL, "CONNECT reply %s has no sid", text);
    ck_assert_uint_eq(strlen(v), 20);
    ck_assert_msg(url_safe(v), "sid %s is not URL-safe", v);
    snprintf(sid, SID_BUF, "%s", v);
    json_decref(o);
}

/* Connects the session to nsp (auth JSON text or NULL) and returns the new socket. */
sio_socket *connect_nsp(fconn *fc, const char *nsp, const char *auth)
{
    char wire[256];
    if (strcmp(nsp, "/") == 0)
        snprintf(wire, sizeof wire, "40%s", auth ? auth : "");
    else
        snprintf(wire, sizeof wire, "40%s,%s", nsp, auth ? auth : "");
    size_t before = fc->n_out;
    feed(fc, wire);
    ck_assert_msg(fc->n_out > before, "no reply to %s", wire);
    char sid[SID_BUF];
    parse_sid(out_text(fc, before), nsp, sid);
    sio_nsp *n = sio_server_find_nsp(H.srv, nsp);
    ck_assert_ptr_nonnull(n);
    sio_socket *s = sio_nsp_socket(n, sid);
    ck_assert_msg(s != NULL, "socket %s not found in %s", sid, nsp);
    ck_assert_str_eq(sio_socket_id(s), sid);
    return s;
}

/* Parses the ack id of an EVENT with id: text must start with prefix ("42" or "42/chat,"). */
int64_t ack_id_of(const char *text, const char *prefix)
{
    size_t pl = strlen(prefix);
    ck_assert_msg(strncmp(text, prefix, pl) == 0, "%s does not start with %s", text, prefix);
    const char *p = text + pl;
    ck_assert_msg(*p >= '0' && *p <= '9', "%s carries no ack id", text);
    int64_t id = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        id = id * 10 + (*p - '0');
    ck_assert_msg(*p == '[', "%s: ack id not followed by the payload", text);
    return id;
}

/* True when v equals the JSON text want. */
static bool json_is(const json_t *v, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
    ck_assert_msg(w != NULL, "bad expected JSON %s", want);
    bool eq = v && json_equal((json_t *)v, w);
    json_decref(w);
    return eq;
}

void expect_json(const json_t *v, const char *want)
{
    char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    bool eq = json_is(v, want);
    ck_assert_msg(eq, "got %s, want %s", got ? got : "NULL", want);
    free(got);
}

bool json_array_has_str(const json_t *a, const char *s)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (json_is_string(json_array_get(a, i)) &&
            strcmp(json_string_value(json_array_get(a, i)), s) == 0)
            return true;
    return false;
}

/* True when nsp lists room in sio_nsp_local_rooms. */
bool nsp_lists_room(sio_nsp *nsp, const char *room)
{
    json_t *rooms = sio_nsp_local_rooms(nsp);
    bool has = json_array_has_str(rooms, room);
    json_decref(rooms);
    return has;
}

size_t nsp_room_total(sio_nsp *nsp)
{
    json_t *rooms = sio_nsp_local_rooms(nsp);
    size_t n = json_array_size(rooms);
    json_decref(rooms);
    return n;
}

/* Index of the first message of fc, from index from, equal to text; -1 if none. */
long find_out(fconn *fc, size_t from, const char *text)
{
    for (size_t i = from; i < fc->n_out; i++)
        if (!fc->out[i].binary && strcmp(fc->out[i].text, text) == 0)
            return (long)i;
    return -1;
}

/* Opens n sessions connected to "/" (sockets into s[]). */
void open_n(int n, fconn **fc, sio_socket **s)
{
    for (int i = 0; i < n; i++) {
        fc[i] = open_conn();
        s[i] = connect_nsp(fc[i], "/", NULL);
    }
}
