/**
 * Training-step and kernel benchmark for the layer primitives in src/models/ops.ts.
 *
 *   lth bench --only kernels [--backends cpu,wasm] [--nets lenet,conv2,conv4,conv6]
 *        [--batch 60] [--steps 30] [--budget 30] [--json FILE]
 *
 * One step = forward + backward (tf.variableGrads) + Adam update + mask multiply on every
 * weight, batch 60, synchronised by reading the loss. Reported: median ms over `--iters`
 * steps after 2 warm-up steps (fewer if a configuration exceeds `--budget` seconds).
 * "naive" = plain tf.matMul / tf.conv2d (tfjs's own gradients); "fast" = src/models/ops.ts (dense layers
 * through ops.denseT, transposed in and out per layer: `dense` below).
 * wasm threads: env LTH_WASM_THREADS (default: all cores; 1 = tfjs's stock loader).
 */
import { tf } from '../util/tf.js';
import Table from 'cli-table3';
import fs from 'node:fs';
import os from 'node:os';
import { initBackend, wasmThreadsInUse, type BackendName } from '../backend/index.js';
import { conv2d, denseT, maxPool } from '../models/index.js';
import { UserError } from '../util/index.js';

/** x·W + b for x [n, in], W [in, out], b [out], computed as (Wᵀ·xᵀ + b)ᵀ by ops.denseT (as test/helpers/ops.ts). */
function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return tf.transpose(denseT(tf.transpose(x), tf.transpose(w), b));
}

/** [n, h, w, c] → [n, h·w·c] (row-major). */
function flatten(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(x, [n, h * w * c]);
}

interface Ops {
  dense: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
  conv: (x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D;
}
const FAST: Ops = { dense, conv: conv2d };
const NAIVE: Ops = {
  dense: (x, w, b) => tf.add(tf.matMul(x, w), b),
  conv: (x, f, b) => tf.add(tf.conv2d(x, f, 1, 'same'), b),
};

interface NetDef {
  name: string;
  input: number[]; // per example
  convs: (number | 'pool')[];
  fcs: number[];
}
const NETS: Record<string, NetDef> = {
  lenet: { name: 'LeNet-300-100', input: [784], convs: [], fcs: [300, 100, 10] },
  conv2: { name: 'Conv-2', input: [32, 32, 3], convs: [64, 64, 'pool'], fcs: [256, 256, 10] },
  conv4: { name: 'Conv-4', input: [32, 32, 3], convs: [64, 64, 'pool', 128, 128, 'pool'], fcs: [256, 256, 10] },
  conv6: {
    name: 'Conv-6',
    input: [32, 32, 3],
    convs: [64, 64, 'pool', 128, 128, 'pool', 256, 256, 'pool'],
    fcs: [256, 256, 10],
  },
};

interface Layer {
  kind: 'conv' | 'pool' | 'fc';
  w?: tf.Variable;
  b?: tf.Variable;
  mask?: tf.Tensor;
}

function buildNet(def: NetDef): Layer[] {
  const layers: Layer[] = [];
  let c = def.input.length === 3 ? def.input[2] : 0;
  let hw = def.input.length === 3 ? def.input[0] : 0;
  let flat = def.input.length === 1 ? def.input[0] : 0;
  const mk = (shape: number[], fanIn: number): [tf.Variable, tf.Tensor] => {
    const w = tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(shape), 0.2), 'float32'));
    return [w, mask];
  };
  for (const l of def.convs) {
    if (l === 'pool') {
      layers.push({ kind: 'pool' });
      hw /= 2;
    } else {
      const [w, mask] = mk([3, 3, c, l], 9 * c);
      layers.push({ kind: 'conv', w, mask, b: tf.variable(tf.zeros([l])) });
      c = l;
    }
  }
  if (def.convs.length > 0) flat = hw * hw * c;
  for (const n of def.fcs) {
    const [w, mask] = mk([flat, n], flat);
    layers.push({ kind: 'fc', w, mask, b: tf.variable(tf.zeros([n])) });
    flat = n;
  }
  return layers;
}

