/* siobench: types shared by the load generator's files (arguments, clients, runs, results). */
#ifndef SIOBENCH_H
#define SIOBENCH_H

#include "sb_stats.h"
#include "wsraw.h"
#include "util_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct lws;
struct lws_context;

/** How clients connect: WebSocket only, polling only, or engine.io-client's default (polling,
 * then an upgrade to WebSocket: handshake, probe, pause of polling, "5"; Socket.IO's CONNECT goes
 * over the WebSocket once upgraded). */
typedef enum sb_transport { SB_WEBSOCKET, SB_POLLING, SB_UPGRADE } sb_transport;

/** How WebSocket clients are implemented: lws RAW sockets with siobench's own framing (wsraw.c,
 * rawclient.c), or libwebsockets' WebSocket client (ws.c). */
typedef enum sb_ws_impl { SB_WS_RAW, SB_WS_LWS } sb_ws_impl;

typedef enum sb_scenario {
    SB_SC_CONNECT,
    SB_SC_IDLE,
    SB_SC_FANOUT,
    SB_SC_ECHO,
    SB_SC_POLLING,
    SB_SC_CLUSTER,
} sb_scenario;

/** A server address: http://HOST:PORT/PATH. */
typedef struct sb_url {
    char host[64];  /**< numeric IPv4 address or name */
    int port;       /**< TCP port */
    char path[128]; /**< Engine.IO path, with the trailing slash (default /socket.io/) */
} sb_url;

/** The command line, parsed (args.c). */
typedef struct sb_args {
    sb_scenario scenario;
    sb_transport transport; /**< transport of the receiving clients */
    sb_ws_impl ws_impl;     /**< WebSocket client implementation (--ws-impl, default raw) */
    sb_url url;             /**< where the clients connect */
    sb_url pub_url;         /**< where the publisher connects (fanout; default: url) */
    sb_url lb_url;          /**< cluster: the round-robin balancer (polling round trips) */
    bool has_pub_url, has_lb_url, has_transport;
    char nsp[64];          /**< namespace, "/" by default */
    char room[64];         /**< room the fanout clients join */
    unsigned clients;      /**< N */
    unsigned events;       /**< M (fanout) */
    unsigned size;         /**< padding bytes per event */
    double rate;           /**< fanout events per second; 0 = as fast as the window allows */
    unsigned window;       /**< outstanding acks (fanout publisher; echo: per client) */
    unsigned warmup;       /**< unmeasured events before a fanout */
    double duration;       /**< echo: seconds measured */
    double settle;         /**< idle: seconds to wait before reading the RSS */
    unsigned concurrency;  /**< handshakes in flight during the connect phase */
    unsigned poll_clients; /**< cluster: polling clients of the round-trip comparison */
    unsigned sources;      /**< loopback source addresses (127.0.0.1 ...); 0 = automatic */
    int server_pid;        /**< idle: the server whose RSS is read (0 = none) */
    double timeout;        /**< bound of each phase, seconds */
    bool json;             /**< print one JSON document instead of the table */
    char label[64];        /**< name of the server under test, printed with the results */
} sb_args;

/* Parses argv into a (defaults first). Returns 0, 1 after printing the help (exit 0), or -1 after
 * printing one line naming the bad option on stderr. */
int sb_args_parse(sb_args *a, int argc, char **argv);

/* Parses "http://HOST[:PORT][/PATH]" (scheme optional) into u. Returns 0 or -1. */
int sb_url_parse(sb_url *u, const char *s);

/* Returns the scenario's name ("fanout", ...). */
const char *sb_scenario_name(sb_scenario s);

typedef enum sb_state {
    SB_IDLE_STATE, /**< not started */
    SB_OPENING,    /**< transport connecting, Engine.IO handshake */
    SB_NSP_WAIT,   /**< namespace CONNECT sent */
    SB_JOINING,    /**< join sent, waiting for its ack */
    SB_READY,      /**< connected (and joined when asked) */
    SB_CLOSED,     /**< failed or closed */
} sb_state;

struct sb_bench;
struct sb_hconn;

