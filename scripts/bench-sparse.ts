/**
 * The LeNet-300-100 training step (batch 60) on one backend at 100%, 21.1% and 3.6% of its
 * weights remaining (Frankle & Carbin's rates: fc layers ×0.8 and the output layer ×0.9 per
 * level, levels 0, 7 and 15, or those of `--levels`; random masks), through the real `train()`.
 * Rounds alternate the densities, so a change of load hits each alike; prints each round's median and fastest
 * wall ms per step and the median CPU ms per step (this process, all threads), with the ratios
 * to the first (docs/PERFORMANCE.md, "Sparse dense layers").
 *
 * `--mode dynamic` times dynamic sparse training instead (issue 26: "SET or RigL at 10% density
 * at least 3× faster than the dense-masked step"): SET and RigL at 10% of every layer's weights
 * (layerwise rates 0.9, level 1), run by the registry's during-training pruner through the real
 * `train()` (mask updates every `--every` steps until 75% of training, in the timed steps), against
 * the same network at 100% and SET at 10% with the sparse kernels unregistered for that run (the
 * dense-masked step: the backend's dense kernels, masks applied). Also prints the mean ms/step,
 * which includes the mask updates the median leaves out, and the ms each update adds (docs/
 * PERFORMANCE.md, "SET, RigL and the quick preset"). Steps default to 60, or 300 with `dynamic`.
 *
 *   npx tsc -p . && node dist/scripts/bench-sparse.js [--backend native] [--rounds 5] [--steps N]
 *     [--levels 0,7,15] [--mode levels|dynamic] [--every 100]
 */
import { parseArgs } from 'node:util';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { randomSplit } from '../src/bench/run.js';
import { SAMPLED_MATMUL, SPARSE_ADAM, SPARSE_MATMUL } from '../src/kernels/sparse.js';
import { buildModel, initialize, type Masks, type Model } from '../src/models/index.js';
import { duringPruner, fullMasks } from '../src/pruning/index.js';
import { duringSchema, pruningSchema, stepToIterations, trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train } from '../src/training/index.js';
import { makeRng } from '../src/util/index.js';
import { tf } from '../src/util/tf.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'native' },
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string' },
    levels: { type: 'string', default: '0,7,15' },
    mode: { type: 'string', default: 'levels' },
    every: { type: 'string', default: '100' },
  },
});
if (values.mode !== 'levels' && values.mode !== 'dynamic') throw new Error(`--mode: levels or dynamic, not "${values.mode}"`);
const LEVELS = values.levels.split(',').map(Number);

/** Random masks keeping 0.8^level of each fc kernel and 0.9^level of the output kernel. */
function masksAt(model: Model, level: number): Masks {
  const rng = makeRng('bench-sparse', level);
  const masks: Masks = {};
  for (const p of model.params) {
    if (p.kind === 'none') continue;
    const keep = (p.kind === 'output' ? 0.9 : 0.8) ** level;
    masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < keep ? 1 : 0));
  }
  return masks;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Share of kept entries over all masks. */
const keptShare = (m: Masks): number => {
  const all = Object.values(m);
  return all.reduce((s, a) => s + a.reduce((x, y) => x + y, 0), 0) / all.reduce((s, a) => s + a.length, 0);
};

/** One thing timed per round: it trains once, calling onStep after every step. */
interface Variant {
  readonly label: string;
  run(onStep: () => void): Promise<unknown>;
}

/**
 * Runs f with the sparse kernels unregistered from the current backend, so that setSparseMask
 * attaches no layout and the layer runs its dense kernels (this benchmark's process only).
 */
async function withoutSparseKernels<T>(f: () => Promise<T>): Promise<T> {
  const configs = [SPARSE_MATMUL, SAMPLED_MATMUL, SPARSE_ADAM].map((k) => tf.getKernel(k, tf.getBackend())).filter((c) => c != null);
  for (const c of configs) tf.unregisterKernel(c.kernelName, c.backendName);
  try {
    return await f();
  } finally {
    for (const c of configs) tf.registerKernel(c);
  }
}

