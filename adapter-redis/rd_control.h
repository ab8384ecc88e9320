/* rd_control: siobroker's own request/response channel, on which a node answers operator tools
 * (siocli) about itself: one session's details, the sockets of a namespace, its counts. */
#ifndef RD_CONTROL_H
#define RD_CONTROL_H

#include "rd_control_req.h"
#include "rd_link.h"

#include <jansson.h>

/*
 * The protocol (K = the adapter's key prefix, "socket.io" by default). JSON text both ways.
 *
 *   K#siobroker#          every siobroker node subscribes: a request there is answered by every
 *                         node; PUBSUB NUMSUB of this channel is the number of answers to expect.
 *   K#siobroker#NODE#     each node also subscribes to its own: answered by that node only.
 *   K#siobroker-reply#T#  replies: the requester subscribes to a channel of its own under this
 *                         prefix and names it in each request. A node never publishes elsewhere.
 *
 * Request: {"id": ID, "type": TYPE, "reply": CHANNEL, ...the fields of TYPE}
 *   ID is a string of 1..64 characters the requester chooses; CHANNEL starts with
 *   "K#siobroker-reply#". A request without these three strings is dropped with a log line
 *   (rd_control_parse in rd_control_req.h decodes and checks it, without I/O).
 * Reply:   {"id": ID, "node": NODE, "ok": true, ...the result fields of TYPE}
 *      or  {"id": ID, "node": NODE, "ok": false, "error": MESSAGE}
 *
 * Types (answered by broker/daemon/daemon_introspect.c, see node.h):
 *   "ping"     {}                  -> {"sessions": N, "sockets": N}
 *   "session"  {"sid": SID}        -> {"session": {"sid", "transport", "state", "remote",
 *                                      "issued" (ms epoch), "age_ms", "sockets": [{"nsp", "id",
 *                                      "rooms": [...]}]}}, or ok:false "unknown session"
 *   "sockets"  {"nsp": NSP}        -> {"sockets": [{"id", "sid"}]}: every socket of the namespace
 *                                      on the node with its Engine.IO session
 * Any other type gets ok:false "unknown request type".
 */

/** Answers one request: type (borrowed) and the whole request req (borrowed). Returns a new object
 *  whose fields are added to the reply (the control owns it from then on), or NULL with *err set
 *  to a static message, sent back as the reply's "error". */
typedef json_t *(*rd_control_fn)(void *ud, const char *type, const json_t *req, const char **err);

/** Settings. Strings are copied. */
typedef struct rd_control_config {
    const char *key;     /**< channel prefix, e.g. "socket.io" */
    const char *node_id; /**< this node's id, as in the registry */
} rd_control_config;

typedef struct rd_control rd_control;

/* Subscribes to K#siobroker# and K#siobroker#NODE# on link (borrowed) and answers requests through
 * fn (ud borrowed). Caller owns the result. The link keeps the subscriptions for its whole life:
 * free the control in the same callback as the link (right before it), never earlier. */
rd_control *rd_control_new(rd_link *link, const rd_control_config *cfg, rd_control_fn fn, void *ud);

/* Frees the control. Accepts NULL. See rd_control_new for when. */
void rd_control_free(rd_control *c);

#endif
