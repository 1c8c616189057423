/**
 * Layer helpers for tests (src/bench/kernels.ts has its own copy) that no model uses: a row-layout dense
 * layer built on lth's column-layout ops.denseT (what the zoo's dense stacks run), and flatten.
 */
import { tf } from '../../src/util/tf.js';
import { denseT } from '../../src/models/ops.js';

/** x·W + b for x [n, in], W [in, out], b [out], computed as (Wᵀ·xᵀ + b)ᵀ by ops.denseT; gradients flow through the transposes. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.transpose(denseT(tf.transpose(x), tf.transpose(w), b));
}

/** [n, h, w, c] → [n, h·w·c] (row-major, the order a dense layer after the conv stack sees). */
export function flatten(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(x, [n, h * w * c]);
}
