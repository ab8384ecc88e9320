/* daemon_metrics: the /metrics route: reads each layer's counters (kept as plain integers on the
 * loop's thread, so reading them costs the hot path nothing) and writes them in the Prometheus
 * text format. Label values come from fixed sets (reasons, kinds, outcomes, request types) or from
 * the configured namespaces: never a room name, a sid or an address. */
#include "daemon_metrics.h"

#include "node_http.h"
#include "rd_link.h"
#include "util_alloc.h"
#include "util_prom.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- process ---------------------------------------------------------------------------------- */

/** How long a count of open descriptors is reused (process_open_fds). */
#define FDS_REFRESH_MS 5000u

/* Seconds since the epoch at which the system booted (from /proc/stat's btime). */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    double bt = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

int daemon_process_stats_read(daemon_process_stats *ps)
{
    memset(ps, 0, sizeof *ps);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        ps->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    /* Listing /proc/self/fd is most of a scrape's cost with many connections (about 5 ms of CPU
     * at 10k descriptors): the count is refreshed at most every FDS_REFRESH_MS. One process, one
     * loop thread: a file-level cache is enough. */
    static uint64_t fds_at_ms, fds_cached;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    if (fds_at_ms && now_ms - fds_at_ms < FDS_REFRESH_MS) {
        ps->open_fds = fds_cached;
    } else {
        DIR *d = opendir("/proc/self/fd");
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                    ps->open_fds++;
            closedir(d);
            ps->open_fds--; /* the directory's own descriptor */
            fds_cached = ps->open_fds;
            fds_at_ms = now_ms;
        }
    }
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    p += 2; /* field 3 (state) */
    unsigned long long v[25] = {0};
    int field = 3;
    for (char *tok = strtok(p, " "); tok && field <= 24; tok = strtok(NULL, " "), field++)
        v[field] = strtoull(tok, NULL, 10);
    long tick = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    if (tick <= 0 || page <= 0)
        return -1;
    ps->cpu_seconds = (double)(v[14] + v[15]) / (double)tick; /* utime + stime */
    ps->start_time = boot_time() + (double)v[22] / (double)tick;
    ps->vsize_bytes = v[23];
    ps->rss_bytes = v[24] * (uint64_t)page;
    return 0;
}

/* ---- families ----------------------------------------------------------------------------------- */

static void counter(util_buf *b, const char *name, const char *help, uint64_t v)
{
    util_prom_family(b, name, "counter", help);
    util_prom_sample_u64(b, name, NULL, 0, v);
}

static void gauge(util_buf *b, const char *name, const char *help, double v)
{
    util_prom_family(b, name, "gauge", help);
    util_prom_sample(b, name, NULL, 0, v);
}

static void render_process(util_buf *b)
{
    daemon_process_stats ps;
    if (daemon_process_stats_read(&ps) != 0)
        return;
    util_prom_family(b, "process_cpu_seconds_total", "counter",
                     "Total user and system CPU time spent in seconds.");
    util_prom_sample(b, "process_cpu_seconds_total", NULL, 0, ps.cpu_seconds);
    gauge(b, "process_resident_memory_bytes", "Resident memory size in bytes.",
          (double)ps.rss_bytes);
    gauge(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
          (double)ps.vsize_bytes);
    gauge(b, "process_open_fds", "Number of open file descriptors.", (double)ps.open_fds);
    gauge(b, "process_max_fds", "Maximum number of open file descriptors.", (double)ps.max_fds);
    gauge(b, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          ps.start_time);
}