/** One Socket.IO client. Owned by the bench (array); transports point back to it. */
typedef struct sb_client {
    struct sb_bench *b;
    uint32_t idx;          /**< index in b->clients (the publisher is the last one) */
    uint8_t transport;     /**< sb_transport */
    uint8_t state;         /**< sb_state */
    bool join;             /**< join b->args.room once connected */
    bool publisher;        /**< the fanout publisher */
    bool closing;          /**< WebSocket: close at the next WRITEABLE callback */
    bool live;             /**< a wsi or an HTTP connection of this client still exists */
    bool upgraded;         /**< raw WebSocket: the 101 was checked, bytes are frames now */
    bool upgrade;          /**< SB_UPGRADE: starts on polling, moves to the WebSocket */
    uint8_t up_state;      /**< upgrade: 0 not started, 1 probing, 2 probe answered, 3 done */
    bool poll_paused;      /**< upgrade: polling stopped (no GET in flight) */
    struct lws *wsi;       /**< WebSocket transport */
    struct sb_hconn *get;  /**< polling: the long-poll connection */
    struct sb_hconn *post; /**< polling: the POST connection */
    char *sid;             /**< polling: Engine.IO sid (owned) */
    const sb_url *url;     /**< server (borrowed from the args) */
    uint64_t t0;           /**< µs: connect started, or the last echo emitted */
    uint32_t next_ack;     /**< next ack id to use (0 is the join) */
    uint32_t inflight;     /**< emits waiting for their ack */
    util_buf out;          /**< WebSocket: frames waiting for WRITEABLE; polling: POST body */
    util_buf rx;           /**< WebSocket: a message arriving in fragments */
    sb_wsr_parser wsr;     /**< raw WebSocket: frames split across reads; response head */
    char wskey[SB_WSR_KEY_LEN + 1]; /**< raw WebSocket: the Sec-WebSocket-Key sent */
} sb_client;

/** What a run measured (one line of the report). */
typedef struct sb_result {
    char name[64];
    sb_scenario scenario;
    sb_transport transport;
    unsigned clients, connected, failed;
    double connect_s;     /**< seconds from the first connect to the last client ready */
    sb_stats connect_lat; /**< µs per client, connect to namespace connected */
    unsigned events, size;
    uint64_t expected, delivered, lost, dup;
    double elapsed_s; /**< fanout: first send to last delivery; echo: the duration */
    sb_stats lat;     /**< µs: fanout delivery latency, echo round trip */
    uint64_t acks;
    long rss_before_kb, rss_after_kb;
    long self_rss_kb;
    bool valid;
} sb_result;

typedef void (*sb_phase_cb)(struct sb_bench *b);

/** The whole load generator: one libuv loop, one lws client context, the clients. */
typedef struct sb_bench {
    sb_args args;
    uv_loop_t loop;
    struct lws_context *lws;
    uv_timer_t timer;    /**< pacing and phase deadlines */
    uv_timer_t deadline; /**< bound of the current phase */
    uv_idle_t kick;      /**< starts connections outside lws callbacks */
    sb_client *clients;  /**< n_clients entries, owned */
    unsigned n_clients;  /**< receivers + (publisher ? 1 : 0) */
    unsigned n_recv;     /**< receivers */
    unsigned next_start; /**< next client to start in the connect phase */
    unsigned opening;    /**< clients between start and ready/closed */
    unsigned ready, failed, closed;
    unsigned live;    /**< clients whose transport objects still exist (teardown waits) */
    unsigned dropped; /**< ready clients that closed during the measured phase */
    uint64_t t_phase; /**< µs: start of the current phase */
    uint64_t t_last;  /**< µs: last delivery / last ready */
    uint64_t t_read;  /**< µs: when the read being handled arrived (sb_read_arrived) */
    sb_phase_cb on_phase_done;
    bool phase_done;
    bool timed_out;
    /* fanout */
    uint8_t *seen; /**< n_recv * events bits: delivery (client, seq) seen */
    uint64_t delivered, dup, warm_seen, warm_expected;
    unsigned sent, acked, sending_warm;
    char *payload_pad; /**< size bytes of 'x', NUL-terminated */
    /* echo */
    bool echo_running;
    uint64_t echo_end;
    sb_result *res; /**< the run being measured */
    sb_result results[8];
    unsigned n_results;
    int exit_code;
} sb_bench;

