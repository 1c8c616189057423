import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Table from 'cli-table3';
import { tf } from '../util/tf.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { backendLabel } from '../backend/index.js';
import { datasetMeta } from '../data/registry.js';
import { exportModel, storedExperiment } from '../export/model.js';
import { buildSpecModel, type Masks, type Model, type Weights } from '../models/index.js';
import { trainingSchema } from '../spec/index.js';
import { keys } from '../storage/index.js';
import { resolveSchedule, train } from '../training/index.js';
import { randomDataset } from './run.js';
import type { Granularity } from '../pruning/units.js';
import type { SpeedDatum } from '../reporting/plot.js';
import type { Store } from '../storage/db.js';
import { UserError, makeRng } from '../util/index.js';

/**
 * Speed against sparsity (issue 13 item 6, issue 26 item 3), inference and training. Inference:
 * every stored level of a chain is exported with `exportModel` (src/export/model.ts) into a
 * temporary folder, loaded back with plain `tf.loadLayersModel`, and timed on one fixed batch:
 * the network a user would deploy (neuron/filter levels are physically smaller networks; weight
 * levels are full-size dense kernels holding zeros, w ⊙ m, and tfjs has no sparse matmul).
 * Training: lth's own training step (`train()`, src/training/loop.ts) of the level's masks and
 * weights at the spec's batch size and optimizer, on random examples of the data's shape: what
 * retraining that level costs, where pruned dense layers run lth's sparse kernels below their
 * backend's density switch (src/kernels/sparse.ts). docs/PERFORMANCE.md, "Speed against sparsity".
 */

/** One chain to measure: an experiment's chain (reset strategy) in one trial. */
export interface ChainRef {
  experiment: string;
  strategy: string;
  trial: number;
}

export interface SpeedOptions {
  /** examples per call (predict gets batchSize = batch: one batch); default 1000, or 100 for image data (conv nets) */
  batch?: number;
  /** untimed calls of each kind (predict, forward) per level first; default 2 */
  warmup?: number;
  /** timed calls of each kind per level (median reported); default 9 */
  repeats?: number;
  /** timed training steps per level and round (after one untimed step); default 4, or 1 for image data */
  trainSteps?: number;
  log?: (msg: string) => void;
}

export interface SpeedRow {
  experiment: string;
  strategy: string;
  trial: number;
  /** legend label: "rewind (neuron)" */
  series: string;
  level: number;
  /** % of prunable weights remaining, as stored (levels.percent_remaining) */
  percentRemaining: number;
  granularity: Granularity;
  /** units per layer of the exported network, e.g. { fc1: 150, fc2: 50, output: 10 } */
  units: Record<string, number>;
  /** parameters held by the exported model (kernels and biases; zeros of a weight level count) */
  params: number;
  /** median wall ms of one `predict` call on `batch` examples, including the read-back */
  ms: number;
  /** batch / median seconds per predict call */
  examplesPerSecond: number;
  /** examplesPerSecond over the same chain's level 0 */
  speedup: number;
  /** the same for the bare forward pass (`model.apply`): no per-call copy of the input batch */
  forwardMs: number;
  forwardExamplesPerSecond: number;
  forwardSpeedup: number;
  /** median wall ms of one lth training step (`train()`) of this level at `trainBatch` examples */
  trainMs: number;
  /** trainBatch / median seconds per training step */
  trainExamplesPerSecond: number;
  trainSpeedup: number;
}

export interface SpeedResult {
  /** the tfjs backend the models ran on, e.g. "wasm" */
  backend: string;
  batch: number;
  warmup: number;
  repeats: number;
  /** examples per training step: the spec's training.batchSize (of the first chain's experiment) */
  trainBatch: number;
  /** timed training steps per level and round */
  trainSteps: number;
  /** os.loadavg() when the timing ended: the numbers are only as good as the machine was idle */
  loadavg: number[];
  rows: SpeedRow[];
}

/**
 * The chains of `experiment` (trial `trial`) to measure: `strategies`, or every chain stored.
 * @throws UserError for an unknown experiment, an unknown strategy, or a trial without chain levels
 */
