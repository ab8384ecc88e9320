/* sio_rooms: the per-namespace rooms index (room -> sockets, socket -> rooms) and broadcast
 * selection. Every socket is implicitly in the room named by its id: that room is not stored. */
#include "sio_internal.h"

#include "util_alloc.h"

#include <string.h>

static sio_room *room_find(sio_nsp *nsp, const char *name)
{
    sio_room *r = NULL;
    HASH_FIND_STR(nsp->rooms, name, r);
    return r;
}

void rooms_join(sio_socket *s, const char *room)
{
    if (strcmp(room, s->id) == 0 || sio_socket_in_room(s, room))
        return;
    sio_nsp *nsp = s->nsp;
    batch_nsp_changed(nsp);
    sio_room *r = room_find(nsp, room);
    if (!r) {
        r = util_calloc(1, sizeof *r);
        r->name = util_strdup(room);
        HASH_ADD_KEYPTR(hh, nsp->rooms, r->name, strlen(r->name), r);
    }
    sio_member *m = util_malloc(sizeof *m);
    m->s = s;
    HASH_ADD_PTR(r->members, s, m);
    r->n++;
    if (s->n_rooms == s->cap_rooms) {
        s->cap_rooms = s->cap_rooms ? s->cap_rooms * 2 : 2;
        s->rooms = util_realloc(s->rooms, s->cap_rooms * sizeof *s->rooms);
    }
    s->rooms[s->n_rooms++] = r;
    recov_changed(s, SIO_SESSION_ROOMS);
    if (s->connected && nsp->srv->obs.joined)
        nsp->srv->obs.joined(s, room, nsp->srv->obs_ud);
}

static void room_drop_member(sio_nsp *nsp, sio_room *r, sio_socket *s)
{
    sio_member *m = NULL;
    HASH_FIND_PTR(r->members, &s, m);
    if (m) {
        HASH_DEL(r->members, m);
        util_free(m);
        r->n--;
    }
    if (r->n == 0) {
        HASH_DEL(nsp->rooms, r);
        util_free(r->name);
        util_free(r);
    }
}

void rooms_leave(sio_socket *s, const char *room)
{
    for (size_t i = 0; i < s->n_rooms; i++) {
        if (strcmp(s->rooms[i]->name, room) == 0) {
            batch_nsp_changed(s->nsp);
            sio_room *r = s->rooms[i];
            memmove(&s->rooms[i], &s->rooms[i + 1], (s->n_rooms - i - 1) * sizeof *s->rooms);
            s->n_rooms--;
            sio_server *srv = s->nsp->srv;
            if (s->connected && srv->obs.left)
                srv->obs.left(s, r->name, srv->obs_ud);
            room_drop_member(s->nsp, r, s);
            recov_changed(s, SIO_SESSION_ROOMS);
            return;
        }
    }
}

void rooms_leave_all(sio_socket *s)
{
    if (s->n_rooms)
        batch_nsp_changed(s->nsp);
    bool changed = s->n_rooms > 0;
    while (s->n_rooms) {
        sio_room *r = s->rooms[--s->n_rooms];
        room_drop_member(s->nsp, r, s);
    }
    if (changed)
        recov_changed(s, SIO_SESSION_ROOMS);
}

bool sio_nsp_has_room(sio_nsp *nsp, const char *room)
{
    if (room_find(nsp, room))
        return true;
    sio_socket *s = NULL;
    HASH_FIND_STR(nsp->sockets, room, s);
    return s != NULL || (nsp->restoring && recov_restoring_id(nsp, room));
}

typedef struct selection {
    sio_socket **v;
    size_t n, cap;
    uint64_t stamp;
} selection;

/* True (and s marked) when s is connected, not excepted and not yet selected in sel. */
static bool sel_take(selection *sel, sio_socket *s)
{
    if (!s->connected || s->except == sel->stamp || s->mark == sel->stamp)
        return false;
    s->mark = sel->stamp;
    return true;
}

static void sel_add(selection *sel, sio_socket *s)
{
    if (!sel_take(sel, s))
        return;
    if (sel->n == sel->cap) {
        sel->cap = sel->cap ? sel->cap * 2 : 16;
        sel->v = util_realloc(sel->v, sel->cap * sizeof *sel->v);
    }
    socket_ref(s);
    sel->v[sel->n++] = s;
}

/* Calls fn for each socket in room (stored members, and the socket whose id it is). */
static void each_in_room(sio_nsp *nsp, const char *room, void (*fn)(sio_socket *, void *), void *ud)
{
    sio_room *r = room_find(nsp, room);
    if (r) {
        sio_member *m, *tmp;
        HASH_ITER(hh, r->members, m, tmp)
        {
            fn(m->s, ud);
        }
    }
    sio_socket *s = NULL;
    HASH_FIND_STR(nsp->sockets, room, s);
    if (s)
        fn(s, ud);
}

static void mark_except(sio_socket *s, void *ud)
{
    s->except = *(uint64_t *)ud;
}

static void add_selected(sio_socket *s, void *ud)
{
    sel_add(ud, s);
}

static void count_selected(sio_socket *s, void *ud)
{
    selection *sel = ud;
    if (sel_take(sel, s))
        sel->n++;
}

/* Calls fn(s, sel) for each socket o targets (every socket of nsp when o names no room), after
 * marking o's except-rooms with sel's stamp; fn filters with sel_take. */
static void each_target(sio_nsp *nsp, const sio_bcast_opts *o, void (*fn)(sio_socket *, void *),
                        selection *sel)
{
    for (size_t i = 0; o && i < o->n_except; i++)
        each_in_room(nsp, o->except[i], mark_except, &sel->stamp);
    if (!o || o->n_rooms == 0) {
        sio_socket *s, *tmp;
        HASH_ITER(hh, nsp->sockets, s, tmp)
        {
            fn(s, sel);
        }
    } else {
        for (size_t i = 0; i < o->n_rooms; i++)
            each_in_room(nsp, o->rooms[i], fn, sel);
    }
}

size_t rooms_count(sio_nsp *nsp, const sio_bcast_opts *o)
{
    selection sel = {NULL, 0, 0, ++nsp->srv->epoch};
    each_target(nsp, o, count_selected, &sel);
    return sel.n;
}

sio_socket **rooms_select(sio_nsp *nsp, const sio_bcast_opts *o, size_t *n)
{
    selection sel = {NULL, 0, 0, ++nsp->srv->epoch};
    each_target(nsp, o, add_selected, &sel);
    *n = sel.n;
    return sel.v;
}
