// The one BLAS routine Swiftlet uses, OpenBLAS's single-precision GEMM, behind
// a narrow C function so Swift never sees cblas.h's enums.
#ifndef SWIFTLET_BLAS_H
#define SWIFTLET_BLAS_H

// C[m × n] = A[m × k] · B[n × k]ᵀ, all row-major with leading dimensions
// lda, ldb, ldc. Runs on the calling thread only: the first call sets
// OpenBLAS to one thread, process-wide, so its threads never spin against
// the engine's worker pool.
void slb_sgemm_a_bt(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc);

// C[m × n] = A[m × k] · B[k × n], all row-major with leading dimensions lda, ldb, ldc.
void slb_sgemm_a_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc);

// The BLAS library's own description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
const char *slb_blas_description(void);

#endif
