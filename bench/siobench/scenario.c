/* scenario: siobench's runs and their phases (connect, settle, warm-up, measure, drain, teardown),
 * driven by the clients' events and two libuv timers; fills one sb_result per run. */
#include "siobench.h"

#include "util_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum phase {
    PH_NONE,
    PH_CONNECT,
    PH_SETTLE,
    PH_WARMUP,
    PH_MEASURE,
    PH_DRAIN,
    PH_TEARDOWN,
} phase;

/** One run of a scenario: which clients, where, and what they do once connected. */
typedef struct run_plan {
    char name[64];
    sb_scenario kind; /**< SB_SC_CONNECT, IDLE, FANOUT or ECHO */
    sb_transport transport;
    const sb_url *url;
    const sb_url *pub_url; /**< non-NULL: a fanout publisher connects there */
    unsigned clients;
    unsigned window; /**< echo: outstanding acks per client */
} run_plan;

static struct {
    run_plan plans[8];
    unsigned n_plans, cur;
    phase ph;
    uint64_t *echo_t;  /**< echo: send time per (client, ack id % window) */
    uint64_t inflight; /**< echo: emits waiting for an ack */
    char *buf;         /**< one emitted packet */
    size_t buf_cap;
    const char *first_error;
    uint64_t t_first_send;
} R;

uint64_t sb_now_us(void)
{
    return uv_hrtime() / 1000;
}

void sb_read_arrived(sb_bench *b)
{
    b->t_read = sb_now_us();
}

static const run_plan *plan(void)
{
    return &R.plans[R.cur];
}

static void run_next(sb_bench *b);
static void teardown(sb_bench *b);

static void arm_deadline(sb_bench *b, double seconds, uv_timer_cb cb)
{
    uv_timer_stop(&b->deadline);
    uv_timer_start(&b->deadline, cb, (uint64_t)(seconds * 1000), 0);
}

/* ---- connect phase ---------------------------------------------------------------------- */

static void on_kick(uv_idle_t *h)
{
    sb_bench *b = h->data;
    while (b->next_start < b->n_clients && b->opening < b->args.concurrency) {
        sb_client *c = &b->clients[b->next_start++];
        b->opening++;
        sb_client_start(c);
    }
    if (b->next_start >= b->n_clients || b->opening >= b->args.concurrency)
        uv_idle_stop(h);
}

static void after_connect(sb_bench *b);

static void on_connect_deadline(uv_timer_t *t)
{
    sb_bench *b = t->data;
    b->timed_out = true;
    after_connect(b);
}

static void check_connected(sb_bench *b)
{
    if (R.ph == PH_CONNECT && b->ready + b->failed == b->n_clients)
        after_connect(b);
}

void sb_on_ready(sb_client *c)
{
    sb_bench *b = c->b;
    if (R.ph != PH_CONNECT)
        return;
    uint64_t now = sb_now_us();
    b->opening--;
    b->ready++;
    b->t_last = now;
    if (!c->publisher)
        sb_stats_add(&b->res->connect_lat, now - c->t0);
    uv_idle_start(&b->kick, on_kick);
    check_connected(b);
}

void sb_on_closed(sb_client *c, const char *why)
{
    sb_bench *b = c->b;
    if (c->state == SB_CLOSED)
        return;
    sb_state prev = c->state;
    c->state = SB_CLOSED;
    b->closed++;
    if (R.ph == PH_TEARDOWN)
        return;
    if (!R.first_error)
        R.first_error = why;
    if (R.ph == PH_CONNECT && prev != SB_READY) {
        b->opening--;
        b->failed++;
        uv_idle_start(&b->kick, on_kick);
        check_connected(b);
    } else if (prev == SB_READY) {
        b->dropped++;
    }
}

/* ---- idle ------------------------------------------------------------------------------- */

static void on_settled(uv_timer_t *t)
{
    sb_bench *b = t->data;
    if (b->args.server_pid)
        b->res->rss_after_kb = sb_proc_rss_kb(b->args.server_pid);
    teardown(b);
}

/* ---- fanout ----------------------------------------------------------------------------- */

static sb_client *publisher(sb_bench *b)
{
    return plan()->pub_url ? &b->clients[b->n_clients - 1] : NULL;
}

