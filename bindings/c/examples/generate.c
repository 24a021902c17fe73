/* generate.c — load a model and stream a continuation of a prompt.
**
**   cc -I include generate.c -L build/lib -lswiftlet -o generate
**   ./generate MODEL.gguf "Once upon a time" [max_tokens]
**
** The prompt is sent through the model's chat template as one user message
** when the model has one (SmolLM2-Instruct does), so an instruct model answers
** it; a base model without a template (Gemma 3 270M) continues the text. Set
** SWIFTLET_RAW=1 to continue the raw text in any case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swiftlet.h"

static int32_t print_piece(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    (void)token;
    (void)user_data;
    fwrite(piece, 1, piece_len, stdout);
    fflush(stdout);
    return 1; /* go on */
}

static int fail(const char *what, swiftlet_status status) {
    fprintf(stderr, "%s: %s (%s)\n", what, swiftlet_status_string(status), swiftlet_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT [max_tokens]\n", argv[0]);
        return 2;
    }
    if (swiftlet_version_number() != SWIFTLET_VERSION_NUMBER) {
        fprintf(stderr, "warning: header %s, library %s\n", SWIFTLET_VERSION_STRING, swiftlet_version());
    }

    swiftlet_model *model = NULL;
    swiftlet_status status = swiftlet_model_load(argv[1], NULL, &model);
    if (status != SWIFTLET_OK) return fail("loading the model", status);

    swiftlet_context *context = NULL;
    status = swiftlet_context_create(model, NULL, &context);
    if (status != SWIFTLET_OK) {
        swiftlet_model_free(model);
        return fail("creating a context", status);
    }

    swiftlet_generate_params params;
    swiftlet_generate_params_init(&params);
    params.max_tokens = argc > 3 ? atoi(argv[3]) : 200;
    swiftlet_sampler_params sampling;
    swiftlet_sampler_params_init(&sampling);
    sampling.temperature = 0;
    params.sampling = &sampling; /* greedy: the same text every run */

    swiftlet_generate_result result = {.struct_size = sizeof result};
    const char *raw = getenv("SWIFTLET_RAW");
    size_t template_length = 0;
    int has_template = swiftlet_model_meta_value(model, "tokenizer.chat_template", NULL, 0, &template_length)
                       != SWIFTLET_ERROR_NOT_FOUND;
    if ((raw && strcmp(raw, "1") == 0) || !has_template) {
        fputs(argv[2], stdout);
        status = swiftlet_generate(context, argv[2], &params, print_piece, NULL, &result);
    } else {
        swiftlet_chat_message message = {sizeof message, 0, "user", argv[2]};
        status = swiftlet_chat(context, &message, 1, NULL, &params, print_piece, NULL, &result);
    }
    putchar('\n');
    fflush(stdout); /* the text first, then the summary on stderr */
    int exit_code = 0;
    if (status != SWIFTLET_OK) exit_code = fail("generating", status);
    else fprintf(stderr, "[%d prompt tokens, %d generated]\n", result.n_prompt_tokens, result.n_generated_tokens);

    swiftlet_context_free(context);
    swiftlet_model_free(model);
    return exit_code;
}
