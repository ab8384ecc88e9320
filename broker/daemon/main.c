/* main: the siobroker daemon: parse settings, run one node until SIGINT/SIGTERM. */
#include "app_bridge.h"
#include "cluster.h"
#include "daemon_admin.h"
#include "daemon_config.h"
#include "daemon_introspect.h"
#include "daemon_metrics.h"
#include "daemon_policy.h"
#include "rd_adapter.h"
#include "rd_control.h"
#include "rd_registry.h"
#include "util_alloc.h"
#include "util_log.h"
#include "util_rand.h"
#include "node_sio.h"
#include "node.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>

#ifndef SIO_VERSION
#define SIO_VERSION "0.0.0"
#endif

typedef struct daemon_state daemon_state;

/** The cluster membership of the daemon: adapter link, registry, and what they report on. */
typedef struct membership {
    daemon_state *ds; /**< forgets this membership when it leaves */
    rd_cluster *cluster;
    rd_registry *registry;
    rd_control *control; /**< answers siocli about this node (rd_control.h) */
    node *nd;
    sio_server *srv;
    uv_timer_t linger; /**< lets the registry's last DELs reach Redis before the link goes */
    char node_id[80];  /**< this node's id */
    daemon_metrics_src *metrics; /**< what /metrics reads (its redis is cleared when leaving) */
} membership;

static void route_lookup(void *ud, const char *sid, cluster_route_done done, void *ctx)
{
    membership *m = ud;
    if (!m->registry) { /* left the cluster (shutting down): no session is found elsewhere */
        done(ctx, NULL, NULL, false);
        return;
    }
    rd_registry_lookup(m->registry, sid, (rd_owner_fn)done, ctx);
}

static void route_forget(void *ud, const char *sid)
{
    membership *m = ud;
    if (m->registry)
        rd_registry_forget(m->registry, sid);
}

static json_t *control_answer(void *ud, const char *type, const json_t *req, const char **err)
{
    return daemon_introspect(((membership *)ud)->nd, ((membership *)ud)->srv, type, req, err);
}

static void on_cluster_state(void *ud, bool ready)
{
    membership *m = ud;
    if (ready) {
        UTIL_LOGI(UTIL_SUB_CLUSTER, "cluster ready: subscriptions confirmed by Redis");
        if (m->registry)
            rd_registry_resync(m->registry);
    } else {
        UTIL_LOGW(UTIL_SUB_CLUSTER, "cluster not ready: Redis unavailable; serving local traffic");
    }
}

static void on_session_open(void *ud, const char *sid)
{
    rd_registry_session_open(((membership *)ud)->registry, sid);
}

static void on_session_close(void *ud, const char *sid)
{
    rd_registry_session_close(((membership *)ud)->registry, sid);
}

static void registry_counts(void *ud, size_t *sessions, size_t *sockets)
{
    membership *m = ud;
    *sessions = node_session_count(m->nd);
    *sockets = sio_server_socket_count(m->srv);
}

/** What /readyz consults, and the daemon's periodic chores. */
struct daemon_state {
    eio_budget *budget;
    membership *m;     /**< NULL without --redis */
    uv_timer_t chores; /**< every second: reports suppressed log lines */
};

/* Ready: the cluster's Redis link is up and answering, and the node is not over its memory
 * budget (a balancer then sends new clients elsewhere). */
static bool daemon_ready(void *ud)
{
    daemon_state *d = ud;
    if (eio_budget_over(d->budget))
        return false;
    return !d->m || rd_cluster_ready(d->m->cluster);
}

static void on_chores(uv_timer_t *t)
{
    (void)t;
    util_log_rl_flush();
}

static void stop_chores(void *arg)
{
    daemon_state *d = arg;
    uv_close((uv_handle_t *)&d->chores, NULL);
}

static void membership_closed(uv_handle_t *h)
{
    util_free(h->data);
}

static void on_linger(uv_timer_t *t)
{
    membership *m = t->data;
    rd_control_free(m->control); /* with the link: it keeps the subscriptions until then */
    rd_cluster_free(m->cluster);
    uv_close((uv_handle_t *)&m->linger, membership_closed);
}

