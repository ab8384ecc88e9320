/* policy: built-in namespace behaviours of the daemon, for deployments without C code. */
#ifndef DAEMON_POLICY_H
#define DAEMON_POLICY_H

#include "sio_server.h"

#include <stddef.h>
#include <uv.h>

/** Limits of the rooms policy. */
typedef struct daemon_rooms_limits {
    size_t max_room_name; /**< bytes of a room name (default 128) */
    size_t max_rooms;     /**< rooms a socket may join (default 64) */
} daemon_rooms_limits;

/* Returns 0 if name is a known policy ("rooms", "app"), -1 otherwise. */
int daemon_policy_known(const char *name);

/* Registers namespace nsp on srv with the rooms policy's handlers. limits is borrowed and must
 * outlive the server. Returns the namespace, or NULL for a policy other than "rooms". */
sio_nsp *daemon_policy_apply(sio_server *srv, const char *nsp, const char *policy,
                             const daemon_rooms_limits *limits);

/* ---- the app policy (policy_app.c): handlers in the application, over the app bridge ---- */

typedef struct app_policy app_policy;
typedef struct app_bridge app_bridge;

/* The app policy's shared state: calls go through bridge (borrowed; it must outlive the policy),
 * a socket may have queue_max events waiting. Caller owns; free with app_policy_free after the
 * server's sockets are gone. */
app_policy *app_policy_new(sio_server *srv, app_bridge *bridge, uv_loop_t *loop, size_t queue_max);
void app_policy_free(app_policy *p);

/* Registers namespace name on srv with the app policy. Returns the namespace. */
sio_nsp *daemon_policy_app(sio_server *srv, const char *name, app_policy *p);

#endif
