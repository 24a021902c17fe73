/*
** swiftlet.h — the public C interface of Swiftlet, an embeddable transformer
** inference library.
**
** This header is the contract. Every function below is implemented in Swift
** with `@c @implementation`, so the compiler checks the implementation
** against these declarations. It compiles as C99 and as C++.
**
** General rules (they hold for every function unless its comment says
** otherwise):
**
**  - Fallible functions return a swiftlet_status. SWIFTLET_OK is zero. On any
**    other status, swiftlet_last_error() returns a message describing what
**    went wrong, for the calling thread.
**  - Out-parameters are written only on success, except where a function
**    documents that it reports a needed size with SWIFTLET_ERROR_BUFFER_TOO_SMALL.
**  - NULL for a required pointer is SWIFTLET_ERROR_INVALID_ARGUMENT, never a crash.
**  - The library never writes to stdout or stderr, never aborts, never exits.
**  - Strings are UTF-8. Text lengths are in bytes.
**  - Handles (swiftlet_model, swiftlet_context, swiftlet_sampler, ...) are opaque.
**    Each is freed by its own *_free function; passing NULL to a *_free
**    function does nothing.
**
** ABI rules (for hosts that bind this header from other languages: C#
** P/Invoke, GDExtension, Unreal, Rust or Go FFI):
**  - Only fixed-width types cross the boundary: int32_t, uint32_t, uint64_t,
**    float, size_t, pointers. No bool (a yes/no is an int32_t: 0 is no, any
**    other value yes) and no C enum (named values are #defined int32_t
**    constants), so every field and parameter has one width on every compiler.
**  - Structs are plain C with natural alignment and no implicit padding (any
**    gap is a named `reserved` field, set to 0). None embeds another by value.
**    Every struct a caller fills, or that may grow, begins with
**    `uint32_t struct_size`: set it to sizeof the struct (the *_params_init
**    functions do), so fields can be appended in later versions without
**    breaking compiled callers. A struct that has grown gets a
**    *_params_init_sized(params, struct_size) that writes only the caller's
**    size; its plain *_params_init keeps writing the old layout (a caller
**    compiled against an older header has no room for more) and is a macro
**    over the sized form for C callers of this header. Tests/abi/layout.txt records every field's
**    offset on x86-64 and the tests compare it with the compiler's.
**  - Every function and callback uses the platform's C calling convention
**    (cdecl; CallingConvention.Cdecl in C#). SWIFTLET_API marks the exported
**    functions (visibility on ELF, __declspec on Windows).
**  - Strings and buffers the library returns (swiftlet_last_error(),
**    swiftlet_version(), swiftlet_system_info(), swiftlet_context_logits(),
**    swiftlet_model_info's strings, callback arguments) stay owned by the
**    library. Receive them as pointers (IntPtr in C#) and copy what you keep;
**    never let a marshaller free them.
**
** Lifetimes: free order never matters. A context keeps its model alive, so
** swiftlet_model_free() may come before the contexts' swiftlet_context_free();
** the model's memory is released with its last context. A handle must not be
** used after its own *_free.
**
** Threading:
**  - A swiftlet_model is immutable after loading. Any number of threads may
**    use it at once (tokenize, query, create contexts).
**  - A swiftlet_context (KV cache + scratch buffers + its own worker threads)
**    is used by one thread at a time. The calls that change it (eval,
**    generate, chat, rewind, reset, set_adapters) detect a second caller and return
**    SWIFTLET_ERROR_BUSY instead of corrupting it. swiftlet_context_cancel()
**    may be called from any thread at any time.
**  - A swiftlet_adapter, like a model, is immutable after loading.
**  - A swiftlet_sampler holds random-generator state; one thread at a time.
**
** Callbacks run synchronously on the thread that made the call, before the
** call returns. Inside a token callback the host may query the context
** (swiftlet_context_logits, _position, _size), sample from it, cancel it, or
** free it (the running call then stops and returns CANCELLED; the context's
** memory is released when it returns). A call that would change the running
** context (eval, generate, chat, rewind, reset) returns SWIFTLET_ERROR_BUSY.
*/
#ifndef SWIFTLET_H
#define SWIFTLET_H

#include <stddef.h>
#include <stdint.h>

/* Marks the library's exported functions. */
#if defined(_WIN32)
#  if defined(SWIFTLET_BUILDING_LIBRARY)
#    define SWIFTLET_API __declspec(dllexport)
#  else
#    define SWIFTLET_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define SWIFTLET_API __attribute__((visibility("default")))
#else
#  define SWIFTLET_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

