/**
 * Where a training step's time goes: runs `train()` (the real loop) for a few steps inside
 * `tf.profile` and sums kernel time by kernel name. The gap between the wall time per step and
 * the kernel sum is per-op overhead in JS (engine bookkeeping, tape, tensor creation).
 *
 *   lth bench --only profile [--models lenet-300-100] [--backends wasm] [--steps 30] [--batch 60] [--shapes] [--input 28,28,1]
 */
import * as tf from '@tensorflow/tfjs-core';
import Table from 'cli-table3';
import os from 'node:os';
import { initBackend, wasmThreadsInUse, type BackendName } from '../backend/index.js';
import { inputShapeFor, randomSplit } from './run.js';
import { buildModel, initialize, type Masks } from '../models/index.js';
import { trainingSchema } from '../spec/index.js';
import { train, planTraining } from '../training/index.js';
import { makeRng } from '../util/index.js';

/** Options of `lth bench --only profile` (src/cli/commands/bench.ts). */
export interface ProfileArgs {
  model?: string;
  backend?: BackendName;
  steps?: number;
  batch?: number;
  /** group kernels by name and input shapes, not by name alone */
  shapes?: boolean;
  /** the example shape (default: the bench's, [32, 32, 3] for conv nets; [28, 28, 1] is Fashion-MNIST's) */
  input?: readonly number[];
}

export async function profileStep(args: ProfileArgs): Promise<void> {
  const modelName = args.model ?? 'lenet-300-100';
  const be = args.backend ?? 'wasm';
  const steps = Number(args.steps ?? 20);
  const batch = Number(args.batch ?? 60);
  await initBackend(be);
  const shape = args.input ?? inputShapeFor(modelName);
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
    const key = args.shapes ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
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
