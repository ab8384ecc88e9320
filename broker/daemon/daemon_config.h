/* daemon_config: the daemon's settings (struct daemon_config) and its option table (util_opt). */
#ifndef DAEMON_CONFIG_H
#define DAEMON_CONFIG_H

#include "daemon_policy.h"
#include "util_opt.h"
#include "util_log.h"
#include "node.h"
#include "sio_server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/** Everything the daemon can be told. Strings are owned by the config (config_free). */
typedef struct daemon_config {
    node_config node;     /**< listener, Engine.IO, CORS */
    char listen_host[64]; /**< host part of --listen */
    char *path;           /**< Engine.IO/Socket.IO path, ends with '/' */
    char **cors_list;     /**< parsed --cors-origin list */
    size_t n_cors;
    util_log_level log_level;
    util_log_format log_format;
    sio_server_config sio; /**< Socket.IO settings (connect timeout, decoder limits) */
    char **ns_names;       /**< --namespace names */
    char **ns_policies;    /**< their policies */
    size_t n_ns;
    daemon_rooms_limits rooms;   /**< limits of the rooms policy */
    char *static_dir;            /**< --static, or NULL */
    char *client_js;             /**< --client-js, or NULL (the installed copy is used) */
    char *redis_url;             /**< --redis, or NULL: a single node with the in-memory adapter */
    char *redis_key;             /**< --redis-key: the adapter's channel prefix */
    uint32_t redis_timeout_ms;   /**< --redis-requests-timeout */
    char *node_id;               /**< --node-id (random when not given) */
    char *advertise;             /**< --advertise HOST:PORT (the listen address when not given) */
    char *cluster_secret;        /**< --cluster-secret, or NULL */
    bool insecure_cluster;       /**< --insecure-cluster */
    uint32_t cluster_timeout_ms; /**< --cluster-timeout */
    /** --max-memory: the node's memory budget for what it holds for clients (eio_budget);
     * 0 = none. With max_memory_auto, computed at start (daemon_memory_auto). */
    size_t max_memory;
    bool max_memory_auto;
    uint32_t redis_health_ms;  /**< --redis-health-interval: PING period */
    uint32_t redis_stall_ms;   /**< --redis-stall-timeout: no PING answer this long = stalled */
    size_t redis_max_output;   /**< --redis-max-output: bytes waiting for Redis, at most */
    char *app_url;             /**< --app-url, or NULL */
    char *app_secret;          /**< --app-secret, or NULL */
    bool insecure_app;         /**< --insecure-app */
    uint32_t app_concurrency;  /**< --app-concurrency */
    uint32_t app_batch;        /**< --app-batch */
    uint32_t app_queue;        /**< --app-queue */
    uint32_t app_timeout_ms;   /**< --app-timeout */
    size_t app_max_answer;     /**< --app-max-answer */
    bool admin;                /**< --admin: serve the admin UI's /admin namespace */
    char *admin_user;          /**< --admin-user */
    char *admin_password_hash; /**< --admin-password-hash (bcrypt) */
    bool admin_no_auth;        /**< --admin-no-auth */
    bool admin_readonly;       /**< --admin-readonly */
    char *admin_ui_dir;        /**< --admin-ui-dir (NULL: the installed copy) */
    char *admin_server_id;     /**< --admin-server-id */
    size_t admin_max_sockets;  /**< --admin-max-sockets */
    uint32_t admin_updates;    /**< --admin-updates-per-second */
    char metrics_host[64];     /**< --metrics-listen host ("" = /metrics on the client port) */
    int metrics_port;          /**< --metrics-listen port */
} daemon_config;

/* The --max-memory default: half of the memory this process may use (the machine's RAM, or the
 * cgroup's limit when lower). Writes what it was derived from into why (size whylen). */
size_t daemon_memory_auto(char *why, size_t whylen);

/* The daemon's option table. */
const util_option *daemon_config_options(size_t *n);

/* Initialises cfg (empty; util_options_parse applies defaults). */
void daemon_config_init(daemon_config *cfg);

/* Frees what cfg owns. */
void daemon_config_free(daemon_config *cfg);

/* Copies derived fields into cfg->node (host, CORS list). Call after parsing. */
void daemon_config_finish(daemon_config *cfg);

#endif