export function speedChains(store: Store, experiment: string, strategies: string[] | undefined, trial = 0): ChainRef[] {
  const { id } = storedExperiment(store, experiment);
  const rows = store.storedRows(id).filter((r) => r.strategy !== '' && r.branch === '' && r.replicate === 0);
  const stored = [...new Set(rows.map((r) => r.strategy))];
  const unknown = (strategies ?? []).filter((s) => !stored.includes(s));
  if (unknown.length)
    throw new UserError(
      `experiment "${experiment}" has no chain ${unknown.map((u) => `"${u}"`).join(', ')}: pass --strategy with one of ${stored.join(', ') || '(none stored)'}`,
    );
  const chosen = (strategies ?? stored).filter((s) => rows.some((r) => r.strategy === s && r.trial === trial));
  if (!chosen.length)
    throw new UserError(
      `experiment "${experiment}" has no pruned level stored for trial ${trial}: pass a stored --trial (trials: ${[...new Set(rows.map((r) => r.trial))].join(', ') || 'none'}), or run the experiment`,
    );
  return chosen.map((strategy) => ({ experiment, strategy, trial }));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = (s.length - 1) / 2;
  return (s[Math.floor(m)] + s[Math.ceil(m)]) / 2;
};

/** An exported folder → a LayersModel, through tfjs's own loader (tf.io.fromMemory: no tfjs-node file:// handler here). */
async function loadExported(dir: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
}

/**
 * ms of one call on the whole batch, its output read back (await data(): the backend has
 * finished). `predict` is what users call; it slices its input into batches even when there is
 * one (tfjs-layers' predictLoop), a copy of the whole input per call. `apply` runs the layers alone.
 */
async function timeCall(m: tfl.LayersModel, x: tf.Tensor, call: 'predict' | 'forward'): Promise<number> {
  const t0 = performance.now();
  const y = call === 'predict' ? (m.predict(x, { batchSize: x.shape[0] }) as tf.Tensor) : tf.tidy(() => m.apply(x, { training: false }) as tf.Tensor);
  try {
    await y.data();
    return performance.now() - t0;
  } finally {
    y.dispose();
  }
}

/** Runs n + 1 training steps of one level and returns the wall ms of the last n. */
type TrainStep = (n: number) => Promise<number[]>;

/**
 * One level's training step as `lth run` trains it (`train()`: masks applied, sparse kernels
 * where the backend has them), at the spec's batch size and optimizer, from the level's stored
 * weights, on random examples of the data's shape (the data's values do not change the cost).
 * Each call trains n + 1 steps and times the last n (the first pays train()'s set-up: the
 * variables, the optimizer state, the sparse layouts); a step's time is the gap between the
 * loop's progress callbacks, which fire after each update.
 */
function trainingStep(
  model: Model,
  inputShape: readonly number[],
  numClasses: number,
  training: { batchSize: number; optimizer: unknown },
  level: { weights: Weights; masks: Masks },
): TrainStep {
  const batchSize = training.batchSize;
  const data = { ...randomDataset(inputShape, 2 * batchSize, batchSize), numClasses };
  return async (n) => {
    const stamps: number[] = [];
    await train({
      model,
      data,
      plan: resolveSchedule(
        trainingSchema.parse({ batchSize, optimizer: training.optimizer, iterations: `${n + 1}it`, evalEvery: `${n + 2}it` }),
        data.train.n,
      ),
      schedule: { kind: 'replay', from: 0 },
      init: level.weights,
      masks: level.masks,
      orderKey: ['speed'],
      callbacks: { onStep: () => stamps.push(performance.now()) },
    });
    return stamps.slice(1).map((t, i) => t - stamps[i]);
  };
}

/**
 * Examples/s of every stored level (0 and the chain's levels) of each chain, on the backend in
 * use (call initBackend first). All levels are loaded first; then each is warmed up, and the
 * timed calls go round-robin over the levels, so a change of machine load hits every level
 * alike. The input is one fixed batch of N(0, 1) values of the data set's example shape.
 * Everything it creates (exported folders, models, tensors) is removed before it returns.
 * @throws UserError for an unknown experiment or chain, or a level that cannot be exported
 */
