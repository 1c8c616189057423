import { tf } from '../util/tf.js';
import { cropFlip, type Dataset, type Split } from '../data/index.js';
import { setSparseMask, withAllWeightGradients } from '../kernels/index.js';
import {
  type Masks,
  type Model,
  type ParamSpec,
  type Weights,
  fromHeld,
  heldIndices,
  heldShape,
  isTrained,
  paramGroup,
  toHeld,
  transposeValues,
  softmaxCrossEntropy,
} from '../models/index.js';
import { makeRng, permutation } from '../util/index.js';
import { standardCallbacks } from './callbacks.js';
import type { CurvePoint } from './evaluate.js';
import { makeOptimizer, type MaskedOptimizer } from './optimizer.js';
import { lrAt, type TrainingSchedule } from './schedule.js';

export { evaluate, toTensors, type CurvePoint } from './evaluate.js';

/**
 * The training loop, built like OpenLTH's training/standard_callbacks.py: one loop that runs a
 * step function from step `from` to `to`, and a list of callbacks, each running at the steps it
 * names. Evaluation, early-stop tracking, snapshots θ_k, progress and interruption are callbacks
 * (./callbacks.ts); weight training (train() below) and learned supermasks (./supermask.ts) are
 * step functions. Callbacks that change the masks every N steps (gradual pruning, RigL) plug in
 * through `TrainArgs.stepCallbacks` and a Trainee's `control`.
 */

/** Which steps of the schedule a level trains, and at what learning rate. */
export type LevelSchedule =
  /** steps `from` … iterations−1 of the full schedule (rewind@k replays from k) */
  | { readonly kind: 'replay'; readonly from: number }
  /** `steps` steps at a constant learning rate (fine-tuning at the schedule's final LR) */
  | { readonly kind: 'constant'; readonly steps: number; readonly lr: number };

export interface TrainResult {
  curve: CurvePoint[];
  /** the point of minimum validation loss (Frankle & Carbin's early-stopping criterion) */
  earlyStop: CurvePoint;
  final: CurvePoint;
  /** updates run: the schedule's length, or fewer when a callback requested a stop */
  iterations: number;
  weights: Weights;
  /** weights captured at these absolute steps (before the step runs), e.g. θ_k for rewind@k */
  snapshots: Map<number, Weights>;
  /** the weights at the early-stop point (TrainArgs.keepEarlyStop), else null */
  earlyStopWeights: Weights | null;
}

/** Hooks for the caller: progress bars and interrupt checks (made into callbacks by the loop). */
export interface TrainCallbacks {
  onStep?(done: number, total: number): void;
  onEval?(p: CurvePoint): void;
  /** checked before every step; return true to abandon the level (throws Interrupted) */
  shouldStop?(): boolean;
}

/**
 * What callbacks may do to a network being trained, beyond reading it: the hook for mask
 * updates during training (gradual pruning, Zhu & Gupta 2017; RigL, Evci et al. 2020).
 * Everything is in stored layout (the layout of the weight files), keyed by parameter name.
 * Changes take effect at the next step; the optimizer keeps its step count t (Adam's bias
 * correction is not restarted by a mask change, as in RigL).
 */
