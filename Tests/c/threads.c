/* threads.c — the threading contract of include/swiftlet.h, exercised from C:
**
**   1. one shared model, several threads each creating its own context at the
**      same time, tokenizing on the shared model and generating greedily:
**      every thread's tokens equal the single-threaded reference;
**   2. the model freed while its contexts still exist, then those contexts
**      generating on other threads and freed there (the last free releases
**      the model);
**   3. swiftlet_context_cancel() from another thread stops a running
**      generation (CANCELLED, the context usable afterwards), and a cancel
**      made while nothing runs does not touch the next call;
**   4. cancels at arbitrary moments while a thread generates: every call
**      ends OK or CANCELLED and the context stays consistent;
**   5. a second thread calling eval or reset on a context that is running a
**      generation gets BUSY, and the generation is not disturbed.
**
**   threads MODEL.gguf [n_tokens=16] [n_threads=3]
**
** Prints one line per check and exits 0 when all pass. scripts/test-tsan.sh
** builds it with -fsanitize=thread against the ThreadSanitizer build of the
** library (and scripts/test-asan.sh with AddressSanitizer). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "swiftlet.h"

#define MAX_THREADS 8
#define MAX_TOKENS 256

static const char *prompt = "Hello world, the";
static swiftlet_model *model;
static int n_tokens = 16;
static int n_threads = 3;
static int failures;

static void sleep_us(long us) {
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

static void report(int ok, const char *what) {
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) failures++;
    fflush(stdout);
}

static swiftlet_context *new_context(int32_t n_ctx) {
    swiftlet_context_params params;
    swiftlet_context_params_init(&params);
    params.n_ctx = n_ctx;
    params.n_threads = 2;  // each context's own worker pool runs beside the others
    swiftlet_context *context = NULL;
    if (swiftlet_context_create(model, &params, &context) != SWIFTLET_OK) {
        fprintf(stderr, "context_create: %s\n", swiftlet_last_error());
        return NULL;
    }
    return context;
}

/* ------------------------------------------------------------ generation */

typedef struct {
    int32_t tokens[MAX_TOKENS];
    int count;
    atomic_int started;  // set by the first callback (cleared by whoever waits for it)
    atomic_int *hold;    // when not NULL, the first callback waits until it is 0
} run;

static int32_t collect(const char *piece, size_t piece_len, int32_t token, void *user_data) {
    (void)piece;
    (void)piece_len;
    run *r = user_data;
    if (token >= 0 && r->count < MAX_TOKENS) r->tokens[r->count++] = token;
    if (!atomic_exchange(&r->started, 1) && r->hold) {
        while (atomic_load(r->hold)) sleep_us(100);
    }
    return 1;
}

/* Greedy generation of up to `max_tokens` after the prompt, from position 0. */
static swiftlet_status generate(swiftlet_context *context, run *r, int max_tokens, swiftlet_generate_result *result) {
    swiftlet_sampler_params sampling;
    swiftlet_sampler_params_init(&sampling);
    sampling.temperature = 0;
    swiftlet_generate_params params;
    swiftlet_generate_params_init(&params);
    params.max_tokens = max_tokens;
    params.sampling = &sampling;
    r->count = 0;
    swiftlet_status status = swiftlet_context_reset(context);
    if (status != SWIFTLET_OK) return status;
    result->struct_size = sizeof *result;
    return swiftlet_generate(context, prompt, &params, collect, r, result);
}

static run reference;

static int same_as_reference(const run *r) {
    return r->count == reference.count && memcmp(r->tokens, reference.tokens, sizeof(int32_t) * r->count) == 0;
}

/* -------------------------------------------- 1. contexts on a shared model */

typedef struct {
    swiftlet_context *context;  // created by the thread in phase 1, reused in phase 2
    run result;
    int ok;
} worker;

static void *phase_one(void *argument) {
    worker *w = argument;
    w->ok = 0;
    w->context = new_context(128);
    if (!w->context) return NULL;
    int32_t ids[64];
    size_t count = 0;
    for (int i = 0; i < 20; i++) {  // the shared model answers other threads meanwhile
        if (swiftlet_tokenize(model, prompt, strlen(prompt), SWIFTLET_TOKENIZE_MODEL_BOS, ids, 64, &count) != SWIFTLET_OK)
            return NULL;
    }
    swiftlet_generate_result result;
    if (generate(w->context, &w->result, n_tokens, &result) != SWIFTLET_OK) {
        fprintf(stderr, "generate: %s\n", swiftlet_last_error());
        return NULL;
    }
    w->ok = same_as_reference(&w->result);
    return NULL;
}

/* ---------------------------- 2. the model freed, its contexts still at work */

static void *phase_two(void *argument) {
    worker *w = argument;
    swiftlet_generate_result result;
    w->ok = generate(w->context, &w->result, n_tokens, &result) == SWIFTLET_OK && same_as_reference(&w->result);
    swiftlet_context_free(w->context);  // the last one frees the model too
    w->context = NULL;
    return NULL;
}

/* ------------------------------------------------- 3, 4, 5: two threads, one context */

typedef struct {
    swiftlet_context *context;
    run result;
    swiftlet_status status;
    swiftlet_generate_result outcome;
    int max_tokens;
    atomic_int done;
} generation;

static void *generate_thread(void *argument) {
    generation *g = argument;
    g->status = generate(g->context, &g->result, g->max_tokens, &g->outcome);
    atomic_store(&g->done, 1);
    return NULL;
}

