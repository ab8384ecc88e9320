/* util_time: the two clocks the code reads directly: wall time (what other processes and other
 * machines agree on) and monotonic time (durations). */
#ifndef UTIL_TIME_H
#define UTIL_TIME_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps shared with other processes
 * (registry heartbeats, request signatures, what siocli prints). It may jump. */
uint64_t util_wall_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and durations within one process. */
uint64_t util_mono_ms(void);

#endif
