/* static: static files (--static DIR) and the browser client at <path>socket.io.min.js. */
#include "node_internal.h"

int static_serve(sio_node *n, struct lws *wsi, pss *p, const char *path, const char *method)
{
    (void)n, (void)wsi, (void)p, (void)path, (void)method;
    return 0; /* replaced by the static-files work of issue 3 */
}
