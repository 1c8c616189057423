#ifndef LTH_PARALLEL_H
#define LTH_PARALLEL_H
/*
 * Runs fn(ctx, b) for every block b in [0, blocks) on up to `threads` POSIX threads, each thread
 * a contiguous range of blocks. Callers make the blocks a function of the shape only, so the
 * result never depends on the thread count (docs/PERFORMANCE.md, "The native backend").
 */
void parallel_blocks(int threads, int blocks, void (*fn)(void *ctx, int block), void *ctx);

/* The number of blocks of `rows` rows for a pass over rows·cols floats: about 64 K floats per
 * block, at most max_blocks, at least 1. A function of the shape only. */
int row_blocks(long long rows, long long cols, int max_blocks);
#endif
