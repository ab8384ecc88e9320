/* app_answer: the pure half of the app bridge's protocol (docs/app-bridge.md): binary values to
 * and from placeholders + base64 attachments, the answer list of a POST, and the validation of an
 * answer's actions into a plan (all or nothing). No I/O. */
#include "app_answer.h"

#include "sio_binary.h"
#include "sio_packet.h"
#include "util_alloc.h"
#include "util_base64.h"
#include "util_buf.h"

#include <string.h>

/* ---- binary values <-> placeholders + base64 attachments -------------------------------------- */

/* A copy of v where every binary value is {"_placeholder":true,"num":N} and its bytes the base64
 * string atts[N] (atts: an array, appended to). Caller owns the result. */
json_t *app_to_wire(json_t *v, json_t *atts)
{
    size_t len;
    const uint8_t *bytes = sio_binary_data(v, &len);
    if (bytes) {
        util_buf b = UTIL_BUF_INIT;
        util_base64_encode(&b, bytes, len);
        json_array_append_new(atts, json_stringn(b.len ? (const char *)b.data : "", b.len));
        util_buf_free(&b);
        json_t *ph = json_object();
        json_object_set_new(ph, "_placeholder", json_true());
        json_object_set_new(ph, "num", json_integer((json_int_t)json_array_size(atts) - 1));
        return ph;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_array_append_new(a, app_to_wire(e, atts));
        }
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            json_object_set_new(o, k, app_to_wire(e, atts));
        }
        return o;
    }
    return json_incref(v);
}

/* The value of v with placeholders turned back into binary values from atts (NULL: no
 * attachments, placeholders stay objects). Returns a new reference, or NULL with *why set. */
json_t *app_from_wire(json_t *v, json_t *atts, const char **why)
{
    if (json_is_object(v)) {
        json_t *ph = json_object_get(v, "_placeholder");
        json_t *num = json_object_get(v, "num");
        if (atts && json_object_size(v) == 2 && json_is_true(ph) && json_is_integer(num)) {
            json_int_t n = json_integer_value(num);
            if (n < 0 || (size_t)n >= json_array_size(atts)) {
                *why = "a placeholder's num is out of range";
                return NULL;
            }
            json_t *a = json_array_get(atts, (size_t)n);
            util_buf b = UTIL_BUF_INIT;
            if (!json_is_string(a) ||
                util_base64_decode(&b, json_string_value(a), json_string_length(a)) != 0) {
                util_buf_free(&b);
                *why = "an attachment is not valid base64";
                return NULL;
            }
            json_t *bin = sio_binary_new(b.data ? b.data : (const uint8_t *)"", b.len);
            util_buf_free(&b);
            return bin;
        }
        json_t *o = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            json_t *c = app_from_wire(e, atts, why);
            if (!c) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, k, c);
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_t *c = app_from_wire(e, atts, why);
            if (!c) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, c);
        }
        return a;
    }
    return json_incref(v);
}

/* ---- validation: an answer's actions become a plan, or nothing -------------------------------- */

/* Checks rooms (an array of room names; absent allowed when optional). */
static bool rooms_ok(json_t *rooms, bool optional, const char **why)
{
    if (!rooms) {
        if (!optional)
            *why = "\"rooms\" is required";
        return optional;
    }
    if (!json_is_array(rooms)) {
        *why = "\"rooms\" is not an array";
        return false;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rooms, i, r)
    {
        if (!json_is_string(r) || json_string_length(r) == 0 ||
            json_string_length(r) > APP_MAX_ROOM ||
            strlen(json_string_value(r)) != json_string_length(r)) {
            *why = "a room is not a non-empty string of at most 256 bytes";
            return false;
        }
    }
    return true;
}

/* Checks socket data: any JSON of at most APP_MAX_DATA bytes. */
bool app_data_ok(json_t *data, const char **why)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = text ? strlen(text) : 0;
    util_free(text);
    if (!text || len > APP_MAX_DATA) {
        *why = "socket data larger than 64 KiB";
        return false;
    }
    return true;
}

/* The args of an emit / ack / broadcast action with binary restored (new reference), or NULL. */
static json_t *action_args(json_t *a, const char **why)
{
    json_t *args = json_object_get(a, "args");
    json_t *atts = json_object_get(a, "attachments");
    if (!args)
        return json_array();
    if (!json_is_array(args)) {
        *why = "\"args\" is not an array";
        return NULL;
    }
    if (atts && !json_is_array(atts)) {
        *why = "\"attachments\" is not an array";
        return NULL;
    }
    return app_from_wire(args, atts && json_array_size(atts) ? atts : NULL, why);
}

static bool event_ok(json_t *a, const char **why)
{
    const char *ev = json_string_value(json_object_get(a, "event"));
    if (!ev || !*ev) {
        *why = "\"event\" is not a non-empty string";
        return false;
    }
    if (sio_event_reserved(ev)) {
        *why = "reserved event name";
        return false;
    }
    return true;
}

