/* cmd_rooms: the commands that read the namespace across the cluster with the adapter's own
 * requests (so Node servers answer too): rooms, room NAME, sockets. */
#include "cli_out.h"
#include "cli_req.h"
#include "util_alloc.h"
#include "util_buf.h"

#include <stdlib.h>
#include <string.h>

/* Reports a partial answer on stderr. Returns the exit code of a request result rc. */
static int check_answer(int rc, const char *what, long long servers, long timeout_ms)
{
    if (rc == 1)
        cli_fail(CLI_EXIT_NONE, "%s: not every one of the %lld servers answered within %ld ms",
                 what, servers, timeout_ms);
    return rc == 1 ? CLI_EXIT_NONE : CLI_EXIT_OK;
}

static int by_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x ? x : "", y ? y : "");
}

/* Sorts an array of objects by their "id" (or "name", renamed by the caller) in place. */
static void sort_by_id(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = util_malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, by_id);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    util_free(v);
}

/* The rooms of a fetched socket without its own id room, comma-separated. Caller frees. */
static char *rooms_text(const json_t *sock)
{
    const char *id = json_string_value(json_object_get(sock, "id"));
    util_buf b = UTIL_BUF_INIT;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(sock, "rooms"), i, r)
    {
        const char *name = json_string_value(r);
        if (!name || (id && strcmp(name, id) == 0))
            continue;
        if (b.len)
            util_buf_putc(&b, ',');
        util_buf_puts(&b, name);
    }
    return util_buf_steal_str(&b);
}

int cmd_rooms(cli_ctx *ctx, const cli_args *a)
{
    bool all = a->all;
    char err[512];
    if (cli_req_listen(ctx, err, sizeof err) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *names = NULL, *sockets = NULL;
    long long servers = 0, servers2 = 0;
    int rc1 = cli_req_all_rooms(ctx, &names, &servers, err, sizeof err);
    if (rc1 < 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    int rc2 = cli_req_fetch(ctx, NULL, 0, NULL, 0, &sockets, &servers2, err, sizeof err);
    if (rc2 < 0) {
        json_decref(names);
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    /* Member counts from the sockets' rooms; ALL_ROOMS adds rooms a fetch missed (0 members). */
    json_t *counts = json_object(), *ids = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(sockets, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        json_object_set_new(ids, id, json_true());
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(s, "rooms"), j, r)
        {
            const char *name = json_string_value(r);
            if (!name)
                continue;
            json_t *c = json_object_get(counts, name);
            json_object_set_new(counts, name, json_integer(c ? json_integer_value(c) + 1 : 1));
        }
    }
    json_array_foreach(names, i, s)
    {
        if (!json_object_get(counts, json_string_value(s)))
            json_object_set_new(counts, json_string_value(s), json_integer(0));
    }
    json_t *rows = json_array();
    const char *name;
    json_t *c;
    json_object_foreach(counts, name, c)
    {
        if (!all && json_object_get(ids, name))
            continue; /* a socket's own id room */
        json_array_append_new(rows, json_pack("{s:s,s:O}", "id", name, "members", c));
    }
    sort_by_id(rows);
    static const char *const heads[] = {"ROOM", "MEMBERS"};
    cli_table *t = cli_table_new(2, heads);
    json_array_foreach(rows, i, s)
    {
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(s, "members")));
        const char *cells[] = {json_string_value(json_object_get(s, "id")), n};
        cli_table_add(t, cells);
        /* JSON calls it name. */
        json_object_set(s, "name", json_object_get(s, "id"));
        json_object_del(s, "id");
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:O,s:I,s:s}", "rooms", rows, "servers", (json_int_t)servers,
                                "nsp", ctx->nsp);
        cli_print_json(out);
        json_decref(out);
    } else {
        cli_table_print(t, stdout);
    }
    int rc = check_answer(rc1 ? rc1 : rc2, "rooms", servers, ctx->timeout_ms);
    if (rc == CLI_EXIT_OK && json_array_size(rows) == 0)
        rc = cli_fail(CLI_EXIT_NONE, "no room in namespace %s", ctx->nsp);
    cli_table_free(t);
    json_decref(rows);
    json_decref(counts);
    json_decref(ids);
    json_decref(names);
    json_decref(sockets);
    return rc;
}

/* The owner fields of a socket id from cli_req_socket_owners: node and sid (borrowed, or NULL). */
static void owner_of(const json_t *owners, const char *id, const char **node, const char **sid)
{
    json_t *o = json_object_get(owners, id);
    *node = json_string_value(json_object_get(o, "node"));
    *sid = json_string_value(json_object_get(o, "sid"));
}

