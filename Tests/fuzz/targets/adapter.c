// fuzz-options: -max_len=32768
/* LoRA adapter files: the input's bytes are an adapter, loaded with
** swiftlet_adapter_load from a memory file (memfd, as the gguf target) for
** one fixed base model, llama-untied.gguf of $SWIFTLET_FUZZ_MODELS (llama,
** two layers, separate q/k/v/o/gate/up/down and its own head: every tensor
** an adapter can name), with one small context made once.
**
** A load may fail with any documented status but INTERNAL. An adapter that
** loads reports rank >= 1, a finite alpha and 1..15 adapted tensors (7 per
** layer and the head), and in the context:
**   - attached at scale 1 it empties the context and a 16-token evaluation
**     (the batch path that splits tokens across workers) answers OK with
**     logits; attaching the same set again changes nothing (position kept);
**     the adapter twice, or a non-finite scale, is INVALID_ARGUMENT and
**     leaves the set;
**   - at scale 0 it applies nothing: 4 tokens give the base model's logits
**     bit for bit;
**   - at scale 0.5, with the caller's reference already freed (the context
**     keeps its own), 4 tokens evaluate OK;
**   - detached, the 4 tokens give the base model's logits bit for bit again.
** With finite adapter values the logits may still overflow (alpha / r and the
** values are unbounded), so only the evaluation's status is asserted, not
** finite logits. Seeds: valid and malformed adapters for that base
** (Tests/fuzz/make_seeds.py, write_adapter_seeds). */
#define _GNU_SOURCE
#include <math.h>

#include "../memory_file.h"

static fuzz_memory_file file;
static swiftlet_model *model;
static swiftlet_context *context;
static int32_t n_vocab;
static float *base_logits;

/* Byte tokens and the control tokens of the tiny vocabulary (300 tokens). */
static const int32_t short_tokens[4] = {72, 299, 105, 256};
static const int32_t long_tokens[16] = {72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100, 297, 298, 0, 255, 33};

/* Evaluates `tokens` from an empty context: OK, position n, logits there. */
static const float *evaluate(const int32_t *tokens, size_t n) {
    FUZZ_REQUIRE(swiftlet_context_position(context) == 0);
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_eval(context, tokens, n)) == SWIFTLET_OK);
    FUZZ_REQUIRE(swiftlet_context_position(context) == (int32_t)n);
    const float *logits = swiftlet_context_logits(context);
    FUZZ_REQUIRE(logits != NULL);
    return logits;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_memory_file_open(&file, "swiftlet-fuzz-adapter");
    model = fuzz_load_seed_model("llama-untied.gguf");
    n_vocab = swiftlet_vocab_size(model);
    FUZZ_REQUIRE(n_vocab == 300);
    swiftlet_context_params params;
    swiftlet_context_params_init(&params);
    params.n_ctx = 32;
    params.n_batch = 16;
    params.n_threads = 1;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_create(model, &params, &context)) == SWIFTLET_OK);
    base_logits = malloc(sizeof(float) * (size_t)n_vocab);
    memcpy(base_logits, evaluate(short_tokens, 4), sizeof(float) * (size_t)n_vocab);
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_reset(context)) == SWIFTLET_OK);
    return 0;
}

static swiftlet_status attach(const swiftlet_adapter *adapter, float scale) {
    return FUZZ_CALL(swiftlet_context_set_adapters(context, &adapter, &scale, 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_memory_file_write(&file, data, size);
    swiftlet_adapter *adapter = NULL;
    if (FUZZ_CALL(swiftlet_adapter_load(model, file.path, &adapter)) != SWIFTLET_OK) {
        FUZZ_REQUIRE(adapter == NULL);
        return 0;
    }
    FUZZ_REQUIRE(adapter != NULL);
    int32_t rank = 0, n_tensors = 0;
    float alpha = NAN;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_adapter_info(adapter, &rank, &alpha, &n_tensors)) == SWIFTLET_OK);
    FUZZ_REQUIRE(rank >= 1 && isfinite(alpha) && n_tensors >= 1 && n_tensors <= 15);
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_adapter_info(adapter, NULL, NULL, NULL)) == SWIFTLET_OK);

    // Scale 1: a new set empties the context; the same set again changes nothing.
    FUZZ_REQUIRE(attach(adapter, 1.0f) == SWIFTLET_OK);
    evaluate(long_tokens, 16);
    FUZZ_REQUIRE(attach(adapter, 1.0f) == SWIFTLET_OK);
    FUZZ_REQUIRE(swiftlet_context_position(context) == 16);
    const swiftlet_adapter *twice[2] = {adapter, adapter};
    const float scales[2] = {1.0f, 1.0f};
    swiftlet_status status = FUZZ_CALL(swiftlet_context_set_adapters(context, twice, scales, 2));
    FUZZ_REQUIRE(status == SWIFTLET_ERROR_INVALID_ARGUMENT);
    FUZZ_REQUIRE(attach(adapter, INFINITY) == SWIFTLET_ERROR_INVALID_ARGUMENT);
    FUZZ_REQUIRE(swiftlet_context_position(context) == 16);

    // Scale 0 applies nothing.
    FUZZ_REQUIRE(attach(adapter, 0.0f) == SWIFTLET_OK);
    FUZZ_REQUIRE(memcmp(evaluate(short_tokens, 4), base_logits, sizeof(float) * (size_t)n_vocab) == 0);

    // Scale 0.5, the context holding the only reference.
    FUZZ_REQUIRE(attach(adapter, 0.5f) == SWIFTLET_OK);
    swiftlet_adapter_free(adapter);
    evaluate(short_tokens, 4);

    // Detached: the base model again.
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_set_adapters(context, NULL, NULL, 0)) == SWIFTLET_OK);
    FUZZ_REQUIRE(memcmp(evaluate(short_tokens, 4), base_logits, sizeof(float) * (size_t)n_vocab) == 0);
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_reset(context)) == SWIFTLET_OK);
    return 0;
}
