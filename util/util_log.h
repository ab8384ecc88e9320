/* util_log: levelled logging with one logger per subsystem, as text or JSON lines on stderr. */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdbool.h>

typedef enum util_log_level {
    UTIL_LOG_ERROR = 0,
    UTIL_LOG_WARN = 1,
    UTIL_LOG_INFO = 2,
    UTIL_LOG_DEBUG = 3,
} util_log_level;

typedef enum util_log_subsys {
    UTIL_SUB_ENGINEIO = 0,
    UTIL_SUB_SOCKETIO,
    UTIL_SUB_ADAPTER,
    UTIL_SUB_CLUSTER,
    UTIL_SUB_HTTP,
    UTIL_SUB_NODE,
    UTIL_SUB_COUNT
} util_log_subsys;

typedef enum util_log_format { UTIL_LOG_TEXT = 0, UTIL_LOG_JSON = 1 } util_log_format;

/* Sets the level of every subsystem. */
void util_log_set_level(util_log_level level);

/* Sets the level of one subsystem. */
void util_log_set_subsys_level(util_log_subsys sub, util_log_level level);

/* Chooses text or JSON lines. */
void util_log_set_format(util_log_format fmt);

/* Parses "error|warn|info|debug"; returns 0 and fills *out, or -1. */
int util_log_parse_level(const char *s, util_log_level *out);

/* Parses "text|json"; returns 0 and fills *out, or -1. */
int util_log_parse_format(const char *s, util_log_format *out);

/* True when a message at level would be written for sub (use it to skip costly formatting). */
bool util_log_enabled(util_log_subsys sub, util_log_level level);

/* Writes one log line. */
void util_log(util_log_subsys sub, util_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define UTIL_LOGE(sub, ...) util_log((sub), UTIL_LOG_ERROR, __VA_ARGS__)
#define UTIL_LOGW(sub, ...) util_log((sub), UTIL_LOG_WARN, __VA_ARGS__)
#define UTIL_LOGI(sub, ...) util_log((sub), UTIL_LOG_INFO, __VA_ARGS__)
#define UTIL_LOGD(sub, ...)                                                                        \
    do {                                                                                           \
        if (util_log_enabled((sub), UTIL_LOG_DEBUG))                                               \
            util_log((sub), UTIL_LOG_DEBUG, __VA_ARGS__);                                          \
    } while (0)

#endif
