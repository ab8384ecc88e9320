/* chat-handlers: a chat with acks on the C handler API, written like a class-based Socket.IO
 * handler: one connect and one disconnect handler, one function per event, a catch-all. Socket.IO
 * at /socket.io/ on 127.0.0.1:PORT, namespace "/chat". docs/c-api.md walks through this file.
 *
 *   connect   auth {"name": 1..32 chars}, else CONNECT_ERROR "name required" {"field":"name"};
 *             the client then gets "welcome" {"name","online"}
 *   join      room         -> ack {"ok":true,"members":N}; the others in the room get "joined"
 *   say       {room,text}  -> "message" {from,room,text,ts} to the room, sender included
 *   whisper   {to,text}    -> "private" {from,fromId,text} to the socket whose id is `to`
 *   who       room         -> ack {"ok":true,"names":[...]} (fetchSockets and the data slot)
 *   ping-me                -> the server asks the caller "ping" (ack within 2 s), then emits
 *                             "pong-received" with the client's ack args, or {"error":...}
 *   other     ...          -> ack {"ok":false,"error":"unknown event"} when an ack was asked
 *   disconnect             -> everyone else gets "left" {"name","reason"}
 *
 * Errors are acks {"ok":false,"error":...}. Ownership: a json_t passed to a function documented
 * as "stealing" its reference belongs to the library after the call, even when the call fails;
 * "borrowed" values (handler args, auth) must not be decref'd or kept after the handler returns. */
#include "node_program.h"
#include "sio_binary.h"
#include "node_sio.h"
#include "util_log.h"
#include "util_time.h"
#include "node.h"
#include "sio_server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** The "class": settings shared by every handler, passed as their ud (borrowed by the library). */
typedef struct chat_app {
    size_t max_name;          /**< characters of a name */
    size_t max_text;          /**< bytes of a message */
    uint32_t ping_timeout_ms; /**< how long "ping" waits for the client's ack */
} chat_app;

/** The "instance": per-socket state in the userdata slot, owned by this file (allocated by
 * chat_connect, freed by chat_disconnect). */
typedef struct chatter {
    char name[4 * 32 + 1]; /* 32 UTF-8 characters at most */
    unsigned said;
} chatter;

/* ---- small helpers ---- */

/* Acks with one argument, body (stolen: json_pack "o" takes it over), when an ack was asked.
 * sio_ack_send steals the array and frees the handle, so the handle is used up here. */
static void reply(sio_ack *ack, json_t *body)
{
    if (ack)
        sio_ack_send(ack, json_pack("[o]", body));
    else
        json_decref(body);
}

static void reply_error(sio_ack *ack, const char *error)
{
    reply(ack, json_pack("{s:b,s:s}", "ok", 0, "error", error));
}

static void reply_ok(sio_ack *ack)
{
    reply(ack, json_pack("{s:b}", "ok", 1));
}

/* Number of UTF-8 characters of s (jansson strings from the decoder are valid UTF-8). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* ---- connect / disconnect ---- */