function forward(ops: Ops, layers: Layer[], x: tf.Tensor): tf.Tensor2D {
  let h: tf.Tensor = x;
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    if (l.kind === 'pool') h = maxPool(h as tf.Tensor4D);
    else if (l.kind === 'conv') h = tf.relu(ops.conv(h as tf.Tensor4D, l.w as tf.Tensor4D, l.b as tf.Tensor1D));
    else {
      if (h.rank === 4) h = flatten(h as tf.Tensor4D);
      h = ops.dense(h as tf.Tensor2D, l.w as tf.Tensor2D, l.b as tf.Tensor1D);
      if (!last) h = tf.relu(h);
    }
  });
  return h as tf.Tensor2D;
}

function crossEntropy(logits: tf.Tensor2D, onehot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timeIt(f: () => void, iters: number, budgetS: number, warmup = 2): { ms: number; n: number } {
  const t0 = performance.now();
  for (let i = 0; i < warmup; i++) f();
  const ts: number[] = [];
  while (ts.length < iters) {
    const s = performance.now();
    f();
    ts.push(performance.now() - s);
    if ((performance.now() - t0) / 1000 > budgetS && ts.length >= 3) break;
  }
  return { ms: median(ts), n: ts.length };
}

interface StepResult {
  backend: string;
  net: string;
  variant: 'naive' | 'fast';
  ms: number | null;
  steps: number;
  error?: string;
}

function benchStep(def: NetDef, ops: Ops, batch: number, iters: number, budget: number): { ms: number; n: number } {
  const layers = buildNet(def);
  const vars = layers.flatMap((l) => (l.w ? [l.w, l.b as tf.Variable] : []));
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, ...def.input]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10) as tf.Tensor2D;
  const step = (): void => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(forward(ops, layers, x), y), vars);
      for (const l of layers) if (l.w) grads[l.w.name] = tf.mul(grads[l.w.name], l.mask as tf.Tensor);
      opt.applyGradients(grads as unknown as Parameters<typeof opt.applyGradients>[0]);
      for (const l of layers) if (l.w) l.w.assign(tf.mul(l.w, l.mask as tf.Tensor));
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  try {
    return timeIt(step, iters, budget);
  } finally {
    opt.dispose();
    tf.dispose([x, y, ...vars, ...layers.map((l) => l.mask).filter((m): m is tf.Tensor => m != null)]);
  }
}

interface KernelResult {
  backend: string;
  kernel: string;
  ms: number | null;
  error?: string;
}

function kernelBenches(batch: number): [string, () => tf.Tensor][] {
  const k: [string, () => tf.Tensor][] = [];
  const x = tf.randomNormal([batch, 784]);
  const g = tf.randomNormal([batch, 300]);
  const w = tf.randomNormal([784, 300]);
  k.push([`matMul x·W [${batch},784]·[784,300]`, () => tf.matMul(x, w)]);
  k.push(['dW naive: matMul(x, g, transposeA)', () => tf.matMul(x, g, true, false)]);
  k.push(['dW fast: matMul(transpose(x), g)', () => tf.matMul(tf.transpose(x), g)]);
  k.push(['dx naive: matMul(g, W, transposeB)', () => tf.matMul(g, w, false, true)]);
  k.push(['dx fast: matMul(g, transpose(W))', () => tf.matMul(g, tf.transpose(w))]);
  const xc = tf.randomNormal([batch, 32, 32, 64]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
  const dyc = tf.randomNormal([batch, 32, 32, 64]) as tf.Tensor4D;
  k.push([`conv2d fwd 64→64 [${batch},32,32,64]`, () => tf.conv2d(xc, f, 1, 'same')]);
  const gradOf = (which: 0 | 1): tf.Tensor =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, tf.zeros([64])), dyc)))([xc, f])[which];
  k.push(['conv2d fast: fwd + dx + dW (tf.grads)', () => gradOf(1)]);
  k.push(['conv dx naive: Conv2DBackpropInput', () => tf.conv2dTranspose(dyc, f, [batch, 32, 32, 64], 1, 'same')]);
  k.push(['relu grad (mul·step) 4M', () => tf.mul(dyc, tf.step(xc))]);
  k.push(['maxPool 2×2 fwd', () => tf.maxPool(xc, 2, 2, 'valid')]);
  k.push(['bias grad tf.sum(dy,[0,1,2])', () => tf.sum(dyc, [0, 1, 2])]);
  k.push(['transpose [N,H,W,C]→[C,H,W,N]', () => tf.transpose(xc, [3, 1, 2, 0])]);
  return k;
}