static void leave_cluster(void *ud)
{
    membership *m = ud;
    node_observe_sessions(m->nd, NULL, NULL, NULL);
    m->ds->m = NULL;          /* readiness no longer asks the cluster, which goes away */
    m->metrics->redis = NULL; /* freed with the link, after the linger */
    /* Requests for remote sessions get 400 from now on; the secret still guards this node. */
    rd_registry_free(m->registry);
    m->registry = NULL;
    uv_timer_start(&m->linger, on_linger, 50, 0);
}

static void shutdown_metrics_node(void *arg)
{
    node *mnode = arg;
    node_set_ready_check(mnode, NULL, NULL);
    node_shutdown(mnode);
}

/* The admin UI installed beside the program (<exe dir>/../share/siobroker/admin-ui), or NULL.
 * Caller frees with util_free. */
static char *default_admin_ui_dir(void)
{
    char *index = node_installed_file("admin-ui/index.html");
    if (index)
        *strrchr(index, '/') = '\0';
    return index;
}

static void app_shutdown(void *arg)
{
    app_bridge_shutdown(arg);
}

/* Each polling client holds up to two descriptors: lift the soft limit to the hard one. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    daemon_config cfg;
    daemon_config_init(&cfg);
    size_t nopts;
    const util_option *opts = daemon_config_options(&nopts);
    char err[512];
    switch (util_options_parse(opts, nopts, &cfg, argc, argv, err, sizeof err)) {
    case UTIL_OPTS_HELP:
        util_options_usage(stdout, "siobroker",
                           "A Socket.IO v5 / Engine.IO v4 server node; run several behind any load "
                           "balancer.",
                           opts, nopts);
        daemon_config_free(&cfg);
        return 0;
    case UTIL_OPTS_VERSION:
        printf("siobroker %s\n", SIO_VERSION);
        daemon_config_free(&cfg);
        return 0;
    case UTIL_OPTS_ERROR:
        fprintf(stderr, "siobroker: %s\n", err);
        daemon_config_free(&cfg);
        return 2;
    default: break;
    }
    daemon_config_finish(&cfg);
    if (cfg.redis_url && !cfg.cluster_secret && !cfg.insecure_cluster) {
        fprintf(stderr, "siobroker: --redis needs --cluster-secret (or SIO_CLUSTER_SECRET): nodes "
                        "sign the requests they forward to each other; --insecure-cluster runs "
                        "without (trusted networks only)\n");
        daemon_config_free(&cfg);
        return 2;
    }
    if (cfg.admin && !cfg.admin_no_auth) {
        char why[160];
        if (!cfg.admin_user || !cfg.admin_password_hash) {
            fprintf(stderr, "siobroker: --admin needs --admin-user and --admin-password-hash (a "
                            "bcrypt hash), or --admin-no-auth (trusted networks only)\n");
            daemon_config_free(&cfg);
            return 2;
        }
        if (daemon_admin_check_hash(cfg.admin_password_hash, why, sizeof why) != 0) {
            fprintf(stderr, "siobroker: --admin-password-hash: %s\n", why);
            daemon_config_free(&cfg);
            return 2;
        }
    }
    bool uses_app = false;
    for (size_t i = 0; i < cfg.n_ns; i++)
        uses_app |= strcmp(cfg.ns_policies[i], "app") == 0;
    if (uses_app && !cfg.app_url) {
        fprintf(stderr, "siobroker: a namespace with the app policy needs --app-url (or "
                        "SIO_APP_URL): where the application's handlers answer\n");
        daemon_config_free(&cfg);
        return 2;
    }
    if (cfg.app_url && !cfg.app_secret && !cfg.insecure_app) {
        fprintf(stderr, "siobroker: --app-url needs --app-secret (or SIO_APP_SECRET, 16+ "
                        "characters): the app checks that calls come from a node; --insecure-app "
                        "runs without (trusted networks only)\n");
        daemon_config_free(&cfg);
        return 2;
    }
    if (cfg.app_url && !cfg.app_secret)
        UTIL_LOGW(UTIL_SUB_NODE, "--insecure-app: calls to the app are not signed");
    if (cfg.redis_url && !cfg.cluster_secret)
        UTIL_LOGW(UTIL_SUB_CLUSTER, "--insecure-cluster: forwarded requests are neither signed nor "
                                    "checked");
    char *default_js = NULL;
    if (!cfg.client_js) {
        default_js = node_default_client_js();
        cfg.node.client_js = default_js;
    }

    daemon_state ds = {0};
    size_t budget = cfg.max_memory;
    char why[128] = "--max-memory";
    if (cfg.max_memory_auto)
        budget = daemon_memory_auto(why, sizeof why);
    ds.budget = eio_budget_new(budget);
    cfg.node.eio.budget = ds.budget;
    uv_loop_t loop;
    uv_loop_init(&loop);
    cluster *cl = NULL;
    node *nd = node_new(&loop, &cfg.node, err, sizeof err);
    util_free(default_js);
    if (!nd) {
        fprintf(stderr, "siobroker: %s\n", err);
        uv_loop_close(&loop);
        eio_budget_free(ds.budget);
        daemon_config_free(&cfg);
        return 2;
    }
    if (budget)
        UTIL_LOGI(UTIL_SUB_NODE,
                  "memory budget for clients: %zu MiB (%s); %zu KiB per session at most "
                  "(--max-session-queue)",
                  budget >> 20, why, cfg.node.eio.max_queue_bytes >> 10);
    else
        UTIL_LOGW(UTIL_SUB_NODE, "no memory budget (--max-memory 0): %zu KiB per session at most",
                  cfg.node.eio.max_queue_bytes >> 10);

    node_set_ready_check(nd, daemon_ready, &ds);
    uv_timer_init(&loop, &ds.chores);
    uv_timer_start(&ds.chores, on_chores, 1000, 1000);
    node_on_shutdown(nd, stop_chores, &ds);
    sio_server *srv = node_attach_socketio(nd, cfg.path, &cfg.sio);
    char node_id[16];
    util_rand_id(node_id, 6);
    daemon_metrics_src msrc = {
        .nd = nd,
        .srv = srv,
        .budget = ds.budget,
        .node_id = cfg.node_id ? cfg.node_id : node_id,
        .version = SIO_VERSION,
    };
    membership *m = NULL;
    if (cfg.redis_url) {
        rd_cluster_config cc;
        memset(&cc, 0, sizeof cc);
        char urlbuf[512];
        rd_link_parse_url(cfg.redis_url, &cc.link, urlbuf, sizeof urlbuf, err, sizeof err);
        cc.key = cfg.redis_key;
        cc.requests_timeout_ms = cfg.redis_timeout_ms;
        cc.link.health_interval_ms = cfg.redis_health_ms;
        cc.link.stall_timeout_ms = cfg.redis_stall_ms;
        cc.link.max_output_bytes = cfg.redis_max_output;
        m = util_calloc(1, sizeof *m);
        m->nd = nd;
        m->metrics = &msrc;
        m->srv = srv;
        m->cluster = rd_cluster_new(&loop, &cc, on_cluster_state, m);
        sio_server_set_adapter(srv, rd_adapter_factory, m->cluster);
        char advertise[128];
        snprintf(advertise, sizeof advertise, "%s:%d", cfg.listen_host, node_port(nd));
        rd_registry_config rc = {
            .key = cfg.redis_key,
            .node_id = cfg.node_id ? cfg.node_id : node_id,
            .address = cfg.advertise ? cfg.advertise : advertise,
            .version = SIO_VERSION,
        };
        m->registry = rd_registry_new(&loop, rd_cluster_link(m->cluster), &rc, registry_counts, m);
        rd_control_config ctl = {.key = cfg.redis_key, .node_id = rc.node_id};
        m->control = rd_control_new(rd_cluster_link(m->cluster), &ctl, control_answer, m);
        snprintf(m->node_id, sizeof m->node_id, "%s", rc.node_id);
        cluster_config ccfg = {
            .node_id = m->node_id,
            .secret = cfg.cluster_secret,
            .route = route_lookup,
            .forget = route_forget,
            .route_ud = m,
            .forward_timeout_ms = cfg.cluster_timeout_ms,
        };
        cl = cluster_attach(nd, &ccfg);
        node_observe_sessions(nd, on_session_open, on_session_close, m);
        ds.m = m;
        m->ds = &ds;
        uv_timer_init(&loop, &m->linger);
        m->linger.data = m;
        node_on_shutdown(nd, leave_cluster, m);
        msrc.cl = cl;
        msrc.redis = m->cluster;
        msrc.node_id = m->node_id;
    }
    node *mnode = NULL; /* --metrics-listen: an internal node on the same loop, routes only */
    if (cfg.metrics_host[0]) {
        node_config mc;
        node_config_defaults(&mc);
        mc.host = cfg.metrics_host;
        mc.port = cfg.metrics_port;
        mc.max_connections = 64;
        mnode = node_new(&loop, &mc, err, sizeof err);
        if (!mnode) {
            fprintf(stderr, "siobroker: --metrics-listen: %s\n", err);
            node_shutdown(nd);
            uv_run(&loop, UV_RUN_DEFAULT);
            node_free(nd);
            cluster_free(cl);
            uv_loop_close(&loop);
            daemon_config_free(&cfg);
            return 2;
        }
        daemon_metrics_attach(mnode, &msrc);
        node_set_ready_check(mnode, daemon_ready, &ds);
        node_on_shutdown(nd, shutdown_metrics_node, mnode);
    } else {
        daemon_metrics_attach(nd, &msrc);
    }
    app_bridge *bridge = NULL;
    app_policy *app = NULL;
    if (uses_app) {
        app_bridge_config bc = {
            .url = cfg.app_url,
            .secret = cfg.app_secret,
            .node_id = cfg.node_id ? cfg.node_id : node_id,
            .concurrency = cfg.app_concurrency,
            .batch = cfg.app_batch,
            .timeout_ms = cfg.app_timeout_ms,
            .max_answer = cfg.app_max_answer,
        };
        bridge = app_bridge_new(&loop, &bc, err, sizeof err); /* the URL was checked */
        app = app_policy_new(srv, bridge, &loop, cfg.app_queue);
        node_on_shutdown(nd, app_shutdown, bridge);
    }
    for (size_t i = 0; i < cfg.n_ns; i++) {
        if (strcmp(cfg.ns_policies[i], "app") == 0)
            daemon_policy_app(srv, cfg.ns_names[i], app);
        else
            daemon_policy_apply(srv, cfg.ns_names[i], cfg.ns_policies[i], &cfg.rooms);
    }
    daemon_admin *admin = NULL;
    if (cfg.admin) {
        char *ui_dir = cfg.admin_ui_dir ? NULL : default_admin_ui_dir();
        char host[128], sid[256];
        if (gethostname(host, sizeof host) != 0)
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
        snprintf(sid, sizeof sid, "%s#%s", host, m ? m->node_id : "");
        daemon_admin_config ac = {
            .username = cfg.admin_user,
            .password_hash = cfg.admin_password_hash,
            .no_auth = cfg.admin_no_auth,
            .readonly = cfg.admin_readonly,
            .server_id = cfg.admin_server_id ? cfg.admin_server_id : (m ? sid : NULL),
            .session_secret = cfg.cluster_secret,
            .ui_dir = cfg.admin_ui_dir ? cfg.admin_ui_dir : ui_dir,
            .max_sockets = cfg.admin_max_sockets,
            .updates_per_s = cfg.admin_updates,
        };
        if (!ac.ui_dir)
            UTIL_LOGW(UTIL_SUB_SOCKETIO, "admin UI files not found (share/siobroker/admin-ui): "
                                         "/admin/ is not served; the /admin namespace is");
        admin = daemon_admin_new(nd, srv, &ac, err, sizeof err);
        util_free(ui_dir);
        if (admin) {
            msrc.extra = daemon_admin_metrics;
            msrc.extra_ud = admin;
        } else {
            UTIL_LOGE(UTIL_SUB_SOCKETIO, "admin UI not started: %s", err);
        }
    }
    node_handle_signals(nd);
    uv_run(&loop, UV_RUN_DEFAULT);
    node_free(mnode);
    node_free(nd);
    daemon_admin_free(admin);
    app_policy_free(app);
    app_bridge_free(bridge);
    cluster_free(cl);
    int rc = uv_loop_close(&loop);
    eio_budget_free(ds.budget);
    daemon_config_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "siobroker: event loop did not close cleanly\n");
        return 1;
    }
    return 0;
}
