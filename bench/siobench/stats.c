/* stats: the log-linear histogram behind every latency figure siobench prints (sb_stats.h). */
#include "sb_stats.h"

#include <math.h>

unsigned sb_stats_bucket(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 6;
    unsigned i = shift * 64 + (unsigned)(v >> shift);
    return i < SB_STATS_BUCKETS ? i : SB_STATS_BUCKETS - 1;
}

uint64_t sb_stats_bucket_value(unsigned i)
{
    if (i < 128)
        return i;
    unsigned shift = i / 64 - 1;
    uint64_t lo = (uint64_t)(i % 64 + 64) << shift;
    return lo + ((1ull << shift) >> 1);
}

void sb_stats_add(sb_stats *s, uint64_t v)
{
    if (s->count == 0 || v < s->min)
        s->min = v;
    if (v > s->max)
        s->max = v;
    s->count++;
    s->sum += v;
    s->b[sb_stats_bucket(v)]++;
}

void sb_stats_merge(sb_stats *dst, const sb_stats *src)
{
    if (!src->count)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (unsigned i = 0; i < SB_STATS_BUCKETS; i++)
        dst->b[i] += src->b[i];
}

uint64_t sb_stats_percentile(const sb_stats *s, double p)
{
    if (!s->count)
        return 0;
    if (p >= 100.0)
        return s->max;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)s->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < SB_STATS_BUCKETS; i++) {
        seen += s->b[i];
        if (seen >= rank) {
            uint64_t v = sb_stats_bucket_value(i);
            if (v < s->min)
                v = s->min;
            if (v > s->max)
                v = s->max;
            return v;
        }
    }
    return s->max;
}
