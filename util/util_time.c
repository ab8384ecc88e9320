/* util_time: wall and monotonic milliseconds. */
#include "util_time.h"

#include <time.h>

static uint64_t ms_of(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t util_wall_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

uint64_t util_mono_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}