static unsigned ready_receivers(const sb_bench *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->n_recv; i++)
        n += b->clients[i].state == SB_READY;
    return n;
}

static void emit(sb_client *c, const char *event, unsigned seq, uint32_t ack)
{
    sb_bench *b = c->b;
    const char *nsp = strcmp(b->args.nsp, "/") == 0 ? "" : b->args.nsp;
    int n =
        snprintf(R.buf, R.buf_cap, "42%s%s%u[\"%s\",{\"s\":%u,\"t\":%llu,\"p\":\"%s\"}]", nsp,
                 *nsp ? "," : "", ack, event, seq, (unsigned long long)sb_now_us(), b->payload_pad);
    c->inflight++;
    sb_client_send(c, R.buf, (size_t)n);
}

static void measure_done(sb_bench *b);

static void pump(sb_bench *b)
{
    if (R.ph != PH_MEASURE)
        return;
    sb_client *p = publisher(b);
    if (!p || p->state != SB_READY)
        return;
    uint64_t allowed = b->args.events;
    if (b->args.rate > 0) {
        double el = (double)(sb_now_us() - R.t_first_send) / 1e6;
        uint64_t a = (uint64_t)(el * b->args.rate) + 1;
        if (a < allowed)
            allowed = a;
    }
    while (b->sent < allowed && b->sent - b->acked < b->args.window) {
        emit(p, "bench", b->sent, p->next_ack++);
        b->sent++;
    }
}

static void on_pace(uv_timer_t *t)
{
    sb_bench *b = t->data;
    pump(b);
    if (b->sent >= b->args.events)
        uv_timer_stop(t);
}

static void check_fanout_done(sb_bench *b)
{
    if (R.ph == PH_MEASURE && b->delivered >= b->res->expected && b->acked >= b->args.events)
        measure_done(b);
}

static void on_measure_deadline(uv_timer_t *t)
{
    sb_bench *b = t->data;
    b->timed_out = true;
    if (R.ph == PH_MEASURE)
        measure_done(b);
    else if (R.ph == PH_DRAIN)
        teardown(b);
}

static void start_measure(sb_bench *b)
{
    R.ph = PH_MEASURE;
    b->res->expected = (uint64_t)ready_receivers(b) * b->args.events;
    b->sent = b->acked = 0;
    b->delivered = b->dup = 0;
    R.t_first_send = b->t_phase = sb_now_us();
    b->t_last = b->t_phase;
    arm_deadline(b, b->args.timeout, on_measure_deadline);
    if (b->args.rate > 0)
        uv_timer_start(&b->timer, on_pace, 1, 1);
    pump(b);
    check_fanout_done(b);
}

static void on_warm_deadline(uv_timer_t *t)
{
    start_measure(t->data);
}

static void check_warm_done(sb_bench *b)
{
    if (R.ph == PH_WARMUP && b->warm_seen >= b->warm_expected && b->acked >= b->args.warmup)
        start_measure(b);
}

static void start_fanout(sb_bench *b)
{
    sb_client *p = publisher(b);
    if (!p || p->state != SB_READY) {
        R.first_error = R.first_error ? R.first_error : "the publisher did not connect";
        teardown(b);
        return;
    }
    size_t n = (size_t)b->args.events * b->n_recv;
    b->seen = util_calloc(n / 8 + 1, 1);
    if (b->args.warmup == 0) {
        start_measure(b);
        return;
    }
    R.ph = PH_WARMUP;
    b->acked = 0;
    b->warm_seen = 0;
    b->warm_expected = (uint64_t)ready_receivers(b) * b->args.warmup;
    arm_deadline(b, b->args.timeout, on_warm_deadline);
    for (unsigned i = 0; i < b->args.warmup; i++)
        emit(p, "warm", i, p->next_ack++);
}

static uint64_t field(const char *p, const char *end, const char *key)
{
    size_t kl = strlen(key);
    for (; p + kl < end; p++) {
        if (*p == '"' && memcmp(p, key, kl) == 0) {
            p += kl;
            uint64_t v = 0;
            while (p < end && *p >= '0' && *p <= '9')
                v = v * 10 + (uint64_t)(*p++ - '0');
            return v;
        }
    }
    return UINT64_MAX;
}

