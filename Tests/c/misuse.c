/* misuse.c — a careless or hostile host, one case per process.
**
**   misuse MODEL.gguf CASE      exit 0: the library answered as the header says
**
** Each case calls the public API the way the ABI issue's probes did (huge
** sizes, one context from two threads, re-entrant calls from callbacks, free
** from a callback, free order, stray cancels, load cancelled by progress) and
** checks the documented status. A crash, an abort or a hang is the failure
** mode, so Tests/python/test_misuse.py runs every case in its own process. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "swiftlet.h"

static const char *model_path;
static int failures;

#define CHECK(condition, ...)                                                      \
    do {                                                                           \
        if (!(condition)) {                                                        \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #condition);       \
            fprintf(stderr, __VA_ARGS__);                                          \
            fprintf(stderr, " (last error: %s)\n", swiftlet_last_error());         \
            failures++;                                                            \
        }                                                                          \
    } while (0)

#define EXPECT_STATUS(call, want) \
    do { swiftlet_status got_ = (call); CHECK(got_ == (want), "%s gave %d, want %d", #call, got_, want); } while (0)

static swiftlet_model *load(void) {
    swiftlet_model *model = NULL;
    if (swiftlet_model_load(model_path, NULL, &model) != SWIFTLET_OK) {
        fprintf(stderr, "cannot load %s: %s\n", model_path, swiftlet_last_error());
        exit(2);
    }
    return model;
}

static swiftlet_context *context_of(swiftlet_model *model, int32_t n_ctx) {
    swiftlet_context_params params;
    swiftlet_context_params_init(&params);
    params.n_ctx = n_ctx;
    params.n_threads = 1;
    swiftlet_context *context = NULL;
    if (swiftlet_context_create(model, &params, &context) != SWIFTLET_OK) {
        fprintf(stderr, "cannot create a context: %s\n", swiftlet_last_error());
        exit(2);
    }
    return context;
}

static swiftlet_sampler_params greedy;
static swiftlet_generate_params generate_params(int32_t max_tokens) {
    swiftlet_sampler_params_init(&greedy);
    greedy.temperature = 0;
    swiftlet_generate_params params;
    swiftlet_generate_params_init(&params);
    params.max_tokens = max_tokens;
    params.sampling = &greedy;
    return params;
}

/* ------------------------------------------------------------ huge sizes */

static void huge_sizes(void) {
    swiftlet_model *model = load();
    int32_t tokens[8];
    size_t count = 0;
    const char text[] = "hello";
    const size_t huge[] = {SIZE_MAX, (size_t)1 << 62, ((size_t)1 << 63) + 5, (size_t)SWIFTLET_MAX_TEXT_BYTES + 1};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        EXPECT_STATUS(swiftlet_tokenize(model, text, huge[i], 0, tokens, 8, &count), SWIFTLET_ERROR_INVALID_ARGUMENT);
        CHECK(strchr(swiftlet_last_error(), '-') == NULL, "a size printed as a negative number: %s",
              swiftlet_last_error());
        char buf[16];
        size_t len = 0;
        EXPECT_STATUS(swiftlet_detokenize(model, tokens, huge[i], buf, sizeof buf, &len),
                      SWIFTLET_ERROR_INVALID_ARGUMENT);
    }
    /* A buffer size past Int.max is plenty, not negative. */
    EXPECT_STATUS(swiftlet_tokenize(model, text, 5, 0, tokens, SIZE_MAX, &count), SWIFTLET_OK);
    CHECK(count > 0, "no tokens");
    swiftlet_model_free(model);
}

/* n_tokens larger than the context, on an array that ends at a page edge:
** CONTEXT_FULL must come before any id past the array is read. */
static void eval_count_checked_first(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 64);
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pages != MAP_FAILED, "mmap");
    mprotect(pages + page, page, PROT_NONE);
    int32_t *one = (int32_t *)(pages + page) - 1; /* one valid id, then a guard page */
    *one = 1;
    const size_t counts[] = {65, 1000, SIZE_MAX, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        EXPECT_STATUS(swiftlet_context_eval(context, one, counts[i]), SWIFTLET_ERROR_CONTEXT_FULL);
        CHECK(strchr(swiftlet_last_error(), '-') == NULL, "negative size in: %s", swiftlet_last_error());
        float logits[4];
        EXPECT_STATUS(swiftlet_context_eval_all_logits(context, one, counts[i], logits, 4),
                      SWIFTLET_ERROR_CONTEXT_FULL);
    }
    EXPECT_STATUS(swiftlet_context_eval(context, one, 1), SWIFTLET_OK);
    CHECK(swiftlet_context_position(context) == 1, "position %d", swiftlet_context_position(context));
    swiftlet_context_free(context);
    swiftlet_model_free(model);
}

