/* cli_req: siocli as a requester: the socket.io-redis adapter requests (fetch sockets, all rooms,
 * broadcast with acks) that siobroker nodes and Node servers answer, and siobroker's control
 * requests (adapter-redis/rd_control.h) that only siobroker nodes answer. */
#ifndef CLI_REQ_H
#define CLI_REQ_H

#include "rd_codec.h"
#include "siocli.h"

#include <jansson.h>

/* Subscribes to every channel an answer may come on: K-response#NSP#, K-response#NSP#UID# (Node
 * servers with publishOnSpecificResponseChannel) and this run's control reply channel
 * K#siobroker-reply#UID#. Call once before the first request. Returns 0, or -1 with err. */
int cli_req_listen(cli_ctx *ctx, char *err, size_t errlen);

/* Sends adapter request req (borrowed; uid and requestId are added to a copy) to K-request#NSP#
 * and collects one answer per server (PUBSUB NUMSUB of that channel, as Node does). *answers gets
 * a new array of the answer objects (caller owns), *servers the number of servers. Returns 0 when
 * every server answered, 1 when the timeout came first (*answers holds those that came), -1 with
 * err on a Redis failure (*answers NULL). */
int cli_req_collect(cli_ctx *ctx, const json_t *req, json_t **answers, long long *servers,
                    char *err, size_t errlen);

/* REMOTE_FETCH of the sockets in any of rooms and in none of except (NULL/0: no filter): *sockets
 * gets a new array of every answer's sockets ({id, handshake, rooms, data}). Returns as
 * cli_req_collect. */
int cli_req_fetch(cli_ctx *ctx, const char *const *rooms, size_t n_rooms, const char *const *except,
                  size_t n_except, json_t **sockets, long long *servers, char *err, size_t errlen);

/* ALL_ROOMS: *rooms gets a new array of the rooms of every server, each once (socket-id rooms
 * included). Returns as cli_req_collect. */
int cli_req_all_rooms(cli_ctx *ctx, json_t **rooms, long long *servers, char *err, size_t errlen);

/* Sends control request req (borrowed; id and reply are added to a copy) to one siobroker node
 * (node_id) or to every node (NULL) and collects one reply per node subscribed. *replies gets a
 * new array of the reply objects, *nodes the number of nodes asked. Returns as cli_req_collect. */
int cli_req_control(cli_ctx *ctx, const char *node_id, const json_t *req, json_t **replies,
                    long long *nodes, char *err, size_t errlen);

/* Which siobroker node holds each socket of the namespace: a new object socket id -> {"node",
 * "sid"} built from every node's "sockets" control reply (caller owns). Sockets of Node servers
 * are not in it. Best effort: on a failure or a timeout it holds what came. */
json_t *cli_req_socket_owners(cli_ctx *ctx);

/** Result of a broadcast with acks. */
typedef struct cli_ack_result {
    long long servers;          /**< servers subscribed to the request channel */
    long long servers_answered; /**< servers that reported their client count */
    long long clients;          /**< clients targeted, summed over those servers */
    json_t *acks;               /**< owned array: each client's first ack argument, as received */
} cli_ack_result;

/* Sends b (borrowed; its uid is replaced by this run's) as a BROADCAST request with acks and
 * collects client counts and acks for up to ack_ms. Returns 0 when every server and client
 * answered, 1 when the time ran out first, -1 with err on a Redis failure. out->acks is set in
 * every case but -1; the caller json_decrefs it. */
int cli_req_broadcast_ack(cli_ctx *ctx, const rd_broadcast *b, long ack_ms, cli_ack_result *out,
                          char *err, size_t errlen);

#endif
