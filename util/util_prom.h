/* util_prom: writes the Prometheus text exposition format (version 0.0.4) into a util_buf:
 * family headers, samples with escaped label values, histograms from per-bucket counts. */
#ifndef UTIL_PROM_H
#define UTIL_PROM_H

#include "util_buf.h"

#include <stddef.h>
#include <stdint.h>

/** The Content-Type of the format. */
#define UTIL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Appends "# HELP name help" and "# TYPE name type" (type: "counter", "gauge", "histogram";
 * help escaped as the format wants: backslash and newline). Strings borrowed. */
void util_prom_family(util_buf *b, const char *name, const char *type, const char *help);

/* Appends one sample "name{k1="v1",...} value": labels holds n_labels (name, value) pairs, label
 * values escaped (backslash, double quote, newline); value printed exactly when it is an integer.
 * Strings borrowed. */
void util_prom_sample(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                      double value);

/* As util_prom_sample with an integer value (exact up to 2^64). */
void util_prom_sample_u64(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                          uint64_t value);

/* Appends the samples of one histogram series: name_bucket{...,le="..."} (cumulative), then
 * name_sum and name_count. bounds (n_bounds, increasing, seconds or any unit) and counts
 * (n_bounds + 1 per-bucket counts, the last for +Inf) are borrowed; labels as util_prom_sample.
 * At most 8 label pairs. */
void util_prom_histogram(util_buf *b, const char *name, const char *const *labels, size_t n_labels,
                         const double *bounds, size_t n_bounds, const uint64_t *counts, double sum);

#endif
