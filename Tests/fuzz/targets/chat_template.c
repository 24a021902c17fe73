// fuzz-options: -max_len=8192
/* Chat templates: parsing and rendering a template given as source through
** swiftlet_chat_params.chat_template, with swiftlet_chat_format.
**
** The input is the template source, a NUL, then the messages' contents
** separated by NULs (no NUL: the whole input is the template and there is
** one message "Hello!"). Roles: "system" first when there are three or more
** messages, then user and assistant in turn; a generation prompt is asked
** for unless the last message is the assistant's. The same messages are
** also rendered with the model's own (ChatML) template, which must succeed.
**
** Any answer but OK, TEMPLATE or BUFFER_TOO_SMALL is a broken contract; so
** is a size query and a render that disagree, a render that is not UTF-8,
** or two renders of the same input that differ. */
#include "../fuzz_common.h"

#define MAX_MESSAGES 16

static swiftlet_model *model;

static void free_model(void) { swiftlet_model_free(model); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model = fuzz_load_seed_model("gpt2.gguf");
    atexit(free_model);
    return 0;
}

/* `may_fail`: whether the template may be refused (TEMPLATE). */
static void render(const swiftlet_chat_message *messages, size_t count, const swiftlet_chat_params *params,
                   int may_fail) {
    size_t needed = 0;
    swiftlet_status status = FUZZ_CALL(swiftlet_chat_format(model, messages, count, params, NULL, 0, &needed));
    if (status == SWIFTLET_ERROR_TEMPLATE && may_fail) return;
    FUZZ_REQUIRE(status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
    char *first = malloc(needed + 1), *second = malloc(needed + 1);
    size_t length = 0;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_chat_format(model, messages, count, params, first, needed + 1, &length)) ==
                 SWIFTLET_OK);
    FUZZ_REQUIRE(length == needed && first[length] == '\0');
    FUZZ_REQUIRE(fuzz_is_utf8((const uint8_t *)first, length));
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_chat_format(model, messages, count, params, second, needed + 1, &length)) ==
                 SWIFTLET_OK);
    FUZZ_REQUIRE(length == needed && memcmp(first, second, needed + 1) == 0);
    size_t reported = 0;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_chat_format(model, messages, count, params, second, needed, &reported)) ==
                 SWIFTLET_ERROR_BUFFER_TOO_SMALL);
    FUZZ_REQUIRE(reported == needed);
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);  // the parts, each NUL-terminated in place
    memcpy(text, data, size);
    text[size] = '\0';
    const char *template_source = text;
    const char *contents[MAX_MESSAGES];
    size_t count = 0;
    size_t template_length = strlen(text);
    for (size_t at = template_length; at < size && count < MAX_MESSAGES; at += strlen(text + at + 1) + 1)
        contents[count++] = text + at + 1;
    if (count == 0) contents[count++] = "Hello!";

    swiftlet_chat_message messages[MAX_MESSAGES];
    for (size_t i = 0; i < count; i++) {
        size_t turn = count >= 3 ? i - 1 : i;
        messages[i] = (swiftlet_chat_message){
            .struct_size = sizeof messages[i],
            .role = (count >= 3 && i == 0) ? "system" : (turn % 2 == 0 ? "user" : "assistant"),
            .content = contents[i],
        };
    }
    swiftlet_chat_params params;
    swiftlet_chat_params_init(&params);
    params.add_generation_prompt = strcmp(messages[count - 1].role, "assistant") != 0;
    params.chat_template = template_source;
    render(messages, count, &params, 1);
    params.chat_template = NULL;  // the model's own ChatML renders any content
    render(messages, count, &params, 0);
    free(text);
    return 0;
}
