import { tf } from '../util/tf.js';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendLabel, initBackend, wasmThreadsInUse, type BackendName } from '../backend/index.js';
import type { Dataset, Split } from '../data/index.js';
import { benchModels, buildModel, initialize, MODEL_NAMES, needsImage, type Masks, type Model } from '../models/index.js';
import { runExperiment } from '../orchestration/index.js';
import { loadSpec, trainingSchema, validateSpec, type SpecInput } from '../spec/index.js';
import { Store } from '../storage/index.js';
import { evaluate, toTensors, train, resolveSchedule } from '../training/index.js';
import { didYouMean, Interrupted, UserError, makeRng } from '../util/index.js';
import { runNodeSampled, selfPeakRssMb } from './proc.js';
import { clusterSection, type ClusterBench } from './cluster.js';
import { measureSpeed, speedChains, type ChainRef, type SpeedResult } from './sparsity.js';

/**
 * `lth bench`: how fast the REAL code path runs — `train()` from src/training/loop.ts with
 * models from the zoo, `evaluate()`, and whole experiments through the CLI (`lth run`, in a
 * child process, temp database). Data is synthetic (right shape, random values) except for the
 * quickstart and the workers experiment, which use Fashion-MNIST when it is installed.
 */

export const SECTIONS = ['step', 'eval', 'protocol', 'quickstart', 'workers', 'memory', 'cluster', 'sparsity'] as const;
export type Section = (typeof SECTIONS)[number];
/** The models timed by default: those the model registry marks for the bench (src/models/registry.ts). */
export const BENCH_MODELS = benchModels();

export interface BenchOptions {
  models: string[];
  /** backends to try; one that does not load is reported as such */
  backends: BackendName[];
  /** timed steps per model (after `warmup`) */
  steps: number;
  warmup: number;
  batch: number;
  /** seconds per (backend, model) step measurement; stops early once 3 steps are timed */
  budgetS: number;
  only: Section[];
  /** tiny sizes everywhere: a smoke test in seconds, numbers meaningless */
  quick: boolean;
  /** run the cpu backend on conv nets too (tens of seconds per step) */
  cpuConv: boolean;
  /** training steps of the protocol level (default: 1000 for MLPs, 200 for conv nets) */
  protocolIterations?: number;
  /** sparsity: measure these chains of a stored experiment instead of training the built-in pair */
  sparsity?: { experiment: string; db: string; strategies?: string[]; trial?: number };
  log: (msg: string) => void;
}

export interface StepRow {
  backend: string;
  model: string;
  /** median ms per training step (null: not measured, see note) */
  ms: number | null;
  p10: number | null;
  p90: number | null;
  steps: number;
  note?: string;
}
export interface EvalRow {
  backend: string;
  model: string;
  examples: number;
  examplesPerS: number | null;
  note?: string;
}
export interface RunRow {
  what: string;
  workers: number;
  backend: string;
  seconds: number;
  levels: number;
  levelsPerS: number;
  /** levels of the pruning chains / seconds from the dense level's commit to the last commit */
  chainLevelsPerS: number | null;
  /** peak RSS (MB) of the main process and of each worker process */
  mainRssMb: number | null;
  workerRssMb: number[];
  command: string;
  note?: string;
}
export interface MemoryRow {
  level: number;
  numTensors: number;
  numBytes: number;
  rssMb: number;
}
/** One level at the papers' evaluation protocol (F&C 2019: 5,000 validation + 10,000 test examples every 100 iterations). */
export interface ProtocolRow {
  backend: string;
  model: string;
  iterations: number;
  evalEvery: number;
  valExamples: number;
  testExamples: number;
  evaluations: number;
  /** wall seconds of the whole level (train() from start to return) */
  levelS: number | null;
  /** mean gap between steps without an evaluation × iterations: the level's training time */
  stepSumS: number | null;
  /** levelS / stepSumS (issue 16 target: ≤ 1.3) */
  ratio: number | null;
  note?: string;
}
export interface BenchReport {
  info: Record<string, unknown>;
  step: StepRow[];
  eval: EvalRow[];
  protocol: ProtocolRow[];
  runs: RunRow[];
  /** workers=2 levels/s over workers=1, end to end and over the chain phase */
  speedup: { endToEnd: number; chainPhase: number | null } | null;
  memory: MemoryRow[];
  /** Slurm (local, 2 slots) vs --workers 2, and merge time; only when the section ran */
  cluster?: ClusterBench;
  /** inference examples/s of every level's exported network (src/bench/sparsity.ts); only when the section ran */
  sparsity?: SpeedResult & { source: string };
}

