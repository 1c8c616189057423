/**
 * Where a training step's time goes: runs `train()` (the real loop) for a few steps inside
 * `tf.profile` and sums kernel time by kernel name. The gap between the wall time per step and
 * the kernel sum is per-op overhead in JS (engine bookkeeping, tape, tensor creation).
 *
 *   npx tsc -p . && node dist/scripts/profile-step.js [--model lenet-300-100] [--backend wasm] [--steps 20] [--batch 60] [--shapes] [--input 28,28,1]
 *
 * --input: the example shape (default: the bench's, [32,32,3] for conv nets; 28,28,1 is Fashion-MNIST's).
 */
import * as tf from '@tensorflow/tfjs-core';
import Table from 'cli-table3';
import os from 'node:os';
import { initBackend, wasmThreadsInUse, type BackendName } from '../src/backend/index.js';
import { inputShapeFor, randomSplit } from '../src/bench/index.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { trainingSchema } from '../src/spec/schema.js';
import { train } from '../src/training/loop.js';
import { planTraining } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1] : d;
};

async function main() {
  const modelName = arg('model', 'lenet-300-100');
  const be = arg('backend', 'wasm') as BackendName;
  const steps = Number(arg('steps', '20'));
  const batch = Number(arg('batch', '60'));
  await initBackend(be);
  const shape = process.argv.includes('--input') ? arg('input', '').split(',').map(Number) : inputShapeFor(modelName);
  const model = buildModel(modelName, shape, 10);
  const split = randomSplit(shape, batch * 8, 'train');
  const data = {
    name: 'r',
    inputShape: shape,
    numClasses: 10,
    train: split,
    val: randomSplit(shape, batch, 'v'),
    test: randomSplit(shape, batch, 'v'),
    source: 'r',
  };
  const rng = makeRng('m');
  const masks: Masks = {};
  for (const p of model.params)
    if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < 0.8 ? 1 : 0));
  const init = initialize(model, 'glorot-normal', 'p');
  const run = (n: number) =>
    train({
      model,
      data,
      plan: planTraining(trainingSchema.parse({ batchSize: batch, iterations: `${n}it`, evalEvery: `${n + 1}it` }), split.n),
      schedule: { kind: 'replay', from: 0 },
      init,
      masks,
      orderKey: ['p'],
    });
  await run(3); // warm-up
  const t0 = performance.now();
  await run(steps);
  const wall = (performance.now() - t0) / steps;
  const prof = await tf.profile(async () => {
    await run(steps);
  });
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of prof.kernels) {
    const key = process.argv.includes('--shapes') ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs) || 0;
    e.n++;
    by.set(key, e);
  }
  const rows = [...by].sort((a, b) => b[1].ms - a[1].ms);
  const sum = rows.reduce((s, [, e]) => s + e.ms, 0) / steps;
  const t = new Table({ head: ['kernel', 'ms/step', 'calls/step'], style: { head: [], border: [] } });
  for (const [name, e] of rows) t.push([name, (e.ms / steps).toFixed(2), (e.n / steps).toFixed(1)]);
  console.log(
    `${modelName} on ${be}${be === 'wasm' ? `×${await wasmThreadsInUse()}` : ''}, batch ${batch}, ${steps} steps (incl. 2 evals of ${batch}); load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(`wall ${wall.toFixed(2)} ms/step without profiler; kernels ${sum.toFixed(2)} ms/step; ${(prof.kernels.length / steps).toFixed(0)} kernels/step`);
  console.log(t.toString());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
