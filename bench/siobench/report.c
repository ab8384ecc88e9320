/* report: siobench's summary table and --json document, and RSS readings from /proc. */
#include "siobench.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

long sb_proc_rss_kb(int pid)
{
    char path[64];
    if (pid > 0)
        snprintf(path, sizeof path, "/proc/%d/status", pid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0;
}

static double rss_per_client(const sb_result *r)
{
    if (r->rss_before_kb < 0 || r->rss_after_kb < 0 || !r->connected)
        return -1;
    return (double)(r->rss_after_kb - r->rss_before_kb) * 1024.0 / r->connected;
}

static void cell(char *out, size_t cap, bool show, const char *fmt, double v)
{
    if (show)
        snprintf(out, cap, fmt, v);
    else
        snprintf(out, cap, "-");
}

static void table(const sb_bench *b)
{
    printf("siobench %s against %s (%s, ws-impl %s): %u clients, %u events of %u bytes, window %u, "
           "rate %g\n",
           sb_scenario_name(b->args.scenario), b->args.label, b->args.url.host,
           b->args.ws_impl == SB_WS_RAW ? "raw" : "lws", b->args.clients, b->args.events,
           b->args.size, b->args.window, b->args.rate);
    printf("%-22s %7s %7s %5s %9s %11s %8s %8s %8s %8s %7s %5s %10s %8s %8s %9s\n", "run",
           "clients", "ready", "fail", "conn/s", "deliv/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
           "lost", "dup", "acks/s", "rtt p50", "rtt p99", "B/client");
    for (unsigned i = 0; i < b->n_results; i++) {
        const sb_result *r = &b->results[i];
        bool fan = r->scenario == SB_SC_FANOUT, echo = r->scenario == SB_SC_ECHO;
        double rss = rss_per_client(r);
        char c[16][32];
        cell(c[0], 32, true, "%.0f", per_s(r->connected, r->connect_s));
        cell(c[1], 32, fan, "%.0f", per_s(r->delivered, r->elapsed_s));
        cell(c[2], 32, fan, "%.2f", ms(sb_stats_percentile(&r->lat, 50)));
        cell(c[3], 32, fan, "%.2f", ms(sb_stats_percentile(&r->lat, 90)));
        cell(c[4], 32, fan, "%.2f", ms(sb_stats_percentile(&r->lat, 99)));
        cell(c[5], 32, fan, "%.2f", ms(r->lat.max));
        cell(c[6], 32, fan, "%.0f", (double)r->lost);
        cell(c[7], 32, fan, "%.0f", (double)r->dup);
        cell(c[8], 32, echo, "%.0f", per_s(r->acks, r->elapsed_s));
        cell(c[9], 32, echo, "%.2f", ms(sb_stats_percentile(&r->lat, 50)));
        cell(c[10], 32, echo, "%.2f", ms(sb_stats_percentile(&r->lat, 99)));
        cell(c[11], 32, rss >= 0, "%.0f", rss);
        printf("%-22s %7u %7u %5u %9s %11s %8s %8s %8s %8s %7s %5s %10s %8s %8s %9s%s\n", r->name,
               r->clients, r->connected, r->failed, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
               c[8], c[9], c[10], c[11], r->valid ? "" : "  (incomplete)");
        if (r->scenario == SB_SC_IDLE && r->rss_before_kb >= 0)
            printf("%-22s server RSS %ld -> %ld KiB; siobench RSS %ld KiB\n", "", r->rss_before_kb,
                   r->rss_after_kb, r->self_rss_kb);
    }
}

static void json_stats(const char *key, const sb_stats *s)
{
    printf("\"%s\":{\"count\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
           "\"mean_ms\":%.3f}",
           key, (unsigned long long)s->count, ms(sb_stats_percentile(s, 50)),
           ms(sb_stats_percentile(s, 90)), ms(sb_stats_percentile(s, 99)), ms(s->max),
           s->count ? ms(s->sum / s->count) : 0.0);
}

static void json(const sb_bench *b)
{
    const sb_args *a = &b->args;
    printf("{\"scenario\":\"%s\",\"label\":\"%s\",\"url\":\"http://%s:%d%s\",\"transport\":\"%s\","
           "\"ws_impl\":\"%s\",\"clients\":%u,\"events\":%u,\"size\":%u,\"rate\":%g,\"window\":%u,"
           "\"warmup\":%u,"
           "\"nproc\":%ld,\"runs\":[",
           sb_scenario_name(a->scenario), a->label, a->url.host, a->url.port, a->url.path,
           a->transport == SB_POLLING ? "polling" : "websocket",
           a->ws_impl == SB_WS_RAW ? "raw" : "lws", a->clients, a->events, a->size, a->rate,
           a->window, a->warmup, sysconf(_SC_NPROCESSORS_ONLN));
    for (unsigned i = 0; i < b->n_results; i++) {
        const sb_result *r = &b->results[i];
        printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"transport\":\"%s\",\"valid\":%s,"
               "\"clients\":%u,\"connected\":%u,\"failed\":%u,\"connect_s\":%.3f,"
               "\"connects_per_s\":%.1f,",
               i ? "," : "", r->name, sb_scenario_name(r->scenario),
               r->transport == SB_POLLING ? "polling" : "websocket", r->valid ? "true" : "false",
               r->clients, r->connected, r->failed, r->connect_s,
               per_s(r->connected, r->connect_s));
        json_stats("connect_latency", &r->connect_lat);
        if (r->scenario == SB_SC_FANOUT) {
            printf(",\"events\":%u,\"size\":%u,\"expected\":%llu,\"delivered\":%llu,\"lost\":%llu,"
                   "\"dup\":%llu,\"elapsed_s\":%.6f,\"deliveries_per_s\":%.1f,",
                   r->events, r->size, (unsigned long long)r->expected,
                   (unsigned long long)r->delivered, (unsigned long long)r->lost,
                   (unsigned long long)r->dup, r->elapsed_s, per_s(r->delivered, r->elapsed_s));
            json_stats("latency", &r->lat);
        }
        if (r->scenario == SB_SC_ECHO) {
            printf(",\"acks\":%llu,\"elapsed_s\":%.3f,\"acks_per_s\":%.1f,",
                   (unsigned long long)r->acks, r->elapsed_s, per_s(r->acks, r->elapsed_s));
            json_stats("rtt", &r->lat);
        }
        double rss = rss_per_client(r);
        printf(",\"server_rss_before_kb\":%ld,\"server_rss_after_kb\":%ld,", r->rss_before_kb,
               r->rss_after_kb);
        if (rss >= 0)
            printf("\"server_rss_bytes_per_client\":%.1f,", rss);
        printf("\"siobench_rss_kb\":%ld}", r->self_rss_kb);
    }
    printf("]}\n");
}

void sb_report(const sb_bench *b)
{
    if (b->args.json)
        json(b);
    else
        table(b);
}