/* params->sampling with struct_size 0 is a caller error, not a silent default. */
static void sampling_struct_size_checked(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 64);
    swiftlet_generate_params params = generate_params(2);
    swiftlet_sampler_params unset;
    memset(&unset, 0, sizeof unset);
    params.sampling = &unset;
    EXPECT_STATUS(swiftlet_generate(context, "Hi", &params, NULL, NULL, NULL), SWIFTLET_ERROR_INVALID_ARGUMENT);
    CHECK(swiftlet_context_position(context) == 0, "the failed call evaluated tokens");
    swiftlet_chat_message message = {0, 0, "user", "hi"}; /* struct_size not set */
    EXPECT_STATUS(swiftlet_chat(context, &message, 1, NULL, NULL, NULL, NULL, NULL), SWIFTLET_ERROR_INVALID_ARGUMENT);
    swiftlet_context_free(context);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ one context, two threads */

typedef struct {
    swiftlet_context *context;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int stage; /* 0 waiting, 1 generate is inside its callback, 2 the other thread is done */
    swiftlet_status other_eval, other_rewind, other_reset, other_generate;
} two_threads;

static void *second_caller(void *arg) {
    two_threads *t = arg;
    pthread_mutex_lock(&t->lock);
    while (t->stage < 1) pthread_cond_wait(&t->changed, &t->lock);
    pthread_mutex_unlock(&t->lock);
    int32_t token = 1;
    t->other_eval = swiftlet_context_eval(t->context, &token, 1);
    t->other_rewind = swiftlet_context_rewind(t->context, 0);
    t->other_reset = swiftlet_context_reset(t->context);
    swiftlet_generate_params params = generate_params(1);
    t->other_generate = swiftlet_generate(t->context, "x", &params, NULL, NULL, NULL);
    pthread_mutex_lock(&t->lock);
    t->stage = 2;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* The first token's callback holds the call open until the other thread has
** tried every mutating call: each must be BUSY, deterministically. */
static int32_t hold_until_other_thread_done(const char *piece, size_t len, int32_t token, void *user_data) {
    (void)piece; (void)len; (void)token;
    two_threads *t = user_data;
    pthread_mutex_lock(&t->lock);
    if (t->stage == 0) {
        t->stage = 1;
        pthread_cond_broadcast(&t->changed);
        while (t->stage < 2) pthread_cond_wait(&t->changed, &t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return 1;
}

static void two_threads_one_context(void) {
    swiftlet_model *model = load();
    two_threads t = {.context = context_of(model, 128), .lock = PTHREAD_MUTEX_INITIALIZER,
                     .changed = PTHREAD_COND_INITIALIZER};
    pthread_t other;
    pthread_create(&other, NULL, second_caller, &t);
    swiftlet_generate_params params = generate_params(4);
    swiftlet_generate_result result = {.struct_size = sizeof result};
    EXPECT_STATUS(swiftlet_generate(t.context, "The sky is", &params, hold_until_other_thread_done, &t, &result),
                  SWIFTLET_OK);
    pthread_join(other, NULL);
    CHECK(t.other_eval == SWIFTLET_ERROR_BUSY, "eval from the second thread gave %d", t.other_eval);
    CHECK(t.other_rewind == SWIFTLET_ERROR_BUSY, "rewind gave %d", t.other_rewind);
    CHECK(t.other_reset == SWIFTLET_ERROR_BUSY, "reset gave %d", t.other_reset);
    CHECK(t.other_generate == SWIFTLET_ERROR_BUSY, "generate gave %d", t.other_generate);
    CHECK(result.n_generated_tokens == 4, "generated %d", result.n_generated_tokens);
    /* The busy second caller changed nothing: the context holds prompt + 4 tokens. */
    CHECK(swiftlet_context_position(t.context) == result.n_prompt_tokens + 4, "position %d",
          swiftlet_context_position(t.context));
    /* And once the call is over, the context is free again. */
    EXPECT_STATUS(swiftlet_context_reset(t.context), SWIFTLET_OK);
    swiftlet_context_free(t.context);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ re-entrant callbacks */

typedef struct {
    swiftlet_context *context;
    int calls;
    swiftlet_status eval, rewind, reset, generate, chat;
    int32_t position;
    int logits_available;
} reentry;

static int32_t call_back_in(const char *piece, size_t len, int32_t token, void *user_data) {
    (void)piece; (void)len; (void)token;
    reentry *r = user_data;
    if (r->calls++ > 0) return 1;
    int32_t one = 1;
    r->eval = swiftlet_context_eval(r->context, &one, 1);
    r->rewind = swiftlet_context_rewind(r->context, 0);
    r->reset = swiftlet_context_reset(r->context);
    swiftlet_generate_params params = generate_params(1);
    r->generate = swiftlet_generate(r->context, "nested", &params, NULL, NULL, NULL);
    swiftlet_chat_message message = {sizeof message, 0, "user", "nested"};
    r->chat = swiftlet_chat(r->context, &message, 1, NULL, &params, NULL, NULL, NULL);
    /* Read-only queries are allowed. */
    r->position = swiftlet_context_position(r->context);
    r->logits_available = swiftlet_context_logits(r->context) != NULL;
    return 1;
}

static void reentrant_calls_are_busy(void) {
    swiftlet_model *model = load();
    reentry r = {.context = context_of(model, 128)};
    swiftlet_generate_params params = generate_params(3);
    swiftlet_generate_result result = {.struct_size = sizeof result};
    EXPECT_STATUS(swiftlet_generate(r.context, "Once upon", &params, call_back_in, &r, &result), SWIFTLET_OK);
    CHECK(r.eval == SWIFTLET_ERROR_BUSY, "nested eval gave %d", r.eval);
    CHECK(r.rewind == SWIFTLET_ERROR_BUSY, "nested rewind gave %d", r.rewind);
    CHECK(r.reset == SWIFTLET_ERROR_BUSY, "nested reset gave %d", r.reset);
    CHECK(r.generate == SWIFTLET_ERROR_BUSY, "nested generate gave %d", r.generate);
    CHECK(r.chat == SWIFTLET_ERROR_BUSY, "nested chat gave %d", r.chat);
    CHECK(r.position == result.n_prompt_tokens, "position inside the first callback: %d", r.position);
    CHECK(r.logits_available, "no logits inside the callback");
    CHECK(result.n_generated_tokens == 3, "generated %d", result.n_generated_tokens);
    swiftlet_context_free(r.context);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ freeing from a callback */

typedef struct { swiftlet_context *context; int calls_after_free; int freed; } free_inside;

static int32_t free_my_context(const char *piece, size_t len, int32_t token, void *user_data) {
    (void)piece; (void)len; (void)token;
    free_inside *f = user_data;
    if (f->freed) { f->calls_after_free++; return 1; }
    swiftlet_context_free(f->context);
    f->freed = 1;
    return 1;
}

static void free_context_inside_its_callback(void) {
    swiftlet_model *model = load();
    free_inside f = {.context = context_of(model, 128)};
    swiftlet_generate_params params = generate_params(8);
    swiftlet_generate_result result = {.struct_size = sizeof result};
    EXPECT_STATUS(swiftlet_generate(f.context, "Hello", &params, free_my_context, &f, &result),
                  SWIFTLET_ERROR_CANCELLED);
    CHECK(f.calls_after_free == 0, "%d callbacks after the context was freed", f.calls_after_free);
    CHECK(result.stop_reason == SWIFTLET_STOP_CANCELLED, "stop reason %d", result.stop_reason);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ free order */

static void model_freed_before_context(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 128);
    swiftlet_model_free(model); /* the context keeps it alive */
    swiftlet_generate_params params = generate_params(4);
    swiftlet_generate_result result = {.struct_size = sizeof result};
    EXPECT_STATUS(swiftlet_generate(context, "The capital of France is", &params, NULL, NULL, &result), SWIFTLET_OK);
    CHECK(result.n_generated_tokens == 4, "generated %d", result.n_generated_tokens);
    swiftlet_memory_info memory = {.struct_size = sizeof memory};
    EXPECT_STATUS(swiftlet_memory_get_info(&memory), SWIFTLET_OK);
    CHECK(memory.bytes_mapped > 0, "the model's file is no longer mapped while its context lives");
    swiftlet_context_free(context); /* the model goes with it */
    EXPECT_STATUS(swiftlet_memory_get_info(&memory), SWIFTLET_OK);
    CHECK(memory.bytes_mapped == 0, "%llu bytes still mapped after the last context", (unsigned long long)memory.bytes_mapped);
}

/* ------------------------------------------------------ cancel */

static void stray_cancel_does_nothing(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 128);
    swiftlet_context_cancel(context); /* nothing runs: no effect */
    int32_t tokens[3] = {1, 2, 3};
    EXPECT_STATUS(swiftlet_context_eval(context, tokens, 3), SWIFTLET_OK);
    swiftlet_context_cancel(context);
    swiftlet_context_cancel(context);
    swiftlet_generate_params params = generate_params(2);
    swiftlet_generate_result result = {.struct_size = sizeof result};
    EXPECT_STATUS(swiftlet_generate(context, " more", &params, NULL, NULL, &result), SWIFTLET_OK);
    CHECK(result.n_generated_tokens == 2, "generated %d", result.n_generated_tokens);
    swiftlet_context_cancel(NULL); /* harmless */
    swiftlet_context_free(context);
    swiftlet_model_free(model);
}

typedef struct { swiftlet_context *context; volatile int done; } canceller_state;

static void *cancel_until_done(void *arg) {
    canceller_state *c = arg;
    while (!c->done) {
        swiftlet_context_cancel(c->context);
        usleep(200);
    }
    return NULL;
}

/* A call cancelled before its first batch completed keeps the previous
** logits and position. The batch is 200 tokens (hundreds of ms on any kernel
** set); the other thread cancels every 0.2 ms until the call returns. */
static void cancelled_eval_keeps_logits(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 512);
    int32_t first[4] = {1, 2, 3, 4};
    EXPECT_STATUS(swiftlet_context_eval(context, first, 4), SWIFTLET_OK);
    int32_t n_vocab = swiftlet_vocab_size(model);
    float *before = malloc(sizeof(float) * n_vocab);
    memcpy(before, swiftlet_context_logits(context), sizeof(float) * n_vocab);
    int32_t batch[200];
    for (int i = 0; i < 200; i++) batch[i] = 100 + i;
    canceller_state c = {.context = context};
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_until_done, &c);
    swiftlet_status status = swiftlet_context_eval(context, batch, 200);
    c.done = 1;
    pthread_join(thread, NULL);
    CHECK(status == SWIFTLET_ERROR_CANCELLED, "eval gave %d", status);
    CHECK(swiftlet_context_position(context) == 4, "position %d", swiftlet_context_position(context));
    const float *after = swiftlet_context_logits(context);
    CHECK(after != NULL && memcmp(before, after, sizeof(float) * n_vocab) == 0, "the previous logits were lost");
    /* The next call is not cancelled by anything left over. */
    EXPECT_STATUS(swiftlet_context_eval(context, batch, 8), SWIFTLET_OK);
    free(before);
    swiftlet_context_free(context);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ a full context */

static void chat_on_full_context_changes_nothing(void) {
    swiftlet_model *model = load();
    swiftlet_context *context = context_of(model, 48);
    int32_t tokens[40];
    for (int i = 0; i < 40; i++) tokens[i] = 200 + i;
    EXPECT_STATUS(swiftlet_context_eval(context, tokens, 40), SWIFTLET_OK);
    int32_t n_vocab = swiftlet_vocab_size(model);
    float *before = malloc(sizeof(float) * n_vocab);
    memcpy(before, swiftlet_context_logits(context), sizeof(float) * n_vocab);
    char long_text[600];
    for (int i = 0; i < 599; i++) long_text[i] = "abc "[i % 4];
    long_text[599] = 0;
    swiftlet_chat_message message = {sizeof message, 0, "user", long_text};
    swiftlet_generate_params params = generate_params(4);
    EXPECT_STATUS(swiftlet_chat(context, &message, 1, NULL, &params, NULL, NULL, NULL), SWIFTLET_ERROR_CONTEXT_FULL);
    CHECK(swiftlet_context_position(context) == 40, "position %d: the failed chat rewound",
          swiftlet_context_position(context));
    const float *after = swiftlet_context_logits(context);
    CHECK(after != NULL && memcmp(before, after, sizeof(float) * n_vocab) == 0, "the logits changed");
    /* A generate whose prompt alone overflows fails the same way, evaluating nothing. */
    EXPECT_STATUS(swiftlet_generate(context, long_text, &params, NULL, NULL, NULL), SWIFTLET_ERROR_CONTEXT_FULL);
    CHECK(swiftlet_context_position(context) == 40, "position %d", swiftlet_context_position(context));
    free(before);
    swiftlet_context_free(context);
    swiftlet_model_free(model);
}

/* ------------------------------------------------------ load progress */

typedef struct { int calls; float last; int decreasing; int stop_after; } progress_log;

static int32_t note_progress(float progress, void *user_data) {
    progress_log *p = user_data;
    if (progress < p->last) p->decreasing = 1;
    p->last = progress;
    p->calls++;
    return p->stop_after == 0 || p->calls < p->stop_after;
}

static void load_progress_and_cancel(void) {
    swiftlet_model_params params;
    swiftlet_model_params_init(&params);
    progress_log full = {.last = -1};
    params.progress = note_progress;
    params.progress_user_data = &full;
    swiftlet_model *model = NULL;
    EXPECT_STATUS(swiftlet_model_load(model_path, &params, &model), SWIFTLET_OK);
    CHECK(full.calls >= 3 && full.last == 1.0f && !full.decreasing, "%d calls, last %f, decreasing %d", full.calls,
          full.last, full.decreasing);
    swiftlet_model_free(model);

    swiftlet_memory_info memory = {.struct_size = sizeof memory};
    for (int stop = 1; stop <= full.calls; stop += (full.calls > 6 ? full.calls / 6 : 1)) {
        progress_log cancelled = {.last = -1, .stop_after = stop};
        params.progress_user_data = &cancelled;
        model = NULL;
        EXPECT_STATUS(swiftlet_model_load(model_path, &params, &model), SWIFTLET_ERROR_CANCELLED);
        CHECK(model == NULL, "out_model written on a cancelled load");
        CHECK(cancelled.calls == stop, "%d calls after a cancel at call %d", cancelled.calls, stop);
        EXPECT_STATUS(swiftlet_memory_get_info(&memory), SWIFTLET_OK);
        CHECK(memory.bytes_mapped == 0 && memory.bytes_allocated == 0,
              "a load cancelled at call %d left %llu bytes mapped, %llu allocated", stop,
              (unsigned long long)memory.bytes_mapped, (unsigned long long)memory.bytes_allocated);
    }
}

/* ------------------------------------------------------ facts */

static void system_info(void) {
    const char *info = swiftlet_system_info();
    CHECK(info != NULL && strstr(info, "kernels ") && strstr(info, "cpu ") && strstr(info, "allocator ") &&
              strstr(info, "blas "), "system info: %s", info ? info : "(null)");
    CHECK(info == swiftlet_system_info(), "not static storage");
    const char *forced = getenv("SWIFTLET_PORTABLE_KERNELS");
    if (forced && strcmp(forced, "1") == 0) CHECK(strstr(info, "kernels portable") != NULL, "%s", info);
}

static const struct { const char *name; void (*run)(void); } cases[] = {
    {"huge_sizes", huge_sizes},
    {"eval_count_checked_first", eval_count_checked_first},
    {"sampling_struct_size_checked", sampling_struct_size_checked},
    {"two_threads_one_context", two_threads_one_context},
    {"reentrant_calls_are_busy", reentrant_calls_are_busy},
    {"free_context_inside_its_callback", free_context_inside_its_callback},
    {"model_freed_before_context", model_freed_before_context},
    {"stray_cancel_does_nothing", stray_cancel_does_nothing},
    {"cancelled_eval_keeps_logits", cancelled_eval_keeps_logits},
    {"chat_on_full_context_changes_nothing", chat_on_full_context_changes_nothing},
    {"load_progress_and_cancel", load_progress_and_cancel},
    {"system_info", system_info},
};

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) puts(cases[i].name);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf CASE | --list\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[2]) == 0) {
            cases[i].run();
            return failures == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "no case %s\n", argv[2]);
    return 2;
}
