/* listener: the node's listening socket: accepts in batches, refuses connections past
 * max_connections with an answer, and when the process runs out of descriptors (EMFILE/ENFILE)
 * stops accepting for a short back-off instead of spinning on a socket it cannot accept from. */
#define _GNU_SOURCE /* accept4 */
#include "node_internal.h"

#include "util_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/** Connections accepted per wake-up of the listener, so that a flood does not starve the rest. */
#define ACCEPT_BATCH 64
/** First and longest pause after EMFILE/ENFILE (doubling while descriptors stay short). */
#define ACCEPT_BACKOFF_MIN_MS 50u
#define ACCEPT_BACKOFF_MAX_MS 500u
/** One log line per this interval for each kind of refusal, with a count. */
#define ACCEPT_LOG_EVERY_MS 10000u

static void on_listen_readable(uv_poll_t *h, int status, int events);

static void resume_accepting(uv_timer_t *t)
{
    node *n = container_of(t, node, accept_timer);
    n->accept_paused = false;
    if (n->listen_fd >= 0)
        uv_poll_start(&n->listen_poll, UV_READABLE, on_listen_readable);
}

/* Logs a refusal kind at most once per interval, with how many happened since the last line. */
static void log_refusals(node *n, uint64_t *count, uint64_t *logged_at, const char *what)
{
    uint64_t now = uv_now(n->loop);
    if (*logged_at && now - *logged_at < ACCEPT_LOG_EVERY_MS)
        return;
    UTIL_LOGW(UTIL_SUB_NODE, "%s: %llu time(s) in the last %us; %zu connections open", what,
              (unsigned long long)*count, ACCEPT_LOG_EVERY_MS / 1000, n->n_links);
    *count = 0;
    *logged_at = now;
}

/* Answers a connection over max_connections and closes it: the descriptor is back at once. */
static void refuse(node *n, int fd)
{
    static const char answer[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                 "Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n"
                                 "\r\nToo many connections";
    ssize_t w = send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w; /* best effort: a socket just accepted always has room for this much */
    shutdown(fd, SHUT_WR);
    close(fd);
    n->stats.refused++;
    n->refused_count++;
    log_refusals(n, &n->refused_count, &n->refused_logged_at,
                 "connection refused: --max-connections reached");
}

static void on_listen_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    node *n = container_of(h, node, listen_poll);
    if (status < 0 || n->shutting_down)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(n->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors (or kernel memory): the pending connection stays in the
                 * backlog, so the socket stays readable; polling it would spin. Pause, and accept
                 * again after a back-off, when descriptors may be free. */
                n->emfile_count++;
                n->stats.accept_pauses++;
                log_refusals(n, &n->emfile_count, &n->emfile_logged_at, strerror(errno));
                uv_poll_stop(&n->listen_poll);
                n->accept_paused = true;
                n->accept_backoff_ms =
                    n->accept_backoff_ms ? n->accept_backoff_ms * 2 : ACCEPT_BACKOFF_MIN_MS;
                if (n->accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
                    n->accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
                uv_timer_start(&n->accept_timer, resume_accepting, n->accept_backoff_ms, 0);
                return;
            }
            UTIL_LOGW(UTIL_SUB_NODE, "accept: %s", strerror(errno));
            return;
        }
        n->accept_backoff_ms = 0;
        if (n->n_links >= n->max_links) {
            refuse(n, fd);
            continue;
        }
        n->stats.accepted++;
        link_accept(n, fd);
    }
}

/* Resolves host (an IPv4 or IPv6 literal, or "localhost") and port into ss. */
static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof *in4;
        return 0;
    }
    char buf[64];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof buf) {
        memcpy(buf, host + 1, hl - 2);
        buf[hl - 2] = '\0';
        host = buf;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

int listener_open(node *n, const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (resolve(host, port, &ss, &sl) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: not an IP address", host, port);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 511) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    getsockname(fd, (struct sockaddr *)&bound, &bl);
    n->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                               : ((struct sockaddr_in6 *)&bound)->sin6_port);
    n->listen_fd = fd;
    uv_poll_init(n->loop, &n->listen_poll, fd);
    uv_poll_start(&n->listen_poll, UV_READABLE, on_listen_readable);
    uv_timer_init(n->loop, &n->accept_timer);
    return 0;
}

void listener_close(node *n)
{
    if (n->listen_fd < 0)
        return;
    uv_poll_stop(&n->listen_poll);
    uv_close((uv_handle_t *)&n->listen_poll, NULL);
    uv_timer_stop(&n->accept_timer);
    uv_close((uv_handle_t *)&n->accept_timer, NULL);
    close(n->listen_fd);
    n->listen_fd = -1;
}
