import { tf } from '../util/tf.js';
import type { Split } from '../data/types.js';
import type { Masks, Model, Weights } from '../models/types.js';
import { isPrunable } from '../models/types.js';
import { permutation, type Rng } from '../util/rng.js';

/**
 * Saliencies at initialization (docs/PAPERS.md#when-to-prune): scores of θ0 that need the
 * network, not just the weight values — SNIP (Lee et al. 2019), GraSP (Wang et al. 2020) and
 * SynFlow (Tanaka et al. 2020). The masker keeps the highest scores, as for every criterion.
 * All tensors here are in stored layout (Model.predict), so nothing depends on how a model
 * holds its weights while training.
 */

export const AT_INIT_CRITERIA = ['snip', 'grasp', 'synflow'] as const;
export type AtInitCriterion = (typeof AT_INIT_CRITERIA)[number];
export const isAtInit = (c: string): c is AtInitCriterion => (AT_INIT_CRITERIA as readonly string[]).includes(c);

/** A sample of the data the saliency is computed on: x [n, prod(inputShape)], y [n]. */
export interface SaliencySample {
  readonly x: Float32Array;
  readonly y: Uint8Array;
  readonly n: number;
}

/** The examples `idx` of `split` (e.g. pruning.sample's draw, src/pruning/statistics.ts). */
export function sampleAt(split: Split, idx: readonly number[]): SaliencySample {
  const dim = split.x.length / split.n;
  const x = new Float32Array(idx.length * dim);
  const y = new Uint8Array(idx.length);
  idx.forEach((i, k) => {
    x.set(split.x.subarray(i * dim, (i + 1) * dim), k * dim);
    y[k] = split.y[i];
  });
  return { x, y, n: idx.length };
}

/** `n` examples of `split` drawn without replacement by `rng` (a fixed, seeded sample). */
export function saliencySample(split: Split, n: number, rng: Rng): SaliencySample {
  if (n > split.n) throw new Error(`pruning.atInit.sample is ${n} but the training split has ${split.n} examples: use at most ${split.n}`);
  const dim = split.x.length / split.n;
  const perm = permutation(split.n, rng);
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x.set(split.x.subarray(perm[i] * dim, (perm[i] + 1) * dim), i * dim);
    y[i] = split.y[perm[i]];
  }
  return { x, y, n };
}

/**
 * Softmax whose gradient is computed from its (saved) input. tfjs differentiates saved
 * *outputs* only once (exp's and softmax's own gradients read them), so a loss built from
 * tf.exp or tf.softmax has no second derivative; these two ops give GraSP's Hessian-vector
 * product an exact one.
 */
const softmaxOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const z = args[0] as tf.Tensor2D;
  (args[1] as tf.GradSaveFunc)([z]);
  return {
    value: tf.softmax(z),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const p = tf.softmax(saved[0]);
      return tf.mul(p, tf.sub(dy as tf.Tensor, tf.sum(tf.mul(dy as tf.Tensor, p), 1, true)));
    },
  };
});

/** log Σ exp(z) per row, its gradient softmaxOp(z) (differentiable again). */
const logSumExpOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const z = args[0] as tf.Tensor2D;
  (args[1] as tf.GradSaveFunc)([z]);
  return {
    value: tf.logSumExp(z, 1),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy as tf.Tensor, 1), softmaxOp(saved[0])),
  };
});

/** Mean per-example cross-entropy of the logits: mean(logΣexp(z) − z_y), differentiable twice. */
function meanCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.sub(logSumExpOp(logits), tf.sum(tf.mul(labels, logits), 1)));
}

/** θ ⊙ m as stored-layout tensors, in model.params order. */
function maskedTensors(model: Model, w: Weights, masks: Masks, f: (v: number) => number = (v) => v): tf.Tensor[] {
  return model.params.map((p) => {
    const m = masks[p.name];
    const v = w[p.name].map((x, i) => (m && !m[i] ? 0 : f(x)));
    return tf.tensor(v, p.shape as number[], 'float32');
  });
}

function named(model: Model, ts: readonly tf.Tensor[]): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  model.params.forEach((p, i) => (out[p.name] = ts[i]));
  return out;
}

/** Prunable tensors' values from stored-layout tensors in model.params order. */
function prunableValues(model: Model, ts: readonly tf.Tensor[]): Weights {
  const out: Weights = {};
  model.params.forEach((p, i) => {
    if (isPrunable(p)) out[p.name] = ts[i].dataSync() as Float32Array;
  });
  return out;
}

/**
 * Scores of every prunable weight of θ ⊙ m (shape: one Float32Array per prunable tensor, in
 * stored layout; pruned entries score 0 and are never read by the masker).
 *  - snip: |g ⊙ θ| with g = ∂L/∂θ, L the mean cross-entropy on the sample (Lee et al. 2019, Eq. 6).
 *  - grasp: θ ⊙ Hg, with H the Hessian of L and Hg = ∂(g · stopgrad(g))/∂θ. Wang et al. 2020
 *    (Eq. 8) score S = −θ ⊙ Hg and remove the *highest* S; keeping the highest θ ⊙ Hg = −S is
 *    the same mask.
 *  - synflow: |θ| ⊙ ∂R/∂|θ| with R = 1ᵀ(∏_l |W_l|)1: the network with every weight replaced by
 *    its absolute value and biases 0, applied to an all-ones input, summed (Tanaka et al. 2020,
 *    Eq. 2). Data-free: `sample` is not read.
 * Throws if snip or grasp get no sample.
 */
