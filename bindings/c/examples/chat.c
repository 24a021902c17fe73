#define _POSIX_C_SOURCE 200809L /* strdup */

/* chat.c — a chat loop on stdin: each line is a user message, the model's
** reply streams to stdout. The context keeps the conversation, so earlier
** turns are not evaluated again.
**
**   cc -I include chat.c -L build/lib -lswiftlet -o chat
**   ./chat MODEL.gguf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swiftlet.h"

enum { MAX_MESSAGES = 256, MAX_LINE = 4096 };

typedef struct reply {
    char *text;
    size_t length, capacity;
} reply;

static int32_t collect(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    (void)token;
    reply *r = user_data;
    fwrite(piece, 1, piece_len, stdout);
    fflush(stdout);
    if (r->length + piece_len + 1 > r->capacity) {
        size_t capacity = (r->length + piece_len + 1) * 2;
        char *grown = realloc(r->text, capacity);
        if (!grown) return 0; /* stop */
        r->text = grown;
        r->capacity = capacity;
    }
    memcpy(r->text + r->length, piece, piece_len);
    r->length += piece_len;
    r->text[r->length] = 0;
    return 1; /* go on */
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    swiftlet_model *model = NULL;
    swiftlet_status status = swiftlet_model_load(argv[1], NULL, &model);
    if (status != SWIFTLET_OK) {
        fprintf(stderr, "loading the model: %s\n", swiftlet_last_error());
        return 1;
    }
    swiftlet_context *context = NULL;
    status = swiftlet_context_create(model, NULL, &context);
    if (status != SWIFTLET_OK) {
        fprintf(stderr, "creating a context: %s\n", swiftlet_last_error());
        swiftlet_model_free(model);
        return 1;
    }
    swiftlet_generate_params params;
    swiftlet_generate_params_init(&params);
    params.max_tokens = 256;
    swiftlet_sampler_params sampling;
    swiftlet_sampler_params_init(&sampling);
    sampling.temperature = 0;
    params.sampling = &sampling;

    static swiftlet_chat_message messages[MAX_MESSAGES];
    static char *owned[MAX_MESSAGES];
    size_t count = 0;
    char line[MAX_LINE];
    int exit_code = 0;
    fprintf(stderr, "> ");
    while (count + 2 <= MAX_MESSAGES && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == 0) { fprintf(stderr, "> "); continue; }
        owned[count] = strdup(line);
        messages[count] = (swiftlet_chat_message){sizeof(swiftlet_chat_message), 0, "user", owned[count]};
        count++;
        reply r = {0};
        status = swiftlet_chat(context, messages, count, NULL, &params, collect, &r, NULL);
        putchar('\n');
        if (status == SWIFTLET_ERROR_CONTEXT_FULL) {
            fprintf(stderr, "(the context is full; ending the chat)\n");
            free(r.text);
            break;
        }
        if (status != SWIFTLET_OK) {
            fprintf(stderr, "chat: %s\n", swiftlet_last_error());
            free(r.text);
            exit_code = 1;
            break;
        }
        owned[count] = r.text ? r.text : strdup("");
        messages[count] = (swiftlet_chat_message){sizeof(swiftlet_chat_message), 0, "assistant", owned[count]};
        count++;
        fprintf(stderr, "> ");
    }
    for (size_t i = 0; i < count; i++) free(owned[i]);
    swiftlet_context_free(context);
    swiftlet_model_free(model);
    return exit_code;
}
