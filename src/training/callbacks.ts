import type { Dataset } from '../data/index.js';
import type { Model, Weights } from '../models/index.js';
import { Interrupted } from '../util/index.js';
import { evaluatePoint, type CurvePoint } from './evaluate.js';
import type { StepCallback, TrainCallbacks, Trainee } from './loop.js';

/**
 * The standard callbacks of the training loop (after OpenLTH's training/standard_callbacks.py):
 * each runs at the steps it names, before that step's update (see StepCallback in ./loop.ts).
 */

/** Runs `fn` at every step in `steps` (absolute steps; `to` = after the last update). */
export function atSteps(steps: Iterable<number>, fn: StepCallback['run']): StepCallback {
  const set = new Set(steps);
  return { at: (s) => set.has(s), run: fn };
}

/** Runs `fn` every `every` steps counted from the first step trained, and after the last one. */
export function everySteps(every: number, fn: StepCallback['run']): StepCallback {
  return { at: (s, r) => s === r.to || (s - r.from) % every === 0, run: fn };
}

/** Interruption: before every update, throws Interrupted when `shouldStop()` says so. */
export function interruption(shouldStop: () => boolean): StepCallback {
  return {
    at: (s, r) => s < r.to,
    run: () => {
      if (shouldStop()) throw new Interrupted();
    },
  };
}

/** Progress: after every update, reports (updates done, updates in this run). */
export function progress(onStep: (done: number, total: number) => void): StepCallback {
  return { at: (s, r) => s > r.from, run: (s, _t, r) => onStep(s - r.from, r.to - r.from) };
}

/** Snapshots θ_k: the stored-layout weights at each step k of `steps` (before update k). */
export function snapshots(steps: readonly number[], into: Map<number, Weights>): StepCallback {
  return atSteps(steps, async (s, t) => {
    into.set(s, await t.readWeights());
  });
}

/**
 * The weights at the early-stop point: after each evaluation (at the same steps, so it runs
 * right after `evaluation`), reads the weights when that evaluation is the early-stop point so far.
 */
function earlyStopWeights(every: number, early: EarlyStopTracker, into: { weights: Weights | null }): StepCallback {
  return everySteps(every, async (s, t) => {
    if (early.point().iteration === s) into.weights = await t.readWeights();
  });
}

/**
 * Evaluation: validation and test of the trainee's evaluation network, every `every` steps
 * from the first one and after the last; each point goes to `onPoint` in order.
 */
export function evaluation(o: {
  model: Model;
  data: Pick<Dataset, 'val' | 'test'>;
  every: number;
  evalBatch?: number;
  onPoint: ((p: CurvePoint) => void)[];
}): StepCallback {
  return everySteps(o.every, async (s: number, t: Trainee) => {
    const net = await t.evalNetwork(s);
    let p: CurvePoint;
    try {
      p = await evaluatePoint(o.model, net.weights, o.data, s, null, o.evalBatch);
    } finally {
      net.release();
    }
    p.trainLoss = await t.takeTrainLoss();
    for (const f of o.onPoint) f(p);
  });
}

/**
 * Early-stop tracking (Frankle & Carbin 2019, §2): the evaluation of minimum validation loss,
 * the first one on ties. Without a validation split there is nothing to stop on and the
 * point reported is the last evaluation.
 */
export class EarlyStopTracker {
  private best: CurvePoint | null = null;
  private last: CurvePoint | null = null;
  constructor(private readonly hasValidation: boolean) {}
  observe = (p: CurvePoint): void => {
    if (!this.best || p.valLoss < this.best.valLoss) this.best = p;
    this.last = p;
  };
  /** the early-stop point; throws when no evaluation ran */
  point(): CurvePoint {
    const p = this.hasValidation ? this.best : this.last;
    if (!p) throw new Error('no evaluation ran: the early-stop point needs at least one');
    return p;
  }
}

/** The callbacks every level uses, in their order at a step, and what they collect. */
export function standardCallbacks(o: {
  model: Model;
  data: Pick<Dataset, 'val' | 'test'>;
  evalEvery: number;
  evalBatch?: number;
  snapshotAt?: readonly number[];
  /** keep the weights at the early-stop point (earlyStopWeights) */
  keepEarlyStop?: boolean;
  hooks?: TrainCallbacks;
}): {
  callbacks: StepCallback[];
  snapshots: Map<number, Weights>;
  /** the weights at the early-stop point once the loop is over (keepEarlyStop), else null */
  earlyStop: { weights: Weights | null };
  /** the curve, early-stop and final points once the loop is over */
  outcome(): { curve: CurvePoint[]; earlyStop: CurvePoint; final: CurvePoint };
} {
  const curve: CurvePoint[] = [];
  const early = new EarlyStopTracker(o.data.val.n > 0);
  const snaps = new Map<number, Weights>();
  const hooks = o.hooks ?? {};
  const onPoint = [(p: CurvePoint) => curve.push(p), early.observe];
  if (hooks.onEval) onPoint.push(hooks.onEval);
  const callbacks: StepCallback[] = [];
  if (hooks.onStep) callbacks.push(progress(hooks.onStep));
  if (hooks.shouldStop) callbacks.push(interruption(hooks.shouldStop));
  if (o.snapshotAt?.length) callbacks.push(snapshots(o.snapshotAt, snaps));
  callbacks.push(evaluation({ model: o.model, data: o.data, every: o.evalEvery, evalBatch: o.evalBatch, onPoint }));
  const kept = { weights: null as Weights | null };
  if (o.keepEarlyStop) callbacks.push(earlyStopWeights(o.evalEvery, early, kept));
  return {
    callbacks,
    snapshots: snaps,
    earlyStop: kept,
    outcome: () => ({ curve, earlyStop: early.point(), final: curve[curve.length - 1] }),
  };
}
