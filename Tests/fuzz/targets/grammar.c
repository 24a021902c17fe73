// fuzz-options: -max_len=4096
/* Grammars: GBNF compiled with swiftlet_grammar_create, a text matched
** against it, and tokens sampled under it from the seed model's vocabulary.
**
** The input is the grammar, a NUL, then the text to match (no NUL: the
** whole input is the grammar and the text is empty). An input starting with
** '{' is also compiled as a JSON Schema.
**
** Contract: compiling answers OK or INVALID_ARGUMENT; matching and sampling
** answer OK or OUT_OF_MEMORY (bounds on the parse), sampling also
** INVALID_ARGUMENT (no token can continue, or the text is complete). Every
** prefix of a text that matches (PREFIX or COMPLETE) matches too; the
** bytes of the tokens a sampler picks always match, and it picks
** end-of-generation only where they are COMPLETE. */
#include "../fuzz_common.h"

#define MAX_TOKENS 12

static swiftlet_model *model;
static int32_t vocabulary;
static float *logits;

static void release(void) {
    free(logits);
    swiftlet_model_free(model);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model = fuzz_load_seed_model("gpt2.gguf");
    vocabulary = swiftlet_vocab_size(model);
    logits = calloc((size_t)vocabulary, sizeof *logits);
    atexit(release);
    return 0;
}

/* SWIFTLET_GRAMMAR_*, or -1 when the parse ran out of its bounds. */
static int32_t match(const swiftlet_grammar *grammar, const char *text, size_t length) {
    int32_t result = -1;
    swiftlet_status status = FUZZ_CALL(swiftlet_grammar_match(grammar, text, length, &result));
    if (status == SWIFTLET_ERROR_OUT_OF_MEMORY) return -1;
    FUZZ_REQUIRE(status == SWIFTLET_OK);
    FUZZ_REQUIRE(result >= SWIFTLET_GRAMMAR_NO_MATCH && result <= SWIFTLET_GRAMMAR_COMPLETE);
    return result;
}

static void sample(const swiftlet_grammar *grammar, const uint8_t *data, size_t size) {
    swiftlet_sampler_params params;
    swiftlet_sampler_params_init(&params);
    params.temperature = 0;
    params.grammar = grammar;
    swiftlet_sampler *sampler = NULL;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_sampler_create(&params, &sampler)) == SWIFTLET_OK);
    char text[MAX_TOKENS * 64];
    size_t length = 0;
    for (int step = 0; step < MAX_TOKENS; step++) {
        for (int32_t t = 0; t < vocabulary; t++)  // greedy over logits the input decides
            logits[t] = size ? (float)(data[(size_t)(t + step) % size] ^ (uint8_t)t) : 0;
        int32_t token = -1;
        swiftlet_status status = FUZZ_CALL(swiftlet_sampler_sample_logits(sampler, model, logits, (size_t)vocabulary,
                                                                          &token));
        if (status == SWIFTLET_ERROR_OUT_OF_MEMORY || status == SWIFTLET_ERROR_INVALID_ARGUMENT) break;
        FUZZ_REQUIRE(status == SWIFTLET_OK && token >= 0 && token < vocabulary);
        int32_t matched = match(grammar, text, length);
        if (swiftlet_token_is_end_of_generation(model, token)) {
            FUZZ_REQUIRE(matched == SWIFTLET_GRAMMAR_COMPLETE || matched == -1);
            break;
        }
        size_t piece = 0;
        FUZZ_REQUIRE(FUZZ_CALL(swiftlet_token_to_bytes(model, token, text + length, sizeof text - length, &piece)) ==
                     SWIFTLET_OK);
        length += piece;
        matched = match(grammar, text, length);
        FUZZ_REQUIRE(matched != SWIFTLET_GRAMMAR_NO_MATCH);
        if (sizeof text - length < 64) break;
    }
    swiftlet_sampler_free(sampler);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *input = malloc(size + 1);
    memcpy(input, data, size);
    input[size] = '\0';
    size_t grammar_length = strlen(input);
    const char *text = grammar_length < size ? input + grammar_length + 1 : "";
    size_t text_length = grammar_length < size ? size - grammar_length - 1 : 0;

    swiftlet_grammar *grammar = NULL;
    swiftlet_status status = FUZZ_CALL(swiftlet_grammar_create(NULL, input, NULL, &grammar));
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_INVALID_ARGUMENT);
    if (status == SWIFTLET_OK) {
        int32_t whole = match(grammar, text, text_length);
        if (whole == SWIFTLET_GRAMMAR_PREFIX || whole == SWIFTLET_GRAMMAR_COMPLETE) {
            for (size_t cut = 0; cut < text_length && cut < 64; cut++) {
                int32_t part = match(grammar, text, cut);
                FUZZ_REQUIRE(part == SWIFTLET_GRAMMAR_PREFIX || part == SWIFTLET_GRAMMAR_COMPLETE || part == -1);
            }
        }
        sample(grammar, data, size);
        swiftlet_grammar_free(grammar);
    }
    if (input[0] == '{') {
        status = FUZZ_CALL(swiftlet_grammar_from_json_schema(NULL, input, &grammar));
        FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_INVALID_ARGUMENT);
        if (status == SWIFTLET_OK) {
            sample(grammar, data, size);
            swiftlet_grammar_free(grammar);
        }
    }
    free(input);
    return 0;
}