static bool chat_connect(sio_socket *s, const json_t *auth, sio_reject *rej, void *ud)
{
    const chat_app *app = ud;
    /* auth is borrowed ({} when the client sent none): read it, never decref it. */
    const char *name = json_string_value(json_object_get(auth, "name"));
    if (!name || !*name || utf8_chars(name) > app->max_name) {
        /* The message is copied, the data reference is stolen. A refused socket never reaches
         * the disconnect handler, so nothing may be allocated before this point. */
        sio_reject_set(rej, "name required", json_pack("{s:s}", "field", "name"));
        return false;
    }
    chatter *c = calloc(1, sizeof *c);
    if (!c) {
        sio_reject_set(rej, "server busy", NULL);
        return false;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    sio_socket_set_userdata(s, c);
    /* The data slot is borrowed and ours to change: fetchSockets reports it as `data`. */
    json_object_set_new(sio_socket_data_json(s), "name", json_string(c->name));
    /* Emits made in the connect handler are held and sent right after the CONNECT reply. The
     * socket is not counted by sio_nsp_size until this handler has returned true. */
    sio_socket_emit(s, "welcome",
                    json_pack("[{s:s,s:I}]", "name", c->name, "online",
                              (json_int_t)sio_nsp_size(sio_socket_nsp(s)) + 1));
    return true;
}

static void chat_disconnect(sio_socket *s, const char *reason, void *ud)
{
    chatter *c = sio_socket_userdata(s);
    /* The socket has already left its rooms and the namespace: a broadcast to the whole
     * namespace (no rooms, no except) reaches everyone else. */
    sio_bcast_opts everyone = {0};
    sio_nsp_emit(sio_socket_nsp(s), &everyone, "left",
                 json_pack("[{s:s,s:s}]", "name", c->name, "reason", reason));
    UTIL_LOGI(UTIL_SUB_SOCKETIO, "chat: %s left (%s) after %u messages", c->name, reason, c->said);
    sio_socket_set_userdata(s, NULL);
    free(c); /* the socket itself is freed by the library when this returns */
}

/* ---- events: args is a borrowed array of the client's arguments (without the event name) ---- */

static void count_one(sio_socket *s, void *ud)
{
    ++*(size_t *)ud;
}

static void on_join(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    const char *room = json_string_value(json_array_get(args, 0));
    sio_nsp *nsp = sio_socket_nsp(s);
    if (!room || !*room) {
        reply_error(ack, "room required");
        return;
    }
    /* Every socket is alone in the room named by its id: joining another socket's id room
     * would let this client read that socket's whispers. */
    if (sio_nsp_socket(nsp, room)) {
        reply_error(ack, "reserved room name");
        return;
    }
    bool already = sio_socket_in_room(s, room);
    sio_socket_join(s, room);

    /* Count the members on this node (sio_nsp_fetch_sockets would count the whole cluster). */
    const char *rooms[] = {room};
    sio_bcast_opts in_room = {.rooms = rooms, .n_rooms = 1};
    size_t members = 0;
    sio_nsp_each_local(nsp, &in_room, count_one, &members);
    reply(ack, json_pack("{s:b,s:I}", "ok", 1, "members", (json_int_t)members));

    if (!already) {
        const chatter *c = sio_socket_userdata(s);
        const char *self = sio_socket_id(s); /* except the joiner: its id room */
        sio_bcast_opts others = {.rooms = rooms, .n_rooms = 1, .except = &self, .n_except = 1};
        sio_nsp_emit(nsp, &others, "joined",
                     json_pack("[{s:s,s:s}]", "name", c->name, "room", room));
    }
}

static void on_say(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    const chat_app *app = ud;
    json_t *msg = json_array_get(args, 0);
    const char *room = json_string_value(json_object_get(msg, "room"));
    json_t *text = json_object_get(msg, "text"); /* a string, or a binary value (Buffer) */
    size_t len = 0;
    if (json_is_string(text))
        len = json_string_length(text);
    else if (!sio_binary_data(text, &len))
        text = NULL;
    if (!room || !text) {
        reply_error(ack, "expected {room, text}");
        return;
    }
    if (len > app->max_text) {
        reply_error(ack, "text too long");
        return;
    }
    if (!sio_socket_in_room(s, room)) {
        reply_error(ack, "not in room");
        return;
    }
    chatter *c = sio_socket_userdata(s);
    c->said++;
    /* "O" adds a reference to the borrowed text (binary values travel as attachments); the
     * packed array is then stolen by sio_nsp_emit, which encodes it once for the whole room. */
    const char *rooms[] = {room};
    sio_bcast_opts in_room = {.rooms = rooms, .n_rooms = 1};
    sio_nsp_emit(sio_socket_nsp(s), &in_room, "message",
                 json_pack("[{s:s,s:s,s:O,s:I}]", "from", c->name, "room", room, "text", text, "ts",
                           (json_int_t)util_wall_ms()));
    reply_ok(ack);
}

static void on_whisper(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    json_t *msg = json_array_get(args, 0);
    const char *to = json_string_value(json_object_get(msg, "to"));
    const char *text = json_string_value(json_object_get(msg, "text"));
    if (!to || !text) {
        reply_error(ack, "expected {to, text}");
        return;
    }
    /* Rooms and socket ids share one name space: make sure `to` is a socket, not a room such as
     * "lobby". sio_nsp_socket only knows this node's sockets (in a cluster, ask
     * sio_nsp_fetch_sockets as on_who does). The socket's id room then holds exactly it. */
    sio_nsp *nsp = sio_socket_nsp(s);
    if (!sio_nsp_socket(nsp, to)) {
        reply_error(ack, "no such socket");
        return;
    }
    const chatter *c = sio_socket_userdata(s);
    const char *rooms[] = {to};
    sio_bcast_opts target = {.rooms = rooms, .n_rooms = 1};
    sio_nsp_emit(
        nsp, &target, "private",
        json_pack("[{s:s,s:s,s:s}]", "from", c->name, "fromId", sio_socket_id(s), "text", text));
    reply_ok(ack);
}

/* The fetch result: runs once, before sio_nsp_fetch_sockets returns on a single nd, later in a
 * cluster. sockets is a borrowed array of {id, handshake, rooms, data}: "data" is each socket's
 * data slot, filled by chat_connect. The ack handle travelled in ud and is used up here. */
static void on_who_fetched(sio_nsp *nsp, json_t *sockets, const char *err, void *ud)
{
    sio_ack *ack = ud;
    if (err) {
        reply_error(ack, err);
        return;
    }
    json_t *names = json_array();
    size_t i;
    json_t *sock;
    json_array_foreach(sockets, i, sock)
    {
        json_array_append(names, json_object_get(json_object_get(sock, "data"), "name"));
    }
    reply(ack, json_pack("{s:b,s:o}", "ok", 1, "names", names));
}

static void on_who(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    const char *room = json_string_value(json_array_get(args, 0));
    if (!room || !ack) {
        reply_error(ack, "room required");
        return;
    }
    const char *rooms[] = {room};
    sio_bcast_opts in_room = {.rooms = rooms, .n_rooms = 1};
    sio_nsp_fetch_sockets(sio_socket_nsp(s), &in_room, on_who_fetched, ack);
}

/* The outcome of the server's "ping": runs exactly once, with the client's ack args (borrowed),
 * or with err ("operation has timed out", or the disconnect reason once the socket is gone). */
static void on_ping_reply(sio_socket *s, json_t *args, const char *err, void *ud)
{
    if (!sio_socket_connected(s))
        return; /* disconnected first: nobody to tell */
    json_t *out = err ? json_pack("[{s:s}]", "error", err) : json_incref(args);
    sio_socket_emit(s, "pong-received", out);
}

static void on_ping_me(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    const chat_app *app = ud;
    int rc = sio_socket_emit_ack(s, "ping", json_pack("[{s:I}]", "ts", (json_int_t)util_wall_ms()),
                                 app->ping_timeout_ms, on_ping_reply, NULL);
    if (rc == 0)
        reply_ok(ack);
    else
        reply_error(ack, "cannot ping");
}

/* Events without their own handler. The handle must still be used up: sent or dropped. */
static void chat_any(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    UTIL_LOGD(UTIL_SUB_SOCKETIO, "chat: unknown event \"%s\" from %s", event, sio_socket_id(s));
    /* A raw client can send a reserved name ("disconnect"...) as a plain event: the decoder lets
     * it through to here; it never reaches the connect/disconnect handlers. */
    if (sio_event_reserved(event))
        reply_error(ack, "reserved event name");
    else
        reply_error(ack, "unknown event");
}

/* ---- program ---- */

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    node_program_config cfg; /* --port, --log-level and the Engine.IO settings */
    node_program_defaults(&cfg);
    int rc = node_program_parse(&cfg, "chat-handlers", "Chat on namespace /chat.", argc, argv);
    if (rc >= 0)
        return rc;
    char err[512];

    /* 1. A loop and a node bound to its port (the loop must outlive the nd). */
    uv_loop_t loop;
    uv_loop_init(&loop);
    node *nd = node_new(&loop, &cfg.node, err, sizeof err);
    if (!nd) {
        fprintf(stderr, "chat-handlers: %s\n", err);
        uv_loop_close(&loop);
        return 2;
    }
    /* 2. A Socket.IO server on the node's /socket.io/ endpoint (owned by the nd). */
    sio_server_config scfg;
    sio_server_config_defaults(&scfg);
    sio_server *srv = node_attach_socketio(nd, "/socket.io/", &scfg);

    /* 3. The namespace and its handlers (the table is copied, app is borrowed: it must live as
     * long as the nd, hence static). */
    static chat_app app = {.max_name = 32, .max_text = 4096, .ping_timeout_ms = 2000};
    static const sio_nsp_handlers handlers = {
        .connect = chat_connect, .disconnect = chat_disconnect, .any = chat_any};
    sio_nsp *chat = sio_server_of(srv, "/chat", &handlers, &app);
    sio_nsp_on(chat, "join", on_join, &app);
    sio_nsp_on(chat, "say", on_say, &app);
    sio_nsp_on(chat, "whisper", on_whisper, &app);
    sio_nsp_on(chat, "who", on_who, &app);
    sio_nsp_on(chat, "ping-me", on_ping_me, &app);

    /* 4. Run until SIGINT/SIGTERM, then free the node (and with it the server). */
    node_handle_signals(nd);
    uv_run(&loop, UV_RUN_DEFAULT);
    node_free(nd);
    return uv_loop_close(&loop) == 0 ? 0 : 1;
}
