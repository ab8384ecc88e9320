/* fuzz_app_answer: libFuzzer target for the app bridge's answer decoding (broker/daemon/
 * app_answer.h): the bytes are an application's answer body to a POST of one call. What parses is
 * validated as the answer to a connect, an event with and without an ack, and a disconnect; a plan
 * is all-or-nothing and every binary value it holds turns back into the same placeholders; the
 * wire form of a plan's args decodes to an equal value. */
#include "app_answer.h"

#include "sio_binary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_app_answer: %s\n", what);
    abort();
}

static bool nsp_exists(const char *name, void *ud)
{
    (void)ud;
    return strcmp(name, "/") == 0 || strcmp(name, "/chat") == 0;
}

/* args (with binary values) -> wire -> args must give an equal tree. */
static void roundtrip(json_t *args)
{
    json_t *atts = json_array();
    json_t *wire = app_to_wire(args, atts);
    const char *why = NULL;
    json_t *back = app_from_wire(wire, json_array_size(atts) ? atts : NULL, &why);
    if (!back)
        fail("the wire form of a plan's args does not decode");
    json_t *w2 = json_array();
    json_t *again = app_to_wire(back, w2);
    if (!json_equal(again, wire) || !json_equal(w2, atts))
        fail("args do not survive wire and back");
    json_decref(again);
    json_decref(w2);
    json_decref(back);
    json_decref(wire);
    json_decref(atts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_set_alloc_funcs(malloc, free);
    const char *why = NULL;
    json_t *answers = app_answers_parse(data, size, 1, &why);
    if (!answers) {
        if (!why)
            fail("refused without a reason");
        return 0;
    }
    json_t *answer = json_array_get(answers, 0);
    app_plan_env env = {nsp_exists, NULL};
    static const struct {
        app_call_kind kind;
        bool ack;
    } k_cases[] = {{APP_CALL_CONNECT, false},
                   {APP_CALL_EVENT, false},
                   {APP_CALL_EVENT, true},
                   {APP_CALL_DISCONNECT, false}};
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        why = NULL;
        json_t *plan = app_plan_actions(&env, answer, k_cases[i].kind, k_cases[i].ack, &why);
        if (!plan) {
            if (!why)
                fail("plan refused without a reason");
            continue;
        }
        size_t n = json_array_size(json_object_get(answer, "actions"));
        if (json_array_size(plan) != n)
            fail("a plan does not hold every action");
        size_t j;
        json_t *act;
        int acks = 0;
        json_array_foreach(plan, j, act)
        {
            const char *type = json_string_value(json_object_get(act, "type"));
            if (!type)
                fail("a planned action has no type");
            acks += strcmp(type, "ack") == 0;
            json_t *args = json_object_get(act, "args");
            if (args)
                roundtrip(args);
        }
        if (acks > (k_cases[i].ack ? 1 : 0))
            fail("more acks planned than asked");
        json_decref(plan);
    }
    json_decref(answers);
    return 0;
}
