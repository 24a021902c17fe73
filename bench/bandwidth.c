/* Memory read-bandwidth probe for the roofline in bench/bench.py.
 *
 *     cc -O3 -march=native -pthread bench/bandwidth.c -o bandwidth
 *     ./bandwidth [MiB=256] [reps=7] [threads...=1 2]
 *
 * Allocates one buffer (default 256 MiB, far larger than any L3 here), writes
 * it once so every page is backed, then for each thread count has that many
 * threads sum disjoint equal slices of it (read only, 64-bit integer adds the
 * compiler vectorizes, several independent accumulators so the adds never
 * bound the loop). Each repetition starts all threads together at a barrier
 * and is timed from the first reader's start to the last one's finish (clock
 * read by the readers themselves). Prints one JSON
 * object: per thread count the best and the median GB/s (1 GB = 1e9 bytes)
 * over the repetitions.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint64_t *data;
    size_t count;  /* uint64 words in this thread's slice */
    pthread_barrier_t *start;
    double began, ended;  /* this thread's own clock readings around its slice */
    volatile uint64_t sink;
} slice;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *reader(void *arg) {
    slice *s = arg;
    pthread_barrier_wait(s->start);
    s->began = now();
    const uint64_t *p = s->data;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t n = s->count & ~(size_t)7;
    for (size_t i = 0; i < n; i += 8) {
        a0 += p[i]; a1 += p[i + 1]; a2 += p[i + 2]; a3 += p[i + 3];
        a4 += p[i + 4]; a5 += p[i + 5]; a6 += p[i + 6]; a7 += p[i + 7];
    }
    for (size_t i = n; i < s->count; i++) a0 += p[i];
    s->sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    s->ended = now();
    return NULL;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seconds for one pass of `threads` threads over the whole buffer. */
static double one_pass(const uint64_t *data, size_t words, int threads) {
    pthread_t tid[64];
    slice slices[64];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    size_t per = words / (size_t)threads;
    for (int t = 0; t < threads; t++) {
        slices[t].data = data + (size_t)t * per;
        slices[t].count = t == threads - 1 ? words - (size_t)t * per : per;
        slices[t].start = &start;
        pthread_create(&tid[t], NULL, reader, &slices[t]);
    }
    pthread_barrier_wait(&start);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&start);
    /* From the first reader's start to the last one's end, read by the readers
    ** themselves: the main thread may not run at once after the barrier. */
    double began = slices[0].began, ended = slices[0].ended;
    for (int t = 1; t < threads; t++) {
        if (slices[t].began < began) began = slices[t].began;
        if (slices[t].ended > ended) ended = slices[t].ended;
    }
    return ended - began;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    int thread_counts[16] = {1, 2};
    int n_counts = 2;
    if (argc > 3) {
        n_counts = 0;
        for (int i = 3; i < argc && n_counts < 16; i++) thread_counts[n_counts++] = atoi(argv[i]);
    }
    if (mib == 0 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: %s [MiB] [reps] [threads...]\n", argv[0]);
        return 2;
    }
    size_t bytes = mib << 20, words = bytes / sizeof(uint64_t);
    uint64_t *data = aligned_alloc(4096, bytes);
    if (!data) {
        fprintf(stderr, "cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < words; i++) data[i] = i * 0x9E3779B97F4A7C15ull;

    printf("{\"buffer_mib\": %zu, \"repetitions\": %d, \"threads\": {", mib, reps);
    for (int c = 0; c < n_counts; c++) {
        int threads = thread_counts[c];
        if (threads < 1 || threads > 64) continue;
        double gbs[100];
        one_pass(data, words, threads); /* warm-up: TLB, frequency */
        for (int r = 0; r < reps; r++) gbs[r] = (double)bytes / one_pass(data, words, threads) / 1e9;
        qsort(gbs, (size_t)reps, sizeof(double), compare_double);
        double median = reps % 2 ? gbs[reps / 2] : (gbs[reps / 2 - 1] + gbs[reps / 2]) / 2;
        printf("%s\"%d\": {\"best_gb_s\": %.3f, \"median_gb_s\": %.3f}", c ? ", " : "", threads,
               gbs[reps - 1], median);
    }
    printf("}}\n");
    free(data);
    return 0;
}
