// fuzz-options: -max_len=1024
/* The byte-level BPE tokenizer on arbitrary bytes, through the C API, with
** both pre-tokenizers (the seed models gpt2.gguf and smollm.gguf share one
** 300-token vocabulary whose first 256 tokens are the bytes 0..255).
**
** For every flag combination every id is in the vocabulary. For no flags and
** for SPECIAL|ADD_BOS also: the size query and the real call agree, a buffer
** one short is refused with the size needed, the ids detokenize (size query,
** then an exact buffer) and each one's bytes come back from
** swiftlet_token_to_bytes. Without flags the
** tokenizer is lossless: the tokens' bytes are the input, and the text is
** the input when the input is UTF-8. The input read as byte-token ids
** detokenizes to the same text (U+FFFD for what is not UTF-8). */
#include "../fuzz_common.h"

static swiftlet_model *models[2];

static void free_models(void) {
    swiftlet_model_free(models[0]);
    swiftlet_model_free(models[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    models[0] = fuzz_load_seed_model("gpt2.gguf");
    models[1] = fuzz_load_seed_model("smollm.gguf");
    atexit(free_models);
    return 0;
}

/* Detokenizes `tokens` into a new NUL-terminated buffer (caller frees);
** NULL when an id is refused. */
static char *detokenize(swiftlet_model *model, const int32_t *tokens, size_t count, size_t *out_len) {
    size_t needed = 0;
    swiftlet_status status = FUZZ_CALL(swiftlet_detokenize(model, tokens, count, NULL, 0, &needed));
    if (status == SWIFTLET_ERROR_INVALID_ARGUMENT) return NULL;
    FUZZ_REQUIRE(status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
    char *text = malloc(needed + 1);
    size_t length = 0;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_detokenize(model, tokens, count, text, needed + 1, &length)) == SWIFTLET_OK);
    FUZZ_REQUIRE(length == needed && text[length] == '\0');
    FUZZ_REQUIRE(fuzz_is_utf8((const uint8_t *)text, length));
    if (needed > 0) {  // one byte short: refused, with the same size reported
        size_t reported = 0;
        FUZZ_REQUIRE(FUZZ_CALL(swiftlet_detokenize(model, tokens, count, text, needed, &reported)) ==
                     SWIFTLET_ERROR_BUFFER_TOO_SMALL);
        FUZZ_REQUIRE(reported == needed);
    }
    *out_len = length;
    return text;
}

/* Appends token `id`'s bytes to `out` (which has room for `room` more) and
** returns how many; the size query and the real call agree. */
static size_t token_bytes(swiftlet_model *model, int32_t id, uint8_t *out, size_t room) {
    size_t needed = 0;
    swiftlet_status status = FUZZ_CALL(swiftlet_token_to_bytes(model, id, NULL, 0, &needed));
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
    FUZZ_REQUIRE(needed <= 256);  // the longest token of the seed vocabulary is short
    char piece[256];
    size_t length = 0;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_token_to_bytes(model, id, piece, needed, &length)) == SWIFTLET_OK);
    FUZZ_REQUIRE(length == needed);
    if (out && length <= room) memcpy(out, piece, length);
    return length;
}

static void check(swiftlet_model *model, const uint8_t *data, size_t size) {
    const int32_t n_vocab = swiftlet_vocab_size(model);
    const int utf8 = fuzz_is_utf8(data, size);
    int32_t *tokens = malloc((size + 2) * sizeof *tokens);
    for (uint32_t flags = 0; flags < 8; flags++) {
        // Every combination tokenizes into a large enough buffer; the calls
        // around it cost as much again, so they run for two combinations.
        const int thorough = flags == 0 || flags == (SWIFTLET_TOKENIZE_SPECIAL | SWIFTLET_TOKENIZE_ADD_BOS);
        size_t count = 0;
        FUZZ_REQUIRE(FUZZ_CALL(swiftlet_tokenize(model, (const char *)data, size, flags, tokens, size + 2, &count)) ==
                     SWIFTLET_OK);
        FUZZ_REQUIRE(count <= size + 1);  // at most one token per byte, plus BOS
        for (size_t i = 0; i < count; i++) FUZZ_REQUIRE(tokens[i] >= 0 && tokens[i] < n_vocab);
        if (!thorough) continue;

        size_t reported = 0;
        swiftlet_status status = FUZZ_CALL(swiftlet_tokenize(model, (const char *)data, size, flags, NULL, 0, &reported));
        FUZZ_REQUIRE(status == (count == 0 ? SWIFTLET_OK : SWIFTLET_ERROR_BUFFER_TOO_SMALL) && reported == count);
        if (count > 0) {
            FUZZ_REQUIRE(FUZZ_CALL(swiftlet_tokenize(model, (const char *)data, size, flags, tokens, count - 1,
                                                     &reported)) == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
            FUZZ_REQUIRE(reported == count);
        }
        size_t length = 0;
        char *text = detokenize(model, tokens, count, &length);
        FUZZ_REQUIRE(text != NULL);
        uint8_t *bytes = malloc(size + 1);
        size_t total = 0;
        for (size_t i = 0; i < count; i++)  // control tokens (BOS) may carry text longer than the input
            total += token_bytes(model, tokens[i], total <= size ? bytes + total : NULL, total <= size ? size - total : 0);
        if (flags == 0) {
            FUZZ_REQUIRE(total == size && memcmp(bytes, data, size) == 0);
            if (utf8) FUZZ_REQUIRE(length == size && memcmp(text, data, size) == 0);
        }
        free(bytes);
        free(text);
    }
    free(tokens);

    // The input as byte tokens: decoding arbitrary bytes.
    int32_t *ids = malloc((size ? size : 1) * sizeof *ids);
    for (size_t i = 0; i < size; i++) ids[i] = data[i];
    size_t length = 0;
    char *text = detokenize(model, ids, size, &length);
    FUZZ_REQUIRE(text != NULL);
    if (utf8) FUZZ_REQUIRE(length == size && memcmp(text, data, size) == 0);
    free(text);

    // Ids outside the vocabulary are refused, not read.
    if (size > 0) {
        ids[size / 2] = (data[0] & 1) ? -1 - (int32_t)data[0] : n_vocab + data[0];
        FUZZ_REQUIRE(detokenize(model, ids, size, &length) == NULL);
        size_t needed = 0;
        FUZZ_REQUIRE(FUZZ_CALL(swiftlet_token_to_bytes(model, ids[size / 2], NULL, 0, &needed)) ==
                     SWIFTLET_ERROR_INVALID_ARGUMENT);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check(models[0], data, size);
    check(models[1], data, size);
    return 0;
}
