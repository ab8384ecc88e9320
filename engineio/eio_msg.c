/* eio_msg: refcounted outbound packets. */
#include "eio_msg.h"

#include "util_alloc.h"

#include <string.h>

eio_msg *eio_msg_new2(eio_ptype t, const void *d1, size_t l1, const void *d2, size_t l2)
{
    size_t len = 1 + l1 + l2;
    eio_msg *m = util_malloc(sizeof *m + EIO_MSG_HEADROOM + len);
    m->refs = 1;
    m->type = t;
    m->binary = false;
    m->frame_hdr_len = 0;
    m->qrefs = 0;
    m->len = len;
    m->wire = m->storage + EIO_MSG_HEADROOM;
    m->wire[0] = (uint8_t)('0' + t);
    if (l1)
        memcpy(m->wire + 1, d1, l1);
    if (l2)
        memcpy(m->wire + 1 + l1, d2, l2);
    return m;
}

eio_msg *eio_msg_new(eio_ptype t, bool binary, const void *data, size_t len)
{
    if (!binary)
        return eio_msg_new2(t, data, len, NULL, 0);
    eio_msg *m = util_malloc(sizeof *m + EIO_MSG_HEADROOM + len);
    m->refs = 1;
    m->type = EIO_MESSAGE;
    m->binary = true;
    m->frame_hdr_len = 0;
    m->qrefs = 0;
    m->len = len;
    m->wire = m->storage + EIO_MSG_HEADROOM;
    if (len)
        memcpy(m->wire, data, len);
    return m;
}

eio_msg *eio_msg_ref(eio_msg *m)
{
    m->refs++;
    return m;
}

void eio_msg_unref(eio_msg *m)
{
    if (m && --m->refs == 0)
        util_free(m);
}

eio_packet eio_msg_packet(const eio_msg *m)
{
    eio_packet p;
    p.type = m->type;
    p.binary = m->binary;
    if (m->binary) {
        p.data = m->wire;
        p.len = m->len;
    } else {
        p.data = m->wire + 1;
        p.len = m->len - 1;
    }
    return p;
}