const median = (xs: number[]): number => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}

const isConv = (model: string) => needsImage(model);
/** CIFAR-shaped input for conv nets, MNIST-sized flat vectors for MLPs. */
export const inputShapeFor = (model: string): number[] => (isConv(model) ? [32, 32, 3] : [784]);

/** n random examples of the shape a model expects (values ~ N(0,1), labels uniform in 0..9). */
export function randomSplit(inputShape: readonly number[], n: number, seed: string): Split {
  const dim = inputShape.reduce((a, b) => a * b, 1);
  const rng = makeRng('bench', seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = Uint8Array.from({ length: n }, () => rng.int(10));
  return { x, y, n };
}

/** A random data set for timing: `nTrain` training examples, `nEval` for validation (also the test split). */
export function randomDataset(inputShape: readonly number[], nTrain: number, nEval: number): Dataset {
  const val = randomSplit(inputShape, nEval, 'val');
  return { name: 'bench-random', inputShape, numClasses: 10, train: randomSplit(inputShape, nTrain, 'train'), val, test: val, source: 'random' };
}

/** A level-1-like mask: 80% of every prunable tensor kept. */
export function benchMasks(model: Model): Masks {
  const rng = makeRng('bench', 'mask');
  const masks: Masks = {};
  for (const p of model.params)
    if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < 0.8 ? 1 : 0));
  return masks;
}

/**
 * ms per training step through `train()`: the gap between consecutive onStep callbacks. On
 * webgpu a step only enqueues GPU work, so the gaps measure dispatch, not compute: there every
 * timed step gets the mean from the first timed step to the end of `train()`, which waits for
 * the GPU (its final evaluation and weight read, a few ms, are included).
 */
async function stepTimes(model: Model, data: Dataset, o: BenchOptions): Promise<number[]> {
  const total = o.warmup + o.steps + 1; // step 0 is never timed
  const plan = resolveSchedule(trainingSchema.parse({ batchSize: o.batch, iterations: `${total}it`, evalEvery: `${total + 1}it` }), data.train.n);
  const stamps: number[] = [];
  const t0 = performance.now();
  try {
    await train({
      model,
      data,
      plan,
      schedule: { kind: 'replay', from: 0 },
      init: initialize(model, 'glorot-normal', 'bench'),
      masks: benchMasks(model),
      orderKey: ['bench'],
      callbacks: {
        onStep: () => stamps.push(performance.now()),
        // past the budget: stop once at least one step gap is timed (step 0 is never timed)
        shouldStop: () => stamps.length >= 2 && (performance.now() - t0) / 1000 > o.budgetS,
      },
    });
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
  }
  const end = performance.now();
  if (tf.getBackend() === 'webgpu' && stamps.length > 1) {
    const from = Math.min(o.warmup, stamps.length - 2);
    const timed = stamps.length - 1 - from;
    return new Array<number>(timed).fill((end - stamps[from]) / timed);
  }
  const deltas = stamps.slice(1).map((t, i) => t - stamps[i]);
  // keep the warm-up out unless nothing else was timed
  return deltas.length > o.warmup ? deltas.slice(o.warmup) : deltas;
}

async function evalThroughput(model: Model, split: Split): Promise<number> {
  const w = toTensors(model, initialize(model, 'glorot-normal', 'bench'));
  try {
    await evaluate(model, w, {
      x: split.x.subarray(0, Math.min(split.n, 100) * (split.x.length / split.n)),
      y: split.y.subarray(0, 100),
      n: Math.min(split.n, 100),
    }); // warm-up
    const ts: number[] = [];
    for (let r = 0; r < 3; r++) {
      const s = performance.now();
      await evaluate(model, w, split);
      ts.push(performance.now() - s);
    }
    return split.n / (median(ts) / 1000);
  } finally {
    tf.dispose(Object.values(w));
  }
}

const errMsg = (e: unknown) =>
  String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 100);

