/* fuzz_ws_frame: libFuzzer target for ws_decode, the WebSocket frame decoder of the node (and of
 * the relay's client side). Byte 0: bit 0 picks a server's decoder (masked frames required) or a
 * client's; bits 1-7 seed the sizes the stream is cut into. The rest is a stream of frames. Every
 * event must be consistent: data inside the stream or the fragment buffer, lengths bounded by the
 * limit, an error always with a close code and a reason, bytes consumed only when reported. */
#include "ws_frame.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool server = data[0] & 1;
    unsigned seed = data[0] >> 1;
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    ws_decoder d;
    ws_decoder_init(&d, server, LIMIT);
    size_t off = 0, avail = 0;
    while (off < len) {
        /* make the next cut of the stream visible, as reads would */
        size_t step = 1 + (seed * 31 + off) % 17;
        avail = avail + step > len - off ? len - off : avail + step;
        size_t used;
        ws_event ev;
        ws_result r = ws_decode(&d, buf + off, avail, &used, &ev);
        if (r == WS_NEED_MORE) {
            if (used != 0)
                abort();
            if (off + avail >= len)
                break;
            continue;
        }
        if (r == WS_ERROR) {
            if (!ev.close_code || !ev.reason)
                abort();
            break;
        }
        if (used == 0 || used > avail)
            abort();
        if (r == WS_MESSAGE || r == WS_CONTROL) {
            if (ev.len > LIMIT)
                abort();
            if (ev.len) {
                volatile uint8_t sum = 0;
                for (size_t i = 0; i < ev.len; i++)
                    sum ^= ev.data[i];
                (void)sum;
            }
            if (r == WS_MESSAGE && ev.opcode == WS_OP_TEXT && !ws_utf8_valid(ev.data, ev.len))
                abort();
        }
        off += used;
        avail -= used;
    }
    ws_decoder_free(&d);
    free(buf);
    return 0;
}
