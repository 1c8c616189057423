/**
 * Where a training step's time goes: runs `train()` (the real loop) for 2·S steps and takes
 * the median time between successive steps; then S + 1 steps inside `tf.profile`, and sums
 * kernel time by kernel name over the S steps between the first and the last update. Both
 * leave out what every `train()` call pays once (weights and optimizer state set up, the
 * evaluations at its start and end), which at S = 8 was a third of the "step" time of the
 * earlier whole-call measurement. The gap between the wall time per step and the kernel sum is per-op overhead in
 * JS (engine bookkeeping, tape, tensor creation).
 *
 *   lth bench --only profile [--models lenet-300-100] [--backends wasm] [--steps 30] [--batch 60] [--shapes] [--input 28,28,1]
 */
import { tf } from '../util/tf.js';
import Table from 'cli-table3';
import os from 'node:os';
import { initBackend, wasmThreadsInUse, type BackendName } from '../backend/index.js';
import { benchMasks, inputShapeFor, randomDataset } from './run.js';
import { buildModel, initialize } from '../models/index.js';
import { trainingSchema } from '../spec/index.js';
import { train, resolveSchedule } from '../training/index.js';

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
  const data = randomDataset(shape, batch * 8, batch);
  const masks = benchMasks(model);
  const init = initialize(model, 'glorot-normal', 'p');
  const run = (n: number, onStep?: (done: number, total: number) => void) =>
    train({
      callbacks: onStep ? { onStep } : undefined,
      model,
      data,
      plan: resolveSchedule(trainingSchema.parse({ batchSize: batch, iterations: `${n}it`, evalEvery: `${n + 1}it` }), data.train.n),
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
  // Kernel time per step: one run of S + 1 steps under tf.profile, with a marker kernel after
  // every update (a Neg of a [7,1,1,1,1] tensor, which nothing else runs); the kernels between
  // the first and the last marker are exactly S steps, without train()'s set-up and evaluations.
  const isMarker = (k: { name: string; inputShapes: unknown }) => k.name === 'Neg' && JSON.stringify(k.inputShapes) === '[[7,1,1,1,1]]';
  const profStamps: number[] = [];
  const prof = await tf.profile(async () => {
    await run(steps + 1, () => {
      tf.tidy(() => tf.neg(tf.zeros([7, 1, 1, 1, 1]))).dispose();
      profStamps.push(performance.now());
    });
  });
  const marks = prof.kernels.flatMap((k, i) => (isMarker(k) ? [i] : []));
  if (marks.length !== steps + 1) throw new Error(`profile: expected ${steps + 1} step markers, found ${marks.length}`);
  const stepKernels = prof.kernels.slice(marks[0] + 1, marks[marks.length - 1]).filter((k) => !isMarker(k));
  // The same steps one by one: wall time (profiled) over GEMM time, median over the steps, so
  // that both come from the same seconds of a machine whose speed drifts.
  const isGemm = (k: { name: string }) => GEMM_KERNELS.has(k.name);
  const ratios = marks
    .slice(1)
    .map((m, i) => {
      const ks = prof.kernels.slice(marks[i] + 1, m);
      return (profStamps[i + 1] - profStamps[i]) / ks.filter(isGemm).reduce((a, k) => a + (Number(k.kernelTimeMs) || 0), 0);
    })
    .sort((a, b) => a - b);
  const stepRatio = ratios[Math.floor(ratios.length / 2)];
  const by = new Map<string, { ms: number; n: number }>();
  for (const k of stepKernels) {
    const key = args.shapes ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = by.get(key) ?? { ms: 0, n: 0 };
    e.ms += Number(k.kernelTimeMs) || 0;
    e.n++;
    by.set(key, e);
  }
  const rows = [...by].sort((a, b) => b[1].ms - a[1].ms);
  // lth's custom-gradient ops (models/ops.ts lazyGradOp) show up as 'forward' whose time
  // contains the kernels they run: listed, not summed.
  const summed = rows.filter(([name]) => !name.startsWith('forward'));
  const sum = summed.reduce((s, [, e]) => s + e.ms, 0) / steps;
  const gemm = summed.filter(([name]) => GEMM_KERNELS.has(name.split(' ')[0])).reduce((s, [, e]) => s + e.ms, 0) / steps;
  const t = new Table({ head: ['kernel', 'ms/step', 'calls/step'], style: { head: [], border: [] } });
  for (const [name, e] of rows)
    t.push([
      name.startsWith('forward') ? `${name} (lth's custom-gradient wrapper: its time includes the kernels it runs; not summed)` : name,
      (e.ms / steps).toFixed(2),
      (e.n / steps).toFixed(1),
    ]);
  console.log(
    `${modelName} on ${be}${be === 'wasm' ? `×${await wasmThreadsInUse()}` : ''}, batch ${batch}, input [${shape.join(', ')}], ${steps} step${steps === 1 ? '' : 's'}; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `wall ${wall.toFixed(2)} ms/step median (p10 ${p10.toFixed(2)}) without profiler; kernels ${sum.toFixed(2)} ms/step, of which GEMM ${gemm.toFixed(2)} (${((100 * gemm) / sum).toFixed(0)}%); profiled step over its GEMM time ${stepRatio.toFixed(2)}× (median of ${ratios.length} step${ratios.length === 1 ? '' : 's'}); ${(stepKernels.length / steps).toFixed(0)} kernels/step`,
  );
  console.log(t.toString());
}

/** The kernels that are XNNPACK GEMMs on wasm (matrix products and convolutions; not lth's own small-product loop). */
const GEMM_KERNELS = new Set(['BatchMatMul', '_FusedMatMul', 'Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);
