import { tf } from '../util/tf.js';
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
 * Examples per evaluation chunk for `model`: as many as keep the largest activation of a chunk
 * near 64 MB (fewer, larger GEMMs and kernel dispatches per evaluation; LeNet-300-100 takes
 * 5,000 at a time, Conv-2 on 28×28 about 300), between 250 and 5,000.
 */
export function evalChunk(model: Model): number {
  // the widest value per example on the way through the model's layer graph (the input counts too)
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const widest = Math.max(size(model.inputShape), ...model.graph.nodes.map((n) => size(n.outputShape)));
  return Math.max(250, Math.min(5000, Math.floor((64 * 2 ** 20) / (4 * widest))));
}

/**
 * Loss and accuracy of the network on each of `splits`, in one pass: the weights are brought to
 * predict's layout once, every chunk of every split is enqueued, and all the sums are read in
 * one asynchronous read. Chunks of `chunk` examples (default `evalChunk(model)`) bound memory.
 * Per split: loss = mean over its n examples of the cross-entropy −log softmax(logits)[label]
 * (nats); accuracy = fraction of examples whose argmax logit is the label. Both NaN when n = 0.
 * `w` is in held layout.
 */
export async function evaluateSplits(
  model: Model,
  w: Record<string, tf.Tensor>,
  splits: readonly Split[],
  chunk = evalChunk(model),
): Promise<{ loss: number; accuracy: number }[]> {
  const stored = storedLayout(model.params, w);
  // Per-chunk sums stay on the device and are read once, asynchronously: webgpu cannot read
  // synchronously in Node, and one read per evaluation keeps a GPU busy.
  const sums: tf.Tensor[] = [];
  const owner: number[] = [];
  let flat: Float32Array;
  try {
    splits.forEach((split, k) => {
      if (split.n === 0) return;
      const dim = split.x.length / split.n;
      for (let s = 0; s < split.n; s += chunk) {
        const e = Math.min(split.n, s + chunk);
        owner.push(k);
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
    });
    if (sums.length === 0) flat = new Float32Array(0);
    else {
      const all = tf.concat(sums);
      try {
        flat = (await all.data()) as Float32Array;
      } finally {
        all.dispose();
      }
    }
  } finally {
    tf.dispose(sums);
    tf.dispose(stored.created);
  }
  const lossSum = new Float64Array(splits.length);
  const correct = new Float64Array(splits.length);
  for (let i = 0; i < owner.length; i++) {
    lossSum[owner[i]] += flat[2 * i];
    correct[owner[i]] += flat[2 * i + 1];
  }
  return splits.map((s, k) => (s.n === 0 ? { loss: NaN, accuracy: NaN } : { loss: lossSum[k] / s.n, accuracy: correct[k] / s.n }));
}

/** `evaluateSplits` on one split. */
export async function evaluate(model: Model, w: Record<string, tf.Tensor>, split: Split, chunk?: number): Promise<{ loss: number; accuracy: number }> {
  return (await evaluateSplits(model, w, [split], chunk))[0];
}

/**
 * Validation and test of a network given as tensors (held layout) at step `iteration`, in one
 * fused pass (`evaluateSplits`).
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
  const [v, t] = await evaluateSplits(model, w, [data.val, data.test], chunk);
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