static void render_node(util_buf *b, node *nd)
{
    const node_stats *st = node_get_stats(nd);
    node_gauges g;
    node_get_gauges(nd, &g);
    counter(b, "siobroker_connections_accepted_total", "Client TCP connections accepted.",
            st->accepted);
    counter(b, "siobroker_connections_refused_total",
            "Connections answered 503 because --max-connections was reached.", st->refused);
    counter(b, "siobroker_accept_pauses_total",
            "Times accepting paused because the process ran out of descriptors (EMFILE).",
            st->accept_pauses);
    gauge(b, "siobroker_connections", "Open client TCP connections.", (double)g.connections);
    counter(b, "siobroker_http_requests_total", "HTTP requests received (heads parsed).",
            st->http_requests);
    counter(b, "siobroker_received_bytes_total", "Bytes read from client connections.",
            st->bytes_in);
    counter(b, "siobroker_sent_bytes_total", "Bytes written to client connections.", st->bytes_out);
    gauge(b, "siobroker_write_pending_bytes",
          "Bytes handed to client connections that the kernel has not taken yet.",
          (double)g.pending_write);

    static const char *const transports[2] = {"polling", "websocket"};
    util_prom_family(b, "siobroker_engineio_sessions", "gauge",
                     "Open Engine.IO sessions by current transport.");
    for (int t = 0; t < 2; t++)
        util_prom_sample(b, "siobroker_engineio_sessions",
                         (const char *[]){"transport", transports[t]}, 1, (double)g.sessions[t]);
    util_prom_family(b, "siobroker_engineio_sessions_opened_total", "counter",
                     "Engine.IO sessions opened, by the transport of their handshake.");
    for (int t = 0; t < 2; t++)
        util_prom_sample_u64(b, "siobroker_engineio_sessions_opened_total",
                             (const char *[]){"transport", transports[t]}, 1,
                             st->sessions_opened[t]);
    counter(b, "siobroker_engineio_upgrades_total",
            "Engine.IO sessions upgraded from polling to WebSocket.", st->upgrades);
    util_prom_family(b, "siobroker_engineio_sessions_closed_total", "counter",
                     "Engine.IO sessions closed, by reason.");
    for (int r = 0; r < NODE_CLOSE_N; r++)
        util_prom_sample_u64(b, "siobroker_engineio_sessions_closed_total",
                             (const char *[]){"reason", node_close_reason_name(r)}, 1,
                             st->closed[r]);
    counter(b, "siobroker_engineio_messages_received_total",
            "Engine.IO message packets received from clients.", st->messages_in);
    counter(b, "siobroker_engineio_messages_sent_total",
            "Engine.IO message packets queued to clients.", st->messages_out);
    gauge(b, "siobroker_engineio_queued_bytes",
          "Bytes queued to Engine.IO sessions and not written yet, all sessions.",
          (double)g.queued_bytes);
    gauge(b, "siobroker_engineio_largest_queue_bytes",
          "Bytes queued to the Engine.IO session that has the most.", (double)g.largest_queue);
    gauge(b, "siobroker_engineio_largest_session_bytes",
          "Memory charged to the Engine.IO session that holds the most (queue, transport, "
          "partial packets; bounded by --max-session-queue).",
          (double)g.largest_session);
}

typedef struct nsp_walk {
    util_buf *b;
    const char *name;
    bool rooms;
} nsp_walk;

static void nsp_sample(sio_nsp *nsp, void *ud)
{
    nsp_walk *w = ud;
    util_prom_sample(w->b, w->name, (const char *[]){"namespace", sio_nsp_name(nsp)}, 1,
                     (double)(w->rooms ? sio_nsp_room_count(nsp) : sio_nsp_size(nsp)));
}

static void render_socketio(util_buf *b, sio_server *srv)
{
    sio_server_stats st;
    sio_server_get_stats(srv, &st);
    util_prom_family(b, "siobroker_socketio_sockets", "gauge",
                     "Connected Socket.IO sockets by namespace.");
    sio_server_each_nsp(srv, nsp_sample, &(nsp_walk){b, "siobroker_socketio_sockets", false});
    util_prom_family(b, "siobroker_socketio_rooms", "gauge",
                     "Rooms by namespace (the room of each socket's own id not counted).");
    sio_server_each_nsp(srv, nsp_sample, &(nsp_walk){b, "siobroker_socketio_rooms", true});
    counter(b, "siobroker_socketio_connects_total", "Sockets connected to a namespace.",
            st.connects);
    counter(b, "siobroker_socketio_connects_refused_total",
            "Namespace connections refused (by a policy, or an unknown namespace).",
            st.connect_refused);
    counter(b, "siobroker_socketio_disconnects_total", "Sockets disconnected.", st.disconnects);
    counter(b, "siobroker_socketio_events_received_total",
            "Socket.IO events received from clients.", st.events_in);
    counter(b, "siobroker_socketio_broadcasts_total",
            "Broadcasts delivered on this node (from its clients or from other nodes).",
            st.broadcasts);
    counter(b, "siobroker_socketio_deliveries_total", "Sockets reached by broadcasts on this node.",
            st.deliveries);
    counter(b, "siobroker_socketio_volatile_dropped_total",
            "Volatile packets dropped for a client that was not ready to receive.",
            st.volatile_drops);
}

