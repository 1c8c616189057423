/*
 * Row-major SGEMM in row blocks run on `threads` POSIX threads, each block one single-threaded
 * OpenBLAS call (openblas_set_num_threads(1) at load). OpenBLAS's results depend on how a
 * product is split (its own threading, or any other partition), so the blocks are a pure
 * function of the shape (at most BLOCKS blocks of a multiple of 16 rows) and the thread count
 * only decides which thread runs which block: the bits are the same on any number of cores
 * (docs/PERFORMANCE.md, "The native backend").
 */
#include <cblas.h>
#include <stdint.h>

#include "gemm.h"
#include "parallel.h"

typedef struct {
  int ta, tb, m, n, k, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  float beta;
  int per; /* rows per block */
} job_t;

static void run_block(void *ctx, int b) {
  const job_t *j = ctx;
  const int r0 = b * j->per;
  const int rows = j->m - r0 < j->per ? j->m - r0 : j->per;
  /* op(A)'s row r is A's row r (no transpose) or A's column r (transposed) */
  const float *a = j->ta ? j->A + r0 : j->A + (int64_t)r0 * j->lda;
  cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, rows, j->n, j->k, 1.0f,
              a, j->lda, j->B, j->ldb, j->beta, j->C + (int64_t)r0 * j->ldc, j->ldc);
}

#define BLOCKS 8
#define ROW_ALIGN 16
/* Below this many multiply-adds a product is one block (thread start-up costs ~10 µs). */
#define MIN_BLOCKED_MACS (1 << 18)

void gemm_rows(int threads, int ta, int tb, int m, int n, int k, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc) {
  if (m <= 0 || n <= 0) return;
  int per = m;
  if ((int64_t)m * n * k >= MIN_BLOCKED_MACS) {
    per = (m + BLOCKS - 1) / BLOCKS;
    per = (per + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
  }
  job_t job = {ta, tb, m, n, k, lda, ldb, ldc, A, B, C, beta, per};
  parallel_blocks(threads, (m + per - 1) / per, run_block, &job);
}
