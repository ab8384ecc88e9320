/* app_bridge: batched, signed JSON POSTs to the application over the cluster's keep-alive pool. */
#include "app_bridge.h"

#include "app_answer.h"

#include "cluster_auth.h"
#include "cluster_pool.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/** One submitted call, owned by the bridge until its callback has run. */
typedef struct app_item {
    json_t *call;
    app_call_done done;
    void *ud;
    struct app_item *next;
} app_item;

/** One POST in flight and the calls it carries, in order. */
typedef struct app_post {
    app_bridge *b;
    app_item *items;
    size_t n;
    cluster_req *req;
    struct app_post *next, *prev;
} app_post;

struct app_bridge {
    uv_loop_t *loop;
    cluster_pool *pool;
    char hostport[280];
    char path[1024];
    char *secret;
    char *node_id;
    uint32_t concurrency, batch, timeout_ms;
    app_item *head, **tail; /**< calls waiting for a POST slot, oldest first */
    size_t queued;
    unsigned in_flight;
    app_post *posts; /**< POSTs in flight */
    bool shut;
    app_ratelog fail_log;
};

bool app_ratelog_allow(app_ratelog *r, uint64_t now_ms, unsigned *suppressed)
{
    uint64_t sec = now_ms / 1000;
    if (sec != r->window) {
        r->window = sec;
        r->lines = 0;
    }
    if (r->lines >= APP_LOG_BURST) {
        r->quiet++;
        return false;
    }
    r->lines++;
    *suppressed = r->quiet;
    r->quiet = 0;
    return true;
}

int app_url_parse(const char *url, char *hostport, size_t hp_len, char *path, size_t path_len,
                  char *err, size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "the app URL must be http://host[:port]/path, got \"%s\"", url);
        return -1;
    }
    const char *h = url + 7;
    size_t hl = strcspn(h, "/?#");
    if (hl == 0 || hl >= hp_len - 4 || strpbrk(url, " \r\n")) {
        snprintf(err, errlen, "the app URL has no valid host: \"%s\"", url);
        return -1;
    }
    const char *rest = h + hl;
    if (*rest == '?' || *rest == '#') {
        snprintf(err, errlen, "the app URL may not have a query or fragment: \"%s\"", url);
        return -1;
    }
    const char *p = *rest ? rest : "/";
    if (strlen(p) >= path_len) {
        snprintf(err, errlen, "the app URL's path is too long");
        return -1;
    }
    /* Default port 80 when the host part has none ([v6]:port or name:port). */
    bool has_port;
    if (h[0] == '[') {
        const char *close = memchr(h, ']', hl);
        has_port = close && close + 1 < h + hl && close[1] == ':';
    } else {
        has_port = memchr(h, ':', hl) != NULL;
    }
    snprintf(hostport, hp_len, "%.*s%s", (int)hl, h, has_port ? "" : ":80");
    snprintf(path, path_len, "%s", p);
    return 0;
}

app_bridge *app_bridge_new(uv_loop_t *loop, const app_bridge_config *cfg, char *err, size_t errlen)
{
    app_bridge *b = util_calloc(1, sizeof *b);
    if (app_url_parse(cfg->url, b->hostport, sizeof b->hostport, b->path, sizeof b->path, err,
                      errlen)) {
        util_free(b);
        return NULL;
    }
    b->loop = loop;
    b->pool = cluster_pool_new(loop);
    cluster_pool_set_max_response(b->pool, cfg->max_answer);
    b->secret = cfg->secret ? util_strdup(cfg->secret) : NULL;
    b->node_id = util_strdup(cfg->node_id ? cfg->node_id : "");
    b->concurrency = cfg->concurrency ? cfg->concurrency : 1;
    b->batch = cfg->batch ? cfg->batch : 1;
    b->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    b->tail = &b->head;
    return b;
}

size_t app_bridge_queued(const app_bridge *b)
{
    return b->queued;
}

