import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/types.js';
import { fromHeld, heldShape, toHeld } from '../models/layout.js';
import { softmaxCrossEntropy } from '../models/ops.js';
import type { Masks, Model, ParamSpec, Weights } from '../models/types.js';
import { Interrupted } from '../util/errors.js';
import { makeRng, type Rng } from '../util/rng.js';
import { BatchSource, evaluate, readWeights, type CurvePoint, type TrainCallbacks, type TrainResult } from './loop.js';
import { makeOptimizer } from './optimizer.js';
import type { TrainingPlan } from './schedule.js';

/**
 * Learned supermasks (Zhou et al. 2019 §5). The weights never train: every prunable weight
 * has a score s, the network runs with w ⊙ m where m ~ Bernoulli(sigmoid(s)) is drawn afresh
 * every step, and s is trained with a straight-through estimator: ∂m/∂s := sigmoid'(s).
 * Accuracies are those of one sampled mask per evaluation (a fixed seed per evaluation step),
 * so the reported network is a real binary-masked one.
 */
export interface SupermaskArgs {
  model: Model;
  data: Dataset;
  plan: TrainingPlan;
  /** the frozen weights, already zero where `masks` is 0; biases included */
  frozen: Weights;
  /** weights outside this mask stay out of every sampled mask */
  masks: Masks;
  steps: number;
  lr: number;
  scoreInit: number;
  orderKey: (string | number)[];
  /** seeds the Bernoulli samples */
  sampleKey: (string | number)[];
  callbacks?: TrainCallbacks;
  evalBatch?: number;
}

export interface SupermaskResult extends Pick<TrainResult, 'curve' | 'earlyStop' | 'final' | 'iterations'> {
  scores: Weights;
  /** the mask sampled for the last evaluation (∧ `masks`): what percent remaining and the mask hash describe */
  sampled: Masks;
  /** the weights read back after training: equal to `frozen`, bit for bit */
  weights: Weights;
}

/** m = [u < sigmoid(s)] forward; ∂m/∂s = sigmoid(s)(1 − sigmoid(s)) backward (straight-through). */
const bernoulliSte = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [s, u, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  const p = tf.sigmoid(s);
  save([p]);
  return {
    value: tf.cast(tf.less(u, p), 'float32'),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [tf.mul(dy as tf.Tensor, tf.mul(saved[0], tf.sub(1, saved[0]))), tf.zerosLike(u)],
  };
}) as (s: tf.Tensor, u: tf.Tensor) => tf.Tensor;

/** One uniform draw per weight, in stored order (so a seed means the same draws whatever the held layout). */
function uniforms(p: ParamSpec, rng: Rng): tf.Tensor {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform();
  return toHeld(p, a);
}

export async function trainSupermask(args: SupermaskArgs): Promise<SupermaskResult> {
  const { model, data, plan, callbacks = {} } = args;
  const prunable = model.params.filter((p) => args.masks[p.name]);
  const frozenT: Record<string, tf.Tensor> = Object.fromEntries(model.params.map((p) => [p.name, toHeld(p, args.frozen[p.name])]));
  const maskT: Record<string, tf.Tensor> = Object.fromEntries(prunable.map((p) => [p.name, toHeld(p, args.masks[p.name])]));
  // Scores of weights outside m_L are masked (held at 0) by the optimizer; they never matter since w = 0 there.
  const scores: Record<string, tf.Variable> = Object.fromEntries(
    prunable.map((p) => [p.name, tf.tidy(() => tf.variable(tf.mul(tf.fill(heldShape(p), args.scoreInit), maskT[p.name]), true))]),
  );
  const opt = makeOptimizer({ name: 'adam', lr: args.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, { vars: scores, masks: maskT });
  const batches = new BatchSource(data.train, plan.spec.batchSize, args.orderKey);
  const stepRng = makeRng(...args.sampleKey, 'train');
  const scoreList = prunable.map((p) => scores[p.name]);
  const curve: CurvePoint[] = [];
  let sampled: Masks = {};
  let lossSum = 0;
  let lossCount = 0;

  /** A mask drawn from the current scores (∧ m_L), and the weights frozen ⊙ that mask. */
  const sample = (rng: Rng): { w: Record<string, tf.Tensor>; m: tf.Tensor[] } => {
    const w: Record<string, tf.Tensor> = { ...frozenT };
    const m = prunable.map((p) => tf.tidy(() => tf.mul(tf.cast(tf.less(uniforms(p, rng), tf.sigmoid(scores[p.name])), 'float32'), maskT[p.name])));
    prunable.forEach((p, i) => (w[p.name] = tf.mul(frozenT[p.name], m[i])));
    return { w, m };
  };

  const evalPoint = async (iteration: number) => {
    const { w, m } = sample(makeRng(...args.sampleKey, 'eval', iteration));
    try {
      const v = await evaluate(model, w, data.val, args.evalBatch);
      const t = await evaluate(model, w, data.test, args.evalBatch);
      const next: Masks = {};
      for (const [i, p] of prunable.entries()) next[p.name] = Uint8Array.from(await fromHeld(p, m[i]));
      sampled = next;
      const p: CurvePoint = { iteration, trainLoss: lossCount ? lossSum / lossCount : null, valLoss: v.loss, valAccuracy: v.accuracy, testLoss: t.loss, testAccuracy: t.accuracy };
      lossSum = 0;
      lossCount = 0;
      curve.push(p);
      callbacks.onEval?.(p);
    } finally {
      tf.dispose([...m, ...prunable.map((p) => w[p.name])]);
    }
  };

  try {
    for (let s = 0; s < args.steps; s++) {
      if (callbacks.shouldStop?.()) throw new Interrupted();
      if (s % plan.evalEvery === 0) await evalPoint(s);
      const { x, y } = batches.at(s);
      const u = prunable.map((p) => uniforms(p, stepRng));
      const { value, grads } = tf.variableGrads(() => {
        const w: Record<string, tf.Tensor> = { ...frozenT };
        prunable.forEach((p, i) => (w[p.name] = tf.mul(frozenT[p.name], bernoulliSte(scores[p.name], u[i]))));
        return softmaxCrossEntropy(model.forward(w, x), y);
      }, scoreList);
      const named: Record<string, tf.Tensor> = {};
      for (const p of prunable) named[p.name] = grads[scores[p.name].name];
      opt.step(named, args.lr);
      lossSum += (await value.data())[0];
      lossCount++;
      tf.dispose([x, y, value, ...u, ...Object.values(grads)]);
      callbacks.onStep?.(s + 1, args.steps);
      if ((s & 31) === 31) await new Promise<void>((r) => setImmediate(r));
    }
    await evalPoint(args.steps);
    const final = curve[curve.length - 1];
    const earlyStop = data.val.n > 0 ? curve.reduce((best, p) => (p.valLoss < best.valLoss ? p : best), curve[0]) : final;
    return { curve, earlyStop, final, iterations: args.steps, scores: await readWeights({ ...model, params: prunable }, scores), sampled, weights: await readWeights(model, frozenT) };
  } finally {
    opt.dispose();
    tf.dispose([...Object.values(scores), ...Object.values(frozenT), ...Object.values(maskT)]);
  }
}