async function benchKernelsSections(o: BenchOptions, report: BenchReport): Promise<void> {
  for (const be of o.backends) {
    let label: string;
    try {
      const got = await initBackend(be);
      label = got === 'wasm' ? `wasm×${await wasmThreadsInUse()}` : backendLabel();
    } catch (e) {
      for (const m of o.models) {
        if (o.only.includes('step')) report.step.push({ backend: be, model: m, ms: null, p10: null, p90: null, steps: 0, note: `does not load: ${errMsg(e)}` });
      }
      continue;
    }
    for (const m of o.models) {
      const model = buildModel(m, inputShapeFor(m), 10);
      if (be === 'cpu' && isConv(m) && !o.cpuConv) {
        const note = 'skipped: cpu conv is tens of s per step (--cpu-conv runs it)';
        if (o.only.includes('step')) report.step.push({ backend: label, model: m, ms: null, p10: null, p90: null, steps: 0, note });
        if (o.only.includes('eval')) report.eval.push({ backend: label, model: m, examples: 0, examplesPerS: null, note });
        continue;
      }
      if (o.only.includes('step')) {
        o.log(`step: ${label} ${m}`);
        try {
          const data = randomDataset(inputShapeFor(m), o.batch * (o.quick ? 4 : 20), o.batch);
          const ts = await stepTimes(model, data, o);
          report.step.push({
            backend: label,
            model: m,
            ms: median(ts),
            p10: quantile(ts, 0.1),
            p90: quantile(ts, 0.9),
            steps: ts.length,
            note: ts.length < o.steps ? `budget ${o.budgetS} s reached` : undefined,
          });
        } catch (e) {
          report.step.push({ backend: label, model: m, ms: null, p10: null, p90: null, steps: 0, note: `fails: ${errMsg(e)}` });
        }
      }
      if (o.only.includes('eval')) {
        o.log(`eval: ${label} ${m}`);
        const n = o.quick ? 200 : isConv(m) ? 2000 : 10000;
        try {
          report.eval.push({ backend: label, model: m, examples: n, examplesPerS: await evalThroughput(model, randomSplit(inputShapeFor(m), n, 'eval')) });
        } catch (e) {
          report.eval.push({ backend: label, model: m, examples: n, examplesPerS: null, note: `fails: ${errMsg(e)}` });
        }
      }
    }
  }
}

/** The models the protocol section times (issue 16): the MLP and the smallest conv net. */
export const PROTOCOL_MODELS = ['lenet-300-100', 'conv-2'];

/**
 * One level of `train()` at Frankle & Carbin's evaluation protocol (2019, §2 and App. G/H: 5,000
 * validation and 10,000 test examples every 100 iterations; random data of the model's
 * shape), timed as a whole and step by step. A step's time is the gap between consecutive
 * onStep callbacks; the gaps that contain an evaluation are left out of the step mean.
 */
async function protocolSection(o: BenchOptions, report: BenchReport): Promise<void> {
  const be = o.backends[0];
  let label: string;
  try {
    const got = await initBackend(be);
    label = got === 'wasm' ? `wasm×${await wasmThreadsInUse()}` : backendLabel();
  } catch (e) {
    report.protocol.push({
      backend: be,
      model: '—',
      iterations: 0,
      evalEvery: 0,
      valExamples: 0,
      testExamples: 0,
      evaluations: 0,
      levelS: null,
      stepSumS: null,
      ratio: null,
      note: `does not load: ${errMsg(e)}`,
    });
    return;
  }
  for (const m of o.models.filter((x) => PROTOCOL_MODELS.includes(x))) {
    const every = o.quick ? 10 : 100;
    const iterations = o.protocolIterations ?? (o.quick ? 20 : isConv(m) ? 200 : 1000);
    const [nVal, nTest] = o.quick ? [100, 200] : [5000, 10000];
    const shape = inputShapeFor(m);
    const data: Dataset = {
      name: 'bench-random',
      inputShape: shape,
      numClasses: 10,
      train: randomSplit(shape, o.batch * 20, 'train'),
      val: randomSplit(shape, nVal, 'val'),
      test: randomSplit(shape, nTest, 'test'),
      source: 'random',
    };
    const model = buildModel(m, shape, 10);
    o.log(`protocol: ${label} ${m}, ${iterations} iterations, ${nVal}+${nTest} examples every ${every}`);
    const plan = resolveSchedule(trainingSchema.parse({ batchSize: o.batch, iterations: `${iterations}it`, evalEvery: `${every}it` }), data.train.n);
    const init = initialize(model, 'glorot-normal', 'bench');
    const masks = benchMasks(model);
    const small = (x: Split): Split => ({ x: x.x.subarray(0, 100 * (x.x.length / x.n)), y: x.y.subarray(0, 100), n: 100 });
    const run = (n: number, onStep?: () => void) =>
      train({
        model,
        data: n === iterations ? data : { ...data, val: small(data.val), test: small(data.test) },
        plan: n === iterations ? plan : { ...plan, iterations: n, evalEvery: n + 1 },
        schedule: { kind: 'replay', from: 0 },
        init,
        masks,
        orderKey: ['bench'],
        callbacks: onStep ? { onStep } : {},
      });
    try {
      await run(o.quick ? 2 : 5); // warm-up: kernels compiled, weights packed once
      const stamps: number[] = [];
      const t0 = performance.now();
      const r = await run(iterations, () => stamps.push(performance.now()));
      const levelS = (performance.now() - t0) / 1000;
      // onStep(k) runs at step k (k ≥ 1) before that step's evaluation; the gap to onStep(k+1)
      // holds update k and, when k is a multiple of `every`, an evaluation
      const gaps: number[] = [];
      for (let i = 1; i < stamps.length; i++) if (i % every !== 0) gaps.push(stamps[i] - stamps[i - 1]);
      const mean = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
      const stepSumS = (mean * iterations) / 1000;
      report.protocol.push({
        backend: label,
        model: m,
        iterations,
        evalEvery: every,
        valExamples: nVal,
        testExamples: nTest,
        evaluations: r.curve.length,
        levelS,
        stepSumS,
        ratio: levelS / stepSumS,
      });
    } catch (e) {
      report.protocol.push({
        backend: label,
        model: m,
        iterations,
        evalEvery: every,
        valExamples: nVal,
        testExamples: nTest,
        evaluations: 0,
        levelS: null,
        stepSumS: null,
        ratio: null,
        note: `fails: ${errMsg(e)}`,
      });
    }
  }
}

