/* rd_registry: this node's records in Redis: the node record (a hash with a TTL heartbeat, listed
 * in a set) and the sid -> node map of its Engine.IO sessions (written at handshake, refreshed in
 * batches, deleted at close, expiring on their own when the node dies). */
#ifndef RD_REGISTRY_H
#define RD_REGISTRY_H

#include "rd_link.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Keys (K = key prefix): K:nodes (set of ids), K:node:ID (hash: id, address, version, started,
 *  sessions, sockets, heartbeat), K:sid:SID (string: node id). */
typedef struct rd_registry_config {
    const char *key;         /**< prefix, e.g. "socket.io" */
    const char *node_id;     /**< this node's id */
    const char *address;     /**< HOST:PORT other nodes reach it at */
    const char *version;     /**< software version */
    uint32_t heartbeat_ms;   /**< node record refresh (default 2000; TTL is 3x) */
    uint32_t sid_refresh_ms; /**< sid entries refresh (default 5000; TTL is 3x) */
} rd_registry_config;

/** Fills the counts published in the node record. */
typedef void (*rd_stats_fn)(void *ud, size_t *sessions, size_t *sockets);

typedef struct rd_registry rd_registry;

/* Starts publishing this node's record through link (borrowed; must outlive the registry). cfg
 * strings are copied. Caller owns; free with rd_registry_free before the loop's final run. */
rd_registry *rd_registry_new(uv_loop_t *loop, rd_link *link, const rd_registry_config *cfg,
                             rd_stats_fn stats, void *stats_ud);

/* Removes the node record and this node's sid entries (best effort) and frees. Accepts NULL. */
void rd_registry_free(rd_registry *r);

/* A session opened here: its sid entry is written now (before its open packet can be answered). */
void rd_registry_session_open(rd_registry *r, const char *sid);

/* A session closed: its sid entry is deleted. */
void rd_registry_session_close(rd_registry *r, const char *sid);

/* The link (re)connected: publishes the node record and rewrites every sid entry now (after a
 * Redis restart they would otherwise be missing until the next refresh). */
void rd_registry_resync(rd_registry *r);

/* Number of sids this node currently holds. */
size_t rd_registry_sessions(const rd_registry *r);

/** Result of rd_registry_lookup. address and node_id are borrowed for the call. address is NULL
 *  when no live node owns the sid (no entry, the entry names this node, or the owner's record
 *  expired); failed is true when Redis could not answer (address NULL too). */
typedef void (*rd_owner_fn)(void *ud, const char *address, const char *node_id, bool failed);

/* Finds the node that owns sid (a session this node does not hold): from a local cache (a sid's
 * owner never changes; a node's address is re-read after 2 s, so a dead node stops routing once
 * its record expires), else with one Redis round trip; while Redis is unreachable the last known
 * address of a cached owner is used. cb runs exactly once, maybe before this returns; after
 * rd_registry_free, pending lookups complete with failed = true. */
void rd_registry_lookup(rd_registry *r, const char *sid, rd_owner_fn cb, void *ud);

/* Drops what the cache knows of sid and of its owner (the owner did not answer). */
void rd_registry_forget(rd_registry *r, const char *sid);

#endif