void sb_on_event(sb_client *c, const char *name, size_t name_len, const char *args, size_t len)
{
    sb_bench *b = c->b;
    if (c->publisher)
        return;
    if (name_len == 4 && memcmp(name, "warm", 4) == 0) {
        b->warm_seen++;
        check_warm_done(b);
        return;
    }
    if (name_len != 5 || memcmp(name, "bench", 5) != 0 || R.ph != PH_MEASURE)
        return;
    uint64_t now = b->t_read;
    const char *end = args + len;
    uint64_t seq = field(args, end, "\"s\":");
    uint64_t t = field(args, end, "\"t\":");
    if (seq >= b->args.events || t == UINT64_MAX)
        return;
    size_t bit = (size_t)c->idx * b->args.events + (size_t)seq;
    if (b->seen[bit / 8] & (1u << (bit % 8))) {
        b->dup++;
        return;
    }
    b->seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
    b->delivered++;
    b->t_last = now;
    sb_stats_add(&b->res->lat, now >= t ? now - t : 0);
    check_fanout_done(b);
}

static void measure_done(sb_bench *b)
{
    sb_result *r = b->res;
    uv_timer_stop(&b->timer);
    r->delivered = b->delivered;
    r->dup = b->dup;
    r->lost = r->expected > b->delivered ? r->expected - b->delivered : 0;
    r->elapsed_s = (double)(b->t_last - R.t_first_send) / 1e6;
    r->valid = true;
    teardown(b);
}

/* ---- echo ------------------------------------------------------------------------------- */

static void echo_emit(sb_client *c)
{
    uint32_t id = c->next_ack++;
    unsigned w = plan()->window;
    R.echo_t[(size_t)c->idx * w + id % w] = sb_now_us();
    R.inflight++;
    emit(c, "echo", id, id);
}

static void on_echo_end(uv_timer_t *t)
{
    sb_bench *b = t->data;
    sb_result *r = b->res;
    r->elapsed_s = (double)(sb_now_us() - b->t_phase) / 1e6;
    r->valid = true;
    R.ph = PH_DRAIN;
    if (R.inflight == 0) {
        teardown(b);
        return;
    }
    arm_deadline(b, 5, on_measure_deadline);
}

static void start_echo(sb_bench *b)
{
    R.ph = PH_MEASURE;
    R.inflight = 0;
    R.echo_t = util_calloc((size_t)b->n_clients * plan()->window, sizeof *R.echo_t);
    b->t_phase = sb_now_us();
    b->echo_end = b->t_phase + (uint64_t)(b->args.duration * 1e6);
    uv_timer_start(&b->deadline, on_echo_end, (uint64_t)(b->args.duration * 1000), 0);
    for (unsigned i = 0; i < b->n_clients; i++)
        if (b->clients[i].state == SB_READY)
            for (unsigned k = 0; k < plan()->window; k++)
                echo_emit(&b->clients[i]);
}

void sb_on_ack(sb_client *c, uint32_t ack_id, const char *args, size_t len)
{
    (void)args;
    (void)len;
    sb_bench *b = c->b;
    if (c->inflight)
        c->inflight--;
    if (plan()->kind == SB_SC_FANOUT) {
        if (!c->publisher)
            return;
        b->acked++;
        if (R.ph == PH_WARMUP)
            check_warm_done(b);
        else if (R.ph == PH_MEASURE) {
            pump(b);
            check_fanout_done(b);
        }
        return;
    }
    if (plan()->kind != SB_SC_ECHO || !R.echo_t)
        return;
    uint64_t now = sb_now_us();
    if (R.inflight)
        R.inflight--;
    if (R.ph == PH_MEASURE) {
        b->res->acks++;
        sb_stats_add(&b->res->lat,
                     now - R.echo_t[(size_t)c->idx * plan()->window + ack_id % plan()->window]);
        echo_emit(c);
    } else if (R.ph == PH_DRAIN && R.inflight == 0) {
        teardown(b);
    }
}

/* ---- run life cycle --------------------------------------------------------------------- */