static void render_cluster(util_buf *b, cluster *cl)
{
    const cluster_stats *st = cluster_get_stats(cl);
    util_prom_family(b, "siobroker_cluster_requests_total", "counter",
                     "Requests for sessions held by another node: polling forwarded and "
                     "WebSockets relayed, by outcome (ok: the owner's answer was passed on).");
    for (int k = 0; k < CLUSTER_KIND_N; k++)
        for (int o = 0; o < CLUSTER_OUT_N; o++)
            util_prom_sample_u64(
                b, "siobroker_cluster_requests_total",
                (const char *[]){"kind", cluster_kind_name(k), "outcome", cluster_outcome_name(o)},
                2, st->requests[k][o]);
    util_prom_family(b, "siobroker_cluster_request_duration_seconds", "histogram",
                     "Time until a forwarded or relayed request was answered (a polling GET is "
                     "held by the owner up to a ping interval).");
    for (int k = 0; k < CLUSTER_KIND_N; k++)
        util_prom_histogram(b, "siobroker_cluster_request_duration_seconds",
                            (const char *[]){"kind", cluster_kind_name(k)}, 1,
                            cluster_latency_bounds, CLUSTER_LATENCY_BUCKETS, st->latency[k],
                            st->latency_sum[k]);
    util_prom_family(b, "siobroker_cluster_peer_requests_total", "counter",
                     "Requests other nodes forwarded here, by result (refused: 401, bad "
                     "signature).");
    util_prom_sample_u64(b, "siobroker_cluster_peer_requests_total",
                         (const char *[]){"result", "verified"}, 1, st->peer_verified);
    util_prom_sample_u64(b, "siobroker_cluster_peer_requests_total",
                         (const char *[]){"result", "refused"}, 1, st->peer_refused);
    gauge(b, "siobroker_cluster_relays", "WebSockets relayed to their owner now.",
          (double)cluster_relays_open(cl));
}

static void render_redis(util_buf *b, rd_cluster *rc)
{
    const rd_link_stats *ls = rd_link_get_stats(rd_cluster_link(rc));
    const rd_cluster_stats *cs = rd_cluster_get_stats(rc);
    gauge(b, "siobroker_redis_up",
          "1 when Redis is connected and every subscription is confirmed, else 0.",
          rd_cluster_ready(rc) ? 1 : 0);
    counter(b, "siobroker_redis_connects_total",
            "Times the Redis link became ready (the first connection and every reconnect).",
            ls->connects);
    counter(b, "siobroker_redis_disconnects_total", "Times a ready Redis link went down.",
            ls->disconnects);
    counter(b, "siobroker_redis_publishes_total", "PUBLISH commands sent to Redis.", ls->publishes);
    counter(b, "siobroker_redis_publish_failures_total",
            "Messages not published because Redis was unavailable.", ls->publish_failures);
    counter(b, "siobroker_redis_commands_total",
            "Other commands sent to Redis (registry, "
            "requests).",
            ls->commands);
    counter(b, "siobroker_redis_command_failures_total",
            "Commands that failed because Redis was unavailable.", ls->command_failures);
    gauge(b, "siobroker_redis_stalled",
          "1 while Redis does not answer the link's PINGs (--redis-stall-timeout), else 0.",
          rd_link_stalled(rd_cluster_link(rc)) ? 1 : 0);
    counter(b, "siobroker_redis_stalls_total", "Times Redis stopped answering the link's PINGs.",
            ls->stalls);
    gauge(b, "siobroker_redis_output_bytes",
          "Bytes waiting to be sent to Redis or for its answer (capped by --redis-max-output).",
          (double)rd_link_output_bytes(rd_cluster_link(rc)));
    counter(b, "siobroker_redis_messages_received_total",
            "Messages received on the adapter's subscriptions.", ls->messages_in);
    counter(b, "siobroker_redis_received_bytes_total", "Payload bytes of those messages.",
            ls->message_bytes_in);
    counter(b, "siobroker_adapter_broadcasts_published_total",
            "Broadcasts published for the other nodes.", cs->broadcasts_out);
    counter(b, "siobroker_adapter_broadcasts_received_total",
            "Broadcasts from other nodes delivered here.", cs->broadcasts_in);
    util_prom_family(b, "siobroker_adapter_requests_total", "counter",
                     "Adapter requests (fetchSockets, serverSideEmit, ...) by type, sent by this "
                     "node (out) or received from others (in).");
    for (int t = 0; t < RD_CLUSTER_REQ_TYPES; t++) {
        const char *name = rd_cluster_request_name(t);
        util_prom_sample_u64(b, "siobroker_adapter_requests_total",
                             (const char *[]){"type", name, "direction", "out"}, 2,
                             cs->requests_out[t]);
        util_prom_sample_u64(b, "siobroker_adapter_requests_total",
                             (const char *[]){"type", name, "direction", "in"}, 2,
                             cs->requests_in[t]);
    }
    util_prom_family(b, "siobroker_adapter_request_timeouts_total", "counter",
                     "Adapter requests of this node that timed out waiting for other nodes.");
    for (int t = 0; t < RD_CLUSTER_REQ_TYPES; t++)
        util_prom_sample_u64(b, "siobroker_adapter_request_timeouts_total",
                             (const char *[]){"type", rd_cluster_request_name(t)}, 1,
                             cs->request_timeouts[t]);
    gauge(b, "siobroker_adapter_requests_pending",
          "Adapter requests of this node waiting for other nodes now.", (double)cs->pending);
}