/* The version this header describes. Compare with swiftlet_version_number()
** at run time to detect a header/library mismatch. */
#define SWIFTLET_VERSION_MAJOR 0
#define SWIFTLET_VERSION_MINOR 6
#define SWIFTLET_VERSION_PATCH 0
#define SWIFTLET_VERSION_STRING "0.6.0"
#define SWIFTLET_VERSION_NUMBER \
    (SWIFTLET_VERSION_MAJOR * 1000000 + SWIFTLET_VERSION_MINOR * 1000 + SWIFTLET_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH". Static storage; never NULL. */
SWIFTLET_API const char *swiftlet_version(void);

/* The library's version as SWIFTLET_VERSION_NUMBER computes it. */
SWIFTLET_API int32_t swiftlet_version_number(void);

/* ----------------------------------------------------------------- errors */

/* A status code: SWIFTLET_OK or one of the SWIFTLET_ERROR_* values. */
typedef int32_t swiftlet_status;

#define SWIFTLET_OK 0
/* A NULL pointer, an out-of-range number, an invalid token id. */
#define SWIFTLET_ERROR_INVALID_ARGUMENT 1
/* A file could not be opened, read, mapped or written. */
#define SWIFTLET_ERROR_IO 2
/* A file is not GGUF, is truncated, or is internally inconsistent. */
#define SWIFTLET_ERROR_INVALID_FILE 3
/* A well-formed file uses something Swiftlet does not support: an unknown
** architecture, tensor type or pre-tokenizer. */
#define SWIFTLET_ERROR_UNSUPPORTED 4
/* A required tensor or metadata key is missing, or a queried key does not exist. */
#define SWIFTLET_ERROR_NOT_FOUND 5
/* The caller's buffer is too small; the needed size was reported. */
#define SWIFTLET_ERROR_BUFFER_TOO_SMALL 6
/* Evaluating the tokens would go past the context's n_ctx. Nothing was evaluated. */
#define SWIFTLET_ERROR_CONTEXT_FULL 7
/* The call was cancelled: swiftlet_context_cancel(), a progress callback that
** returned 0, or the context freed from a callback. A context stays usable;
** its position is after the last token fully evaluated. */
#define SWIFTLET_ERROR_CANCELLED 8
/* Memory could not be allocated. */
#define SWIFTLET_ERROR_OUT_OF_MEMORY 9
/* The chat template could not be parsed or rendered. */
#define SWIFTLET_ERROR_TEMPLATE 10
/* A bug in Swiftlet. Please report it with the message. */
#define SWIFTLET_ERROR_INTERNAL 11
/* The context is in use by another call: another thread's, or the call whose
** callback is running. Nothing was done. */
#define SWIFTLET_ERROR_BUSY 12

/* A short English name for a status, e.g. "context full". Static storage;
** never NULL (unknown values give "unknown status"). */
SWIFTLET_API const char *swiftlet_status_string(swiftlet_status status);

/* The message of the most recent failing call made by the calling thread,
** or "" if none failed yet. The pointer stays valid until the next Swiftlet
** call on the same thread; copy it if you need it longer. Thread-safe. */
SWIFTLET_API const char *swiftlet_last_error(void);

/* ----------------------------------------------------------------- logging */

/* Log levels (int32_t). */
#define SWIFTLET_LOG_DEBUG 0
#define SWIFTLET_LOG_INFO 1
#define SWIFTLET_LOG_WARNING 2
#define SWIFTLET_LOG_ERROR 3

/* Receives the library's log messages. `message` is valid only during the call. */
typedef void (*swiftlet_log_callback)(int32_t level, const char *message, void *user_data);

/* Installs a process-wide log callback (NULL silences the library, which is
** the default). Messages may arrive on any thread that calls into Swiftlet.
** Thread-safe. */
SWIFTLET_API void swiftlet_set_log_callback(swiftlet_log_callback callback, void *user_data);

/* ---------------------------------------------------------------- memory */

typedef struct swiftlet_memory_info {
    uint32_t struct_size;      /* set by the caller to sizeof(swiftlet_memory_info) */
    uint32_t reserved;
    const char *allocator;     /* e.g. "jemalloc 5.3.0 (private)" or "system"; static storage */
    uint64_t bytes_allocated;  /* bytes currently held by the library's arenas
                               ** (converted weights, KV caches, scratch) */
    uint64_t bytes_mapped;     /* bytes of model files currently memory-mapped */
} swiftlet_memory_info;

/* Reports which allocator is active and how many bytes the library holds.
** `info->struct_size` must be set. Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_memory_get_info(swiftlet_memory_info *info);

/* A one-line description of what this process's Swiftlet runs on, for
** support requests: the kernel set chosen ("avx512-vnni", "avx2" or
** "portable") and why, the CPU features seen, the allocator and the BLAS
** library with its version, e.g.
** "swiftlet 0.5.0; kernels avx2 (SWIFTLET_KERNELS=avx2); cpu avx avx2 fma f16c;
** allocator jemalloc 5.3.0 (private); blas OpenBLAS 0.3.21".
** Static storage, computed once; never NULL. Thread-safe. */
SWIFTLET_API const char *swiftlet_system_info(void);

/* ----------------------------------------------------------------- models */

typedef struct swiftlet_model swiftlet_model;

/* Reports loading progress, from 0 to 1 (the last call reports 1). Return
** nonzero to go on, 0 to cancel the load: swiftlet_model_load then returns
** SWIFTLET_ERROR_CANCELLED and frees everything it had taken. */
typedef int32_t (*swiftlet_progress_callback)(float progress, void *user_data);

typedef struct swiftlet_model_params {
    uint32_t struct_size;  /* sizeof(swiftlet_model_params); set by swiftlet_model_params_init */
    int32_t n_threads;     /* threads for load-time conversion; 0 = one per core */
    swiftlet_progress_callback progress;  /* NULL = none (the default) */
    void *progress_user_data;             /* passed to `progress` */
} swiftlet_model_params;

/* Fills `params` with defaults. Does nothing if `params` is NULL. */
SWIFTLET_API void swiftlet_model_params_init(swiftlet_model_params *params);

/* Loads a GGUF model file (GGUF version 2 or 3; architecture "llama",
** "qwen2", "gpt2", "gemma3" or "bert", see the README's table; tensor
** types F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K,
** Q6_K, IQ4_NL, IQ4_XS; so the usual Q4_K_M, Q5_K_M, Q6_K… files load).
** Quantized tensors are computed on in place from a read-only memory
** mapping; F32, F16 and BF16 matrices are quantized to 8-bit blocks (Q8_0)
** at load. Other tensor types fail with UNSUPPORTED, naming these.
** `path` may also be a Hugging Face checkpoint folder: config.json (model_type
** "bert"), model.safetensors or shards listed by model.safetensors.index.json
** (F32, F16, BF16; every header offset, shape and dtype checked; mapped
** read-only), tokenizer.json (WordPiece), and the sentence-transformers files
** when present (1_Pooling/config.json: the pooling; sentence_bert_config.json:
** max_seq_length). It loads as the GGUF llama.cpp's converter would write
** (`swiftlet convert` writes that file). A missing file is NOT_FOUND, a
** malformed one INVALID_FILE, a model type, activation, tokenizer or pooling
** Swiftlet does not implement UNSUPPORTED.
** `params` may be NULL for defaults. On success `*out_model` owns the model;
** free it with swiftlet_model_free(). A chat template the renderer cannot
** parse does not stop the load: only chat with the model's own template then
** fails (TEMPLATE), and a caller's template still works (swiftlet_chat_params).
** The progress callback runs on the calling thread.
** Errors: INVALID_ARGUMENT, IO, INVALID_FILE, UNSUPPORTED, NOT_FOUND,
** OUT_OF_MEMORY, CANCELLED (the progress callback returned 0). */
SWIFTLET_API swiftlet_status swiftlet_model_load(const char *path, const swiftlet_model_params *params,
                                    swiftlet_model **out_model);

/* Releases the caller's hold on a model. Its contexts keep it alive: the
** memory is released when the last of them is freed too. */
SWIFTLET_API void swiftlet_model_free(swiftlet_model *model);

typedef struct swiftlet_model_info {
    uint32_t struct_size;       /* set by the caller to sizeof(swiftlet_model_info) */
    int32_t n_vocab;
    const char *architecture;   /* e.g. "llama"; owned by the model */
    const char *name;           /* general.name, or "" ; owned by the model */
    int32_t n_ctx_train;        /* context length the model was trained with */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    uint64_t n_params;          /* number of weights in the file's tensors */
    int32_t bos_token;          /* -1 if the model has none */
    int32_t eos_token;          /* -1 if the model has none */
} swiftlet_model_info;

/* Describes a model. `info->struct_size` must be set. Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_model_get_info(const swiftlet_model *model, swiftlet_model_info *info);

/* Number of metadata keys in the model file. Thread-safe; 0 for NULL. */
SWIFTLET_API int32_t swiftlet_model_meta_count(const swiftlet_model *model);

/* Copies the `index`-th metadata key (file order) into `buf` as a
** NUL-terminated string. `*out_len` (may be NULL) receives the key's length
** without the NUL. If `buf_size` is too small, returns BUFFER_TOO_SMALL and
** still sets `*out_len`, so the caller can allocate out_len + 1 and retry.
** Errors: INVALID_ARGUMENT (index out of range), BUFFER_TOO_SMALL. */
SWIFTLET_API swiftlet_status swiftlet_model_meta_key(const swiftlet_model *model, int32_t index,
                                        char *buf, size_t buf_size, size_t *out_len);

/* Copies the value of metadata key `key` into `buf` as NUL-terminated text:
** strings as they are, integers and floats in decimal, booleans as
** "true"/"false", arrays as JSON-like lists ("[1, 2, 3]", strings quoted).
** Size reporting as swiftlet_model_meta_key. Errors: NOT_FOUND, BUFFER_TOO_SMALL. */
SWIFTLET_API swiftlet_status swiftlet_model_meta_value(const swiftlet_model *model, const char *key,
                                          char *buf, size_t buf_size, size_t *out_len);

/* -------------------------------------------------------------- tokenizer */

/* The longest text swiftlet_tokenize takes, in bytes (1 GiB). */
#define SWIFTLET_MAX_TEXT_BYTES 1073741824u

/* Flags for swiftlet_tokenize. */
#define SWIFTLET_TOKENIZE_ADD_BOS 1u  /* prepend the BOS token (if the model has one) */
#define SWIFTLET_TOKENIZE_SPECIAL 2u  /* recognise special/control tokens written
                                      ** in the text, e.g. "<|im_start|>" */
#define SWIFTLET_TOKENIZE_MODEL_BOS 4u /* prepend BOS only if the model's metadata asks
                                      ** for it (tokenizer.ggml.add_bos_token), and
                                      ** append EOS if it asks for that
                                      ** (add_eos_token): [CLS] … [SEP] on BERT */

/* Splits `text` (`text_len` bytes of UTF-8; invalid bytes are encoded as
** their byte tokens, and bytes the vocabulary has no token for are skipped,
** as Hugging Face tokenizers do) into token ids. Writes at most `capacity` ids to
** `tokens` and the count to `*out_count`. If `capacity` is too small,
** returns BUFFER_TOO_SMALL with the needed count in `*out_count`. `tokens`
** may be NULL when `capacity` is 0 (a size query). `text_len` is at most
** SWIFTLET_MAX_TEXT_BYTES (INVALID_ARGUMENT beyond). Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_tokenize(const swiftlet_model *model, const char *text, size_t text_len,
                                  uint32_t flags, int32_t *tokens, size_t capacity,
                                  size_t *out_count);

/* Copies the raw bytes of one token (not NUL-terminated; a token may hold
** part of a UTF-8 character) into `buf`. Size reporting as swiftlet_tokenize.
** Errors: INVALID_ARGUMENT (bad token id), BUFFER_TOO_SMALL. Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_token_to_bytes(const swiftlet_model *model, int32_t token,
                                        char *buf, size_t buf_size, size_t *out_len);

/* Turns token ids back into text, NUL-terminated in `buf`. Byte sequences
** that are not valid UTF-8 become U+FFFD. Control tokens (BOS, EOS, ...)
** produce no text. `*out_len` excludes the NUL; on BUFFER_TOO_SMALL it is
** the length needed. Errors: INVALID_ARGUMENT (bad token id; `n_tokens` over
** SWIFTLET_MAX_TEXT_BYTES), BUFFER_TOO_SMALL. Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_detokenize(const swiftlet_model *model, const int32_t *tokens,
                                    size_t n_tokens, char *buf, size_t buf_size, size_t *out_len);

/* The vocabulary size; 0 for NULL. */
SWIFTLET_API int32_t swiftlet_vocab_size(const swiftlet_model *model);

/* 1 if generation should stop at `token` (EOS, end-of-turn and similar), else 0. */
SWIFTLET_API int32_t swiftlet_token_is_end_of_generation(const swiftlet_model *model, int32_t token);

/* --------------------------------------------------------------- contexts */

typedef struct swiftlet_context swiftlet_context;

typedef struct swiftlet_context_params {
    uint32_t struct_size;  /* sizeof(swiftlet_context_params); set by swiftlet_context_params_init
                           ** (a struct that grows: see swiftlet_context_params_init_sized) */
    int32_t n_ctx;         /* tokens the KV cache holds; 0 = the model's n_ctx_train, at most 4096 */
    int32_t n_threads;     /* worker threads for evaluation; 0 = one per core */
    int32_t n_batch;       /* most tokens evaluated in one pass; longer inputs are split;
                           ** 0 = 256 (an encoder: n_ctx, see swiftlet_embed) */
    /* Since 0.4.0: */
    int32_t n_seq_max;     /* sequences the context holds (ids 0 .. n_seq_max-1), each up to
                           ** n_ctx positions: the KV cache is n_seq_max x n_ctx; 0 = 1, at most 256 */
    int32_t overflow;      /* SWIFTLET_OVERFLOW_*: what happens when a sequence is full */
    int32_t n_keep;        /* SHIFT: a sequence's first tokens, always kept; default 4 */
    int32_t n_discard;     /* SHIFT: tokens discarded after the kept ones at each shift,
                           ** 0 = half of those not kept (the default) */
} swiftlet_context_params;

/* swiftlet_context_params.overflow */
#define SWIFTLET_OVERFLOW_ERROR 0 /* CONTEXT_FULL (the default) */
#define SWIFTLET_OVERFLOW_SHIFT 1 /* a context shift: keep the first n_keep tokens (the "attention
                                  ** sinks" of StreamingLLM, Xiao et al. 2023) and the most recent,
                                  ** discard n_discard tokens in between, and carry on. The moved
                                  ** keys are re-rotated (RoPE); a model without rotary positions
                                  ** evaluates the kept tokens again. Generation then runs on
                                  ** in bounded memory, for as many tokens as max_tokens says. */

/* Fills the first `struct_size` bytes of `params` (at most the whole
** struct) with defaults, struct_size included; pass sizeof the struct as
** the caller knows it. Does nothing if `params` is NULL or struct_size < 16.
** Bindings (C#, Python) call this one with their struct's size. */
SWIFTLET_API void swiftlet_context_params_init_sized(swiftlet_context_params *params, size_t struct_size);

/* Fills `params` with defaults: the 0.3 layout (the first 16 bytes), which is
** all that callers compiled against headers before 0.4.0 have. The macro
** below makes C and C++ callers of this header use the sized form instead. */
SWIFTLET_API void swiftlet_context_params_init(swiftlet_context_params *params);
#define swiftlet_context_params_init(params) swiftlet_context_params_init_sized((params), sizeof *(params))

/* Creates a context (KV cache, scratch buffers, worker threads) for `model`.
** `params` may be NULL for defaults. Free with swiftlet_context_free().
** Errors: INVALID_ARGUMENT (also n_ctx beyond a model's learned positions),
** OUT_OF_MEMORY. Thread-safe with respect to the model. */
SWIFTLET_API swiftlet_status swiftlet_context_create(swiftlet_model *model, const swiftlet_context_params *params,
                                        swiftlet_context **out_context);

/* Frees a context, its worker threads and all its memory (and the model's,
** if the model was freed already and this was its last context). Called
** while a call runs on the context (from that call's callback), it stops
** that call, which returns CANCELLED, and the memory goes when it returns. */
SWIFTLET_API void swiftlet_context_free(swiftlet_context *context);

/* Evaluates `n_tokens` tokens appended at the current position, storing
** them in the KV cache. Afterwards swiftlet_context_logits() holds the logits
** of the last token. Checks come in this order, and nothing is evaluated
** when one fails: UNSUPPORTED (an encoder such as BERT has no logits: use
** swiftlet_embed), INVALID_ARGUMENT (NULL, n_tokens 0), CONTEXT_FULL
** (position + n_tokens > n_ctx with SWIFTLET_OVERFLOW_ERROR, or with SHIFT
** min(n_tokens, n_batch) > n_ctx - n_keep: checked before any token is read),
** INVALID_ARGUMENT (a token id outside the vocabulary). BUSY as the general
** rules say. CANCELLED: the position is after the last fully evaluated batch
** (inputs longer than n_batch are evaluated in several); a call cancelled
** before its first batch completed keeps the previous logits. */
SWIFTLET_API swiftlet_status swiftlet_context_eval(swiftlet_context *context, const int32_t *tokens, size_t n_tokens);

/* As swiftlet_context_eval, and also writes the logits of every evaluated
** token to `logits` (n_tokens rows of n_vocab floats, row-major).
** `logits_capacity` is the number of floats `logits` holds; if it is less
** than n_tokens * n_vocab, returns BUFFER_TOO_SMALL before evaluating. */
SWIFTLET_API swiftlet_status swiftlet_context_eval_all_logits(swiftlet_context *context, const int32_t *tokens,
                                                 size_t n_tokens, float *logits, size_t logits_capacity);

/* The logits (n_vocab floats) of the last evaluated token, or NULL if
** nothing has been evaluated since creation, reset or rewind. The pointer is
** owned by the context and valid until the next call that changes it
** (eval, generate, chat, rewind, reset, free). */
SWIFTLET_API const float *swiftlet_context_logits(const swiftlet_context *context);

/* Number of tokens sequence 0 holds (the position of its next token);
** swiftlet_context_seq_length for the others. */
SWIFTLET_API int32_t swiftlet_context_position(const swiftlet_context *context);

/* The context's capacity in tokens (n_ctx), per sequence. */
SWIFTLET_API int32_t swiftlet_context_size(const swiftlet_context *context);

/* Forgets every token after the first `position`, so evaluation continues
** from there (reusing a shared prompt prefix). The logits become unavailable
** until the next eval. On a model with sliding-window layers (Gemma 3), which
** keep only their last window + n_batch - 1 positions, a rewind further back
** than n_batch positions evaluates the first `position` tokens again (as long
** as evaluating them takes); swiftlet_context_cancel stops that with
** CANCELLED, the context then holding the tokens evaluated so far.
** Errors: INVALID_ARGUMENT (position < 0 or > current), CANCELLED. */
SWIFTLET_API swiftlet_status swiftlet_context_rewind(swiftlet_context *context, int32_t position);

/* Empties the context (position 0). Errors: INVALID_ARGUMENT (NULL), BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_reset(swiftlet_context *context);

/* Asks the eval/generate/chat running on `context` right now to stop as soon
** as it can (within one layer of work); that call returns CANCELLED. The
** request applies only to the call running when it is made: a request made
** while nothing runs does nothing, and a later call is never cancelled by it.
** Thread-safe: any thread may call it at any time, also from a callback. */
SWIFTLET_API void swiftlet_context_cancel(swiftlet_context *context);

/* -------------------------------------------------------------- observers */

/* An observer sees inside each forward pass of a context while it runs: the
** residual stream after each layer (and after each layer's attention), the
** attention weights of every head, and the final normed hidden state (what
** the head turns into logits; decoding it after each layer is the "logit
** lens"). It is called for every pass the context runs: eval, decode, the
** prompt and each token of generate and chat, embeddings, and the
** re-evaluation a rewind or context shift may need. A context without an
** observer pays nothing for the feature. */

/* The views an observer can ask for (bits of `kinds`). */
#define SWIFTLET_OBSERVE_HIDDEN          1u  /* each layer's output: n_tokens x n_embd */
#define SWIFTLET_OBSERVE_AFTER_ATTENTION 2u  /* each layer's residual stream after attention, before the
                                             ** feed-forward block (post-norm models: after that norm) */
#define SWIFTLET_OBSERVE_ATTENTION       4u  /* each layer's attention weights (softmax output):
                                             ** n_heads x n_tokens x n_columns */
#define SWIFTLET_OBSERVE_FINAL           8u  /* the last layer's output after the final norm (the head's
                                             ** input; the last layer's output for models without one) */
#define SWIFTLET_OBSERVE_ALL            15u

/* One view: n_heads x n_tokens x n_columns floats at `values`, row-major
** (values[(head * n_tokens + t) * n_columns + column]), owned by the
** library and valid only during the callback: copy what you keep.
** A pass delivers, per layer, its views in the order ATTENTION,
** AFTER_ATTENTION, HIDDEN, then FINAL once; each as one view per sequence
** the pass continues (one for a plain eval). */
typedef struct swiftlet_observation {
    uint32_t struct_size;    /* as the library wrote it; fields may be appended */
    uint32_t kind;           /* one SWIFTLET_OBSERVE_* bit */
    int32_t layer;           /* 0 .. n_layer - 1; n_layer for FINAL */
    int32_t seq_id;          /* the sequence these tokens continue; in an embedding pass of an
                             ** encoder, the text's index among those embedded together */
    int32_t first_token;     /* the index of the first of these tokens in the pass */
    int32_t n_tokens;        /* consecutive tokens of the pass, at positions first_position... */
    int32_t first_position;
    int32_t n_heads;         /* 1; n_head for ATTENTION */
    int32_t n_columns;       /* n_embd; for ATTENTION the positions 0 .. n_columns - 1 of the
                             ** sequence (first_position + n_tokens): row t is token t's weight on
                             ** each position, summing to 1, and 0 on positions it does not attend
                             ** to (later ones, and those outside a sliding-window layer's window) */
    int32_t reserved;        /* 0 */
    const float *values;
} swiftlet_observation;

/* Called with each view the observer asked for, on the thread that runs the
** pass, between its steps. Return nonzero to go on, 0 to stop: the call
** evaluating returns CANCELLED as if swiftlet_context_cancel had been called
** (the sequence keeps the tokens of earlier passes). Inside, the host may do
** what a token callback may (query, cancel, free the context); a call that
** would change the context returns BUSY. */
typedef int32_t (*swiftlet_observer_callback)(const swiftlet_observation *observation, void *user_data);

/* Sets the context's observer, replacing any: `callback` gets the views in
** `kinds` (SWIFTLET_OBSERVE_* bits). A NULL callback or kinds 0 removes it.
** Attention weights are computed only for an observer that asks for them
** (from the queries and the cached keys, as the attention step weighs them).
** Errors: INVALID_ARGUMENT (NULL context, unknown bits in `kinds`), BUSY (a
** call is running on the context, e.g. from inside a callback). */
SWIFTLET_API swiftlet_status swiftlet_context_set_observer(swiftlet_context *context, uint32_t kinds,
                                                           swiftlet_observer_callback callback, void *user_data);

/* -------------------------------------------------------------- sequences */

/* A context holds n_seq_max independent sequences (swiftlet_context_params).
** The calls above work on sequence 0; swiftlet_context_decode evaluates
** tokens of several sequences in one pass, reading the weights once for all
** of them (what makes serving many conversations at once fast), and each
** token attends only to the earlier tokens of its own sequence. */

typedef struct swiftlet_batch {
    uint32_t struct_size;      /* sizeof(swiftlet_batch) */
    int32_t n_tokens;          /* entries in the arrays below */
    const int32_t *tokens;     /* each entry's token id */
    const int32_t *seq_ids;    /* each entry's sequence; NULL = all in sequence 0 */
    const int32_t *positions;  /* NULL, or each entry's position, which must be its sequence's
                               ** next (the sequence's length, then +1 for its next entry) */
    const int8_t *logits;      /* nonzero = keep this entry's logits; NULL = keep those of
                               ** each sequence's last entry */
} swiftlet_batch;

/* Evaluates the batch: each sequence's entries, in their order, appended to
** that sequence (entries of different sequences may be interleaved). Passes
** hold up to n_batch entries; more are evaluated in several. Afterwards
** swiftlet_context_logits_for(i) gives entry i's logits if it asked for them,
** and a sequence whose last entry asked has those as its own logits
** (swiftlet_sampler_sample_seq). Checked before anything is evaluated:
** UNSUPPORTED (an encoder), INVALID_ARGUMENT (NULL, struct_size, n_tokens
** < 1, a seq_id outside 0..n_seq_max-1, a position that is not the next,
** a token id outside the vocabulary), CONTEXT_FULL (as swiftlet_context_eval,
** per sequence). With SWIFTLET_OVERFLOW_SHIFT a full sequence is shifted
** before its tokens are evaluated, and they take the positions after the
** shift. CANCELLED: the passes finished before stay evaluated. */
SWIFTLET_API swiftlet_status swiftlet_context_decode(swiftlet_context *context, const swiftlet_batch *batch);

/* Entry `index`'s logits (n_vocab floats) from the last swiftlet_context_decode,
** or NULL if that entry did not ask for them, `index` is outside the batch, or
** anything was evaluated or reset since. Owned by the context. */
SWIFTLET_API const float *swiftlet_context_logits_for(const swiftlet_context *context, int32_t index);

/* The number of tokens sequence `seq_id` holds (its next position), or -1 for
** a NULL context or an id outside 0..n_seq_max-1. */
SWIFTLET_API int32_t swiftlet_context_seq_length(const swiftlet_context *context, int32_t seq_id);

/* Copies the tokens sequence `seq_id` holds, in position order (after a
** shift: the kept ones), to `tokens`; `out_n` (may be NULL) receives their
** number, also when BUFFER_TOO_SMALL is returned (capacity 0 asks for it).
** Errors: INVALID_ARGUMENT (bad id), BUFFER_TOO_SMALL. */
SWIFTLET_API swiftlet_status swiftlet_context_tokens(const swiftlet_context *context, int32_t seq_id, int32_t *tokens,
                                                     size_t capacity, size_t *out_n);

/* Removes positions p0 <= p < p1 of sequence `seq_id` (p1 < 0: to its end);
** its later tokens move down to close the gap and keep their cached keys,
** re-rotated to their new positions (on models without rotary positions,
** and where a sliding-window layer no longer holds what they need, the kept
** tokens are evaluated again). The sequence's logits become unavailable.
** Removing a tail is a rewind (swiftlet_context_rewind for sequence 0).
** Errors: INVALID_ARGUMENT (bad id or range), BUSY, CANCELLED. */
SWIFTLET_API swiftlet_status swiftlet_context_seq_remove(swiftlet_context *context, int32_t seq_id, int32_t p0,
                                                         int32_t p1);

/* Makes sequence `dst` hold the first `n_tokens` tokens of sequence `src`
** (n_tokens < 0: all of them) with their cached keys and values: a shared
** prompt evaluated once and continued differently in each sequence. What
** `dst` held is forgotten; it has `src`'s logits if all of `src` is copied.
** Errors: INVALID_ARGUMENT (bad ids, n_tokens > src's length), BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_seq_copy(swiftlet_context *context, int32_t src, int32_t dst,
                                                       int32_t n_tokens);

/* Empties every sequence except `seq_id`. Errors: INVALID_ARGUMENT, BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_seq_keep(swiftlet_context *context, int32_t seq_id);

/* ------------------------------------------------------------------ state */

/* A context's state -- each sequence's tokens, its last logits and its KV
** cache -- saved to memory or a file and loaded back, in this process or
** another, so that evaluation continues exactly as if it had never stopped
** (the same greedy tokens; the same sampled tokens for the same seed, since
** samplers are separate objects). The bytes start with a versioned header
** (the magic "SWLTSTAT", a format version, the library version, a hash of
** the model's metadata and tensor infos) and end with a checksum; load
** checks all of it before it changes anything. `seq_id` names one sequence,
** or SWIFTLET_STATE_ALL_SEQUENCES the whole context. Sizes: about
** n_layer x n_head_kv x head_dim x 4 bytes per token (SmolLM2-135M: 23 KiB),
** less on sliding-window layers, which save only the positions they keep. */
#define SWIFTLET_STATE_ALL_SEQUENCES (-1)

/* The bytes swiftlet_context_state_save would write now. Errors: INVALID_ARGUMENT, BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_state_size(swiftlet_context *context, int32_t seq_id,
                                                         size_t *out_size);

/* Writes the state of sequence `seq_id` (or all) to `buf`. `out_len` (may be
** NULL) receives the size, also when BUFFER_TOO_SMALL is returned, so a
** call with buf_size 0 asks for it. Errors: INVALID_ARGUMENT, BUFFER_TOO_SMALL, BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_state_save(swiftlet_context *context, int32_t seq_id, void *buf,
                                                         size_t buf_size, size_t *out_len);

/* Restores a saved state. With SWIFTLET_STATE_ALL_SEQUENCES each saved
** sequence goes back to its own id (a whole-context state also empties the
** sequences it does not hold); with an id, the state must hold one sequence,
** which goes there (the others are untouched). The context may differ from
** the one saved from in n_batch, n_threads and n_seq_max, as long as the ids
** and lengths fit. Errors, the context unchanged: INVALID_FILE (not a state,
** truncated, corrupted: the checksum), UNSUPPORTED (a newer format),
** INVALID_ARGUMENT (another model's state, an id this context does not
** have), CONTEXT_FULL (a sequence longer than n_ctx), BUSY. */
SWIFTLET_API swiftlet_status swiftlet_context_state_load(swiftlet_context *context, int32_t seq_id, const void *buf,
                                                         size_t buf_len);

/* As swiftlet_context_state_save, into the file at `path` (written to
** "<path>.partial" and renamed over `path`, so a failed save leaves what was
** there). Errors: as above, IO. */
SWIFTLET_API swiftlet_status swiftlet_context_state_save_file(swiftlet_context *context, int32_t seq_id,
                                                              const char *path);

/* As swiftlet_context_state_load, from the file at `path`. Errors: as above, IO. */
SWIFTLET_API swiftlet_status swiftlet_context_state_load_file(swiftlet_context *context, int32_t seq_id,
                                                              const char *path);

/* ---------------------------------------------------------------- adapters */

/* A LoRA adapter: a GGUF file as llama.cpp's convert_lora_to_gguf.py writes
** it (general.type = "adapter", adapter.type = "lora", adapter.lora.alpha,
** and the base model's general.architecture), holding for each adapted
** weight W of the base model a pair of tensors named after it,
** "<W>.lora_a" (ggml dims [n_in, r]) and "<W>.lora_b" ([r, n_out]). Attached
** to a context with a scale, it changes each product it names to
**     y = W.x + scale * (alpha / r) * B.(A.x)
** (scale alone when the file has no alpha or alpha 0, as llama.cpp does),
** computed in fp32 beside the int8 product and never merged into W: the
** model's weights stay mapped and shared, so any number of adapters and
** contexts use one copy of them. Adaptable weights: each block's attn_q,
** attn_k, attn_v (or GPT-2's fused attn_qkv), attn_output, ffn_gate, ffn_up,
** ffn_down, and output.weight where the model has its own head (not one
** tied to token_embd.weight). Tensors may be F32, F16, BF16 or Q8_0; they
** are decoded to fp32 at load (rank 8 on SmolLM2-135M's q/k/v/o: 3.7 MB).
** An adapter is immutable after loading; any number of contexts and threads
** may use it at once. */
typedef struct swiftlet_adapter swiftlet_adapter;

/* Loads the adapter at `path` for `model` (it applies to that model's
** contexts only; the adapter keeps the model alive). Nothing an adapter
** names is silently ignored. Errors: IO, INVALID_FILE (an unreadable file,
** not GGUF, a tensor with a zero dimension such as rank 0), UNSUPPORTED (a tensor type other than F32, F16, BF16, Q8_0),
** INVALID_ARGUMENT naming the file or tensor: not an adapter, not LoRA, an
** architecture other than the model's, a tensor that is not a
** .lora_a/.lora_b, a lora_a without its lora_b or the reverse, a base
** tensor the model does not have or that cannot be adapted (token_embd,
** norms, a tied head), ranks of a and b that differ, shapes that do
** not fit the base tensor, an alpha or a value that is not finite. */
SWIFTLET_API swiftlet_status swiftlet_adapter_load(const swiftlet_model *model, const char *path,
                                                   swiftlet_adapter **out_adapter);

/* Releases the caller's reference. Contexts it is attached to keep their own
** until they detach it or are freed. */
SWIFTLET_API void swiftlet_adapter_free(swiftlet_adapter *adapter);

/* The adapter's largest rank, its adapter.lora.alpha (0 when the file has
** none) and the number of base tensors it adapts. Any out-pointer may be
** NULL. Errors: INVALID_ARGUMENT. */
SWIFTLET_API swiftlet_status swiftlet_adapter_info(const swiftlet_adapter *adapter, int32_t *out_rank,
                                                   float *out_alpha, int32_t *out_n_tensors);

/* At most this many adapters are attached to one context. */
#define SWIFTLET_MAX_ADAPTERS 64

/* Replaces the context's adapters with `adapters[0..n_adapters)`, adapter i
** at scale `scales[i]`; their terms add (several adapters at once, each with
** its own scale). n_adapters 0 detaches all (adapters and scales may then be
** NULL). A scale of 0 applies nothing. Changing the set (attaching,
** detaching, another scale, another order) empties every sequence of the
** context -- tokens, KV cache, logits -- since the cached keys and values
** were computed with the old weights; passing the set already attached
** changes nothing. Errors, the set unchanged: INVALID_ARGUMENT (n_adapters
** negative or above SWIFTLET_MAX_ADAPTERS, a NULL array or adapter, an
** adapter loaded for another model, the same adapter twice, a scale that is
** not finite), BUSY (a call is running on the context). A saved state
** (swiftlet_context_state_save) does not record the adapters: load it into a
** context with the same set attached. */
SWIFTLET_API swiftlet_status swiftlet_context_set_adapters(swiftlet_context *context,
                                                           const swiftlet_adapter *const *adapters,
                                                           const float *scales, int32_t n_adapters);

/* --------------------------------------------------------------- grammars */

/* A grammar constrains sampling to the strings of a formal language: the
** sampler masks every token whose bytes cannot continue the text generated so
** far, and allows end-of-generation only where the text is complete. Two
** ways to write one:
**  - GBNF, llama.cpp's grammar format: `name ::= ...` rules; "literals" with
**    \n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH escapes; [a-z] classes and [^...]
**    negated ones; . (any character); ( ) grouping; | alternation; * + ? and
**    {m} {m,} {m,n} repetition; # comments. Rules may be recursive but not
**    left-recursive. A grammar works on UTF-8 bytes, so tokens that split a
**    character are handled.
**  - JSON Schema (the subset listed at swiftlet_grammar_from_json_schema).
** A grammar is immutable and may be shared by many samplers and threads; a
** sampler keeps its own parse state and holds a reference to the grammar,
** which may be freed once the samplers are created. */
typedef struct swiftlet_grammar swiftlet_grammar;

/* Compiles GBNF text; `root` names the start rule (NULL = "root"). `model`
** may be NULL; if given, its vocabulary's prefix tree is built now rather
** than at the first sample (a grammar works with any model).
** Errors: INVALID_ARGUMENT with the rule and the line:column in
** swiftlet_last_error() (syntax errors, undefined rules, left recursion, a
** root that matches no string, a grammar beyond the size limits). */
SWIFTLET_API swiftlet_status swiftlet_grammar_create(swiftlet_model *model, const char *gbnf, const char *root,
                                                     swiftlet_grammar **out_grammar);

/* Compiles a JSON Schema (UTF-8 JSON text) to the grammar of the JSON
** documents it validates. Supported: type (object, array, string, number,
** integer, boolean, null, or a list of these), properties, required,
** additionalProperties (false, true or a schema), enum, const, items,
** minItems, maxItems, anyOf, oneOf, $ref to #/$defs/... or
** #/definitions/... (recursion allowed), minLength, maxLength, pattern
** (anchored ^...$ regular expressions), format (date, time, date-time,
** uuid), integer minimum and maximum, and the annotations title,
** description, $schema, $id, $comment, default, examples. Any other keyword
** is INVALID_ARGUMENT naming it and its place in the schema (for example
** `#/properties/age: keyword "multipleOf" is not supported`): nothing is
** silently ignored. The grammar accepts only documents the schema validates,
** and a few valid ones less: properties come in the schema's order, each
** at most once; without additionalProperties an object with properties
** takes no others (as llama.cpp does); oneOf is read as anyOf (its branches
** assumed disjoint); pattern's \d \w are ASCII. `{}` (or true) is any JSON
** value. Limits: 1 MiB of grammar, repetition counts up to 4096 each. */
SWIFTLET_API swiftlet_status swiftlet_grammar_from_json_schema(swiftlet_model *model, const char *schema_json,
                                                               swiftlet_grammar **out_grammar);

/* Frees a grammar (samplers created with it keep their own reference). */
SWIFTLET_API void swiftlet_grammar_free(swiftlet_grammar *grammar);

/* How a text relates to a grammar's language (swiftlet_grammar_match). */
#define SWIFTLET_GRAMMAR_NO_MATCH 0  /* no string of the language starts with the text */
#define SWIFTLET_GRAMMAR_PREFIX 1    /* the text can be continued into one, but is not one */
#define SWIFTLET_GRAMMAR_COMPLETE 2  /* the text is a string of the language (it may go on, too) */

/* Checks `length` bytes of `text` against the grammar: one of
** SWIFTLET_GRAMMAR_* in *out_match. Errors: INVALID_ARGUMENT, and
** OUT_OF_MEMORY when the grammar's parse grows beyond its limits. */
SWIFTLET_API swiftlet_status swiftlet_grammar_match(const swiftlet_grammar *grammar, const char *text, size_t length,
                                                    int32_t *out_match);

/* --------------------------------------------------------------- sampling */

typedef struct swiftlet_sampler_params {
    uint32_t struct_size;   /* sizeof(swiftlet_sampler_params); set by swiftlet_sampler_params_init */
    float temperature;      /* 0 = greedy (argmax); default 0.8 */
    int32_t top_k;          /* keep the k most likely tokens; 0 = off; default 40 */
    float top_p;            /* nucleus: keep the smallest set with mass >= top_p; 1 = off; default 0.95 */
    float min_p;            /* drop tokens below min_p * p(max); 0 = off; default 0.05 */
    float repeat_penalty;   /* divide positive logits (multiply negative ones) of recent tokens; 1 = off; default 1.0 */
    int32_t repeat_last_n;  /* how many recent tokens the penalty looks at; default 64 */
    uint32_t reserved;      /* set to 0 */
    uint64_t seed;          /* the same seed gives the same choices; default 0 */
    /* Since 0.5.0: */
    const swiftlet_grammar *grammar;  /* NULL = unconstrained (the default); else only tokens that
                                      ** continue this grammar are sampled (see "grammars") */
} swiftlet_sampler_params;

/* Fills the first `struct_size` bytes of `params` with the defaults given
** above, struct_size included; pass sizeof the struct as the caller knows
** it. Does nothing if `params` is NULL or struct_size < 40. */
SWIFTLET_API void swiftlet_sampler_params_init_sized(swiftlet_sampler_params *params, size_t struct_size);

/* Fills `params` with defaults: the 0.4 layout (the first 40 bytes, without
** `grammar`). The macro makes C and C++ callers use the sized form. */
SWIFTLET_API void swiftlet_sampler_params_init(swiftlet_sampler_params *params);
#define swiftlet_sampler_params_init(params) swiftlet_sampler_params_init_sized((params), sizeof *(params))

typedef struct swiftlet_sampler swiftlet_sampler;

/* Creates a sampler; `params` may be NULL for defaults. Order of the chain: repetition penalty, temperature
** (0 → greedy, the rest skipped), top-k, top-p, min-p, then a draw from the
** seeded generator. Errors: INVALID_ARGUMENT (NaN or negative values,
** top_p outside (0, 1], min_p outside [0, 1]). */
SWIFTLET_API swiftlet_status swiftlet_sampler_create(const swiftlet_sampler_params *params, swiftlet_sampler **out_sampler);

/* Frees a sampler. */
SWIFTLET_API void swiftlet_sampler_free(swiftlet_sampler *sampler);

/* Picks the next token from the context's current logits (the penalty looks
** at the context's last repeat_last_n tokens). Does not evaluate it.
** With a grammar, the sampler's parse state advances by the token it
** returns (end-of-generation only when the text is complete), so one sampler
** follows one sequence; swiftlet_sampler_reset starts it over. The pick is
** checked against the grammar first (greedy: then the next 32 candidates in
** order) and the vocabulary is masked only when none fits: exact for greedy
** sampling and temperature alone, and the common approximation (llama.cpp's
** too) with top-k/top-p/min-p.
** Errors: INVALID_ARGUMENT (no logits available; a grammar sampler used
** with another model than before, or one no token can continue: say the
** grammar needs a byte no token holds), OUT_OF_MEMORY (the grammar's parse
** grew beyond its limits). */
SWIFTLET_API swiftlet_status swiftlet_sampler_sample(swiftlet_sampler *sampler, const swiftlet_context *context,
                                        int32_t *out_token);

/* As swiftlet_sampler_sample, from sequence `seq_id`'s logits and recent
** tokens. Errors: INVALID_ARGUMENT (bad id, no logits for that sequence). */
SWIFTLET_API swiftlet_status swiftlet_sampler_sample_seq(swiftlet_sampler *sampler, const swiftlet_context *context,
                                                         int32_t seq_id, int32_t *out_token);

/* As swiftlet_sampler_sample, from `n_logits` caller-given logits (one per
** token of `model`'s vocabulary) and no recent tokens: for logits a host
** computed or changed itself. Errors: INVALID_ARGUMENT (n_logits is not
** the vocabulary size), and as above. */
SWIFTLET_API swiftlet_status swiftlet_sampler_sample_logits(swiftlet_sampler *sampler, const swiftlet_model *model,
                                                            const float *logits, size_t n_logits, int32_t *out_token);

/* Starts the sampler's grammar over (the text generated so far is
** forgotten); its random generator goes on. Does nothing without a grammar. */
SWIFTLET_API swiftlet_status swiftlet_sampler_reset(swiftlet_sampler *sampler);

/* ------------------------------------------------------------- generation */

/* Called once per generated token with its text. `piece` holds only complete
** UTF-8 characters: bytes of a character split across tokens are held back
** and delivered with the token that completes it (`piece_len` may be 0).
** If generation stops while bytes are held back, they arrive as U+FFFD in
** one last call with `token` -1. `piece` is valid only during the call.
** Return nonzero to go on, 0 to stop generating. Runs on the calling
** thread; see the general rules for what it may do with the context. */
typedef int32_t (*swiftlet_token_callback)(const char *piece, size_t piece_len, int32_t token, void *user_data);

/* Why a generation stopped (swiftlet_generate_result.stop_reason). */
#define SWIFTLET_STOP_END_OF_GENERATION 0  /* the model produced EOS or end-of-turn */
#define SWIFTLET_STOP_MAX_TOKENS 1         /* max_tokens were generated */
#define SWIFTLET_STOP_CALLBACK 2           /* the callback returned 0 */
#define SWIFTLET_STOP_CANCELLED 3          /* cancelled (status CANCELLED) */
#define SWIFTLET_STOP_CONTEXT_FULL 4       /* the context filled up (status CONTEXT_FULL) */

typedef struct swiftlet_generate_params {
    uint32_t struct_size;    /* sizeof(swiftlet_generate_params); set by swiftlet_generate_params_init */
    int32_t max_tokens;      /* most tokens to generate; default 256 */
    uint32_t tokenize_flags; /* SWIFTLET_TOKENIZE_* for the prompt; default SWIFTLET_TOKENIZE_MODEL_BOS */
    uint32_t reserved;       /* set to 0 */
    const swiftlet_sampler_params *sampling;  /* NULL = swiftlet_sampler_params_init's defaults
                                              ** (the default); else its struct_size must be set */
} swiftlet_generate_params;

/* Fills `params` with defaults. Does nothing if `params` is NULL. */
SWIFTLET_API void swiftlet_generate_params_init(swiftlet_generate_params *params);

typedef struct swiftlet_generate_result {
    uint32_t struct_size;          /* set by the caller to sizeof(swiftlet_generate_result) */
    int32_t n_prompt_tokens;       /* tokens of the prompt evaluated (after prefix reuse) */
    int32_t n_generated_tokens;    /* tokens generated (each delivered to the callback) */
    int32_t stop_reason;           /* SWIFTLET_STOP_* */
} swiftlet_generate_result;

/* Tokenizes `prompt`, evaluates it after whatever the context already holds,
** then samples up to max_tokens tokens, passing each one's text to `callback`
** (may be NULL) and evaluating it, so afterwards the context holds the prompt
** and every delivered token, with fresh logits to continue from. The
** end-of-generation token itself is neither delivered nor evaluated. An
** empty prompt continues from the context's current logits (INVALID_ARGUMENT
** if it has none). `params` may be NULL for defaults; `result` may be NULL.
** With params->sampling->grammar, every token continues the grammar and
** end-of-generation comes only where the text is complete (a grammar whose
** text is complete with nothing more allowed ends there); max_tokens can
** still cut the text short. Each call starts the grammar afresh.
** Returns OK for the first three stop reasons; CANCELLED or CONTEXT_FULL
** otherwise (result is still filled). Other errors as swiftlet_context_eval,
** INVALID_ARGUMENT for params (or params->sampling) with a bad struct_size,
** and the grammar's errors (see swiftlet_sampler_sample), which stop the
** generation where they happen: the tokens delivered so far stay evaluated. */
SWIFTLET_API swiftlet_status swiftlet_generate(swiftlet_context *context, const char *prompt,
                                  const swiftlet_generate_params *params,
                                  swiftlet_token_callback callback, void *user_data,
                                  swiftlet_generate_result *result);

/* Called once per generated token of sequence `seq_id` by swiftlet_generate_batch,
** as swiftlet_token_callback. Return 0 to stop that sequence only. */
typedef int32_t (*swiftlet_batch_token_callback)(int32_t seq_id, const char *piece, size_t piece_len, int32_t token,
                                                 void *user_data);

/* Generates a continuation of each of `n_prompts` prompts, all together:
** the context is reset, prompt i is evaluated in sequence i (all prompts in
** one decode), then each step evaluates the next token of every sequence
** still going in one pass. Each sequence samples with its own sampler made
** from params->sampling (the same seed for all; with a grammar, each follows
** it on its own), so each continuation is
** what swiftlet_generate gives for that prompt alone (up to near ties).
** `results` may be NULL, else n_prompts elements whose struct_size
** (each the same: it is the array's stride) the caller sets; each is filled
** as swiftlet_generate's. Errors: INVALID_ARGUMENT (NULL prompts, n_prompts
** 0 or more than n_seq_max, an empty prompt), CONTEXT_FULL (a prompt does
** not fit: nothing is generated), CANCELLED (every sequence still going
** stops), and as swiftlet_generate. */
SWIFTLET_API swiftlet_status swiftlet_generate_batch(swiftlet_context *context, const char *const *prompts,
                                                     size_t n_prompts, const swiftlet_generate_params *params,
                                                     swiftlet_batch_token_callback callback, void *user_data,
                                                     swiftlet_generate_result *results);

/* ------------------------------------------------------------------- chat */

typedef struct swiftlet_chat_message {
    uint32_t struct_size; /* sizeof(swiftlet_chat_message); the same in every element,
                          ** since it is also the array's stride */
    uint32_t reserved;    /* set to 0 */
    const char *role;     /* "system", "user", "assistant", ... */
    const char *content;
} swiftlet_chat_message;

typedef struct swiftlet_chat_params {
    uint32_t struct_size;           /* sizeof(swiftlet_chat_params); set by swiftlet_chat_params_init */
    int32_t add_generation_prompt;  /* nonzero: end with the opening of the assistant's
                                    ** turn (default 1; swiftlet_chat always does) */
    const char *chat_template;      /* a Jinja chat template to use instead of the model's
                                    ** own (as HF tokenizer_config.json's chat_template);
                                    ** NULL = the model's (the default). Copied during the call. */
} swiftlet_chat_params;

/* Fills `params` with defaults. Does nothing if `params` is NULL. */
SWIFTLET_API void swiftlet_chat_params_init(swiftlet_chat_params *params);

/* Renders `messages` with the chat template (params->chat_template, else the
** model's tokenizer.chat_template; for a model without one, Gemma's turn
** format if its vocabulary has <start_of_turn>/<end_of_turn>, else ChatML)
** into `buf`, NUL-terminated. `params` may be NULL for defaults. Size reporting as
** swiftlet_detokenize. Errors: INVALID_ARGUMENT, TEMPLATE (the template does
** not parse, fails, or its output would pass the renderer's size limits),
** BUFFER_TOO_SMALL. Thread-safe. */
SWIFTLET_API swiftlet_status swiftlet_chat_format(const swiftlet_model *model, const swiftlet_chat_message *messages,
                                                  size_t n_messages, const swiftlet_chat_params *params,
                                                  char *buf, size_t buf_size, size_t *out_len);

/* Generates the assistant's reply to a conversation. The conversation is
** rendered with the chat template (as swiftlet_chat_format; `chat_params`
** may be NULL) and tokenized with special tokens recognised; if the context
** already holds a prefix of those tokens (the earlier turns of the same
** chat), only the new tokens are evaluated; otherwise the context is rewound
** to the longest shared prefix first. Then as swiftlet_generate
** (params->tokenize_flags is ignored). A call that fails before generating
** (TEMPLATE, CONTEXT_FULL because the conversation does not fit, BUSY,
** INVALID_ARGUMENT) leaves the context as it was. */
SWIFTLET_API swiftlet_status swiftlet_chat(swiftlet_context *context, const swiftlet_chat_message *messages,
                                           size_t n_messages, const swiftlet_chat_params *chat_params,
                                           const swiftlet_generate_params *params,
                                           swiftlet_token_callback callback, void *user_data,
                                           swiftlet_generate_result *result);

/* ------------------------------------------------------------- embeddings */

/* Pooling for swiftlet_embed_params.pooling: how a text's final hidden
** states (after the model's final norm, where it has one) become one vector. */
#define SWIFTLET_POOLING_MODEL 0 /* the model's own: an encoder's from its files
                                 ** (bert.pooling_type, 1_Pooling/config.json;
                                 ** mean when they say nothing), LAST for a decoder */
#define SWIFTLET_POOLING_MEAN 1  /* the mean over the text's tokens, [CLS]/[SEP] or BOS included */
#define SWIFTLET_POOLING_CLS 2   /* the first token's ([CLS] on BERT) */
#define SWIFTLET_POOLING_LAST 3  /* the last token's */

typedef struct swiftlet_embed_params {
    uint32_t struct_size; /* sizeof(swiftlet_embed_params); set by swiftlet_embed_params_init */
    int32_t pooling;      /* a SWIFTLET_POOLING_* value; default SWIFTLET_POOLING_MODEL */
    int32_t normalize;    /* nonzero: scale each vector to length 1 (default 1) */
    uint32_t reserved;    /* set to 0 */
} swiftlet_embed_params;

/* Fills `params` with defaults. Does nothing if `params` is NULL. */
SWIFTLET_API void swiftlet_embed_params_init(swiftlet_embed_params *params);

/* Embeds `n_texts` texts (each NUL-terminated UTF-8, at most
** SWIFTLET_MAX_TEXT_BYTES) into `out`: n_texts rows of n_embd floats
** (swiftlet_model_info.n_embd), row-major, in the order of `texts`.
** `out_capacity` is the number of floats `out` holds; `*out_count` receives
** n_texts * n_embd. If `out_capacity` is too small, returns BUFFER_TOO_SMALL
** (with `*out_count` set) before evaluating anything; `out` may be NULL when
** `out_capacity` is 0 (a size query). `params` may be NULL for defaults.
**
** Each text is tokenized as the model's sequences are (special tokens written
** in the text recognised): on a BERT model [CLS] text [SEP], truncated to the
** model's longest sequence (sentence_bert_config.json's max_seq_length, else
** its n_ctx_train) as sentence-transformers does; on a decoder with BOS if the
** model asks for it, truncated to n_ctx_train.
**  - An encoder (BERT) evaluates as many whole texts as fit in the context's
**    n_batch tokens in each pass (its default n_batch is n_ctx), each
**    attending only to itself: a text's vector is the same alone or among
**    others, up to the rounding of the int8 products. The context holds no
**    tokens before or after.
**  - A decoder evaluates the texts one by one from position 0; afterwards the
**    context is empty, as after swiftlet_context_reset().
** Errors: INVALID_ARGUMENT (NULL texts or a NULL text, n_texts 0, a bad
** pooling value, a text with no tokens, an encoder text longer than n_batch
** tokens), CONTEXT_FULL (a decoder text longer than n_ctx), BUSY,
** BUFFER_TOO_SMALL, CANCELLED (`out` then holds the vectors of the texts
** finished before, the rest is undefined). */
SWIFTLET_API swiftlet_status swiftlet_embed(swiftlet_context *context, const char *const *texts, size_t n_texts,
                                            const swiftlet_embed_params *params, float *out, size_t out_capacity,
                                            size_t *out_count);

#ifdef __cplusplus
}
#endif

#endif /* SWIFTLET_H */