/* Validates one action; returns its normalized form (args with binary values) or NULL. */
static json_t *action_check(const app_plan_env *env, json_t *a, app_call_kind kind, bool *ack_left,
                            const char **why)
{
    if (!json_is_object(a)) {
        *why = "an action is not an object";
        return NULL;
    }
    const char *type = json_string_value(json_object_get(a, "type"));
    if (!type) {
        *why = "an action has no \"type\"";
        return NULL;
    }
    json_t *out = json_object();
    json_object_set_new(out, "type", json_string(type));
    if (strcmp(type, "emit") == 0 || strcmp(type, "ack") == 0 || strcmp(type, "broadcast") == 0) {
        bool is_ack = type[0] == 'a';
        if (is_ack) {
            if (kind != APP_CALL_EVENT || !*ack_left) {
                *why = "an \"ack\" action without an ack to send (not asked, or twice)";
                goto bad;
            }
            *ack_left = false;
        } else if (!event_ok(a, why)) {
            goto bad;
        } else {
            json_object_set(out, "event", json_object_get(a, "event"));
        }
        json_t *args = action_args(a, why);
        if (!args)
            goto bad;
        json_object_set_new(out, "args", args);
        if (type[0] == 'b') {
            json_t *nsp = json_object_get(a, "nsp");
            json_t *rooms = json_object_get(a, "rooms");
            json_t *except = json_object_get(a, "except");
            if (nsp &&
                (!json_is_string(nsp) || !env->nsp_exists(json_string_value(nsp), env->ud))) {
                *why = "\"nsp\" is not a namespace served by this node";
                goto bad;
            }
            if (!rooms_ok(rooms, true, why) || !rooms_ok(except, true, why))
                goto bad;
            json_t *vol = json_object_get(a, "volatile");
            json_t *local = json_object_get(a, "local");
            if ((vol && !json_is_boolean(vol)) || (local && !json_is_boolean(local))) {
                *why = "\"volatile\" / \"local\" are not booleans";
                goto bad;
            }
            if (nsp)
                json_object_set(out, "nsp", nsp);
            if (rooms)
                json_object_set(out, "rooms", rooms);
            if (except)
                json_object_set(out, "except", except);
            json_object_set_new(out, "volatile", json_boolean(json_is_true(vol)));
            json_object_set_new(out, "local", json_boolean(json_is_true(local)));
        }
    } else if (strcmp(type, "join") == 0 || strcmp(type, "leave") == 0) {
        json_t *rooms = json_object_get(a, "rooms");
        if (!rooms_ok(rooms, false, why))
            goto bad;
        json_object_set(out, "rooms", rooms);
    } else if (strcmp(type, "set_data") == 0) {
        json_t *data = json_object_get(a, "data");
        if (!data) {
            *why = "\"set_data\" without \"data\"";
            goto bad;
        }
        if (!app_data_ok(data, why))
            goto bad;
        json_object_set(out, "data", data);
    } else if (strcmp(type, "disconnect") == 0) {
        json_t *close = json_object_get(a, "close");
        if (close && !json_is_boolean(close)) {
            *why = "\"close\" is not a boolean";
            goto bad;
        }
        json_object_set_new(out, "close", json_boolean(json_is_true(close)));
    } else {
        *why = "unknown action type";
        goto bad;
    }
    return out;
bad:
    json_decref(out);
    return NULL;
}

/* Validates the "actions" of an answer; returns the plan (a new array) or NULL with *why. */
json_t *app_plan_actions(const app_plan_env *env, json_t *answer, app_call_kind kind,
                         bool ack_asked, const char **why)
{
    json_t *actions = json_object_get(answer, "actions");
    json_t *plan = json_array();
    if (!actions)
        return plan;
    if (!json_is_array(actions)) {
        *why = "\"actions\" is not an array";
        json_decref(plan);
        return NULL;
    }
    bool ack_left = ack_asked;
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        json_t *n = action_check(env, a, kind, &ack_left, why);
        if (!n) {
            json_decref(plan);
            return NULL;
        }
        json_array_append_new(plan, n);
    }
    return plan;
}

json_t *app_answers_parse(const uint8_t *body, size_t len, size_t n, const char **why)
{
    json_error_t e;
    json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &e);
    if (!root) {
        *why = "answer body is not JSON";
        return NULL;
    }
    json_t *answers = json_object_get(root, "answers");
    if (!json_is_array(answers)) {
        *why = "answer body has no \"answers\" array";
    } else if (json_array_size(answers) != n) {
        *why = "answer count differs from the call count";
    } else {
        size_t i;
        json_t *a;
        json_array_foreach(answers, i, a)
        {
            if (!json_is_object(a)) {
                *why = "an answer is not an object";
                json_decref(root);
                return NULL;
            }
        }
        json_incref(answers);
        json_decref(root);
        return answers;
    }
    json_decref(root);
    return NULL;
}