export interface TrainControl {
  /** the current weights; with `names`, of those tensors only */
  readWeights(names?: readonly string[]): Promise<Weights>;
  /** the current masks of the prunable tensors (1 = kept) */
  readMasks(): Promise<Masks>;
  /** Overwrites the named tensors; the masks still apply (pruned entries keep their value:
   *  zero, or the frozen mask-0 value). Throws on an unknown name or a wrong length. */
  writeWeights(w: Partial<Weights>): void;
  /** Replaces the masks of the named prunable tensors. Newly pruned weights take their pruned
   *  value at once and their optimizer state is zeroed (so they stay pruned); newly kept ones
   *  keep their current value (zero after pruning, so regrown connections start at 0 as in
   *  RigL) and their state (call resetOptimizerState to clear it). Throws for a tensor that
   *  has no mask (a bias) or a wrong length. */
  setMasks(next: Partial<Masks>): void;
  /** Zeroes the optimizer state (Adam's moments, SGD's momentum) where `entries` is 1, so a
   *  regrown weight does not inherit a stale momentum. */
  resetOptimizerState(entries: Partial<Masks>): void;
  /**
   * A mask update that moves entries (SET, Mocanu et al. 2018; RigL, Evci et al. 2020): per named
   * prunable tensor, `dropped` (flat stored-layout indices of kept entries) become pruned, taking
   * their pruned value (w·0, or the frozen mask-0 value), and `grown` (of pruned entries) become
   * kept at value 0; the optimizer state of both is zeroed. The same masks, weights and state as
   * setMasks(next) + resetOptimizerState(grown) + writeWeights(current weights, grown at 0), at a
   * cost of a copy of the tensor and its state rather than tensor passes and layout changes.
   * Throws for a tensor without a mask, an index out of range, a dropped entry that is not kept
   * or a grown one that is.
   */
  moveMasks(moves: Readonly<Record<string, MaskMove>>): void;
  /** ∂L/∂w of the mini-batch of step `step` at the current weights, for every entry, pruned
   *  ones included (the gradient with respect to the value the weight holds: RigL's grow
   *  score, Evci et al. 2020 §3). Stored layout; does not change the weights or the optimizer.
   *  With `names`, of those tensors only (all are computed; only these are read back). */
  gradients(step: number, names?: readonly string[]): Promise<Weights>;
}

/** The entries one mask update moves in one tensor (TrainControl.moveMasks): flat stored-layout indices. */
export interface MaskMove {
  /** [k] kept entries that become pruned */
  readonly dropped: Int32Array;
  /** [k'] pruned entries that become kept, at value 0 with fresh optimizer state */
  readonly grown: Int32Array;
}

/** What the loop trains: a step function and the views that callbacks read. */
export interface Trainee {
  /** One optimisation step at absolute step `s` of the schedule (s counts updates done). */
  step(s: number): void | Promise<void>;
  /** Mean mini-batch loss of the steps since the last call, then starts over; null if none ran. */
  takeTrainLoss(): Promise<number | null>;
  /** The network to evaluate at step `s`, in held layout, and a release for what was created. */
  evalNetwork(s: number): Promise<{ weights: Record<string, tf.Tensor>; release(): void }>;
  /** The trained tensors, in stored layout (snapshots θ_k). */
  readWeights(): Promise<Weights>;
  /** Mask and weight updates during training; absent where the trainee has no such notion. */
  readonly control?: TrainControl;
}

/** Where a run is: what a callback's `at` is asked about. */
export interface LoopRange {
  /** first step trained (0, or k when rewinding to θ_k) */
  readonly from: number;
  /** step after the last: callbacks at `to` run once training is over */
  readonly to: number;
}

/** The range, and what a callback may ask of the loop. */
export interface LoopControl extends LoopRange {
  /** End training after the callbacks of this step: no further update runs (e.g. an
   *  early-bird ticket was found, You et al. 2020). The run ends normally, not by a throw. */
  requestStop(): void;
}

/**
 * A callback: runs at every step s (from ≤ s ≤ to) where `at(s)` is true, before the update of
 * step s — so at step s it sees the network after s updates; at s = `to` it sees the trained
 * network. Callbacks at one step run in list order. `loop.requestStop()` ends training after
 * this step's callbacks; throwing aborts the run (Interrupted = the level is dropped).
 */
export interface StepCallback {
  at(step: number, range: LoopRange): boolean;
  run(step: number, trainee: Trainee, loop: LoopControl): void | Promise<void>;
}

/**
 * The loop: callbacks at s, step s, … for s = from … to−1, then callbacks at `to`.
 * @returns the step it ended at: `to`, or the step at which a callback requested a stop
 */