async function main(): Promise<void> {
  const backend = await initBackend(values.backend as BackendName);
  const inputShape = [784];
  const model = buildModel('lenet-300-100', inputShape, 10);
  const split = randomSplit(inputShape, 6000, 'train');
  const data = { name: 'bench-random', inputShape, numClasses: 10, train: split, val: split, test: split, source: 'random' } as const;
  const dynamicMode = values.mode === 'dynamic';
  const steps = Number(values.steps ?? (dynamicMode ? 300 : 60));
  const every = Number(values.every);
  const plan = resolveSchedule(trainingSchema.parse({ batchSize: 60, iterations: `${steps}it`, evalEvery: `${steps + 1}it` }), split.n);
  const init = initialize(model, 'glorot-normal', 'bench');
  const fixed = (masks: Masks) => (onStep: () => void) =>
    train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks, orderKey: ['bench'], callbacks: { onStep } });
  let variants: Variant[];
  if (!dynamicMode) {
    variants = LEVELS.map((l) => {
      const m = masksAt(model, l);
      return { label: `${(100 * keptShare(m)).toFixed(1)}%`, run: fixed(m) };
    });
  } else {
    // 10% of every layer: layerwise rates 0.9 at level 1.
    const pruning = pruningSchema.parse({ scope: 'layerwise', rates: { fc: 0.9, output: 0.9 }, levels: 1 });
    const dynamicRun = (form: 'set' | 'rigl') => (onStep: () => void) =>
      duringPruner('dynamic').run(duringSchema.parse({ kind: 'dynamic', regrow: form === 'set' ? 'random' : 'gradient', every: `${every}it` }), {
        model,
        pruning,
        plan,
        train: split,
        level: 1,
        theta0: init,
        rng: makeRng('bench-sparse', form),
        steps: (x) => stepToIterations(x, plan.itersPerEpoch),
        trainFrom: (a) =>
          train({
            model,
            data,
            plan,
            schedule: { kind: 'replay', from: 0 },
            init: a.init,
            masks: a.masks,
            orderKey: ['bench'],
            stepCallbacks: a.stepCallbacks,
            callbacks: { onStep },
          }),
      });
    const set = dynamicRun('set');
    variants = [
      { label: '100%', run: fixed(fullMasks(model)) },
      { label: 'SET 10%', run: set },
      { label: 'RigL 10%', run: dynamicRun('rigl') },
      { label: 'SET 10% dense kernels', run: (onStep) => withoutSparseKernels(() => set(onStep)) },
    ];
  }
  process.stdout.write(`backend ${backend}; ${steps} steps (10 warm-up); ${variants.map((v) => v.label).join(', ')}\n`);
  const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(3)).join(', ')} (speed-up ${xs.map((x) => (xs[0] / x).toFixed(2)).join(', ')})`;
  for (let r = 0; r < Number(values.rounds); r++) {
    const wall: number[][] = [];
    const cpu: number[][] = [];
    for (const v of variants) {
      const stamps: number[] = [];
      const cpus: number[] = [];
      await v.run(() => {
        stamps.push(performance.now());
        const u = process.cpuUsage();
        cpus.push((u.user + u.system) / 1000);
      });
      // the first 10 steps are warm-up
      const gaps = (xs: number[]) => xs.slice(11).map((t, i) => t - xs[i + 10]);
      wall.push(gaps(stamps));
      cpu.push(gaps(cpus));
    }
    const min = (xs: number[]) => Math.min(...xs);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // The mask updates run before steps every, 2·every, … < 75% of training: in gap s − 11.
    const updates = Array.from({ length: Math.ceil((0.75 * steps) / every) - 1 }, (_, i) => (i + 1) * every - 11).filter((j) => j >= 0);
    const updateMs = (xs: number[]) => (updates.length ? mean(updates.map((j) => xs[j] - median(xs))) : 0);
    process.stdout.write(
      `round ${r + 1}: ms/step median ${fmt(wall.map(median))}; fastest ${fmt(wall.map(min))}; CPU ms/step median ${fmt(cpu.map(median))}` +
        (dynamicMode
          ? `; mean ${fmt(wall.map(mean))}; CPU mean ${fmt(cpu.map(mean))}; ms per mask update ${wall
              .map(updateMs)
              .map((x) => x.toFixed(0))
              .join(', ')}`
          : '') +
        '\n',
    );
  }
}

await main();
