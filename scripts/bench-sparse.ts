/**
 * The LeNet-300-100 training step (batch 60) on one backend at 100%, 21.1% and 3.6% of its
 * weights remaining (Frankle & Carbin's rates: fc layers ×0.8 and the output layer ×0.9 per
 * level, levels 0, 7 and 15; random masks), through the real `train()`. Rounds alternate the
 * three densities, so a change of load hits each alike; prints each round's median and fastest
 * wall ms per step and the median CPU ms per step (this process, all threads), with the ratios
 * to 100% (docs/PERFORMANCE.md, "Sparse dense layers").
 *
 *   npx tsc -p . && node dist/scripts/bench-sparse.js [--backend native] [--rounds 5] [--steps 60]
 */
import { parseArgs } from 'node:util';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { randomSplit } from '../src/bench/run.js';
import { buildModel, initialize, type Masks, type Model } from '../src/models/index.js';
import { trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train } from '../src/training/index.js';
import { makeRng } from '../src/util/index.js';

const { values } = parseArgs({
  options: { backend: { type: 'string', default: 'native' }, rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '60' } },
});
const LEVELS = [0, 7, 15];

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

async function main(): Promise<void> {
  const backend = await initBackend(values.backend as BackendName);
  const inputShape = [784];
  const model = buildModel('lenet-300-100', inputShape, 10);
  const split = randomSplit(inputShape, 6000, 'train');
  const data = { name: 'bench-random', inputShape, numClasses: 10, train: split, val: split, test: split, source: 'random' } as const;
  const steps = Number(values.steps);
  const plan = resolveSchedule(trainingSchema.parse({ batchSize: 60, iterations: `${steps}it`, evalEvery: `${steps + 1}it` }), split.n);
  const init = initialize(model, 'glorot-normal', 'bench');
  const masks = LEVELS.map((l) => masksAt(model, l));
  const kept = masks.map((m) => {
    const all = Object.values(m);
    return all.reduce((s, a) => s + a.reduce((x, y) => x + y, 0), 0) / all.reduce((s, a) => s + a.length, 0);
  });
  process.stdout.write(`backend ${backend}; % remaining ${kept.map((k) => (100 * k).toFixed(1)).join(', ')}\n`);
  const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(3)).join(', ')} (speed-up ${xs.map((x) => (xs[0] / x).toFixed(2)).join(', ')})`;
  for (let r = 0; r < Number(values.rounds); r++) {
    const wall: number[][] = [];
    const cpu: number[][] = [];
    for (const m of masks) {
      const stamps: number[] = [];
      const cpus: number[] = [];
      const onStep = () => {
        stamps.push(performance.now());
        const u = process.cpuUsage();
        cpus.push((u.user + u.system) / 1000);
      };
      await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks: m, orderKey: ['bench'], callbacks: { onStep } });
      // the first 10 steps are warm-up
      const gaps = (xs: number[]) => xs.slice(11).map((t, i) => t - xs[i + 10]);
      wall.push(gaps(stamps));
      cpu.push(gaps(cpus));
    }
    const min = (xs: number[]) => Math.min(...xs);
    process.stdout.write(
      `round ${r + 1}: ms/step median ${fmt(wall.map(median))}; fastest ${fmt(wall.map(min))}; CPU ms/step median ${fmt(cpu.map(median))}\n`,
    );
  }
}

await main();
