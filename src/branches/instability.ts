import type { Weights } from '../models/index.js';

/**
 * Instability analysis (Frankle, Dziugaite, Roy & Carbin 2020, "Linear Mode Connectivity and the
 * Lottery Ticket Hypothesis", §2 and eq. 1; docs/PAPERS.md#frankle-2020-instability). Two copies
 * of a network are trained from the same weights with different data orders; the network
 * (1 − α)·w_a + α·w_b is evaluated at evenly spaced α ∈ [0, 1]; the error barrier is
 * max_α error(α) − (error(0) + error(1)) / 2. A matching ticket is "stable" when the barrier is ≈ 0.
 *
 * Every entry of the weight record is interpolated, BatchNorm's running statistics included. The
 * paper re-estimates BatchNorm statistics on training batches for each α: the branch option
 * batchnorm "reestimate" does so after interpolating (src/training/state.ts reestimateState,
 * called by src/orchestration/branch-rows.ts; docs/DESIGN.md#branches).
 */

/** α of point i of `points` evenly spaced points in [0, 1]: i / (points − 1). `points` ≥ 2. */
export const alphaAt = (i: number, points: number): number => i / (points - 1);

/**
 * (1 − α)·a + α·b, per parameter, in float32 (the evaluated network). a and b have the same
 * parameters and shapes; pruned weights (0 in both) stay exactly 0.
 * @throws Error when a parameter is missing from b or its length differs
 */
export function interpolate(a: Weights, b: Weights, alpha: number): Weights {
  const out: Weights = {};
  for (const [name, x] of Object.entries(a)) {
    const y = b[name];
    if (!y || y.length !== x.length) throw new Error(`cannot interpolate ${name}: the two networks differ in shape`);
    const z = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) z[i] = (1 - alpha) * x[i] + alpha * y[i];
    out[name] = z;
  }
  return out;
}

/** Error barrier of a curve of test errors ordered by α (first α = 0, last α = 1): max − mean of the ends. */
export function errorBarrier(errors: readonly number[]): number {
  return Math.max(...errors) - (errors[0] + errors[errors.length - 1]) / 2;
}

/** The second copy's final weights are stored beside the first's, in the branch row's file, under this prefix. */
export const SECOND_COPY = 'b/';
