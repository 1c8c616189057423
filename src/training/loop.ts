import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, Split } from '../data/types.js';
import type { Masks, Model, Weights } from '../models/types.js';
import { makeRng, permutation } from '../util/rng.js';
import { Interrupted } from '../util/errors.js';
import { fromHeld, storedLayout, toHeld } from '../models/layout.js';
import { softmaxCrossEntropy } from '../models/ops.js';
import { makeOptimizer } from './optimizer.js';
import { lrAt, type TrainingPlan } from './schedule.js';

/** Which steps of the schedule a level trains, and at what learning rate. */
export type LevelSchedule =
  /** steps `from` … iterations−1 of the full schedule (rewind@k replays from k) */
  | { readonly kind: 'replay'; readonly from: number }
  /** `steps` steps at a constant learning rate (fine-tuning at the schedule's final LR) */
  | { readonly kind: 'constant'; readonly steps: number; readonly lr: number };

export interface CurvePoint {
  iteration: number;
  trainLoss: number | null;
  valLoss: number;
  valAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

export interface TrainResult {
  curve: CurvePoint[];
  /** the point of minimum validation loss (Frankle & Carbin's early-stopping criterion) */
  earlyStop: CurvePoint;
  final: CurvePoint;
  iterations: number;
  weights: Weights;
  /** weights captured at these absolute steps (before the step runs), e.g. θ_k for rewind@k */
  snapshots: Map<number, Weights>;
}

/** Hooks instead of flags: progress bars, interrupt checks and snapshots plug in here. */
export interface TrainCallbacks {
  onStep?(done: number, total: number): void;
  onEval?(p: CurvePoint): void;
  /** checked every step; return true to abandon the level (throws Interrupted) */
  shouldStop?(): boolean;
}

export interface TrainArgs {
  model: Model;
  data: Dataset;
  plan: TrainingPlan;
  schedule: LevelSchedule;
  init: Weights;
  masks: Masks;
  /** values pruned weights are frozen at (Zhou et al.'s mask-0 actions); absent = zero */
  frozen?: Weights;
  /** data order key: the same key gives the same batches at the same steps */
  orderKey: (string | number)[];
  /** absolute steps at which to snapshot the weights */
  snapshotAt?: number[];
  callbacks?: TrainCallbacks;
  evalBatch?: number;
}

/** Weights (stored layout) → tensors the model computes with (held layout). */
export function toTensors(model: Model, w: Weights): Record<string, tf.Tensor> {
  return Object.fromEntries(model.params.map((p) => [p.name, toHeld(p, w[p.name])]));
}

/** Tensors in held layout → weights in stored layout. */
export async function readWeights(model: Model, vars: Record<string, tf.Tensor>): Promise<Weights> {
  const out: Weights = {};
  for (const p of model.params) out[p.name] = await fromHeld(p, vars[p.name]);
  return out;
}

/**
 * Loss and accuracy of the network on a split, in chunks to bound memory. Per-chunk sums stay on
 * the device and are read once, asynchronously: the webgpu backend cannot read synchronously in
 * Node, and one read per split instead of two per chunk keeps a GPU busy.
 */
export async function evaluate(model: Model, w: Record<string, tf.Tensor>, split: Split, chunk = 1000): Promise<{ loss: number; accuracy: number }> {
  if (split.n === 0) return { loss: NaN, accuracy: NaN };
  const dim = split.x.length / split.n;
  const sums: tf.Tensor[] = [];
  const stored = storedLayout(model.params, w);
  let flat: Float32Array;
  try {
    for (let s = 0; s < split.n; s += chunk) {
      const e = Math.min(split.n, s + chunk);
      sums.push(
        tf.tidy(() => {
          const x = tf.tensor2d(split.x.subarray(s * dim, e * dim), [e - s, dim]);
          const y = tf.tensor1d(Int32Array.from(split.y.subarray(s, e)), 'int32');
          const logits = model.predict(stored.w, x);
          const loss = tf.sum(tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.numClasses), logits, undefined, tf.Reduction.NONE));
          const acc = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
          return tf.stack([loss, acc]);
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

/** Batches are a function of (orderKey, step): a resumed or replayed level sees the same data. */
export class BatchSource {
  private perms = new Map<number, Int32Array>();
  private readonly perEpoch: number;
  private readonly dim: number;
  private readonly xBuf: Float32Array;
  private readonly yBuf: Int32Array;
  constructor(
    private readonly split: Split,
    private readonly batch: number,
    private readonly key: (string | number)[],
  ) {
    this.perEpoch = Math.max(1, Math.floor(split.n / batch));
    this.dim = split.x.length / split.n;
    this.xBuf = new Float32Array(batch * this.dim);
    this.yBuf = new Int32Array(batch);
  }
  private perm(epoch: number): Int32Array {
    let p = this.perms.get(epoch);
    if (!p) {
      p = permutation(this.split.n, makeRng(...this.key, 'epoch', epoch));
      this.perms.clear(); // only the current epoch is ever needed again
      this.perms.set(epoch, p);
    }
    return p;
  }
  at(step: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
    const epoch = Math.floor(step / this.perEpoch);
    const off = (step % this.perEpoch) * this.batch;
    const p = this.perm(epoch);
    const n = Math.min(this.batch, this.split.n);
    for (let i = 0; i < n; i++) {
      const idx = p[off + i];
      this.xBuf.set(this.split.x.subarray(idx * this.dim, (idx + 1) * this.dim), i * this.dim);
      this.yBuf[i] = this.split.y[idx];
    }
    return { x: tf.tensor2d(this.xBuf.subarray(0, n * this.dim), [n, this.dim]), y: tf.tensor1d(this.yBuf.subarray(0, n), 'int32') };
  }
}

/**
 * Trains one level. Pruned weights are zero at the start (init ⊙ mask), their gradients are
 * masked and the weights re-masked after every update. Evaluates validation and test every
 * `evalEvery` steps (and before the first step); the early-stop point is the minimum validation loss.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const { model, data, plan, schedule, masks, callbacks = {} } = args;
  const from = schedule.kind === 'replay' ? schedule.from : 0;
  const to = schedule.kind === 'replay' ? plan.iterations : schedule.steps;
  const lr = (s: number) => (schedule.kind === 'replay' ? lrAt(plan, s) : schedule.lr);

  const maskT: Record<string, tf.Tensor> = {};
  for (const p of model.params) if (masks[p.name]) maskT[p.name] = toHeld(p, masks[p.name]);
  const fixed: Record<string, tf.Tensor> = {};
  for (const p of model.params)
    if (maskT[p.name] && args.frozen?.[p.name])
      fixed[p.name] = tf.tidy(() => tf.mul(toHeld(p, args.frozen![p.name]), tf.sub(1, maskT[p.name])));
  const vars: Record<string, tf.Variable> = {};
  for (const p of model.params) {
    vars[p.name] = tf.tidy(() => {
      const t = toHeld(p, args.init[p.name]);
      const m = maskT[p.name];
      const start = m ? (fixed[p.name] ? tf.add(tf.mul(t, m), fixed[p.name]) : tf.mul(t, m)) : t;
      return tf.variable(start, true, undefined);
    });
  }
  const opt = makeOptimizer(plan.spec.optimizer, { vars, masks: maskT, fixed });
  const batches = new BatchSource(data.train, plan.spec.batchSize, args.orderKey);
  const snapshots = new Map<number, Weights>();
  const snapshotAt = new Set(args.snapshotAt ?? []);
  const curve: CurvePoint[] = [];
  const varList = model.params.map((p) => vars[p.name]);
  let lossAcc: tf.Scalar = tf.scalar(0);
  let lossCount = 0;

  const evalPoint = async (iteration: number) => {
    const v = await evaluate(model, vars, data.val, args.evalBatch);
    const t = await evaluate(model, vars, data.test, args.evalBatch);
    const trainLoss = lossCount > 0 ? (await lossAcc.data())[0] / lossCount : null;
    lossAcc.dispose();
    lossAcc = tf.scalar(0);
    lossCount = 0;
    const p: CurvePoint = { iteration, trainLoss, valLoss: v.loss, valAccuracy: v.accuracy, testLoss: t.loss, testAccuracy: t.accuracy };
    curve.push(p);
    callbacks.onEval?.(p);
  };

  try {
    for (let s = from; s < to; s++) {
      if (callbacks.shouldStop?.()) throw new Interrupted();
      if (snapshotAt.has(s)) snapshots.set(s, await readWeights(model, vars));
      if ((s - from) % plan.evalEvery === 0) await evalPoint(s);
      const { x, y } = batches.at(s);
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.forward(vars, x);
        return softmaxCrossEntropy(logits, y);
      }, varList);
      const named: Record<string, tf.Tensor> = {};
      for (const p of model.params) named[p.name] = grads[vars[p.name].name];
      opt.step(named, lr(s));
      const next = tf.add(lossAcc, value) as tf.Scalar;
      lossAcc.dispose();
      lossAcc = next;
      lossCount++;
      tf.dispose([x, y, value, ...Object.values(grads)]);
      callbacks.onStep?.(s - from + 1, to - from);
      // Yield now and then so signals (Ctrl-C) and IPC are handled during long levels.
      if ((s & 31) === 31) await new Promise<void>((r) => setImmediate(r));
    }
    if (snapshotAt.has(to)) snapshots.set(to, await readWeights(model, vars));
    await evalPoint(to);
    const weights = await readWeights(model, vars);
    const final = curve[curve.length - 1];
    // With no validation split there is nothing to early-stop on: report the end of training.
    const earlyStop = data.val.n > 0 ? curve.reduce((best, p) => (p.valLoss < best.valLoss ? p : best), curve[0]) : final;
    return { curve, earlyStop, final, iterations: to - from, weights, snapshots };
  } finally {
    lossAcc.dispose();
    opt.dispose();
    tf.dispose(Object.values(vars));
    tf.dispose(Object.values(maskT));
    tf.dispose(Object.values(fixed));
  }
}
