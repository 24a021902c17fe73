#include "SwiftletBLAS.h"

#include <cblas.h>
#include <pthread.h>

// Declared by OpenBLAS (openblas_config.h / cblas.h variants differ in where).
void openblas_set_num_threads(int num_threads);

// OpenBLAS computes on the calling thread alone, so its own threads never
// spin against the engine's worker pool (one owner of threads at a time).
// Set before the first product, whichever path makes it.
static pthread_once_t single_threaded_once = PTHREAD_ONCE_INIT;
static void use_calling_thread_only(void) { openblas_set_num_threads(1); }

void slb_sgemm_a_bt(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    pthread_once(&single_threaded_once, use_calling_thread_only);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

void slb_sgemm_a_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    pthread_once(&single_threaded_once, use_calling_thread_only);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

// Declared by OpenBLAS (openblas_config.h).
char *openblas_get_config(void);

const char *slb_blas_description(void) { return openblas_get_config(); }
