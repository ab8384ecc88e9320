/* policy_rooms: the "rooms" namespace policy. A client emits "join" or "leave" with a room name
 * and gets an ack {"ok":true} or {"ok":false,"error":...}; any other event it emits (any args,
 * binary included) is relayed to the other members of the rooms it joined, and acked
 * {"ok":true,"delivered":N} when it asked for an ack. (django-socketio's subscribe /
 * broadcast_channel, without code.) */
#include "daemon_policy.h"

#include "util_log.h"

#include <string.h>

typedef struct collect {
    const char **v;
    size_t n;
    const char *skip;
} collect;

static void add_room(const char *room, void *ud)
{
    collect *c = ud;
    if (strcmp(room, c->skip) != 0)
        c->v[c->n++] = room;
}

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

/* Returns the room name argument, or NULL after answering the error. */
static const char *room_arg(sio_socket *s, json_t *args, sio_ack *ack,
                            const daemon_rooms_limits *lim)
{
    json_t *r = json_array_get(args, 0);
    const char *room = json_string_value(r);
    if (!room || !*room) {
        reply_error(ack, "a room name (non-empty string) is required");
        return NULL;
    }
    if (strlen(room) > lim->max_room_name) {
        reply_error(ack, "room name too long");
        return NULL;
    }
    /* Another socket's id room would let a client read that socket's private messages. */
    if (strcmp(room, sio_socket_id(s)) != 0 && sio_nsp_socket(sio_socket_nsp(s), room)) {
        reply_error(ack, "reserved room name");
        return NULL;
    }
    return room;
}

static void on_join(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)event;
    const daemon_rooms_limits *lim = ud;
    const char *room = room_arg(s, args, ack, lim);
    if (!room)
        return;
    if (!sio_socket_in_room(s, room) && sio_socket_room_count(s) - 1 >= lim->max_rooms) {
        reply_error(ack, "too many rooms");
        return;
    }
    sio_socket_join(s, room);
    UTIL_LOGD(UTIL_SUB_SOCKETIO, "socket %s joined %s", sio_socket_id(s), room);
    reply(ack, json_pack("{s:b}", "ok", 1));
}

static void on_leave(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)event;
    const char *room = room_arg(s, args, ack, ud);
    if (!room)
        return;
    if (!sio_socket_in_room(s, room) || strcmp(room, sio_socket_id(s)) == 0) {
        reply_error(ack, "not a member of that room");
        return;
    }
    sio_socket_leave(s, room);
    reply(ack, json_pack("{s:b}", "ok", 1));
}

static void on_relay(sio_socket *s, const char *event, json_t *args, sio_ack *ack, void *ud)
{
    (void)ud;
    if (sio_event_reserved(event)) {
        reply_error(ack, "reserved event name");
        return;
    }
    size_t n = sio_socket_room_count(s);
    const char *rooms[n];
    collect c = {rooms, 0, sio_socket_id(s)};
    sio_socket_rooms(s, add_room, &c);
    int delivered = 0;
    if (c.n) {
        const char *self = sio_socket_id(s);
        sio_bcast_opts o = {.rooms = rooms, .n_rooms = c.n, .except = &self, .n_except = 1};
        delivered = sio_nsp_emit(sio_socket_nsp(s), &o, event, json_incref(args));
    }
    if (!ack)
        return;
    json_t *body = json_object(); /* {"ok":true,"delivered":N}, per event: no format parsing */
    json_object_set_new_nocheck(body, "ok", json_true());
    json_object_set_new_nocheck(body, "delivered", json_integer(delivered < 0 ? 0 : delivered));
    json_t *reply_args = json_array();
    json_array_append_new(reply_args, body);
    sio_ack_send(ack, reply_args);
}

int daemon_policy_known(const char *name)
{
    return strcmp(name, "rooms") == 0 || strcmp(name, "app") == 0 ? 0 : -1;
}

sio_nsp *daemon_policy_apply(sio_server *srv, const char *name, const char *policy,
                             const daemon_rooms_limits *limits)
{
    if (strcmp(policy, "rooms") != 0)
        return NULL;
    static const sio_nsp_handlers handlers = {.any = on_relay};
    sio_nsp *nsp = sio_server_of(srv, name, &handlers, (void *)limits);
    sio_nsp_on(nsp, "join", on_join, (void *)limits);
    sio_nsp_on(nsp, "leave", on_leave, (void *)limits);
    return nsp;
}
