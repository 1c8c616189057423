import * as tf from '@tensorflow/tfjs-core';

/**
 * The layer primitives every model is built from. They are kept in one place because
 * their gradients are what training speed depends on (see docs/PERFORMANCE.md): a
 * backend-specific fast path belongs here, behind the same signature.
 */

/** x·W + b for x [n, in], W [in, out], b [out]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.add(tf.matMul(x, w), b);
}

/** 3×3 'same' convolution, NHWC input, filter [h, w, in, out], stride 1. */
export function conv2d(x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  return tf.add(tf.conv2d(x, f, 1, 'same'), b);
}

/** 2×2 max pooling, stride 2. */
export function maxPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}
