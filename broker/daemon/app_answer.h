/* app_answer: the pure half of the app bridge's protocol (docs/app-bridge.md): binary values to and
 * from placeholders + base64 attachments, the answer list of a POST, and the validation of an
 * answer's actions into a plan (all or nothing). No I/O; fuzzed by tests/fuzz/fuzz_app_answer.c. */
#ifndef APP_ANSWER_H
#define APP_ANSWER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest socket data (compact JSON bytes) the node keeps for a socket. */
#define APP_MAX_DATA 65536
/** Longest room name an action may use. */
#define APP_MAX_ROOM 256

typedef enum app_call_kind { APP_CALL_CONNECT, APP_CALL_EVENT, APP_CALL_DISCONNECT } app_call_kind;

/** What validating a plan needs to know about the node. */
typedef struct app_plan_env {
    bool (*nsp_exists)(const char *name, void *ud); /**< a namespace the node serves */
    void *ud;
} app_plan_env;

/* A copy of v (borrowed) where every binary value is {"_placeholder":true,"num":N} and its bytes
 * the base64 string atts[N] (atts: an array, appended to). Caller owns the result. */
json_t *app_to_wire(json_t *v, json_t *atts);

/* The value of v (borrowed) with placeholders turned back into binary values from atts (borrowed;
 * NULL: no attachments, placeholder-shaped objects stay objects). Returns a new reference, or NULL
 * with *why set (num out of range, bad base64). */
json_t *app_from_wire(json_t *v, json_t *atts, const char **why);

/* True when data may be kept as socket data (at most APP_MAX_DATA bytes of JSON); *why otherwise. */
bool app_data_ok(json_t *data, const char **why);

/* The "answers" array of a POST's answer body (new reference) when it is JSON {"answers": [n
 * objects]}, else NULL with *why set. body is borrowed. */
json_t *app_answers_parse(const uint8_t *body, size_t len, size_t n, const char **why);

/* Validates the "actions" of answer (borrowed) to a call of kind (ack_asked: the client asked for
 * an ack) into a plan: a new array of normalized actions (args with binary values restored,
 * defaults filled in) that applying cannot fail on; NULL with *why set when any action is
 * invalid, so that nothing of the answer is applied. */
json_t *app_plan_actions(const app_plan_env *env, json_t *answer, app_call_kind kind,
                         bool ack_asked, const char **why);

#endif
