/* daemon_admin: the server side of the official Socket.IO admin UI (@socket.io/admin-ui 0.5) on a
 * node: its /admin namespace with basic auth (a bcrypt hash, as the Node package), the
 * configuration, server stats every 2 s through the adapter (so that one UI shows every node of a
 * cluster, Node servers instrumented with admin-ui included), a bounded sample of the sockets with
 * live updates, the UI's actions (emit, join, leave, disconnect), and the UI's files at /admin/. */
#ifndef DAEMON_ADMIN_H
#define DAEMON_ADMIN_H

#include "node.h"
#include "sio_server.h"
#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The admin UI's settings. Strings are copied. */
typedef struct daemon_admin_config {
    const char *username;      /**< basic auth user (NULL with no_auth) */
    const char *password_hash; /**< its bcrypt hash ($2a$, $2b$ or $2y$) */
    bool no_auth;              /**< no authentication at all (trusted networks only) */
    bool readonly;             /**< the UI's actions are not offered nor accepted */
    const char *server_id;     /**< serverId the UI shows for this node */
    const char
        *session_secret;    /**< mixed into the session tokens' key (the cluster secret), or NULL */
    const char *ui_dir;     /**< the UI's built files, served at /admin/ (NULL: not served) */
    size_t max_sockets;     /**< sockets of this node the UI is shown (default 1000) */
    uint32_t updates_per_s; /**< live updates this node sends the UI per second (default 100) */
    uint32_t stats_interval_ms; /**< server_stats period (default 2000, as the Node package) */
} daemon_admin_config;

typedef struct daemon_admin daemon_admin;

/* Checks that hash is a bcrypt hash this system can verify. Returns 0, or -1 with a reason in err. */
int daemon_admin_check_hash(const char *hash, char *err, size_t errlen);

/* Verifies password against the bcrypt hash (constant-time comparison of the result). */
bool daemon_admin_bcrypt_verify(const char *password, const char *hash);

/* Serves the admin UI on n's Socket.IO server srv (register it after the server's adapter is set,
 * so that /admin goes through the cluster). Returns the admin (caller owns; free it with
 * daemon_admin_free after node_free), or NULL with a reason in err. */
daemon_admin *daemon_admin_new(node *n, sio_server *srv, const daemon_admin_config *cfg, char *err,
                               size_t errlen);

/* Frees the admin. Accepts NULL. */
void daemon_admin_free(daemon_admin *a);

/* Appends the admin's metric families to out (a daemon_metrics_src.extra hook; ud is the admin). */
void daemon_admin_metrics(util_buf *out, void *ud);

#endif
