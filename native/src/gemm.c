/*
 * Row-major SGEMM in row blocks run on `threads` POSIX threads, each block one single-threaded
 * OpenBLAS call (openblas_set_num_threads(1) at load). OpenBLAS's results depend on how a
 * product is split (its own threading, or any other partition), so the blocks are a pure
 * function of the shape (at most BLOCKS blocks of a multiple of 16 rows) and the thread count
 * only decides which thread runs which block: the bits are the same on any number of cores
 * (docs/PERFORMANCE.md, "The native backend").
 */
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>

#include "gemm.h"

typedef struct {
  int ta, tb, m, n, k, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  float beta;
  int per;        /* rows per block */
  int first, end; /* this worker's blocks [first, end) */
} job_t;

static void run_blocks(const job_t *j) {
  for (int b = j->first; b < j->end; b++) {
    const int r0 = b * j->per;
    const int rows = j->m - r0 < j->per ? j->m - r0 : j->per;
    /* op(A)'s row r is A's row r (no transpose) or A's column r (transposed) */
    const float *a = j->ta ? j->A + r0 : j->A + (int64_t)r0 * j->lda;
    cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, rows, j->n, j->k,
                1.0f, a, j->lda, j->B, j->ldb, j->beta, j->C + (int64_t)r0 * j->ldc, j->ldc);
  }
}

static void *worker(void *arg) {
  run_blocks((const job_t *)arg);
  return NULL;
}

#define MAX_THREADS 64
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
  const int blocks = (m + per - 1) / per;
  if (threads > blocks) threads = blocks;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads < 1) threads = 1;
  job_t jobs[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job_t){ta, tb, m, n, k, lda, ldb, ldc, A, B, C, beta, per, blocks * t / threads, blocks * (t + 1) / threads};
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tids[t], NULL, worker, &jobs[t]) == 0;
  run_blocks(&jobs[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(tids[t], NULL);
    else
      run_blocks(&jobs[t]);
  }
}
