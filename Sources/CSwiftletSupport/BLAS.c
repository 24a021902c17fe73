#include "SwiftletBLAS.h"

#include <cblas.h>

// Declared by OpenBLAS (openblas_config.h / cblas.h variants differ in where).
void openblas_set_num_threads(int num_threads);

void slb_sgemm_a_bt(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

void slb_sgemm_a_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

void slb_use_calling_thread_only(void) { openblas_set_num_threads(1); }
