/**
 * Where a training step's time goes: runs `train()` (the real loop) for 2·S steps and takes
 * the median time between successive steps; then, inside `tf.profile`, for S and for 2·S steps,
 * and reports kernel time by kernel name from the difference divided by S. Both remove what
 * every `train()` call pays once (weights and optimizer state set up, the evaluations at its
 * start and end), which at S = 8 was a third of the "step" time of the whole-call measurement. The gap between the wall time per step and the kernel sum is per-op overhead in
 * JS (engine bookkeeping, tape, tensor creation).
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
  const run = (n: number, onStep?: (done: number, total: number) => void) =>
    train({
      callbacks: onStep ? { onStep } : undefined,
      model,
      data,
      plan: planTraining(trainingSchema.parse({ batchSize: batch, iterations: `${n}it`, evalEvery: `${n + 1}it` }), split.n),
      schedule: { kind: 'replay', from: 0 },
      init,
      masks,
      orderKey: ['p'],
    });
  await run(3); // warm-up
  // Wall time per step: the time between successive progress callbacks (each fires after an
  // update; wasm kernels are synchronous, so the update is done), median over the steps.
  const stamps: number[] = [];
  await run(2 * steps, () => stamps.push(performance.now()));
  const per = stamps
    .slice(1)
    .map((t, i) => t - stamps[i])
    .sort((a, b) => a - b);
  const wall = per[Math.floor(per.length / 2)];
  const p10 = per[Math.floor(per.length / 10)];
  const byName = async (n: number): Promise<{ by: Map<string, { ms: number; n: number }>; count: number }> => {
    const prof = await tf.profile(async () => {
      await run(n);
    });
    const by = new Map<string, { ms: number; n: number }>();
    for (const k of prof.kernels) {
      const key = args.shapes ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
      const e = by.get(key) ?? { ms: 0, n: 0 };
      e.ms += Number(k.kernelTimeMs) || 0;
      e.n++;
      by.set(key, e);
    }
    return { by, count: prof.kernels.length };
  };
  const p1 = await byName(steps);
  const p2 = await byName(2 * steps);
  const by = new Map<string, { ms: number; n: number }>();
  for (const [key, e2] of p2.by) {
    const e1 = p1.by.get(key) ?? { ms: 0, n: 0 };
    if (e2.n > e1.n) by.set(key, { ms: e2.ms - e1.ms, n: e2.n - e1.n });
  }
  const rows = [...by].sort((a, b) => b[1].ms - a[1].ms);
  // lth's custom-gradient ops (models/ops.ts lazyGradOp) show up as 'forward' whose time
  // contains the kernels they run: listed, not summed.
  const summed = rows.filter(([name]) => !name.startsWith('forward'));
  const sum = summed.reduce((s, [, e]) => s + e.ms, 0) / steps;
  const gemm = summed.filter(([name]) => GEMM_KERNELS.has(name.split(' ')[0])).reduce((s, [, e]) => s + e.ms, 0) / steps;
  const t = new Table({ head: ['kernel', 'ms/step', 'calls/step'], style: { head: [], border: [] } });
  for (const [name, e] of rows)
    t.push([name.startsWith('forward') ? `${name} (contains kernels below; not summed)` : name, (e.ms / steps).toFixed(2), (e.n / steps).toFixed(1)]);
  console.log(
    `${modelName} on ${be}${be === 'wasm' ? `×${await wasmThreadsInUse()}` : ''}, batch ${batch}, input [${shape.join(', ')}], steps ${2 * steps} − ${steps}; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `wall ${wall.toFixed(2)} ms/step median (p10 ${p10.toFixed(2)}) without profiler; kernels ${sum.toFixed(2)} ms/step, of which GEMM ${gemm.toFixed(2)} (wall/GEMM ${(wall / gemm).toFixed(2)}×); ${((p2.count - p1.count) / steps).toFixed(0)} kernels/step`,
  );
  console.log(t.toString());
}

/** The kernels that are XNNPACK GEMMs on wasm (matrix products and convolutions; not lth's own small-product loop). */
const GEMM_KERNELS = new Set(['BatchMatMul', '_FusedMatMul', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);