unsigned app_bridge_in_flight(const app_bridge *b)
{
    return b->in_flight;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Runs every item's callback with failure (or with its answer from answers when non-NULL), then
 * frees the items. */
static void items_finish(app_item *items, json_t *answers, const char *failure)
{
    size_t i = 0;
    while (items) {
        app_item *it = items;
        items = it->next;
        it->done(it->ud, answers ? json_array_get(answers, i) : NULL, failure);
        json_decref(it->call);
        util_free(it);
        i++;
    }
}

static void pump(app_bridge *b);

static void on_post_done(void *ud, cluster_pool_error err, const cluster_response *resp)
{
    app_post *p = ud;
    app_bridge *b = p->b;
    if (p->prev)
        p->prev->next = p->next;
    else
        b->posts = p->next;
    if (p->next)
        p->next->prev = p->prev;
    char why[160];
    const char *failure = NULL;
    json_t *answers = NULL;
    if (err != CLUSTER_POOL_OK) {
        snprintf(why, sizeof why, "%s", cluster_pool_error_message(err));
        failure = why;
    } else if (resp->status != 200) {
        snprintf(why, sizeof why, "the app answered HTTP %d", resp->status);
        failure = why;
    } else {
        const char *w = NULL;
        answers = app_answers_parse(resp->body, resp->body_len, p->n, &w);
        if (!answers) {
            snprintf(why, sizeof why, "invalid answer: %s", w);
            failure = why;
        }
    }
    if (failure) {
        unsigned quiet;
        if (app_ratelog_allow(&b->fail_log, uv_now(b->loop), &quiet)) {
            if (quiet)
                UTIL_LOGW(UTIL_SUB_NODE,
                          "app %s%s: %s (%zu call(s) failed; %u such lines suppressed)",
                          b->hostport, b->path, failure, p->n, quiet);
            else
                UTIL_LOGW(UTIL_SUB_NODE, "app %s%s: %s (%zu call(s) failed)", b->hostport, b->path,
                          failure, p->n);
        }
    }
    /* The slot stays taken while the callbacks run, so what they submit is batched together. */
    items_finish(p->items, answers, failure);
    json_decref(answers);
    util_free(p);
    b->in_flight--;
    pump(b);
}

/* Sends up to b->batch queued calls in one POST. */
/* Takes the oldest waiting call off b's queue (b->head must not be NULL); the caller owns it. */
static app_item *queue_pop(app_bridge *b)
{
    app_item *it = b->head;
    b->head = it->next;
    if (!b->head)
        b->tail = &b->head;
    b->queued--;
    it->next = NULL;
    return it;
}

static void post_start(app_bridge *b)
{
    app_post *p = util_calloc(1, sizeof *p);
    p->b = b;
    json_t *calls = json_array();
    app_item **tail = &p->items;
    while (b->head && p->n < b->batch) {
        app_item *it = queue_pop(b);
        *tail = it;
        tail = &it->next;
        json_array_append(calls, it->call);
        p->n++;
    }
    json_t *root = json_object();
    json_object_set_new(root, "v", json_integer(1));
    json_object_set_new(root, "node", json_string(b->node_id));
    json_object_set_new(root, "calls", calls);
    char *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    size_t blen = strlen(body);
    util_buf req = UTIL_BUF_INIT;
    util_buf_printf(&req,
                    "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\nX-Siobroker-Node: %s\r\n",
                    b->path, b->hostport, blen, b->node_id);
    if (b->secret) {
        uint64_t ts = wall_ms();
        char sig[CLUSTER_SIG_HEX + 1];
        cluster_sign_body(b->secret, ts, body, blen, sig);
        util_buf_printf(&req, "X-Siobroker-Ts: %" PRIu64 "\r\nX-Siobroker-Sig: %s\r\n", ts, sig);
    }
    util_buf_puts(&req, "\r\n");
    util_buf_append(&req, body, blen);
    util_free(body);
    p->next = b->posts;
    if (b->posts)
        b->posts->prev = p;
    b->posts = p;
    b->in_flight++;
    p->req = cluster_pool_request(b->pool, b->hostport, &req, b->timeout_ms, on_post_done, p);
}

static void pump(app_bridge *b)
{
    while (!b->shut && b->head && b->in_flight < b->concurrency)
        post_start(b);
}

void app_bridge_submit(app_bridge *b, json_t *call, app_call_done done, void *ud)
{
    if (b->shut) {
        done(ud, NULL, "node shutting down");
        json_decref(call);
        return;
    }
    app_item *it = util_calloc(1, sizeof *it);
    it->call = call;
    it->done = done;
    it->ud = ud;
    *b->tail = it;
    b->tail = &it->next;
    b->queued++;
    pump(b);
}

void app_bridge_shutdown(app_bridge *b)
{
    if (!b || b->shut)
        return;
    b->shut = true;
    while (b->posts) {
        app_post *p = b->posts;
        b->posts = p->next;
        cluster_pool_cancel(p->req);
        items_finish(p->items, NULL, "node shutting down");
        util_free(p);
        b->in_flight--;
    }
    while (b->head) { /* callbacks may queue more: they fail too (b->shut) */
        app_item *it = queue_pop(b);
        items_finish(it, NULL, "node shutting down");
    }
    cluster_pool_free(b->pool);
    b->pool = NULL;
}

void app_bridge_free(app_bridge *b)
{
    if (!b)
        return;
    app_bridge_shutdown(b);
    util_free(b->secret);
    util_free(b->node_id);
    util_free(b);
}
