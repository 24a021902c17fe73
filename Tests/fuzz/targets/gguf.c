// fuzz-options: -max_len=131072
/* GGUF files: the input's bytes are a model file, loaded with
** swiftlet_model_load from a memory file (memfd, opened by its /proc path,
** so the library maps it as it maps any file). When it loads, the cheap
** calls run on it: info, every metadata key and value, tokenize and
** detokenize, token bytes, the model's own chat template, and in a small
** context a one-token evaluation, a sampled token, a three-token generation
** and a chat turn (generated pieces must be whole UTF-8 characters).
**
** A load may fail with any documented status but INTERNAL; a loaded model
** must answer every call within its contract. Seeds: tiny models of every
** supported tensor type and the malformed files of Tests/python/gguf_corpus.py
** (written by Tests/fuzz/make_seeds.py). */
#define _GNU_SOURCE

#include "../memory_file.h"

static fuzz_memory_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_memory_file_open(&file, "swiftlet-fuzz-gguf");
    return 0;
}

/* Bytes the library reports through a size query, then an exact buffer
** (plus the NUL when `terminated`). */
#define QUERY(call_with_buf, terminated)                                                       \
    do {                                                                                       \
        char *buf = NULL;                                                                      \
        size_t buf_size = 0, needed = 0, *out_len = &needed;                                   \
        swiftlet_status status = FUZZ_CALL(call_with_buf);                                     \
        if (status == SWIFTLET_OK) FUZZ_REQUIRE(!(terminated) && needed == 0);                \
        if (status == SWIFTLET_ERROR_BUFFER_TOO_SMALL) {                                       \
            buf_size = needed + ((terminated) ? 1 : 0);                                        \
            buf = malloc(buf_size);                                                            \
            size_t first = needed;                                                             \
            FUZZ_REQUIRE(FUZZ_CALL(call_with_buf) == SWIFTLET_OK);                             \
            FUZZ_REQUIRE(needed == first);                                                     \
            if (terminated) FUZZ_REQUIRE(buf[needed] == '\0');                                 \
            free(buf);                                                                         \
        }                                                                                      \
    } while (0)
#define QUERY_TEXT(call_with_buf) QUERY(call_with_buf, 1)

static void metadata(const swiftlet_model *model) {
    int32_t count = swiftlet_model_meta_count(model);
    FUZZ_REQUIRE(count >= 0);
    for (int32_t i = 0; i < count && i < 64; i++) {
        size_t length = 0;
        swiftlet_status status = FUZZ_CALL(swiftlet_model_meta_key(model, i, NULL, 0, &length));
        FUZZ_REQUIRE(status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);
        char *key = malloc(length + 1);
        FUZZ_REQUIRE(FUZZ_CALL(swiftlet_model_meta_key(model, i, key, length + 1, &length)) == SWIFTLET_OK);
        if (strlen(key) == length) {  // a key holding a NUL cannot be asked for by name
            QUERY_TEXT(swiftlet_model_meta_value(model, key, buf, buf_size, out_len));
        }
        free(key);
    }
    size_t length = 0;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_model_meta_key(model, count, NULL, 0, &length)) == SWIFTLET_ERROR_INVALID_ARGUMENT);
    swiftlet_status status = FUZZ_CALL(swiftlet_model_meta_value(model, "swiftlet.fuzz.absent", NULL, 0, &length));
    FUZZ_REQUIRE(status == SWIFTLET_ERROR_NOT_FOUND || status == SWIFTLET_ERROR_BUFFER_TOO_SMALL);  // it learns keys
}

static void tokens(const swiftlet_model *model, int32_t n_vocab, int32_t *first_token) {
    static const char text[] = "Hello world, <|im_start|>user\n  123 \xc3\xbcn\xc3\xaf \xe6\x97\xa5 <s></s>";
    int32_t ids[256];
    for (uint32_t flags = 0; flags < 8; flags++) {
        size_t count = 0;
        swiftlet_status status = FUZZ_CALL(swiftlet_tokenize(model, text, sizeof text - 1, flags, ids, 256, &count));
        if (status != SWIFTLET_OK) continue;
        FUZZ_REQUIRE(count <= 256);
        for (size_t i = 0; i < count; i++) FUZZ_REQUIRE(ids[i] >= 0 && ids[i] < n_vocab);
        if (count > 0 && *first_token < 0) *first_token = ids[0];
        QUERY_TEXT(swiftlet_detokenize(model, ids, count, buf, buf_size, out_len));
    }
    int32_t probes[] = {0, 1, n_vocab / 2, n_vocab - 1, n_vocab, -1};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int32_t id = probes[i];
        (void)swiftlet_token_is_end_of_generation(model, id);
        if (id >= 0 && id < n_vocab) {
            QUERY(swiftlet_token_to_bytes(model, id, buf, buf_size, out_len), 0);
        } else {
            size_t needed = 0;
            FUZZ_REQUIRE(FUZZ_CALL(swiftlet_token_to_bytes(model, id, NULL, 0, &needed)) == SWIFTLET_ERROR_INVALID_ARGUMENT);
        }
    }
}

