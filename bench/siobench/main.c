/* siobench: a Socket.IO load generator (libwebsockets client on libuv); see bench/README.md. */
#include "siobench.h"

#include "util_alloc.h"

#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* Raises the soft descriptor limit to the hard one; returns the new soft limit. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    sb_bench *b = util_calloc(1, sizeof *b);
    int r = sb_args_parse(&b->args, argc, argv);
    if (r != 0) {
        util_free(b);
        return r > 0 ? 0 : 2;
    }
    rlim_t lim = raise_nofile();
    unsigned per = b->args.transport == SB_POLLING ? 2 : b->args.transport == SB_UPGRADE ? 3 : 1;
    unsigned need = b->args.clients * per + 64;
    if (lim && lim < need)
        fprintf(stderr, "siobench: warning: %u descriptors needed, the limit is %llu\n", need,
                (unsigned long long)lim);
    uv_loop_init(&b->loop);
    if (sb_ws_init(b) != 0) {
        fprintf(stderr, "siobench: cannot create the libwebsockets context\n");
        return 1;
    }
    sb_run(b);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (b->lws) { /* lws 4.1.6 destroys a foreign-loop context in two steps */
        lws_context_destroy(b->lws);
        uv_run(&b->loop, UV_RUN_DEFAULT);
    }
    int rc = uv_loop_close(&b->loop) == 0 ? 0 : 1;
    sb_report(b);
    for (unsigned i = 0; i < b->n_results; i++) {
        const sb_result *res = &b->results[i];
        if (!res->valid || res->failed || res->lost || res->dup)
            rc = 1;
    }
    sb_run_cleanup(b);
    util_free(b);
    return rc;
}