/** Options of `lth bench --only kernels` (src/cli/commands/bench.ts); defaults as shown in the header. */
export interface KernelBenchArgs {
  backends?: string;
  nets?: string;
  batch?: number;
  iters?: number;
  budget?: number;
  json?: string;
}

export async function benchKernels(args: KernelBenchArgs): Promise<void> {
  const backends = (args.backends ?? 'cpu,wasm').split(',') as BackendName[];
  const nets = (args.nets ?? 'lenet,conv2,conv4,conv6').split(',');
  const batch = Number(args.batch ?? 60);
  const iters = Number(args.iters ?? 20);
  const budget = Number(args.budget ?? 20);
  const steps: StepResult[] = [];
  const kernels: KernelResult[] = [];
  const info: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadavg: os.loadavg(),
    batch,
    iters,
  };

  for (const be of backends) {
    let got: string;
    try {
      got = await initBackend(be);
    } catch (e) {
      console.error(`${be}: does not load (${String(e)})`);
      continue;
    }
    const label = be === 'wasm' ? `wasm×${await wasmThreadsInUse()}` : got;
    info[`${be}Threads`] = be === 'wasm' ? await wasmThreadsInUse() : undefined;
    for (const key of nets) {
      const def = NETS[key];
      if (!def) throw new UserError(`--nets: unknown net "${key}" (use ${Object.keys(NETS).join(', ')})`);
      for (const variant of ['naive', 'fast'] as const) {
        // naive conv on cpu is seconds per step: a smaller budget keeps the run short
        const b = variant === 'naive' && be === 'cpu' && def.convs.length > 0 ? Math.min(budget, 10) : budget;
        try {
          const r = benchStep(def, variant === 'fast' ? FAST : NAIVE, batch, iters, b);
          steps.push({ backend: label, net: def.name, variant, ms: r.ms, steps: r.n });
        } catch (e) {
          const msg = String(e instanceof Error ? e.message : e)
            .split('\n')[0]
            .slice(0, 80);
          steps.push({ backend: label, net: def.name, variant, ms: null, steps: 0, error: msg });
        }
        process.stderr.write(`  ${label} ${def.name} ${variant} done\n`);
      }
    }
    for (const [name, f] of kernelBenches(batch)) {
      try {
        const r = timeIt(
          () => {
            const t = tf.tidy(f);
            t.dataSync();
            t.dispose();
          },
          Math.min(iters, 10),
          be === 'cpu' ? 5 : budget,
          1,
        );
        kernels.push({ backend: label, kernel: name, ms: r.ms });
      } catch (e) {
        kernels.push({ backend: label, kernel: name, ms: null, error: String(e).split('\n')[0].slice(0, 60) });
      }
    }
    tf.disposeVariables();
  }

  const fmt = (ms: number | null | undefined, err?: string): string => (ms == null ? (err ? `fails: ${err.slice(0, 40)}` : '—') : ms.toFixed(ms < 10 ? 2 : 1));
  const labels = [...new Set(steps.map((s) => s.backend).concat(kernels.map((k) => k.backend)))];
  const st = new Table({ head: ['ms / training step', ...labels.flatMap((l) => [`${l} naive`, `${l} fast`])] });
  for (const key of nets) {
    const name = NETS[key].name;
    st.push([
      name,
      ...labels.flatMap((l) =>
        (['naive', 'fast'] as const).map((v) => {
          const r = steps.find((s) => s.backend === l && s.net === name && s.variant === v);
          return r ? fmt(r.ms, r.error) : '—';
        }),
      ),
    ]);
  }
  const kt = new Table({ head: ['ms / kernel', ...labels] });
  for (const name of [...new Set(kernels.map((k) => k.kernel))]) {
    kt.push([
      name,
      ...labels.map((l) => {
        const r = kernels.find((k) => k.backend === l && k.kernel === name);
        return r ? fmt(r.ms, r.error) : '—';
      }),
    ]);
  }
  console.log(
    `batch ${batch}, median of ≤${iters} steps after 2 warm-up; ${os.cpus().length} cores, load avg ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(st.toString());
  console.log(kt.toString());
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ info, steps, kernels }, null, 2));
    console.log(`wrote ${args.json}`);
  }
}
