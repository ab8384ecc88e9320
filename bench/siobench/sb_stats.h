/* sb_stats: a log-linear latency histogram (about 1% precision, constant memory) and percentiles. */
#ifndef SB_STATS_H
#define SB_STATS_H

#include <stdint.h>

/* 128 exact buckets below 128, then 64 buckets per power of two up to 2^42. */
#define SB_STATS_BUCKETS (37 * 64 + 128)

/** A histogram of non-negative values (µs). Zero-initialise before use; no heap memory. */
typedef struct sb_stats {
    uint64_t count; /**< values recorded */
    uint64_t sum;   /**< their sum (for the mean) */
    uint64_t min;   /**< smallest value (0 while count is 0) */
    uint64_t max;   /**< largest value */
    uint64_t b[SB_STATS_BUCKETS];
} sb_stats;

/* Returns the bucket index of value v (values beyond the range go to the last bucket). */
unsigned sb_stats_bucket(uint64_t v);

/* Returns the midpoint of bucket i's range. */
uint64_t sb_stats_bucket_value(unsigned i);

/* Records value v. */
void sb_stats_add(sb_stats *s, uint64_t v);

/* Adds every value of src to dst. */
void sb_stats_merge(sb_stats *dst, const sb_stats *src);

/* Returns the p-th percentile (0 < p <= 100): the smallest recorded bucket value at or below which
 * at least p% of the values lie, clamped to [min, max]; 0 when nothing was recorded. p = 100 gives
 * the exact max. */
uint64_t sb_stats_percentile(const sb_stats *s, double p);

#endif
