import { tf } from '../util/tf.js';
import type { Dataset } from '../data/index.js';
import { fromHeld, heldShape, toHeld, softmaxCrossEntropy, type Masks, type Model, type ParamSpec, type Weights } from '../models/index.js';
import { makeRng, type Rng } from '../util/index.js';
import { standardCallbacks } from './callbacks.js';
import { augmentShape, BatchSource, readWeights, runLoop, type TrainCallbacks, type Trainee, type TrainResult } from './loop.js';
import { makeOptimizer, type MaskedOptimizer } from './optimizer.js';
import type { TrainingSchedule } from './schedule.js';

/**
 * Learned supermasks (Zhou et al. 2019 §5). The weights never train: every prunable weight
 * has a score s, the network runs with w ⊙ m where m ~ Bernoulli(sigmoid(s)) is drawn afresh
 * every step, and s is trained with a straight-through estimator: ∂m/∂s := sigmoid'(s).
 * Accuracies are those of one sampled mask per evaluation (a fixed seed per evaluation step),
 * so the reported network is a real binary-masked one. BatchNorm: score training runs in
 * training mode (batch statistics) and moves the running statistics as weight training does;
 * evaluation runs in inference mode on them (docs/DESIGN.md#batchnorm).
 */
export interface SupermaskArgs {
  model: Model;
  data: Dataset;
  plan: TrainingSchedule;
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
  /** the weights read back after training: equal to `frozen`, bit for bit, but for model state (BatchNorm's running statistics, which follow the sampled networks' batches) */
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

/** The supermask trainee: the weights stay frozen, the scores are the trained variables. */
class SupermaskTrainee implements Trainee {
  /** the mask sampled for the last evaluation (∧ `masks`) */
  sampled: Masks = {};
  private readonly prunable: ParamSpec[];
  private readonly frozenT: Record<string, tf.Tensor>;
  private readonly maskT: Record<string, tf.Tensor>;
  readonly scores: Record<string, tf.Variable>;
  private readonly scoreList: tf.Variable[];
  private readonly opt: MaskedOptimizer;
  private readonly batches: BatchSource;
  private readonly stepRng: Rng;
  private lossSum = 0;
  private lossCount = 0;

  constructor(private readonly args: SupermaskArgs) {
    const { model, data, plan } = args;
    this.prunable = model.params.filter((p) => args.masks[p.name]);
    this.frozenT = Object.fromEntries(model.params.map((p) => [p.name, toHeld(p, args.frozen[p.name])]));
    this.maskT = Object.fromEntries(this.prunable.map((p) => [p.name, toHeld(p, args.masks[p.name])]));
    // Scores of weights outside m_L are masked (held at 0) by the optimizer; they never matter since w = 0 there.
    this.scores = Object.fromEntries(
      this.prunable.map((p) => [p.name, tf.tidy(() => tf.variable(tf.mul(tf.fill(heldShape(p), args.scoreInit), this.maskT[p.name]), true))]),
    );
    this.scoreList = this.prunable.map((p) => this.scores[p.name]);
    this.opt = makeOptimizer({ name: 'adam', lr: args.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, { vars: this.scores, masks: this.maskT });
    this.batches = new BatchSource(data.train, plan.spec.batchSize, args.orderKey, augmentShape(plan, model));
    this.stepRng = makeRng(...args.sampleKey, 'train');
  }

  async step(s: number): Promise<void> {
    const { x, y } = this.batches.at(s);
    const u = this.prunable.map((p) => uniforms(p, this.stepRng));
    let state: Record<string, tf.Tensor> = {};
    const { value, grads } = tf.variableGrads(() => {
      const w: Record<string, tf.Tensor> = { ...this.frozenT };
      this.prunable.forEach((p, i) => (w[p.name] = tf.mul(this.frozenT[p.name], bernoulliSte(this.scores[p.name], u[i]))));
      const r = this.args.model.forwardTrain(w, x);
      state = r.state;
      for (const t of Object.values(state)) tf.keep(t);
      return softmaxCrossEntropy(r.logits, y);
    }, this.scoreList);
    const named: Record<string, tf.Tensor> = {};
    for (const p of this.prunable) named[p.name] = grads[this.scores[p.name].name];
    this.opt.step(named, this.args.lr);
    // BatchNorm's running statistics follow the sampled networks' batches, as in weight
    // training, so evaluation (inference mode) sees the statistics of the network it scores
    // (docs/DESIGN.md#batchnorm). γ, β and every other parameter stay frozen.
    for (const [name, t] of Object.entries(state)) {
      this.frozenT[name].dispose();
      this.frozenT[name] = t;
    }
    this.lossSum += (await value.data())[0];
    this.lossCount++;
    tf.dispose([x, y, value, ...u, ...Object.values(grads)]);
  }

  async takeTrainLoss(): Promise<number | null> {
    const mean = this.lossCount ? this.lossSum / this.lossCount : null;
    this.lossSum = 0;
    this.lossCount = 0;
    return mean;
  }

  /** A mask drawn from the current scores (∧ m_L) with a seed per evaluation step, and the
   *  weights frozen ⊙ that mask; the mask is kept as `sampled`. */
  async evalNetwork(iteration: number): Promise<{ weights: Record<string, tf.Tensor>; release(): void }> {
    const rng = makeRng(...this.args.sampleKey, 'eval', iteration);
    const w: Record<string, tf.Tensor> = { ...this.frozenT };
    const m = this.prunable.map((p) =>
      tf.tidy(() => tf.mul(tf.cast(tf.less(uniforms(p, rng), tf.sigmoid(this.scores[p.name])), 'float32'), this.maskT[p.name])),
    );
    this.prunable.forEach((p, i) => (w[p.name] = tf.mul(this.frozenT[p.name], m[i])));
    const release = () => tf.dispose([...m, ...this.prunable.map((p) => w[p.name])]);
    try {
      const next: Masks = {};
      for (const [i, p] of this.prunable.entries()) next[p.name] = Uint8Array.from(await fromHeld(p, m[i]));
      this.sampled = next;
    } catch (e) {
      release();
      throw e;
    }
    return { weights: w, release };
  }

  /** The frozen weights (the network whose mask is learned). */
  readWeights(): Promise<Weights> {
    return readWeights(this.args.model, this.frozenT);
  }

  readScores(): Promise<Weights> {
    return readWeights({ ...this.args.model, params: this.prunable }, this.scores);
  }

  dispose(): void {
    this.opt.dispose();
    tf.dispose([...Object.values(this.scores), ...Object.values(this.frozenT), ...Object.values(this.maskT)]);
  }
}

export async function trainSupermask(args: SupermaskArgs): Promise<SupermaskResult> {
  const trainee = new SupermaskTrainee(args);
  try {
    const std = standardCallbacks({ model: args.model, data: args.data, evalEvery: args.plan.evalEvery, evalBatch: args.evalBatch, hooks: args.callbacks });
    await runLoop(trainee, { from: 0, to: args.steps }, std.callbacks);
    return { ...std.outcome(), iterations: args.steps, scores: await trainee.readScores(), sampled: trainee.sampled, weights: await trainee.readWeights() };
  } finally {
    trainee.dispose();
  }
}