static void after_connect(sb_bench *b)
{
    if (R.ph != PH_CONNECT)
        return;
    uv_timer_stop(&b->deadline);
    uv_idle_stop(&b->kick);
    sb_result *r = b->res;
    r->connected = ready_receivers(b);
    r->failed = r->clients - r->connected;
    r->connect_s = (double)(b->t_last - b->t_phase) / 1e6;
    switch (plan()->kind) {
    case SB_SC_IDLE:
        R.ph = PH_SETTLE;
        r->valid = true;
        uv_timer_start(&b->deadline, on_settled, (uint64_t)(b->args.settle * 1000), 0);
        return;
    case SB_SC_FANOUT: start_fanout(b); return;
    case SB_SC_ECHO: start_echo(b); return;
    default: r->valid = true; teardown(b);
    }
}

static void free_run(sb_bench *b)
{
    for (unsigned i = 0; i < b->n_clients; i++) {
        util_buf_free(&b->clients[i].out);
        util_buf_free(&b->clients[i].rx);
        sb_wsr_parser_free(&b->clients[i].wsr);
        util_free(b->clients[i].sid);
    }
    util_free(b->clients);
    b->clients = NULL;
    b->n_clients = b->n_recv = 0;
    util_free(b->seen);
    b->seen = NULL;
    util_free(R.echo_t);
    R.echo_t = NULL;
}

static void on_teardown_tick(uv_timer_t *t)
{
    sb_bench *b = t->data;
    if (b->live > 0 && sb_now_us() - b->t_phase < 10 * 1000000ull)
        return;
    uv_timer_stop(t);
    if (b->live > 0) {
        fprintf(stderr, "siobench: %u clients did not close within 10 s (left allocated)\n",
                b->live);
        for (unsigned i = 0; i < b->n_clients; i++)
            if (b->clients[i].live)
                fprintf(stderr, "siobench: client %u (%s, %s) still open\n", i,
                        b->clients[i].transport == SB_POLLING ? "polling" : "websocket",
                        b->clients[i].publisher ? "publisher" : "receiver");
        b->clients = NULL; /* lws may still reach them: leak rather than free */
        b->n_clients = 0;
    }
    free_run(b);
    R.cur++;
    run_next(b);
}

static void teardown(sb_bench *b)
{
    if (R.ph == PH_TEARDOWN)
        return;
    sb_result *r = b->res;
    r->self_rss_kb = sb_proc_rss_kb(0);
    if (R.first_error && (r->failed || r->lost || b->dropped))
        fprintf(stderr, "siobench: %s: first error: %s\n", r->name, R.first_error);
    if (b->dropped)
        fprintf(stderr, "siobench: %s: %u clients closed during the run\n", r->name, b->dropped);
    R.ph = PH_TEARDOWN;
    uv_timer_stop(&b->deadline);
    uv_timer_stop(&b->timer);
    for (unsigned i = 0; i < b->n_clients; i++) {
        sb_client *c = &b->clients[i];
        sb_client_close(c);
        if (c->state != SB_CLOSED) {
            c->state = SB_CLOSED;
            b->closed++;
        }
    }
    b->t_phase = sb_now_us();
    uv_timer_start(&b->timer, on_teardown_tick, 10, 10);
}

static void finish(sb_bench *b)
{
    uv_timer_stop(&b->timer);
    uv_timer_stop(&b->deadline);
    uv_idle_stop(&b->kick);
    uv_close((uv_handle_t *)&b->timer, NULL);
    uv_close((uv_handle_t *)&b->deadline, NULL);
    uv_close((uv_handle_t *)&b->kick, NULL);
    sb_ws_destroy(b);
}

