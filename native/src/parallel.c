/* A minimal fork-join over POSIX threads (see parallel.h). */
#include "parallel.h"

#include <pthread.h>

#define MAX_THREADS 64

typedef struct {
  void (*fn)(void *, int);
  void *ctx;
  int first, end;
} range_t;

static void *run_range(void *arg) {
  const range_t *r = (const range_t *)arg;
  for (int b = r->first; b < r->end; b++) r->fn(r->ctx, b);
  return NULL;
}

void parallel_blocks(int threads, int blocks, void (*fn)(void *ctx, int block), void *ctx) {
  if (blocks <= 0) return;
  if (threads > blocks) threads = blocks;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads < 1) threads = 1;
  range_t ranges[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int t = 0; t < threads; t++) ranges[t] = (range_t){fn, ctx, blocks * t / threads, blocks * (t + 1) / threads};
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tids[t], NULL, run_range, &ranges[t]) == 0;
  run_range(&ranges[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t])
      pthread_join(tids[t], NULL);
    else
      run_range(&ranges[t]);
  }
}

int row_blocks(long long rows, long long cols, int max_blocks) {
  long long b = rows * cols / (1 << 16);
  if (b > rows) b = rows;
  if (b > max_blocks) b = max_blocks;
  return b < 1 ? 1 : (int)b;
}