const FASHION = '/usr/share/datasets/fashion-mnist';
const haveFashion = () => existsSync(path.join(FASHION, 'train-images-idx3-ubyte.gz'));
const QUICKSTART = fileURLToPath(new URL('../../../experiments/quickstart.json', import.meta.url));

/** The quickstart as the issue describes it, used when experiments/quickstart.json is absent. */
function quickstartSpec(quick: boolean): SpecInput {
  if (quick) return tinySpec('bench-quickstart', ['rewind', 'fine-tune'], 1);
  return {
    name: 'bench-quickstart',
    data: { dataset: 'fashion-mnist' },
    model: { name: 'lenet-300-100' },
    training: { iterations: '1200it', evalEvery: '200it' },
    pruning: { levels: 5 },
    strategies: ['rewind', 'fine-tune'],
  };
}

function tinySpec(name: string, strategies: string[], levels: number): SpecInput {
  return {
    name,
    data: { dataset: 'synthetic', validation: 120, synthetic: { train: 480, test: 120, features: 784, classes: 10 } },
    model: { name: 'lenet-300-100' },
    training: { iterations: '20it', evalEvery: '10it' },
    pruning: { levels },
    strategies,
  };
}

/** 4 chains × `levels` levels of LeNet-300-100; Fashion-MNIST when installed. */
function workersSpec(quick: boolean): SpecInput {
  const strategies = ['rewind', 'fine-tune', 'random-reinit', 'lr-rewind'];
  if (quick) return tinySpec('bench-workers', strategies, 1);
  return {
    name: 'bench-workers',
    data: haveFashion()
      ? { dataset: 'fashion-mnist', testSubset: 2000 }
      : { dataset: 'synthetic', validation: 1000, synthetic: { train: 6000, test: 2000, features: 784, classes: 10 } },
    model: { name: 'lenet-300-100' },
    training: { iterations: '400it', evalEvery: '200it' },
    pruning: { levels: 4 },
    strategies,
  };
}

interface DbTimes {
  levels: number;
  chainLevels: number;
  chainSeconds: number | null;
}
function dbTimes(db: string): DbTimes {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.prepare("SELECT level, created_at FROM results WHERE branch = '' ORDER BY created_at").all() as { level: number; created_at: string }[];
    const dense = rows.filter((r) => r.level === 0).map((r) => Date.parse(r.created_at));
    const chain = rows.filter((r) => r.level > 0).map((r) => Date.parse(r.created_at));
    const chainSeconds = dense.length && chain.length ? (Math.max(...chain) - Math.max(...dense)) / 1000 : null;
    return { levels: rows.length, chainLevels: chain.length, chainSeconds };
  } finally {
    d.close();
  }
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

