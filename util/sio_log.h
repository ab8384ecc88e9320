/* sio_log: levelled logging with one logger per subsystem, as text or JSON lines on stderr. */
#ifndef SIO_LOG_H
#define SIO_LOG_H

#include <stdbool.h>

typedef enum sio_log_level {
    SIO_LOG_ERROR = 0,
    SIO_LOG_WARN = 1,
    SIO_LOG_INFO = 2,
    SIO_LOG_DEBUG = 3,
} sio_log_level;

typedef enum sio_log_subsys {
    SIO_SUB_ENGINEIO = 0,
    SIO_SUB_SOCKETIO,
    SIO_SUB_ADAPTER,
    SIO_SUB_CLUSTER,
    SIO_SUB_HTTP,
    SIO_SUB_NODE,
    SIO_SUB_COUNT
} sio_log_subsys;

typedef enum sio_log_format { SIO_LOG_TEXT = 0, SIO_LOG_JSON = 1 } sio_log_format;

/* Sets the level of every subsystem. */
void sio_log_set_level(sio_log_level level);

/* Sets the level of one subsystem. */
void sio_log_set_subsys_level(sio_log_subsys sub, sio_log_level level);

/* Chooses text or JSON lines. */
void sio_log_set_format(sio_log_format fmt);

/* Parses "error|warn|info|debug"; returns 0 and fills *out, or -1. */
int sio_log_parse_level(const char *s, sio_log_level *out);

/* Parses "text|json"; returns 0 and fills *out, or -1. */
int sio_log_parse_format(const char *s, sio_log_format *out);

/* True when a message at level would be written for sub (use it to skip costly formatting). */
bool sio_log_enabled(sio_log_subsys sub, sio_log_level level);

/* Writes one log line. */
void sio_log(sio_log_subsys sub, sio_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SIO_LOGE(sub, ...) sio_log((sub), SIO_LOG_ERROR, __VA_ARGS__)
#define SIO_LOGW(sub, ...) sio_log((sub), SIO_LOG_WARN, __VA_ARGS__)
#define SIO_LOGI(sub, ...) sio_log((sub), SIO_LOG_INFO, __VA_ARGS__)
#define SIO_LOGD(sub, ...)                                                                         \
    do {                                                                                           \
        if (sio_log_enabled((sub), SIO_LOG_DEBUG))                                                 \
            sio_log((sub), SIO_LOG_DEBUG, __VA_ARGS__);                                            \
    } while (0)

#endif