export async function runLoop(trainee: Trainee, range: LoopRange, callbacks: readonly StepCallback[]): Promise<number> {
  let lastYield = performance.now();
  let stop = false;
  const loop: LoopControl = { from: range.from, to: range.to, requestStop: () => (stop = true) };
  for (let s = range.from; ; s++) {
    for (const cb of callbacks) if (cb.at(s, range)) await cb.run(s, trainee, loop);
    if (stop || s >= range.to) return s;
    // Yield every YIELD_MS so signals (Ctrl-C, SIGTERM from Slurm) and IPC are handled within
    // about one step: by time, not by step count, since a conv step takes 0.3–1.5 s.
    if (performance.now() - lastYield >= YIELD_MS) {
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
    await trainee.step(s);
  }
}

/** Longest stretch of training without handing the event loop a turn (ms). */
const YIELD_MS = 20;

export interface TrainArgs {
  model: Model;
  data: Dataset;
  plan: TrainingSchedule;
  schedule: LevelSchedule;
  init: Weights;
  masks: Masks;
  /** values pruned weights are frozen at (Zhou et al.'s mask-0 actions); absent = zero */
  frozen?: Weights;
  /** data order key: the same key gives the same batches at the same steps */
  orderKey: (string | number)[];
  /** absolute steps at which to snapshot the weights */
  snapshotAt?: number[];
  /** keep the weights at the early-stop point (TrainResult.earlyStopWeights) */
  keepEarlyStop?: boolean;
  callbacks?: TrainCallbacks;
  /** more callbacks, run after the standard ones at each step (e.g. mask updates every N steps) */
  stepCallbacks?: StepCallback[];
  evalBatch?: number;
}

/** Tensors in held layout → weights in stored layout (of the `names` params only, when given). */
export async function readWeights(model: Model, vars: Record<string, tf.Tensor>, names?: readonly string[]): Promise<Weights> {
  const out: Weights = {};
  for (const p of model.params) if (!names || names.includes(p.name)) out[p.name] = await fromHeld(p, vars[p.name]);
  return out;
}

/** Batches are a function of (orderKey, step): a resumed or replayed level sees the same data. */
export class BatchSource {
  private perms = new Map<number, Int32Array>();
  private readonly perEpoch: number;
  private readonly dim: number;
  private readonly xBuf: Float32Array;
  private readonly yBuf: Int32Array;
  private readonly scratch: Float32Array | null;
  /**
   * @param augment the examples' [h, w, c] shape when batches are augmented (training.augment
   *   'crop-flip', src/data/augment.ts): the draws come from (key, step), so every process that
   *   trains step s of this key — resumed, a --workers child, a Slurm task — sees the same batch
   */
  constructor(
    private readonly split: Split,
    private readonly batch: number,
    private readonly key: (string | number)[],
    private readonly augment: readonly number[] | null = null,
  ) {
    this.perEpoch = Math.max(1, Math.floor(split.n / batch));
    this.dim = split.x.length / split.n;
    this.xBuf = new Float32Array(batch * this.dim);
    this.yBuf = new Int32Array(batch);
    this.scratch = augment ? new Float32Array(this.dim) : null;
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
    if (this.augment) cropFlip(this.xBuf, n, this.augment, makeRng(...this.key, 'augment', step), this.scratch!);
    return { x: tf.tensor2d(this.xBuf.subarray(0, n * this.dim), [n, this.dim]), y: tf.tensor1d(this.yBuf.subarray(0, n), 'int32') };
  }
}

/** The examples' shape when `plan` augments its batches (training.augment), else null. */
export const augmentShape = (plan: TrainingSchedule, model: Model): readonly number[] | null =>
  (plan.spec.augment ?? 'none') === 'none' ? null : model.inputShape;

/** The weight-training trainee: masked weights (held layout), a masked optimizer, a batch source. */
class WeightTrainee implements Trainee {
  readonly control: TrainControl;
  private readonly maskT: Record<string, tf.Tensor> = {};
  private readonly frozenT: Record<string, tf.Tensor> = {};
  private readonly fixed: Record<string, tf.Tensor> = {};
  private readonly vars: Record<string, tf.Variable> = {};
  private readonly varList: tf.Variable[];
  private readonly trained: ParamSpec[];
  private readonly opt: MaskedOptimizer;
  private readonly batches: BatchSource;
  private lossAcc: tf.Scalar = tf.scalar(0);
  private lossCount = 0;

  constructor(
    private readonly model: Model,
    data: Dataset,
    private readonly plan: TrainingSchedule,
    private readonly schedule: LevelSchedule,
    args: Pick<TrainArgs, 'init' | 'masks' | 'frozen' | 'orderKey'>,
  ) {
    for (const p of model.params) if (args.masks[p.name]) this.maskT[p.name] = toHeld(p, args.masks[p.name]);
    for (const p of model.params)
      if (this.maskT[p.name] && args.frozen?.[p.name]) {
        this.frozenT[p.name] = toHeld(p, args.frozen[p.name]);
        this.fixed[p.name] = tf.tidy(() => tf.mul(this.frozenT[p.name], tf.sub(1, this.maskT[p.name])));
      }
    for (const p of model.params) {
      this.vars[p.name] = tf.tidy(() => {
        const t = toHeld(p, args.init[p.name]);
        const m = this.maskT[p.name];
        const f = this.fixed[p.name];
        const start = m ? (f ? tf.add(tf.mul(t, m), f) : tf.mul(t, m)) : t;
        return tf.variable(start, true, undefined);
      });
    }
    for (const p of model.params) this.sparsify(p.name);
    // Model state (BatchNorm's running statistics) is not stepped: it is assigned from the
    // training forward pass after each step (docs/DESIGN.md#model-state). Nor are the groups
    // of training.freeze: they get no gradient and keep their starting values.
    const frozenGroups = new Set(plan.spec.freeze ?? []);
    const group = paramGroup(model.graph);
    this.trained = model.params.filter((p) => isTrained(p) && !frozenGroups.has(group.get(p.name)!));
    this.varList = this.trained.map((p) => this.vars[p.name]);
    // The optimizer reads masks and fixed values from these records at every step, so
    // setMasks() replaces entries in place.
    const stepped = Object.fromEntries(this.trained.map((p) => [p.name, this.vars[p.name]]));
    this.opt = makeOptimizer(plan.spec.optimizer, { vars: stepped, masks: this.maskT, fixed: this.fixed });
    this.batches = new BatchSource(data.train, plan.spec.batchSize, args.orderKey, augmentShape(plan, model));
    this.control = this.makeControl();
  }

  /** (Re)builds the sparse layout of a pruned dense kernel from its mask (src/kernels/sparse.ts):
   *  only where pruned entries hold zero (no frozen mask-0 values). */
  private sparsify(name: string): void {
    const m = this.maskT[name];
    setSparseMask(this.vars[name], m && !this.fixed[name] && this.param(name).layout === 'transposed' ? m : null);
  }

  private lr(s: number): number {
    return this.schedule.kind === 'replay' ? lrAt(this.plan, s) : this.schedule.lr;
  }

  /** The loss of batch `s` and its gradients; the model state the batch gives (kept, for the caller to assign or dispose). */
  private lossAndGrads(s: number) {
    const { x, y } = this.batches.at(s);
    let state: Record<string, tf.Tensor> = {};
    const { value, grads } = tf.variableGrads(() => {
      const r = this.model.forwardTrain(this.vars, x);
      state = r.state;
      for (const t of Object.values(state)) tf.keep(t);
      return softmaxCrossEntropy(r.logits, y);
    }, this.varList);
    return { x, y, value, grads, state };
  }

  step(s: number): void {
    const { x, y, value, grads, state } = this.lossAndGrads(s);
    const named: Record<string, tf.Tensor> = {};
    for (const p of this.trained) named[p.name] = grads[this.vars[p.name].name];
    this.opt.step(named, this.lr(s));
    for (const [name, t] of Object.entries(state)) this.vars[name].assign(t);
    tf.dispose(Object.values(state));
    // Summed on the device: no read-back (and no sync) per step.
    const next = tf.add(this.lossAcc, value) as tf.Scalar;
    this.lossAcc.dispose();
    this.lossAcc = next;
    this.lossCount++;
    tf.dispose([x, y, value, ...Object.values(grads)]);
  }

  async takeTrainLoss(): Promise<number | null> {
    // read asynchronously: webgpu cannot read synchronously in Node
    const mean = this.lossCount > 0 ? (await this.lossAcc.data())[0] / this.lossCount : null;
    this.lossAcc.dispose();
    this.lossAcc = tf.scalar(0);
    this.lossCount = 0;
    return mean;
  }

  async evalNetwork(): Promise<{ weights: Record<string, tf.Tensor>; release(): void }> {
    return { weights: this.vars, release: () => {} };
  }

  readWeights(names?: readonly string[]): Promise<Weights> {
    if (names) for (const n of names) this.param(n);
    return readWeights(this.model, this.vars, names);
  }

  private param(name: string) {
    const p = this.model.params.find((q) => q.name === name);
    if (!p) throw new Error(`no parameter '${name}' in model ${this.model.name}: use one of ${this.model.params.map((q) => q.name).join(', ')}`);
    return p;
  }

  private checkLength(name: string, v: { length: number }) {
    const n = this.param(name).shape.reduce((a, b) => a * b, 1);
    if (v.length !== n) throw new Error(`'${name}' has ${n} entries, got ${v.length}: give a whole tensor in stored layout`);
  }

  /** w ⊙ m (+ the frozen values at pruned entries), where the tensor has a mask. */
  private masked(name: string, w: tf.Tensor): tf.Tensor {
    const m = this.maskT[name];
    if (!m) return w;
    const f = this.fixed[name];
    return f ? tf.add(tf.mul(w, m), f) : tf.mul(w, m);
  }

  /** TrainControl.moveMasks for one tensor: in held layout, at the moved entries only. */
  private moveMask(name: string, mv: MaskMove): void {
    const p = this.param(name);
    if (!this.maskT[name]) throw new Error(`'${name}' has no mask (it is never pruned): set masks of prunable tensors only`);
    const n = p.shape.reduce((a, b) => a * b, 1);
    for (const list of [mv.dropped, mv.grown])
      for (let j = 0; j < list.length; j++) if (!(list[j] >= 0 && list[j] < n)) throw new Error(`'${name}' has ${n} entries: cannot move entry ${list[j]}`);
    const dropped = heldIndices(p, mv.dropped);
    const grown = heldIndices(p, mv.grown);
    const mask = (this.maskT[name].dataSync() as Float32Array).slice();
    for (const i of dropped) if (mask[i] !== 1) throw new Error(`'${name}': entry ${i} (held layout) is dropped but not kept`);
    for (const i of grown) if (mask[i] !== 0) throw new Error(`'${name}': entry ${i} (held layout) is grown but not pruned`);
    for (const i of dropped) mask[i] = 0;
    for (const i of grown) mask[i] = 1;
    if (this.frozenT[name]) {
      // Pruned entries hold frozen values: the general path (tensor passes), the same result.
      const [r, c] = heldShape(p);
      const stored = (v: Float32Array) => (p.layout === 'transposed' ? transposeValues(v, r, c) : v.slice());
      const w = stored(this.vars[name].dataSync() as Float32Array);
      const grownMask = new Uint8Array(n);
      for (const i of mv.grown) {
        grownMask[i] = 1;
        w[i] = 0;
      }
      this.control.setMasks({ [name]: Uint8Array.from(stored(mask)) });
      this.control.resetOptimizerState({ [name]: grownMask });
      this.control.writeWeights({ [name]: w });
      return;
    }
    const held = heldShape(p);
    const old = this.maskT[name];
    this.maskT[name] = tf.tensor(mask, held, 'float32');
    old.dispose();
    // What setMasks and writeWeights leave: w·0 at dropped entries (a zero of w's sign), 0 at grown ones.
    const w = (this.vars[name].dataSync() as Float32Array).slice();
    for (const i of dropped) w[i] *= 0;
    for (const i of grown) w[i] = 0;
    tf.tidy(() => this.vars[name].assign(tf.tensor(w, held, 'float32')));
    const both = new Int32Array(dropped.length + grown.length);
    both.set(dropped);
    both.set(grown, dropped.length);
    this.opt.resetStateAt(name, both);
    this.sparsify(name);
  }

  private makeControl(): TrainControl {
    return {
      readWeights: (names) => this.readWeights(names),
      readMasks: async () => {
        const out: Masks = {};
        for (const p of this.model.params) if (this.maskT[p.name]) out[p.name] = Uint8Array.from(await fromHeld(p, this.maskT[p.name]));
        return out;
      },
      writeWeights: (w) => {
        for (const [name, v] of Object.entries(w)) {
          if (!v) continue;
          this.checkLength(name, v);
          const p = this.param(name);
          tf.tidy(() => this.vars[name].assign(this.masked(name, toHeld(p, v))));
        }
      },
      setMasks: (next) => {
        for (const [name, v] of Object.entries(next)) {
          if (!v) continue;
          this.checkLength(name, v);
          if (!this.maskT[name]) throw new Error(`'${name}' has no mask (it is never pruned): set masks of prunable tensors only`);
          const p = this.param(name);
          const m = toHeld(p, v);
          // Masked Adam never re-masks (see optimizer.ts): a pruned weight stays put only while
          // its moments are 0, so the state of newly pruned entries is zeroed here.
          const dropped = tf.tidy(() => tf.mul(this.maskT[name], tf.sub(1, m)));
          try {
            this.opt.resetState(name, dropped);
          } finally {
            dropped.dispose();
          }
          this.maskT[name].dispose();
          this.maskT[name] = m;
          if (this.frozenT[name]) {
            this.fixed[name].dispose();
            this.fixed[name] = tf.tidy(() => tf.mul(this.frozenT[name], tf.sub(1, this.maskT[name])));
          }
          tf.tidy(() => this.vars[name].assign(this.masked(name, this.vars[name])));
          this.sparsify(name);
        }
      },
      gradients: async (step, names) => {
        if (names) for (const n of names) this.param(n);
        // a gradient only: the model state does not move
        const { x, y, value, grads, state } = withAllWeightGradients(() => this.lossAndGrads(step));
        try {
          const out: Weights = {};
          for (const p of this.trained) if (!names || names.includes(p.name)) out[p.name] = await fromHeld(p, grads[this.vars[p.name].name]);
          return out;
        } finally {
          tf.dispose([x, y, value, ...Object.values(grads), ...Object.values(state)]);
        }
      },
      moveMasks: (moves) => {
        for (const [name, mv] of Object.entries(moves)) this.moveMask(name, mv);
      },
      resetOptimizerState: (entries) => {
        for (const [name, v] of Object.entries(entries)) {
          if (!v) continue;
          this.checkLength(name, v);
          const where = toHeld(this.param(name), v);
          try {
            this.opt.resetState(name, where);
          } finally {
            where.dispose();
          }
        }
      },
    };
  }

  dispose(): void {
    this.lossAcc.dispose();
    this.opt.dispose();
    tf.dispose([...Object.values(this.vars), ...Object.values(this.maskT), ...Object.values(this.fixed), ...Object.values(this.frozenT)]);
  }
}

/**
 * Trains one level. Pruned weights are zero at the start (init ⊙ mask), their gradients are
 * masked and the weights re-masked after every update. Evaluates validation and test every
 * `evalEvery` steps (and before the first step); the early-stop point is the minimum validation loss.
 */
export async function train(args: TrainArgs): Promise<TrainResult> {
  const { model, data, plan, schedule } = args;
  const range: LoopRange = schedule.kind === 'replay' ? { from: schedule.from, to: plan.iterations } : { from: 0, to: schedule.steps };
  const trainee = new WeightTrainee(model, data, plan, schedule, args);
  try {
    const std = standardCallbacks({
      model,
      data,
      evalEvery: plan.evalEvery,
      evalBatch: args.evalBatch,
      snapshotAt: args.snapshotAt,
      keepEarlyStop: args.keepEarlyStop,
      hooks: args.callbacks,
    });
    const end = await runLoop(trainee, range, [...std.callbacks, ...(args.stepCallbacks ?? [])]);
    const weights = await trainee.readWeights();
    return { ...std.outcome(), iterations: end - range.from, weights, snapshots: std.snapshots, earlyStopWeights: std.earlyStop.weights };
  } finally {
    trainee.dispose();
  }
}