export async function measureSpeed(store: Store, chains: ChainRef[], opts: SpeedOptions = {}): Promise<SpeedResult> {
  // Conv nets run ~100× slower per example than LeNet: 100 examples per call keep a 5-level
  // conv chain to about a minute; MLPs get 1000, enough to amortize the call overhead.
  const images = chains.some((c) => datasetMeta(storedExperiment(store, c.experiment).spec.data).inputShape.length > 1);
  const batch = opts.batch ?? (images ? 100 : 1000);
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? 9;
  const trainSteps = opts.trainSteps ?? (images ? 1 : 4);
  for (const [k, v, min] of [
    ['batch', batch, 1],
    ['warmup', warmup, 0],
    ['repeats', repeats, 1],
    ['trainSteps', trainSteps, 1],
  ] as const)
    if (!Number.isInteger(v) || v < min) throw new UserError(`speed: ${k} must be a whole number ≥ ${min} (got ${v})`);
  const log = opts.log ?? (() => {});
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lth-speed-'));
  type Timed =
    | 'ms'
    | 'examplesPerSecond'
    | 'speedup'
    | 'forwardMs'
    | 'forwardExamplesPerSecond'
    | 'forwardSpeedup'
    | 'trainMs'
    | 'trainExamplesPerSecond'
    | 'trainSpeedup';
  const models: {
    row: Omit<SpeedRow, Timed>;
    model: tfl.LayersModel;
    x: tf.Tensor;
    predict: number[];
    forward: number[];
    trainStep: TrainStep;
    trained: number[];
  }[] = [];
  let trainBatch = 0;
  const inputs = new Map<string, tf.Tensor>();
  try {
    for (const c of chains) {
      const { id, spec } = storedExperiment(store, c.experiment);
      const shape = datasetMeta(spec.data).inputShape;
      const key = shape.join('×');
      if (!inputs.has(key)) {
        const rng = makeRng('speed', key);
        const dim = shape.reduce((a, b) => a * b, 1);
        inputs.set(
          key,
          tf.tensor(
            Float32Array.from({ length: batch * dim }, () => rng.normal()),
            [batch, ...shape],
          ),
        );
      }
      const levels = [0, ...store.doneLevels(id, c.strategy, c.trial).filter((l) => l > 0)];
      const granularity = spec.pruning.granularity;
      const meta = datasetMeta(spec.data);
      const lthModel = buildSpecModel(spec.model, meta.inputShape, meta.numClasses);
      trainBatch ||= spec.training.batchSize;
      for (const level of levels) {
        const dir = path.join(tmp, `${models.length}`);
        log(`speed: export ${c.experiment} ${c.strategy} trial ${c.trial} level ${level}`);
        const ex = await exportModel(store, c.experiment, { strategy: c.strategy, trial: c.trial, level }, dir, 'final');
        const model = await loadExported(dir);
        models.push({
          row: {
            experiment: c.experiment,
            strategy: c.strategy,
            trial: c.trial,
            series: `${c.strategy} (${granularity})`,
            level,
            percentRemaining: store.percentRemaining(id, level === 0 ? '' : c.strategy, c.trial, level) ?? NaN,
            granularity,
            units: ex.units,
            params: model.countParams(),
          },
          model,
          x: inputs.get(key)!,
          predict: [],
          forward: [],
          trainStep: trainingStep(lthModel, meta.inputShape, meta.numClasses, spec.training, store.loadLevel(id, keys.chainLevel(c.trial, c.strategy, level))),
          trained: [],
        });
      }
    }
    log(
      `speed: ${models.length} levels on ${backendLabel()}, ${warmup} warm-up + ${repeats} timed predict and forward calls of ${batch} examples each, and ${repeats} × ${trainSteps} timed training steps`,
    );
    for (const m of models)
      for (let i = 0; i < warmup; i++) {
        await timeCall(m.model, m.x, 'predict');
        await timeCall(m.model, m.x, 'forward');
      }
    for (let r = 0; r < repeats; r++) {
      for (const m of models) {
        m.predict.push(await timeCall(m.model, m.x, 'predict'));
        m.forward.push(await timeCall(m.model, m.x, 'forward'));
        m.trained.push(...(await m.trainStep(trainSteps)));
      }
      log(`speed: timed round ${r + 1} of ${repeats} done`);
    }
    const rows: SpeedRow[] = models.map((m) => {
      const ms = median(m.predict);
      const forwardMs = median(m.forward);
      const trainMs = median(m.trained);
      return {
        ...m.row,
        ms,
        examplesPerSecond: batch / (ms / 1000),
        speedup: NaN,
        forwardMs,
        forwardExamplesPerSecond: batch / (forwardMs / 1000),
        forwardSpeedup: NaN,
        trainMs,
        trainExamplesPerSecond: trainBatch / (trainMs / 1000),
        trainSpeedup: NaN,
      };
    });
    for (const r of rows) {
      const dense = rows.find((d) => d.experiment === r.experiment && d.strategy === r.strategy && d.trial === r.trial && d.level === 0)!;
      r.speedup = r.examplesPerSecond / dense.examplesPerSecond;
      r.forwardSpeedup = r.forwardExamplesPerSecond / dense.forwardExamplesPerSecond;
      r.trainSpeedup = r.trainExamplesPerSecond / dense.trainExamplesPerSecond;
    }
    return { backend: backendLabel(), batch, warmup, repeats, trainBatch, trainSteps, loadavg: os.loadavg(), rows };
  } finally {
    for (const m of models) m.model.dispose();
    tf.dispose([...inputs.values()]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The result as a plain-text table, one row per level, with the machine's load average. */
export function formatSpeed(r: SpeedResult): string {
  const t = new Table({
    head: ['chain (granularity)', 'level', '% remaining', 'units', 'params', 'predict ex/s', 'vs dense', 'forward ex/s', 'vs dense', 'train ex/s', 'vs dense'],
    style: { head: [], border: [] },
  });
  for (const x of r.rows)
    t.push([
      x.series,
      x.level,
      x.percentRemaining.toFixed(1),
      Object.entries(x.units)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      x.params,
      x.examplesPerSecond.toFixed(0),
      `${x.speedup.toFixed(2)}×`,
      x.forwardExamplesPerSecond.toFixed(0),
      `${x.forwardSpeedup.toFixed(2)}×`,
      x.trainExamplesPerSecond.toFixed(0),
      `${x.trainSpeedup.toFixed(2)}×`,
    ]);
  return (
    `speed on ${r.backend}: inference calls of ${r.batch} examples, median of ${r.repeats} after ${r.warmup} warm-up, levels timed round-robin; ` +
    `predict = model.predict (copies its input per call), forward = model.apply (the layers alone); ` +
    `train = lth's training step of the level (batch ${r.trainBatch}, median of ${r.repeats} × ${r.trainSteps} steps); load average ${r.loadavg
      .map((v) => v.toFixed(2))
      .join(' ')}\n${t.toString()}`
  );
}

/** The rows as the speed figure's points (reporting/plot.ts speedSpec): one per level and timed call. */
export function speedFigureData(r: SpeedResult): SpeedDatum[] {
  return r.rows.flatMap((x) => [
    { series: x.series, call: 'predict', level: x.level, percent: x.percentRemaining, examplesPerSecond: x.examplesPerSecond, speedup: x.speedup },
    {
      series: x.series,
      call: 'forward',
      level: x.level,
      percent: x.percentRemaining,
      examplesPerSecond: x.forwardExamplesPerSecond,
      speedup: x.forwardSpeedup,
    },
    { series: x.series, call: 'train', level: x.level, percent: x.percentRemaining, examplesPerSecond: x.trainExamplesPerSecond, speedup: x.trainSpeedup },
  ]);
}

/** The figure's subtitle: where and how it was measured. */
export const speedSubtitle = (r: SpeedResult): string =>
  `${r.backend}; inference ${r.batch} examples per call, training batch ${r.trainBatch}; median of ${r.repeats}, load ${r.loadavg[0].toFixed(1)}`;