/* Monotonic time in microseconds. */
uint64_t sb_now_us(void);
/* A transport received data: the events it holds arrived now (one clock read per read, not per
 * event: a read carries up to dozens of events). */
void sb_read_arrived(sb_bench *b);

/* --- client.c: the Engine.IO / Socket.IO client over either transport --- */

/* Starts client c's transport towards c->url. Returns 0, or -1 after marking it failed. */
int sb_client_start(sb_client *c);

/* Sends one Engine.IO packet (text, e.g. "42[...]") on c's transport; copies text. */
void sb_client_send(sb_client *c, const char *text, size_t len);

/* Closes c's transport (asynchronously); the bench hears of it through sb_on_closed. */
void sb_client_close(sb_client *c);

/* The raw WebSocket of c got its 101: an upgrading client probes now. */
void sb_client_ws_open(sb_client *c);

/* The polling transport of an upgrading client stopped: finishes the upgrade if probed. */
void sb_client_poll_paused(sb_client *c);

/* Handles one complete Engine.IO packet received by c (both transports call it). */
void sb_client_on_packet(sb_client *c, const char *p, size_t len);

/* Returns the loopback source address for client idx ("127.0.0.K"), or NULL for the default. */
const char *sb_client_source(const sb_bench *b, uint32_t idx);

/* Creates the lws client context on b->loop. Returns 0 or -1. */
int sb_ws_init(sb_bench *b);

/* Opens c's WebSocket (ws.c). Returns 0 or -1. */
int sb_ws_open(sb_client *c);

/* Sends one text frame on c's WebSocket (direct write unless choked). */
void sb_ws_send(sb_client *c, const char *text, size_t len);

/* Closes c's WebSocket asynchronously. */
void sb_ws_close(sb_client *c);

/* Opens c's raw WebSocket: an lws RAW client connection, then siobench's own Upgrade request
 * (rawclient.c). Returns 0 or -1. */
int sb_raw_open(sb_client *c);

/* Sends one masked text frame on c's raw WebSocket (direct write unless choked, else queued
 * and coalesced into one write at WRITEABLE). */
void sb_raw_send(sb_client *c, const char *text, size_t len);

/* Closes c's raw WebSocket asynchronously (a close frame, then the TCP connection). */
void sb_raw_close(sb_client *c);

/* Starts destroying the lws context: lws 4.1.6 tears a foreign-loop context down in two calls with
 * the loop run between them; main.c makes the second once the loop has stopped. */
void sb_ws_destroy(sb_bench *b);

/* --- polling.c: Engine.IO long-polling over two keep-alive HTTP/1.1 connections --- */

/* Starts c's polling handshake. Returns 0 or -1. */
int sb_poll_open(sb_client *c);

/* Queues text for c's next POST (packets joined with \x1e). */
void sb_poll_send(sb_client *c, const char *text, size_t len);

/* Closes both of c's connections. */
void sb_poll_close(sb_client *c);
/* Closes c's polling connections once it moved to its WebSocket (the client stays live). */
void sb_poll_detach(sb_client *c);

/* --- events from the client to the scenario (scenario.c) --- */

/* c reached the namespace (and joined, when asked). */
void sb_on_ready(sb_client *c);
/* c failed or closed; why is a static string. */
void sb_on_closed(sb_client *c, const char *why);
/* c received an event; args points at the JSON array after the event name's comma. */
void sb_on_event(sb_client *c, const char *name, size_t name_len, const char *args, size_t len);
/* c received the ack with id ack_id (other than the join). */
void sb_on_ack(sb_client *c, uint32_t ack_id, const char *args, size_t len);

/* --- scenario.c --- */

/* Runs the scenario in b->args; fills b->results. Returns 0 or -1 (setup failure). */
int sb_run(sb_bench *b);

/* Frees what sb_run allocated (after the loop has stopped). */
void sb_run_cleanup(sb_bench *b);

/* --- report.c --- */

/* Prints b->results as a table (or JSON with --json) on stdout. */
void sb_report(const sb_bench *b);

/* Reads VmRSS of pid from /proc (KiB), or -1. */
long sb_proc_rss_kb(int pid);

#endif
