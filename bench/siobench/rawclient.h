/* rawclient: the lws protocol callback of siobench's raw WebSocket clients (for ws.c's protocol
 * table; the transport's entry points are in siobench.h). */
#ifndef SB_RAWCLIENT_H
#define SB_RAWCLIENT_H

#include <libwebsockets.h>

/* Handles the RAW client callbacks (connected, rx, writeable, close) of one raw WebSocket. */
int sb_raw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);

/* Seeds the generator of frame masks and handshake keys. */
void sb_raw_init(void);

#endif