async function runCli(what: string, spec: SpecInput | string, workers: number, backend: BackendName, o: BenchOptions, tmp: string): Promise<RunRow> {
  const specPath = typeof spec === 'string' ? spec : path.join(tmp, `${what}.json`);
  if (typeof spec !== 'string') writeFileSync(specPath, JSON.stringify(spec, null, 2));
  const db = path.join(tmp, `${what}-w${workers}.db`);
  const args = [CLI, 'run', specPath, '--db', db, '--workers', String(workers), '--backend', backend, '--quiet'];
  o.log(`${what}: lth ${args.slice(1).join(' ')}`);
  const r = await runNodeSampled(args, process.env);
  const command = `lth run ${typeof spec === 'string' ? path.relative(process.cwd(), spec) : `<${what} spec>`} --workers ${workers} --backend ${backend}`;
  if (r.code !== 0) throw new Error(`${command} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const t = dbTimes(db);
  const main = r.peakRssMb.find((p) => p.root);
  return {
    what,
    workers,
    backend,
    seconds: r.seconds,
    levels: t.levels,
    levelsPerS: t.levels / r.seconds,
    chainLevelsPerS: t.chainSeconds && t.chainSeconds > 0 ? t.chainLevels / t.chainSeconds : null,
    mainRssMb: main?.mb ?? null,
    workerRssMb: r.peakRssMb.filter((p) => !p.root).map((p) => p.mb),
    command,
  };
}

/** Live tensors and RSS after every level of a 1-chain, 5-level LeNet experiment run in this process. */
async function memorySection(o: BenchOptions, backend: BackendName, tmp: string): Promise<MemoryRow[]> {
  const spec = tinySpec('bench-memory', ['rewind'], 5);
  if (!o.quick) spec.training = { iterations: '200it', evalEvery: '100it' };
  const file = path.join(tmp, 'memory.json');
  writeFileSync(file, JSON.stringify(spec));
  const rows: MemoryRow[] = [];
  await runExperiment(loadSpec(file), {
    db: path.join(tmp, 'memory.db'),
    backend,
    onProgress: (e) => {
      if (e.type !== 'level-done') return;
      const m = tf.memory();
      rows.push({ level: e.level, numTensors: m.numTensors, numBytes: m.numBytes, rssMb: process.memoryUsage().rss / 2 ** 20 });
    },
  });
  return rows;
}

/**
 * The built-in pair of the sparsity section: LeNet-300-100 on synthetic MNIST-shaped data, one
 * rewind chain, half of the hidden weights (weight) or units (neuron, l1_norm) removed per level,
 * so 4 levels reach ≈6% of weights remaining. Accuracy is not the point: few steps per level.
 */
function sparsitySpec(granularity: 'weight' | 'neuron', quick: boolean): SpecInput {
  return {
    name: `bench-sparsity-${granularity}`,
    data: { dataset: 'synthetic', validation: 100, synthetic: { train: 600, test: 200, features: 784, classes: 10 } },
    model: { name: 'lenet-300-100' },
    training: { iterations: quick ? '4it' : '20it', evalEvery: quick ? '2it' : '10it', batchSize: 60 },
    pruning: { granularity, levels: quick ? 2 : 4, rates: { fc: 0.5, output: 0.5 } },
    strategies: ['rewind'],
  };
}

/** Trains the built-in weight/neuron pair in a temporary database (or opens --experiment's) and times every level's exported network. */
async function sparsitySection(o: BenchOptions, backend: BackendName, tmp: string): Promise<SpeedResult & { source: string }> {
  const opts = { ...(o.quick ? { batch: 100, warmup: 1, repeats: 3 } : {}), log: o.log };
  if (o.sparsity) {
    const store = new Store(o.sparsity.db, { readonly: true });
    try {
      const chains = speedChains(store, o.sparsity.experiment, o.sparsity.strategies, o.sparsity.trial ?? 0);
      return { ...(await measureSpeed(store, chains, opts)), source: `${o.sparsity.experiment} in ${o.sparsity.db}` };
    } finally {
      store.close();
    }
  }
  const db = path.join(tmp, 'sparsity.db');
  const chains: ChainRef[] = [];
  for (const g of ['weight', 'neuron'] as const) {
    const spec = sparsitySpec(g, o.quick);
    o.log(`sparsity: training ${spec.name} (${spec.pruning?.levels} levels, ${spec.training?.iterations} each)`);
    await runExperiment(validateSpec(spec, `<${spec.name} spec>`), { db, backend });
    chains.push({ experiment: spec.name, strategy: 'rewind', trial: 0 });
  }
  const store = new Store(db, { readonly: true });
  try {
    return {
      ...(await measureSpeed(store, chains, opts)),
      source: `built-in pair: LeNet-300-100, synthetic data, rewind, ${o.quick ? 2 : 4} levels at rate 0.5, weight vs neuron (l1_norm) granularity`,
    };
  } finally {
    store.close();
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: path.dirname(CLI), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  if (o.only.length === 0) throw new UserError('--only: give at least one of ' + SECTIONS.join(', '));
  for (const m of o.models)
    if (!(MODEL_NAMES as readonly string[]).includes(m))
      throw new UserError(`--models: unknown model "${m}" (use ${MODEL_NAMES.join(', ')})${didYouMean(m, MODEL_NAMES)}`);
  const report: BenchReport = {
    info: {
      date: new Date().toISOString(),
      commit: gitCommit(),
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.availableParallelism(),
      loadavgStart: os.loadavg(),
      wasmThreadsEnv: process.env.LTH_WASM_THREADS ?? null,
      batch: o.batch,
      steps: o.steps,
      warmup: o.warmup,
      quick: o.quick,
      argv: process.argv.slice(2),
    },
    step: [],
    eval: [],
    protocol: [],
    runs: [],
    speedup: null,
    memory: [],
  };
  if (o.only.includes('step') || o.only.includes('eval')) await benchKernelsSections(o, report);
  if (o.only.includes('protocol')) await protocolSection(o, report);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lth-bench-'));
  try {
    // whole-run sections use the first backend asked for that loads
    let runBackend: BackendName | null = null;
    if (o.only.some((s) => s === 'quickstart' || s === 'workers' || s === 'memory' || s === 'cluster' || s === 'sparsity')) {
      for (const be of o.backends) {
        try {
          await initBackend(be);
          runBackend = be;
          break;
        } catch {
          /* next */
        }
      }
      if (!runBackend) throw new UserError(`none of the backends ${o.backends.join(', ')} loads`);
    }
    if (o.only.includes('quickstart')) {
      const useFile = !o.quick && existsSync(QUICKSTART);
      const spec = useFile ? QUICKSTART : quickstartSpec(o.quick);
      if (!useFile && !o.quick && !haveFashion()) {
        report.runs.push({
          what: 'quickstart',
          workers: 1,
          backend: runBackend!,
          seconds: NaN,
          levels: 0,
          levelsPerS: NaN,
          chainLevelsPerS: null,
          mainRssMb: null,
          workerRssMb: [],
          command: '',
          note: `Fashion-MNIST not installed (${FASHION})`,
        });
      } else {
        const row = await runCli('quickstart', spec, 1, runBackend!, o, tmp);
        row.note = useFile
          ? 'experiments/quickstart.json'
          : o.quick
            ? 'quick: tiny synthetic stand-in'
            : 'built-in spec: Fashion-MNIST LeNet-300-100, rewind + fine-tune, levels 0–5, 1200 it, eval every 200';
        report.runs.push(row);
      }
    }
    if (o.only.includes('workers')) {
      const spec = workersSpec(o.quick);
      const w1 = await runCli('workers', spec, 1, runBackend!, o, tmp);
      const w2 = await runCli('workers', spec, 2, runBackend!, o, tmp);
      const data = (spec.data as { dataset?: string }).dataset;
      for (const r of [w1, w2]) r.note = `4 chains × ${spec.pruning?.levels} levels + dense, ${data}`;
      report.runs.push(w1, w2);
      report.speedup = {
        endToEnd: w2.levelsPerS / w1.levelsPerS,
        chainPhase: w1.chainLevelsPerS && w2.chainLevelsPerS ? w2.chainLevelsPerS / w1.chainLevelsPerS : null,
      };
    }
    if (o.only.includes('memory')) report.memory = await memorySection(o, runBackend!, tmp);
    if (o.only.includes('cluster')) report.cluster = await clusterSection(o.quick, runBackend!, tmp, o.log);
    if (o.only.includes('sparsity')) report.sparsity = await sparsitySection(o, runBackend!, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  report.info.loadavgEnd = os.loadavg();
  report.info.benchPeakRssMb = selfPeakRssMb();
  return report;
}