int cmd_room(cli_ctx *ctx, const cli_args *a)
{
    const char *room = a->pos.v[0];
    char err[512];
    if (cli_req_listen(ctx, err, sizeof err) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *sockets = NULL;
    long long servers = 0;
    int got = cli_req_fetch(ctx, &room, 1, NULL, 0, &sockets, &servers, err, sizeof err);
    if (got < 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *owners = json_array_size(sockets) ? cli_req_socket_owners(ctx) : json_object();
    sort_by_id(sockets);
    json_t *members = json_array();
    static const char *const heads[] = {"SOCKET", "NODE", "ADDRESS"};
    cli_table *t = cli_table_new(3, heads);
    size_t i;
    json_t *s;
    json_array_foreach(sockets, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        const char *node, *sid;
        owner_of(owners, id, &node, &sid);
        json_t *address = json_object_get(json_object_get(s, "handshake"), "address");
        json_array_append_new(members, json_pack("{s:s,s:o,s:o,s:O}", "id", id, "node",
                                                 node ? json_string(node) : json_null(), "sid",
                                                 sid ? json_string(sid) : json_null(), "address",
                                                 address ? address : json_null()));
        const char *cells[] = {id, node, json_string_value(address)};
        cli_table_add(t, cells);
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s,s:s,s:O}", "room", room, "nsp", ctx->nsp, "members", members);
        cli_print_json(out);
        json_decref(out);
    } else {
        cli_table_print(t, stdout);
    }
    int rc = check_answer(got, "room", servers, ctx->timeout_ms);
    if (rc == CLI_EXIT_OK && json_array_size(members) == 0)
        rc = cli_fail(CLI_EXIT_NONE, "room %s has no member in namespace %s", room, ctx->nsp);
    cli_table_free(t);
    json_decref(members);
    json_decref(owners);
    json_decref(sockets);
    return rc;
}

/* The keys of the socket's handshake.auth, comma-separated. Caller frees. */
static char *auth_keys(const json_t *sock, json_t *keys_out)
{
    util_buf b = UTIL_BUF_INIT;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(sock, "handshake"), "auth"), k, v)
    {
        if (b.len)
            util_buf_putc(&b, ',');
        util_buf_puts(&b, k);
        json_array_append_new(keys_out, json_string(k));
    }
    return util_buf_steal_str(&b);
}

int cmd_sockets(cli_ctx *ctx, const cli_args *a)
{
    size_t n_rooms = a->rooms.n, n_except = a->except.n;
    const char *const *rooms = a->rooms.v;
    const char *const *except = a->except.v;
    char err[512];
    if (cli_req_listen(ctx, err, sizeof err) != 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *sockets = NULL;
    long long servers = 0;
    int got =
        cli_req_fetch(ctx, rooms, n_rooms, except, n_except, &sockets, &servers, err, sizeof err);
    if (got < 0)
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    json_t *owners = json_array_size(sockets) ? cli_req_socket_owners(ctx) : json_object();
    sort_by_id(sockets);
    json_t *rows = json_array();
    static const char *const heads[] = {"SOCKET", "NODE", "ROOMS", "ADDRESS", "AUTH", "DATA"};
    cli_table *t = cli_table_new(6, heads);
    size_t i;
    json_t *s;
    json_array_foreach(sockets, i, s)
    {
        const char *id = json_string_value(json_object_get(s, "id"));
        const char *node, *sid;
        owner_of(owners, id, &node, &sid);
        json_t *hs = json_object_get(s, "handshake");
        json_t *address = json_object_get(hs, "address");
        json_t *keys = json_array();
        char *auth = auth_keys(s, keys);
        char *room_list = rooms_text(s);
        json_t *data = json_object_get(s, "data");
        char *data_text = cli_json_text(data);
        json_t *row =
            json_pack("{s:s,s:o,s:o,s:O,s:O,s:o,s:O,s:O}", "id", id, "node",
                      node ? json_string(node) : json_null(), "sid",
                      sid ? json_string(sid) : json_null(), "rooms", json_object_get(s, "rooms"),
                      "address", address ? address : json_null(), "auth_keys", keys, "handshake",
                      hs ? hs : json_null(), "data", data ? data : json_null());
        if (row)
            json_array_append_new(rows, row);
        const char *cells[] = {id,
                               node,
                               room_list[0] ? room_list : "-",
                               json_string_value(address),
                               auth[0] ? auth : "-",
                               data_text};
        cli_table_add(t, cells);
        util_free(auth);
        util_free(room_list);
        util_free(data_text);
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s,s:O,s:I}", "nsp", ctx->nsp, "sockets", rows, "servers",
                                (json_int_t)servers);
        cli_print_json(out);
        json_decref(out);
    } else {
        cli_table_print(t, stdout);
    }
    int rc = check_answer(got, "sockets", servers, ctx->timeout_ms);
    if (rc == CLI_EXIT_OK && json_array_size(rows) == 0)
        rc = cli_fail(CLI_EXIT_NONE, "no socket matched in namespace %s", ctx->nsp);
    cli_table_free(t);
    json_decref(rows);
    json_decref(owners);
    json_decref(sockets);
    return rc;
}
