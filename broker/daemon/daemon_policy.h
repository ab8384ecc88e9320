/* policy: built-in namespace behaviours of the daemon, for deployments without C code. */
#ifndef DAEMON_POLICY_H
#define DAEMON_POLICY_H

#include "sio_server.h"

#include <stddef.h>

/** Limits of the rooms policy. */
typedef struct daemon_rooms_limits {
    size_t max_room_name; /**< bytes of a room name (default 128) */
    size_t max_rooms;     /**< rooms a socket may join (default 64) */
} daemon_rooms_limits;

/* Returns 0 if name is a known policy ("rooms"), -1 otherwise. */
int daemon_policy_known(const char *name);

/* Registers namespace nsp on srv with the policy's handlers. limits is borrowed and must outlive
 * the server. Returns the namespace, or NULL for an unknown policy. */
sio_nsp *daemon_policy_apply(sio_server *srv, const char *nsp, const char *policy,
                             const daemon_rooms_limits *limits);

#endif
