/* rd_control: a node's side of siobroker's control channel (protocol in rd_control.h): decode a
 * request, let the handler answer it, publish the reply on the requester's channel. */
#include "rd_control.h"

#include "rd_codec.h"
#include "rd_control_req.h"
#include "util_alloc.h"
#include "util_buf.h"
#include "util_log.h"

#include <string.h>

struct rd_control {
    rd_link *link;      /**< borrowed */
    char *node_id;      /**< owned */
    char *reply_prefix; /**< owned: "K#siobroker-reply#" */
    char *ch_all;       /**< owned: "K#siobroker#" */
    char *ch_node;      /**< owned: "K#siobroker#NODE#" */
    rd_control_fn fn;
    void *ud;
};

static int append_json(const char *buffer, size_t size, void *data)
{
    util_buf_append(data, buffer, size);
    return 0;
}

/* Publishes reply (borrowed) as JSON on channel. */
static void publish_reply(rd_control *c, const char *channel, const json_t *reply)
{
    util_buf text = UTIL_BUF_INIT;
    json_dump_callback(reply, append_json, &text, JSON_COMPACT);
    if (rd_link_publish(c->link, channel, strlen(channel), text.data, text.len) != 0)
        UTIL_LOGD(UTIL_SUB_CLUSTER, "control reply not sent: redis unavailable");
    util_buf_free(&text);
}

static void on_request(void *ud, const char *channel, size_t channel_len, const uint8_t *payload,
                       size_t len)
{
    (void)channel, (void)channel_len;
    rd_control *c = ud;
    rd_control_req r;
    const char *why;
    if (rd_control_parse(payload, len, c->reply_prefix, &r, &why) != 0) {
        UTIL_LOGW_RL(UTIL_SUB_CLUSTER, "control request dropped: %s", why);
        return;
    }
    const char *err = NULL;
    json_t *result = c->fn ? c->fn(c->ud, r.type, r.req, &err) : NULL;
    json_t *out = json_object();
    json_object_set_new(out, "id", json_string(r.id));
    json_object_set_new(out, "node", json_string(c->node_id));
    json_object_set_new(out, "ok", json_boolean(result != NULL));
    if (result) {
        json_object_update(out, result);
        json_decref(result);
    } else {
        json_object_set_new(out, "error", json_string(err ? err : "unknown request type"));
    }
    UTIL_LOGD(UTIL_SUB_CLUSTER, "control request %s (%s) answered on %s", r.id, r.type, r.reply);
    publish_reply(c, r.reply, out);
    json_decref(out);
    rd_control_req_clear(&r);
}

rd_control *rd_control_new(rd_link *link, const rd_control_config *cfg, rd_control_fn fn, void *ud)
{
    rd_control *c = util_calloc(1, sizeof *c);
    const char *key = cfg->key ? cfg->key : "socket.io";
    c->link = link;
    c->node_id = util_strdup(cfg->node_id);
    c->fn = fn;
    c->ud = ud;
    util_buf b = UTIL_BUF_INIT;
    rd_channel_control_reply(&b, key, NULL);
    c->reply_prefix = util_buf_steal_str(&b);
    rd_channel_control(&b, key, NULL);
    c->ch_all = util_buf_steal_str(&b);
    rd_channel_control(&b, key, c->node_id);
    c->ch_node = util_buf_steal_str(&b);
    rd_link_subscribe(link, c->ch_all, false, on_request, c);
    rd_link_subscribe(link, c->ch_node, false, on_request, c);
    return c;
}

void rd_control_free(rd_control *c)
{
    if (!c)
        return;
    util_free(c->node_id);
    util_free(c->reply_prefix);
    util_free(c->ch_all);
    util_free(c->ch_node);
    util_free(c);
}