static void run_next(sb_bench *b)
{
    if (R.cur >= R.n_plans || b->n_results >= sizeof b->results / sizeof *b->results) {
        finish(b);
        return;
    }
    const run_plan *p = plan();
    sb_result *r = &b->results[b->n_results++];
    memset(r, 0, sizeof *r);
    b->res = r;
    snprintf(r->name, sizeof r->name, "%s", p->name);
    r->scenario = p->kind;
    r->transport = p->transport;
    r->clients = p->clients;
    r->events = p->kind == SB_SC_FANOUT ? b->args.events : 0;
    r->size = b->args.size;
    r->rss_before_kb = r->rss_after_kb = -1;
    if (b->args.server_pid)
        r->rss_before_kb = sb_proc_rss_kb(b->args.server_pid);
    b->n_recv = p->clients;
    b->n_clients = p->clients + (p->pub_url ? 1 : 0);
    b->clients = util_calloc(b->n_clients, sizeof *b->clients);
    for (unsigned i = 0; i < b->n_clients; i++) {
        sb_client *c = &b->clients[i];
        c->b = b;
        c->idx = i;
        c->upgrade = p->transport == SB_UPGRADE;
        c->transport = (uint8_t)(c->upgrade ? SB_POLLING : p->transport);
        c->url = p->url;
        c->join = p->kind == SB_SC_IDLE || p->kind == SB_SC_FANOUT;
    }
    if (p->pub_url) {
        sb_client *pub = &b->clients[b->n_clients - 1];
        pub->publisher = true;
        pub->url = p->pub_url;
        pub->transport = SB_WEBSOCKET;
    }
    b->next_start = b->opening = b->ready = b->failed = b->closed = b->dropped = 0;
    b->timed_out = false;
    R.first_error = NULL;
    R.ph = PH_CONNECT;
    b->t_phase = b->t_last = sb_now_us();
    arm_deadline(b, b->args.timeout, on_connect_deadline);
    uv_idle_start(&b->kick, on_kick);
}

static void add_plan(const char *name, sb_scenario kind, sb_transport t, const sb_url *url,
                     const sb_url *pub, unsigned clients)
{
    run_plan *p = &R.plans[R.n_plans++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->transport = t;
    p->url = url;
    p->pub_url = pub;
    p->clients = clients;
    p->window = 0; /* sb_args' window unless set */
}

int sb_run(sb_bench *b)
{
    sb_args *a = &b->args;
    memset(&R, 0, sizeof R);
    R.buf_cap = a->size + 256;
    R.buf = util_malloc(R.buf_cap);
    b->payload_pad = util_malloc(a->size + 1);
    memset(b->payload_pad, 'x', a->size);
    b->payload_pad[a->size] = 0;
    uv_timer_init(&b->loop, &b->timer);
    uv_timer_init(&b->loop, &b->deadline);
    uv_idle_init(&b->loop, &b->kick);
    b->timer.data = b->deadline.data = b->kick.data = b;
    const char *tn = a->transport == SB_POLLING   ? "polling"
                     : a->transport == SB_UPGRADE ? "upgrade"
                                                  : "websocket";
    char name[64];
    switch (a->scenario) {
    case SB_SC_CONNECT:
        snprintf(name, sizeof name, "connect %s", tn);
        add_plan(name, SB_SC_CONNECT, a->transport, &a->url, NULL, a->clients);
        break;
    case SB_SC_IDLE:
        snprintf(name, sizeof name, "idle %s", tn);
        add_plan(name, SB_SC_IDLE, a->transport, &a->url, NULL, a->clients);
        break;
    case SB_SC_FANOUT:
    case SB_SC_POLLING:
        snprintf(name, sizeof name, "fanout %s", tn);
        add_plan(name, SB_SC_FANOUT, a->transport, &a->url, &a->pub_url, a->clients);
        break;
    case SB_SC_ECHO:
        snprintf(name, sizeof name, "echo %s", tn);
        add_plan(name, SB_SC_ECHO, a->transport, &a->url, NULL, a->clients);
        break;
    case SB_SC_CLUSTER:
        add_plan("fanout cross-node", SB_SC_FANOUT, a->transport, &a->url, &a->pub_url, a->clients);
        add_plan("fanout single-node", SB_SC_FANOUT, a->transport, &a->url, &a->url, a->clients);
        if (a->has_lb_url) {
            /* One request at a time per client: the round trip itself, not a pipeline. */
            add_plan("polling echo direct", SB_SC_ECHO, SB_POLLING, &a->url, NULL, a->poll_clients);
            R.plans[R.n_plans - 1].window = 1;
            add_plan("polling echo balancer", SB_SC_ECHO, SB_POLLING, &a->lb_url, NULL,
                     a->poll_clients);
            R.plans[R.n_plans - 1].window = 1;
        }
        break;
    }
    for (unsigned i = 0; i < R.n_plans; i++)
        if (!R.plans[i].window)
            R.plans[i].window = a->window;
    run_next(b);
    return 0;
}

void sb_run_cleanup(sb_bench *b)
{
    free_run(b);
    util_free(R.buf);
    R.buf = NULL;
    util_free(b->payload_pad);
    b->payload_pad = NULL;
}