export function atInitScores(model: Model, criterion: AtInitCriterion, weights: Weights, masks: Masks, sample: SaliencySample | null): Weights {
  if (criterion === 'synflow') return synflowScores(model, weights, masks);
  if (!sample) throw new Error(`criterion ${criterion} needs a data sample`);
  const dim = sample.x.length / sample.n;
  const ws = maskedTensors(model, weights, masks);
  const x = tf.tensor2d(sample.x, [sample.n, dim]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(sample.y, 'int32'), model.numClasses).toFloat() as tf.Tensor2D);
  const loss = (...t: tf.Tensor[]) => meanCrossEntropy(model.predict(named(model, t), x), labels);
  try {
    const scores = tf.tidy(() => {
      const g = tf.grads(loss)(ws);
      if (criterion === 'snip') return ws.map((w, i) => tf.abs(tf.mul(g[i], w)));
      // Hg: the gradient of g · v with v = g held constant (Wang et al. 2020, §4: Hessian-gradient product).
      const v = g.map((t) => tf.keep(t.clone()));
      try {
        const hg = tf.grads((...t: tf.Tensor[]) => {
          const gi = tf.grads(loss)(t);
          return tf.addN(gi.map((gl, i) => tf.sum(tf.mul(gl, v[i])))) as tf.Scalar;
        })(ws);
        return ws.map((w, i) => tf.mul(w, hg[i]));
      } finally {
        tf.dispose(v);
      }
    });
    try {
      return prunableValues(model, scores);
    } finally {
      tf.dispose(scores);
    }
  } finally {
    tf.dispose([...ws, x, labels]);
  }
}

function synflowScores(model: Model, weights: Weights, masks: Masks): Weights {
  // Biases 0, so R is exactly the path norm 1ᵀ(∏|W_l|)1 (ReLU is the identity on it).
  const abs = Object.fromEntries(model.params.map((p) => [p.name, isPrunable(p) ? weights[p.name] : new Float32Array(weights[p.name].length)]));
  const ws = maskedTensors(model, abs, masks, Math.abs);
  const dim = model.inputShape.reduce((a, b) => a * b, 1);
  const ones = tf.ones([1, dim]);
  try {
    const scores = tf.tidy(() => {
      const g = tf.grads((...t: tf.Tensor[]) => tf.sum(model.predict(named(model, t), ones)) as tf.Scalar)(ws);
      return ws.map((w, i) => tf.mul(w, g[i]));
    });
    try {
      return prunableValues(model, scores);
    } finally {
      tf.dispose(scores);
    }
  } finally {
    tf.dispose([...ws, ones]);
  }
}

/**
 * Optimal Brain Damage saliency of the trained weights θ ⊙ m (LeCun, Denker & Solla 1990,
 * Eq. 5): s_i = ½·h_ii·w_i², the loss increase a second-order Taylor expansion predicts for
 * setting w_i to 0 at a minimum, off-diagonal terms dropped.
 *
 * h_ii is approximated by the diagonal of the **empirical Fisher**, F_ii = (1/N) Σ_n (∂ℓ_n/∂w_i)²,
 * with ℓ_n the cross-entropy of example n of the sample (per-example gradients, one backward
 * pass per example). At a minimum of the negative log-likelihood the Fisher equals the expected
 * Hessian and, like OBD's own Levenberg–Marquardt diagonal, it is never negative (Martens 2020,
 * "New insights and perspectives on the natural gradient method", JMLR, §9; used for pruning by
 * Theis et al. 2018, "Faster gaze prediction with dense networks and Fisher pruning"). The exact
 * diagonal LeCun et al. back-propagate needs second derivatives per layer, which tfjs's
 * autodiff cannot give without one Hessian-vector product per weight. docs/PAPERS.md#obd.
 *
 * Shapes: one Float32Array per prunable tensor in stored layout, like atInitScores; pruned
 * entries score 0. Units: nats (½·F·w² is a predicted loss increase). Throws on an empty sample.
 */
export function obdScores(model: Model, weights: Weights, masks: Masks, sample: SaliencySample): Weights {
  if (sample.n < 1) throw new Error('obd needs a data sample: set pruning.sample.size ≥ 1');
  const dim = sample.x.length / sample.n;
  const ws = maskedTensors(model, weights, masks);
  const fisher = ws.map((w) => tf.zerosLike(w));
  try {
    for (let n = 0; n < sample.n; n++) {
      const next = tf.tidy(() => {
        const x = tf.tensor2d(sample.x.subarray(n * dim, (n + 1) * dim), [1, dim]);
        const label = tf.oneHot(tf.tensor1d([sample.y[n]], 'int32'), model.numClasses).toFloat() as tf.Tensor2D;
        const g = tf.grads((...t: tf.Tensor[]) => meanCrossEntropy(model.predict(named(model, t), x), label))(ws);
        return fisher.map((f, i) => tf.add(f, tf.square(g[i])));
      });
      tf.dispose(fisher.splice(0, fisher.length, ...next));
    }
    const scores = tf.tidy(() => ws.map((w, i) => tf.mul(tf.mul(fisher[i], 0.5 / sample.n), tf.square(w))));
    try {
      return prunableValues(model, scores);
    } finally {
      tf.dispose(scores);
    }
  } finally {
    tf.dispose([...ws, ...fisher]);
  }
}
