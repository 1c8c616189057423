/**
 * CPU and wall ms of each mask update of dynamic sparse training (SET, Mocanu et al. 2018;
 * RigL, Evci et al. 2020) on LeNet-300-100 at 10% of every layer, as scripts/bench-sparse.ts
 * --mode dynamic trains it (300 steps, updates every `every` steps until 75% of training): the
 * schedule's callbacks are wrapped with process.cpuUsage, so the update alone is timed, not the
 * step after it. `reps` trainings per process: the first update of a process includes the JIT's
 * warm-up. ROOT is a built checkout (its dist/ is imported), so two trees can be compared in one
 * sitting (docs/PERFORMANCE.md, "SET, RigL and the quick preset").
 *
 *   node scripts/bench-mask-update.mjs ROOT native|wasm set|rigl [reps=3] [every=100]
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root = '.', backendName = 'native', form = 'set', reps = '3', every = '100'] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(resolve(root, 'dist', p)).href);
const { initBackend } = await load('src/backend/index.js');
const { randomSplit } = await load('src/bench/run.js');
const { buildModel, initialize } = await load('src/models/index.js');
const { duringPruner } = await load('src/pruning/index.js');
const { duringSchema, pruningSchema, stepToIterations, trainingSchema } = await load('src/spec/index.js');
const { resolveSchedule, train } = await load('src/training/index.js');
const { makeRng } = await load('src/util/index.js');

await initBackend(backendName);
const inputShape = [784];
const model = buildModel('lenet-300-100', inputShape, 10);
const split = randomSplit(inputShape, 6000, 'train');
const data = { name: 'bench-random', inputShape, numClasses: 10, train: split, val: split, test: split, source: 'random' };
const steps = 300;
const plan = resolveSchedule(trainingSchema.parse({ batchSize: 60, iterations: `${steps}it`, evalEvery: `${steps + 1}it` }), split.n);
const init = initialize(model, 'glorot-normal', 'bench');
const pruning = pruningSchema.parse({ scope: 'layerwise', rates: { fc: 0.9, output: 0.9 }, levels: 1 });
const cpu = [];
const wall = [];
/** The callback `cb` with its run timed. */
const timed = (cb) => ({
  at: cb.at,
  async run(s, trainee, loop) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await cb.run(s, trainee, loop);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    wall.push(performance.now() - t0);
  },
});
for (let r = 0; r < Number(reps); r++) {
  const d = duringSchema.parse({ kind: 'dynamic', regrow: form === 'set' ? 'random' : 'gradient', every: `${every}it` });
  await duringPruner('dynamic').run(d, {
    model,
    pruning,
    plan,
    train: split,
    level: 1,
    theta0: init,
    rng: makeRng('bench-mask-update', form, r),
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
        stepCallbacks: a.stepCallbacks.map(timed),
      }),
  });
}
const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(' ');
process.stdout.write(`${backendName} ${form} ${root}: ms per mask update, CPU ${fmt(cpu)}; wall ${fmt(wall)}\n`);