static void chat(const swiftlet_model *model) {
    swiftlet_chat_message messages[2] = {
        {.struct_size = sizeof messages[0], .role = "system", .content = "Be brief."},
        {.struct_size = sizeof messages[0], .role = "user", .content = "Hello!"},
    };
    QUERY_TEXT(swiftlet_chat_format(model, messages, 2, NULL, buf, buf_size, out_len));
}

/* Generation's pieces are whole UTF-8 characters, whatever bytes the file's
** tokens hold; ids are in the vocabulary (or -1 for the held-back rest). */
static int32_t check_piece(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    const int32_t n_vocab = *(const int32_t *)user_data;
    FUZZ_REQUIRE(piece != NULL && fuzz_is_utf8((const uint8_t *)piece, piece_len));
    FUZZ_REQUIRE(token == -1 || (token >= 0 && token < n_vocab));
    return 1;
}

/* One token evaluated, a token sampled from its logits (weights from the
** file may make them NaN or infinite), a short generation and a short chat. */
static void evaluate(swiftlet_model *model, int32_t n_vocab, int32_t token) {
    swiftlet_context_params params;
    swiftlet_context_params_init(&params);
    params.n_ctx = 64;
    params.n_threads = 1;
    params.n_batch = 16;
    swiftlet_context *context = NULL;
    if (FUZZ_CALL(swiftlet_context_create(model, &params, &context)) != SWIFTLET_OK) return;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_context_eval(context, &token, 1)) == SWIFTLET_OK);
    FUZZ_REQUIRE(swiftlet_context_logits(context) != NULL && swiftlet_context_position(context) == 1);

    swiftlet_sampler *sampler = NULL;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_sampler_create(NULL, &sampler)) == SWIFTLET_OK);
    int32_t sampled = -1;
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_sampler_sample(sampler, context, &sampled)) == SWIFTLET_OK);
    FUZZ_REQUIRE(sampled >= 0 && sampled < n_vocab);
    swiftlet_sampler_free(sampler);

    swiftlet_generate_params generate;
    swiftlet_generate_params_init(&generate);
    generate.max_tokens = 3;  // default sampling: temperature, top-k, top-p, min-p
    swiftlet_generate_result result = {.struct_size = sizeof result};
    int32_t vocabulary = n_vocab;
    swiftlet_status status = FUZZ_CALL(swiftlet_generate(context, "Hi", &generate, check_piece, &vocabulary, &result));
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_CONTEXT_FULL);
    swiftlet_chat_message message = {.struct_size = sizeof message, .role = "user", .content = "Hello!"};
    status = FUZZ_CALL(swiftlet_chat(context, &message, 1, NULL, &generate, check_piece, &vocabulary, &result));
    FUZZ_REQUIRE(status == SWIFTLET_OK || status == SWIFTLET_ERROR_CONTEXT_FULL || status == SWIFTLET_ERROR_TEMPLATE);
    swiftlet_context_free(context);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_memory_file_write(&file, data, size);
    swiftlet_model_params params;
    swiftlet_model_params_init(&params);
    params.n_threads = 1;
    swiftlet_model *model = NULL;
    if (FUZZ_CALL(swiftlet_model_load(file.path, &params, &model)) != SWIFTLET_OK) return 0;
    swiftlet_model_info info = {.struct_size = sizeof info};
    FUZZ_REQUIRE(FUZZ_CALL(swiftlet_model_get_info(model, &info)) == SWIFTLET_OK);
    FUZZ_REQUIRE(info.architecture && info.name && strlen(info.architecture) + strlen(info.name) < SIZE_MAX);
    const int32_t n_vocab = swiftlet_vocab_size(model);
    FUZZ_REQUIRE(n_vocab > 0 && n_vocab == info.n_vocab);
    metadata(model);
    int32_t first_token = -1;
    tokens(model, n_vocab, &first_token);
    chat(model);
    evaluate(model, n_vocab, first_token >= 0 ? first_token : 0);
    swiftlet_model_free(model);
    return 0;
}
