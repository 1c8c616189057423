import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, Split } from '../data/index.js';
import { storedLayout, toHeld, type Model, type Weights } from '../models/index.js';

/** One evaluation of the network: validation and test loss/accuracy at a step. */
export interface CurvePoint {
  iteration: number;
  /** mean mini-batch loss of the training steps since the previous point; null at the first */
  trainLoss: number | null;
  valLoss: number;
  valAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

/** Weights (stored layout) → tensors the model computes with (held layout). */
export function toTensors(model: Model, w: Weights): Record<string, tf.Tensor> {
  return Object.fromEntries(model.params.map((p) => [p.name, toHeld(p, w[p.name])]));
}

/**
 * Loss and accuracy of the network on a split, in chunks of `chunk` examples to bound memory.
 * loss = mean over the split's n examples of the cross-entropy −log softmax(logits)[label]
 * (nats); accuracy = fraction of examples whose argmax logit is the label. Both NaN when n = 0.
 * `w` is in held layout.
 */
export async function evaluate(model: Model, w: Record<string, tf.Tensor>, split: Split, chunk = 1000): Promise<{ loss: number; accuracy: number }> {
  if (split.n === 0) return { loss: NaN, accuracy: NaN };
  const dim = split.x.length / split.n;
  const stored = storedLayout(model.params, w);
  // Per-chunk sums stay on the device and are read once, asynchronously: webgpu cannot read
  // synchronously in Node, and one read per split keeps a GPU busy.
  const sums: tf.Tensor[] = [];
  let flat: Float32Array;
  try {
    for (let s = 0; s < split.n; s += chunk) {
      const e = Math.min(split.n, s + chunk);
      sums.push(
        tf.tidy(() => {
          const x = tf.tensor2d(split.x.subarray(s * dim, e * dim), [e - s, dim]);
          const y = tf.tensor1d(Int32Array.from(split.y.subarray(s, e)), 'int32');
          const logits = model.predict(stored.w, x);
          // Per-example losses, summed here and divided by the split's size below: the mean over
          // the whole split whatever the chunking. The reduction is softmaxCrossEntropy's 5th
          // argument (weights, labelSmoothing come first); lth 0.1.0 passed it 4th, as a label
          // smoothing of 0, so each chunk gave its mean and losses were ~1/1000 (docs/SCHEMA.md).
          const perExample = tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.numClasses), logits, undefined, 0, tf.Reduction.NONE);
          const acc = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
          return tf.stack([tf.sum(perExample), acc]);
        }),
      );
    }
    const all = tf.concat(sums);
    try {
      flat = (await all.data()) as Float32Array;
    } finally {
      all.dispose();
    }
  } finally {
    tf.dispose(sums);
    tf.dispose(stored.created);
  }
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < flat.length; i += 2) {
    lossSum += flat[i];
    correct += flat[i + 1];
  }
  return { loss: lossSum / split.n, accuracy: correct / split.n };
}

/**
 * Validation and test of a network given as tensors (held layout) at step `iteration`.
 * @param trainLoss what the point reports as training loss (null = none measured)
 */
export async function evaluatePoint(
  model: Model,
  w: Record<string, tf.Tensor>,
  data: Pick<Dataset, 'val' | 'test'>,
  iteration: number,
  trainLoss: number | null,
  chunk?: number,
): Promise<CurvePoint> {
  const v = await evaluate(model, w, data.val, chunk);
  const t = await evaluate(model, w, data.test, chunk);
  return { iteration, trainLoss, valLoss: v.loss, valAccuracy: v.accuracy, testLoss: t.loss, testAccuracy: t.accuracy };
}

/** An untrained network's point (iteration 0, no training loss) from stored-layout weights:
 *  what the evaluation-only branches (Zhou et al.'s supermasks) record. Leaves no tensors. */
export async function evaluateWeights(model: Model, weights: Weights, data: Pick<Dataset, 'val' | 'test'>): Promise<CurvePoint> {
  const w = toTensors(model, weights);
  try {
    return await evaluatePoint(model, w, data, 0, null);
  } finally {
    tf.dispose(Object.values(w));
  }
}
