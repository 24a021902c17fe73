/* json_reply.c — asks the model a question and gets its answer as JSON that
** a JSON Schema validates: the sampler only allows tokens that continue a
** document of the schema, and generation ends where the document does.
**
**   cc -I include json_reply.c -L build/lib -lswiftlet -o json_reply
**   ./json_reply MODEL.gguf SCHEMA.json "Which city is the capital of France?" */
#include <stdio.h>
#include <stdlib.h>

#include "swiftlet.h"

static int32_t print_piece(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    (void)token;
    (void)user_data;
    fwrite(piece, 1, piece_len, stdout);
    return 1;
}

/* The whole file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *text = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
    if (size >= 0 && fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        if (fread(text, 1, (size_t)size, file) == (size_t)size) {
            text[size] = 0;
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(file);
    return text;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL.gguf SCHEMA.json QUESTION\n", argv[0]);
        return 2;
    }
    char *schema = read_file(argv[2]);
    if (!schema) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    swiftlet_model *model = NULL;
    swiftlet_context *context = NULL;
    swiftlet_grammar *grammar = NULL;
    int exit_code = 1;
    if (swiftlet_model_load(argv[1], NULL, &model) != SWIFTLET_OK) {
        fprintf(stderr, "loading the model: %s\n", swiftlet_last_error());
    } else if (swiftlet_grammar_from_json_schema(model, schema, &grammar) != SWIFTLET_OK) {
        fprintf(stderr, "the schema: %s\n", swiftlet_last_error());
    } else if (swiftlet_context_create(model, NULL, &context) != SWIFTLET_OK) {
        fprintf(stderr, "creating a context: %s\n", swiftlet_last_error());
    } else {
        swiftlet_sampler_params sampling;
        swiftlet_sampler_params_init(&sampling);
        sampling.temperature = 0;
        sampling.grammar = grammar;
        swiftlet_generate_params params;
        swiftlet_generate_params_init(&params);
        params.max_tokens = 512;
        params.sampling = &sampling;
        swiftlet_chat_message question = {sizeof(swiftlet_chat_message), 0, "user", argv[3]};
        swiftlet_generate_result result = {sizeof(swiftlet_generate_result), 0, 0, 0};
        if (swiftlet_chat(context, &question, 1, NULL, &params, print_piece, NULL, &result) != SWIFTLET_OK) {
            fprintf(stderr, "\ngenerating: %s\n", swiftlet_last_error());
        } else if (result.stop_reason != SWIFTLET_STOP_END_OF_GENERATION) {
            fprintf(stderr, "\nthe reply did not finish within %d tokens\n", params.max_tokens);
        } else {
            putchar('\n');
            exit_code = 0;
        }
    }
    swiftlet_context_free(context);
    swiftlet_grammar_free(grammar);
    swiftlet_model_free(model);
    free(schema);
    return exit_code;
}
