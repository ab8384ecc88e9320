/* fuzz_sio_packet: libFuzzer target for the Socket.IO decoder fed a sequence of Engine.IO messages;
 * every packet it yields must encode and decode back to itself.
 *
 * Input: byte 0 picks the number of messages (low 4 bits + 1) and, with bit 0x10, tight limits.
 * Then each message is a flag byte (bit 0: binary), a 2-byte big-endian length and that many bytes
 * (cut short by the end of the input). */
#include "sio_binary.h"
#include "sio_packet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless p is a packet the decoder may hand out under lim. */
static void check_packet(const sio_packet *p, const sio_limits *lim)
{
    if (!p->nsp || p->nsp[0] != '/' || p->id < -1)
        abort();
    const json_t *d = p->data;
    switch (p->type) {
    case SIO_CONNECT:
        if (d && !json_is_object(d))
            abort();
        if (p->id != -1 || sio_has_binary(d))
            abort();
        break;
    case SIO_DISCONNECT:
        if (d || p->id != -1)
            abort();
        break;
    case SIO_EVENT:
        if (!json_is_array(d) || !json_is_string(json_array_get(d, 0)) ||
            json_string_length(json_array_get(d, 0)) > lim->max_event_name)
            abort();
        break;
    case SIO_ACK:
        if (!json_is_array(d) || p->id < 0)
            abort();
        break;
    case SIO_CONNECT_ERROR:
        if (!(json_is_object(d) || json_is_string(d)) || p->id != -1 || sio_has_binary(d))
            abort();
        break;
    default: abort();
    }
}

static bool same_msg(const eio_msg *a, const eio_msg *b)
{
    return a->binary == b->binary && a->type == b->type && a->len == b->len &&
           (a->len == 0 || memcmp(a->wire, b->wire, a->len) == 0);
}

/* Encodes p, decodes the result with a fresh decoder, and requires the same packet and, encoded
 * again, the same bytes. */
static void roundtrip(const sio_packet *p, const sio_limits *lim)
{
    sio_encoded e;
    sio_encode(p->type, p->nsp, p->id, p->data, &e);
    if (!e.text || e.text->binary || e.text->len < 2 || e.text->wire[0] != '4')
        abort();
    if (e.n_attachments > lim->max_attachments || (e.n_attachments && !sio_has_binary(p->data)))
        abort();

    sio_decoder *d = sio_decoder_new(lim);
    sio_packet q = {0};
    const char *err = NULL;
    sio_decode_status st = sio_decoder_feed(d, e.text->wire + 1, e.text->len - 1, false, &q, &err);
    for (size_t i = 0; i < e.n_attachments; i++) {
        if (st != SIO_DEC_NEED_MORE || !e.attachments[i]->binary)
            abort();
        st = sio_decoder_feed(d, e.attachments[i]->wire, e.attachments[i]->len, true, &q, &err);
    }
    if (st != SIO_DEC_PACKET)
        abort();
    if (q.type != p->type || strcmp(q.nsp, p->nsp) != 0 || q.id != p->id)
        abort();
    if ((q.data || p->data) && !json_equal(q.data, p->data))
        abort();

    sio_encoded e2;
    sio_encode(q.type, q.nsp, q.id, q.data, &e2);
    if (!same_msg(e.text, e2.text) || e.n_attachments != e2.n_attachments)
        abort();
    for (size_t i = 0; i < e.n_attachments; i++)
        if (!same_msg(e.attachments[i], e2.attachments[i]))
            abort();
    sio_encoded_clear(&e2);
    sio_packet_clear(&q);
    sio_decoder_free(d);
    sio_encoded_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_msgs = (size_t)(data[0] & 0x0f) + 1;
    sio_limits lim;
    sio_limits_defaults(&lim);
    if (data[0] & 0x10) {
        lim.max_attachments = 2;
        lim.max_depth = 4;
        lim.max_event_name = 8;
    }
    sio_decoder *d = sio_decoder_new(&lim);
    size_t pos = 1;
    for (size_t m = 0; m < n_msgs && pos < size; m++) {
        bool binary = data[pos++] & 1;
        size_t len = 0;
        for (int k = 0; k < 2 && pos < size; k++)
            len = len << 8 | data[pos++];
        if (len > size - pos)
            len = size - pos;
        /* An exact-size copy, so ASan catches a read past this message. */
        uint8_t *msg = malloc(len ? len : 1);
        if (!msg)
            abort();
        if (len)
            memcpy(msg, data + pos, len);
        pos += len;

        sio_packet p;
        memset(&p, 0, sizeof p);
        const char *err = NULL;
        sio_decode_status st = sio_decoder_feed(d, msg, len, binary, &p, &err);
        free(msg);
        if (st == SIO_DEC_PACKET) {
            check_packet(&p, &lim);
            roundtrip(&p, &lim);
            sio_packet_clear(&p);
        } else if (st == SIO_DEC_ERROR) {
            if (!err || !*err || p.nsp || p.data)
                abort();
        } else if (st != SIO_DEC_NEED_MORE || p.nsp || p.data) {
            abort();
        }
    }
    sio_decoder_free(d);
    return 0;
}
