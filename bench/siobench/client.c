/* client: the Engine.IO v4 / Socket.IO v5 client protocol of siobench, over either transport:
 * open -> namespace CONNECT -> optional join (ack id 0) -> events and acks; answers pings. */
#define _GNU_SOURCE /* memmem */
#include "siobench.h"

#include "util_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char sources[250][16];

const char *sb_client_source(const sb_bench *b, uint32_t idx)
{
    if (b->args.sources <= 1 || strncmp(b->args.url.host, "127.", 4) != 0)
        return NULL;
    unsigned k = idx % b->args.sources;
    if (!sources[k][0])
        snprintf(sources[k], sizeof sources[k], "127.0.0.%u", k + 2);
    return sources[k];
}

int sb_client_start(sb_client *c)
{
    c->state = SB_OPENING;
    c->t0 = sb_now_us();
    c->next_ack = 1;
    int r;
    if (c->transport == SB_POLLING)
        r = sb_poll_open(c);
    else
        r = c->b->args.ws_impl == SB_WS_RAW ? sb_raw_open(c) : sb_ws_open(c);
    if (r != 0 && c->state != SB_CLOSED)
        sb_on_closed(c, "cannot start the transport");
    return r;
}

void sb_client_send(sb_client *c, const char *text, size_t len)
{
    if (c->state == SB_CLOSED)
        return;
    if (c->transport == SB_WEBSOCKET && c->b->args.ws_impl == SB_WS_RAW)
        sb_raw_send(c, text, len);
    else if (c->transport == SB_WEBSOCKET)
        sb_ws_send(c, text, len);
    else
        sb_poll_send(c, text, len);
}

void sb_client_close(sb_client *c)
{
    if (c->upgrade && c->up_state > 0 && c->up_state < 3) {
        /* Both transports exist while upgrading. */
        sb_raw_close(c);
        sb_poll_close(c);
        return;
    }
    if (c->transport == SB_WEBSOCKET && c->b->args.ws_impl == SB_WS_RAW)
        sb_raw_close(c);
    else if (c->transport == SB_WEBSOCKET)
        sb_ws_close(c);
    else
        sb_poll_close(c);
}

/* Returns "" for the main namespace, else "NSP," (a static buffer of the bench's namespace). */
static const char *nsp_prefix(const sb_bench *b)
{
    static char prefix[70];
    if (strcmp(b->args.nsp, "/") == 0)
        return "";
    snprintf(prefix, sizeof prefix, "%s,", b->args.nsp);
    return prefix;
}

static void on_sio(sb_client *c, const char *p, size_t len)
{
    if (len < 1)
        return;
    char type = p[0];
    const char *q = p + 1, *end = p + len;
    if (q < end && *q == '/') { /* namespace prefix up to the comma */
        const char *comma = memchr(q, ',', (size_t)(end - q));
        q = comma ? comma + 1 : end;
    }
    char buf[192];
    switch (type) {
    case '0':
        if (c->state != SB_NSP_WAIT)
            return;
        if (c->join) {
            int n = snprintf(buf, sizeof buf, "42%s0[\"join\",\"%s\"]", nsp_prefix(c->b),
                             c->b->args.room);
            c->state = SB_JOINING;
            sb_client_send(c, buf, (size_t)n);
        } else {
            c->state = SB_READY;
            sb_on_ready(c);
        }
        return;
    case '4':
        sb_client_close(c);
        sb_on_closed(c, "namespace connect refused");
        return;
    case '1':
        sb_client_close(c);
        sb_on_closed(c, "namespace disconnected by the server");
        return;
    case '2': {
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (end - q < 4 || q[0] != '[' || q[1] != '"')
            return;
        const char *name = q + 2;
        const char *nend = memchr(name, '"', (size_t)(end - name));
        if (!nend)
            return;
        const char *args = nend + 1;
        if (args < end && *args == ',')
            args++;
        sb_on_event(c, name, (size_t)(nend - name), args, (size_t)(end - args));
        return;
    }
    case '3': {
        uint32_t id = 0;
        while (q < end && *q >= '0' && *q <= '9')
            id = id * 10 + (uint32_t)(*q++ - '0');
        if (id == 0) {
            if (c->state != SB_JOINING)
                return;
            if (!memmem(q, (size_t)(end - q), "\"ok\":true", 9)) {
                sb_client_close(c);
                sb_on_closed(c, "join refused");
                return;
            }
            c->state = SB_READY;
            sb_on_ready(c);
            return;
        }
        sb_on_ack(c, id, q, (size_t)(end - q));
        return;
    }
    default: return;
    }
}

/* Completes the upgrade once the probe was answered and polling is paused: "5" on the WebSocket,
 * polling closed, then the namespace CONNECT over the WebSocket. */
static void finish_upgrade(sb_client *c)
{
    if (c->up_state != 2 || !c->poll_paused || c->state == SB_CLOSED)
        return;
    c->up_state = 3;
    c->transport = SB_WEBSOCKET;
    sb_raw_send(c, "5", 1);
    sb_poll_detach(c);
    char buf[80];
    int n = snprintf(buf, sizeof buf, "40%s", nsp_prefix(c->b));
    c->state = SB_NSP_WAIT;
    sb_client_send(c, buf, (size_t)n);
}

void sb_client_ws_open(sb_client *c)
{
    if (c->up_state == 1)
        sb_raw_send(c, "2probe", 6);
}

void sb_client_poll_paused(sb_client *c)
{
    c->poll_paused = true;
    finish_upgrade(c);
}

void sb_client_on_packet(sb_client *c, const char *p, size_t len)
{
    if (len == 0 || c->state == SB_CLOSED)
        return;
    switch (p[0]) {
    case '0': {
        if (c->state != SB_OPENING)
            return;
        if (c->upgrade && c->transport == SB_POLLING) {
            /* engine.io-client probes the WebSocket at once; CONNECT goes over it afterwards. */
            if (c->up_state == 0) {
                c->up_state = 1;
                if (sb_raw_open(c) != 0) {
                    sb_client_close(c);
                    sb_on_closed(c, "cannot open the upgrade WebSocket");
                }
            }
            return;
        }
        char buf[80];
        int n = snprintf(buf, sizeof buf, "40%s", nsp_prefix(c->b));
        c->state = SB_NSP_WAIT;
        sb_client_send(c, buf, (size_t)n);
        return;
    }
    case '1':
        sb_client_close(c);
        sb_on_closed(c, "engine.io close from the server");
        return;
    case '2': sb_client_send(c, "3", 1); return;
    case '3':
        if (c->up_state == 1 && len == 6 && memcmp(p, "3probe", 6) == 0) {
            c->up_state = 2;
            finish_upgrade(c);
        }
        return;
    case '4': on_sio(c, p + 1, len - 1); return;
    default: return;
    }
}