void daemon_metrics_render(const daemon_metrics_src *src, util_buf *out)
{
    util_prom_family(out, "siobroker_info", "gauge", "Version and node id of this siobroker.");
    util_prom_sample(out, "siobroker_info",
                     (const char *[]){"version", src->version ? src->version : "", "node_id",
                                      src->node_id ? src->node_id : ""},
                     2, 1);
    if (src->nd)
        render_node(out, src->nd);
    if (src->srv)
        render_socketio(out, src->srv);
    if (src->cl)
        render_cluster(out, src->cl);
    if (src->budget) {
        gauge(out, "siobroker_memory_used_bytes",
              "What the node holds for its clients (queued messages, transport and partial "
              "packets), charged to its memory budget.",
              (double)eio_budget_used(src->budget));
        gauge(out, "siobroker_memory_budget_bytes",
              "The node's memory budget (--max-memory; 0: none).",
              (double)eio_budget_max(src->budget));
        gauge(out, "siobroker_memory_over_budget",
              "1 while over 7/8 of the budget: new sessions are refused (503), else 0.",
              eio_budget_over(src->budget) ? 1 : 0);
        counter(out, "siobroker_memory_shed_sessions_total",
                "Sessions closed to bring the node back under its memory budget.",
                eio_budget_shed(src->budget));
    }
    if (src->redis)
        render_redis(out, src->redis);
    if (src->extra)
        src->extra(out, src->extra_ud);
    render_process(out);
}

/* ---- the route -------------------------------------------------------------------------------- */

typedef struct metrics_route {
    const daemon_metrics_src *src;
    util_buf body; /**< kept between scrapes: its memory is reused */
} metrics_route;

static void serve_metrics(node_req *r, void *ud)
{
    metrics_route *m = ud;
    util_buf_reset(&m->body);
    daemon_metrics_render(m->src, &m->body);
    node_req_respond(r, 200, UTIL_PROM_CONTENT_TYPE, m->body.data, m->body.len, false);
}

static void free_route(void *ud)
{
    metrics_route *m = ud;
    util_buf_free(&m->body);
    util_free(m);
}

int daemon_metrics_attach(node *n, const daemon_metrics_src *src)
{
    metrics_route *m = util_calloc(1, sizeof *m);
    m->src = src;
    if (node_add_route(n, "/metrics", false, serve_metrics, m) != 0) {
        util_free(m);
        return -1;
    }
    node_on_shutdown(n, free_route, m);
    return 0;
}