static int cancel_from_another_thread(void) {
    generation g = {.context = new_context(MAX_TOKENS + 32), .max_tokens = MAX_TOKENS};
    if (!g.context) return 0;
    // A cancel made while nothing runs does not touch a later call.
    swiftlet_context_cancel(g.context);
    swiftlet_generate_result result;
    int ok = generate(g.context, &g.result, 4, &result) == SWIFTLET_OK && g.result.count == 4;
    if (!ok) fprintf(stderr, "a generation after an idle cancel: %s, %d tokens\n", swiftlet_last_error(), g.result.count);

    // The generation's first callback waits until the cancel is made, so the
    // cancel surely meets a running call (a model may end a text early).
    atomic_int hold = 1;
    g.result.hold = &hold;
    atomic_store(&g.result.started, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, generate_thread, &g);
    while (!atomic_load(&g.result.started)) sleep_us(100);
    swiftlet_context_cancel(g.context);
    atomic_store(&hold, 0);
    pthread_join(thread, NULL);
    g.result.hold = NULL;
    if (g.status != SWIFTLET_ERROR_CANCELLED || g.outcome.stop_reason != SWIFTLET_STOP_CANCELLED)
        fprintf(stderr, "cancelled generation: status %d (%s), stop reason %d, %d tokens\n", (int)g.status,
                swiftlet_status_string(g.status), (int)g.outcome.stop_reason, g.result.count);
    ok = ok && g.status == SWIFTLET_ERROR_CANCELLED && g.outcome.stop_reason == SWIFTLET_STOP_CANCELLED &&
         g.result.count < MAX_TOKENS;
    // Still usable: the same greedy tokens as before.
    ok = ok && generate(g.context, &g.result, n_tokens, &result) == SWIFTLET_OK && same_as_reference(&g.result);
    swiftlet_context_free(g.context);
    return ok;
}

static int cancels_at_any_moment(void) {
    generation g = {.context = new_context(MAX_TOKENS + 32), .max_tokens = 24};
    if (!g.context) return 0;
    int ok = 1;
    unsigned seed = 12345;
    for (int round = 0; round < 12 && ok; round++) {
        atomic_store(&g.done, 0);
        pthread_t thread;
        pthread_create(&thread, NULL, generate_thread, &g);
        seed = seed * 1103515245u + 12345u;
        sleep_us((long)(seed >> 8) % 20000);
        swiftlet_context_cancel(g.context);
        pthread_join(thread, NULL);
        int32_t position = swiftlet_context_position(g.context);
        ok = (g.status == SWIFTLET_OK || g.status == SWIFTLET_ERROR_CANCELLED) && position >= 0 &&
             position <= swiftlet_context_size(g.context);
    }
    swiftlet_context_free(g.context);
    return ok;
}

static int busy_for_a_second_caller(void) {
    atomic_int hold = 1;
    generation g = {.context = new_context(128), .max_tokens = n_tokens};
    if (!g.context) return 0;
    g.result.hold = &hold;
    pthread_t thread;
    pthread_create(&thread, NULL, generate_thread, &g);
    while (!atomic_load(&g.result.started)) sleep_us(100);
    // The generation is inside its first callback, waiting for us.
    int32_t token = reference.tokens[0];
    int ok = swiftlet_context_eval(g.context, &token, 1) == SWIFTLET_ERROR_BUSY;
    ok = ok && swiftlet_context_reset(g.context) == SWIFTLET_ERROR_BUSY;
    atomic_store(&hold, 0);
    pthread_join(thread, NULL);
    g.result.hold = NULL;
    ok = ok && g.status == SWIFTLET_OK && same_as_reference(&g.result);
    swiftlet_context_free(g.context);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [n_tokens] [n_threads]\n", argv[0]);
        return 2;
    }
    if (argc > 2) n_tokens = atoi(argv[2]);
    if (argc > 3) n_threads = atoi(argv[3]);
    if (n_tokens < 1 || n_tokens > 64 || n_threads < 1 || n_threads > MAX_THREADS) {
        fprintf(stderr, "n_tokens 1..64, n_threads 1..%d\n", MAX_THREADS);
        return 2;
    }
    if (swiftlet_model_load(argv[1], NULL, &model) != SWIFTLET_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], swiftlet_last_error());
        return 1;
    }
    swiftlet_context *context = new_context(128);
    swiftlet_generate_result result;
    if (!context || generate(context, &reference, n_tokens, &result) != SWIFTLET_OK || reference.count != n_tokens) {
        fprintf(stderr, "the single-threaded reference failed: %s\n", swiftlet_last_error());
        return 1;
    }
    swiftlet_context_free(context);

    static worker workers[MAX_THREADS];  // zeroed: no hold, nothing started
    pthread_t threads[MAX_THREADS];
    char what[160];
    for (int i = 0; i < n_threads; i++) pthread_create(&threads[i], NULL, phase_one, &workers[i]);
    int all = 1;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(threads[i], NULL);
        all = all && workers[i].ok;
    }
    snprintf(what, sizeof what, "%d threads, each with its own context on one model, generate the reference tokens",
             n_threads);
    report(all, what);

    report(cancel_from_another_thread(), "cancel from another thread stops a generation; the context stays usable");
    report(cancels_at_any_moment(), "cancels at arbitrary moments end each call OK or CANCELLED");
    report(busy_for_a_second_caller(), "eval and reset from a second thread are BUSY while a generation runs");

    swiftlet_model_free(model);  // the contexts keep it alive
    model = NULL;
    for (int i = 0; i < n_threads; i++) pthread_create(&threads[i], NULL, phase_two, &workers[i]);
    all = 1;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(threads[i], NULL);
        all = all && workers[i].ok;
    }
    report(all, "after swiftlet_model_free its contexts generate on their threads and free it with the last one");
    return failures ? 1 : 0;
}
