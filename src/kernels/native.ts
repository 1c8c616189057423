import { tf } from '../util/tf.js';
import {
  ACT_GRAD_COLS,
  BIAS_ACT,
  BIAS_ACT_GRAD,
  COLUMN_SUMS,
  GEMM_SMALL,
  IM2COL3X3,
  MASKED_ADAM,
  MAXPOOL2_GRAD,
  mergeAxes,
  registerTransposeGradient,
  SOFTMAX_CE,
  softmaxCrossEntropyRows,
  TRANSPOSE,
  type MaskedAdamAttrs,
} from './wasm.js';
import { SAMPLED_MATMUL, SPARSE_ADAM, SPARSE_MATMUL, type SparseLayout } from './sparse.js';
import { BATCH_MOMENTS, BATCH_NORM_GRAD, GLOBAL_AVG_POOL, GLOBAL_AVG_POOL_GRAD, RELU_GRAD } from './deepnets.js';

/**
 * Kernels of the 'native' backend: tfjs's cpu backend (tensors are plain Float32Arrays in JS
 * memory) with the hot ops replaced by lth's N-API addon (native/: OpenBLAS SGEMM, im2col
 * convolutions, and src/kernels/*.c compiled for AVX2). Every kernel hands the addon the
 * tensors' own arrays (`backend.data.get(dataId).values`) and a freshly allocated output array
 * that becomes the output tensor: no copies. Cases the addon does not cover (NCHW, dilated or
 * fused activations other than ReLU, non-float32 dtypes, broadcast batch shapes) run the cpu
 * backend's own kernel. src/backend/native.ts loads the addon and registers the backend.
 */

/** The addon's functions (native/src/addon.c). Arrays are written in place; shapes are not checked there. */
export interface NativeAddon {
  gemm(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: number,
    transB: number,
    strideA: number,
    strideB: number,
    bias: Float32Array | null,
    relu: number,
    threads: number,
  ): void;
  /**
   * Convolutions, NHWC activations, HWIO filters (shape: convShape's 17 numbers). With shape[16] = 1
   * they run on oneDNN's direct AVX2 kernels where oneDNN has one for the shape (a function of the
   * shape only; native/src/onednn.h), else on im2col + OpenBLAS. They return whether oneDNN ran.
   */
  conv2dForward(x: Float32Array, f: Float32Array, bias: Float32Array | null, out: Float32Array, shape: number[], relu: number): boolean;
  conv2dBackpropInput(dy: Float32Array, f: Float32Array, dx: Float32Array, shape: number[]): boolean;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, df: Float32Array, shape: number[]): boolean;
  maskedAdam(
    w: Float32Array,
    g: Float32Array,
    mask: Float32Array | null,
    m: Float32Array,
    v: Float32Array,
    fixed: Float32Array | null,
    out: Float32Array,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    a: number,
    eps: number,
  ): void;
  /** out = Wt·x (x [cols, n] → [rows, n]; ptr/idx: the CSR lists) or, transposed = 1, Wtᵀ·x (x [rows, n] → [cols, n]; the CSC lists), Wt at the kept entries (src/kernels/sparse.c) */
  sparseMatMul(
    wt: Float32Array,
    ptr: Int32Array,
    idx: Int32Array,
    x: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    n: number,
    transposed: number,
  ): void;
  /** dwt[r, c] = dz[r, :]·xt[c, :] at the CSR positions; dwt must be zero elsewhere */
  sampledMatMul(rowPtr: Int32Array, colIdx: Int32Array, dz: Float32Array, xt: Float32Array, dwt: Float32Array, rows: number, cols: number, n: number): void;
  /** out = w, then masked Adam (no mask) at the kept flat indices only */
  sparseAdam(
    w: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
    n: number,
    kept: Int32Array,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    a: number,
    eps: number,
  ): void;
  transpose3(x: Float32Array, out: Float32Array, e0: number, e1: number, e2: number, s0: number, s1: number, s2: number): void;
  im2col3x3(x: Float32Array, out: Float32Array, planes: number, h: number, w: number): void;
  maxpool2(x: Float32Array, out: Float32Array, n: number, h: number, w: number, c: number): void;
  maxpool2Grad(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number, h: number, w: number, c: number): void;
  columnSums(m: Float32Array, out: Float32Array, rows: number, cols: number): void;
  biasAct(z: Float32Array, b: Float32Array, out: Float32Array, rows: number, cols: number, relu: number): void;
  biasActGrad(dy: Float32Array, a: Float32Array, dz: Float32Array, db: Float32Array, rows: number, cols: number, relu: number): void;
  actGradCols(dy: Float32Array, a: Float32Array, dz: Float32Array, db: Float32Array, rows: number, cols: number, relu: number): void;
  /** mean [c] and biased variance [c] of x [rows, c] over its rows (float64 sums; native/src/batchnorm.c) */
  bnMoments(x: Float32Array, mean: Float32Array, variance: Float32Array, rows: number, c: number, threads: number): void;
  /** out = (x − mean)·gamma/√(variance + eps) + beta per channel of x [rows, c] */
  bnApply(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    out: Float32Array,
    rows: number,
    c: number,
    threads: number,
  ): void;
  /** dx, dgamma, dbeta of bnApply when mean and variance are x's own batch moments */
  bnGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    eps: number,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    c: number,
    threads: number,
  ): void;
  relu(x: Float32Array, out: Float32Array, n: number, threads: number): void;
  /** dx = dy·step(y) */
  reluGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, n: number, threads: number): void;
  /** out = xs[0] + xs[1] + … (2 to 16 arrays of n floats, summed in that order) */
  addN(xs: Float32Array[], out: Float32Array, n: number, threads: number): void;
  /** grad 0: dst [n, c] = the mean of src [n, hw, c] over hw (float64 sums); grad 1: its gradient, dst [n, hw, c] = src [n, c] / hw */
  globalAvgPool(src: Float32Array, dst: Float32Array, n: number, hw: number, c: number, grad: number): void;
  /**
   * isa: the instruction set the kernels are built for ("avx2"); blas/blasCore: OpenBLAS's build and
   * the core type it runs; onednn: oneDNN's version ("2.6.3"); onednnIsa: the instruction set
   * oneDNN's kernels are pinned to ("avx2").
   */
  info(): { isa: string; blas: string; blasCore: string; onednn: string; onednnIsa: string };
}

/** The tfjs cpu backend's tensor storage (MathBackendCPU), as these kernels use it. */
interface CpuStorage {
  data: { get(id: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  /** the native backend's recycled output arrays (src/backend/native.ts NativeBackend) */
  pool?: { take(n: number, zero: boolean): Float32Array };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

function view(be: CpuStorage, t: tf.TensorInfo): Float32Array {
  const v = be.data.get(t.dataId)?.values;
  if (!(v instanceof Float32Array)) throw new Error(`native kernels: tensor of dtype ${t.dtype} has no Float32Array storage`);
  return v;
}

/**
 * A new float32 output of `shape`. On the native backend its array may be a recycled one
 * (src/backend/buffer-pool.ts): `full` says the kernel writes every entry, so old values may
 * stay; otherwise it is zeroed, as a new array is.
 */
function output(be: CpuStorage, shape: number[], full = false): [tf.TensorInfo, Float32Array] {
  const values = be.pool ? be.pool.take(size(shape), !full) : new Float32Array(size(shape));
  return [be.makeTensorInfo(shape, 'float32', values), values];
}

const allFloat = (...ts: (tf.TensorInfo | undefined)[]) => ts.every((t) => t == null || t.dtype === 'float32');

/** Runs the cpu backend's own kernel `name` (the cases the addon does not cover). */
function cpuKernel(name: string, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`native kernels: the cpu backend has no ${name} kernel`);
  return k.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
}

/**
 * The 17 numbers of native/src/conv.h's conv_shape, from tfjs's Conv2DInfo: the geometry, the
 * thread count, and 1 = use oneDNN's direct kernels where it has them (always: which kernel runs
 * is decided in native/src/onednn.c from the shape alone, so the same spec gives the same bits).
 */
function convShape(c: tf.backend_util.Conv2DInfo, threads: number): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.filterHeight,
    c.filterWidth,
    c.outChannels,
    c.outHeight,
    c.outWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
    threads,
    1,
  ];
}

/** Batch dims of a BatchMatMul operand (all but the last two), and their product. */
const batchOf = (t: tf.TensorInfo) => size(t.shape.slice(0, -2));

/**
 * The native kernel functions, bound to one addon and a thread count (the GEMMs split rows over
 * that many threads; results do not depend on it). Keys are tfjs kernel names (BatchMatMul, …)
 * and lth's own (src/kernels/wasm.ts's names); registerNativeKernels registers them.
 */
function nativeKernels(addon: NativeAddon, threads: number): Record<string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]> {
  /** BatchMatMul / _FusedMatMul with equal batch dims or one side's batch = 1; else null (use cpu). */
  function matMul(args: KernelArgs, bias?: tf.TensorInfo, relu = false): tf.TensorInfo | null {
    const be = args.backend as CpuStorage;
    const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!allFloat(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
    const m = transposeA ? a.shape[a.shape.length - 1] : a.shape[a.shape.length - 2];
    const k = transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    const kb = transposeB ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
    const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const ba = batchOf(a);
    const bb = batchOf(b);
    if (k !== kb || (ba !== bb && ba !== 1 && bb !== 1)) return null;
    const outBatch = (ba >= bb ? a : b).shape.slice(0, -2);
    if (ba !== bb && a.shape.length !== b.shape.length && Math.min(ba, bb) !== 1) return null;
    if (bias && size(bias.shape) !== n) return null;
    const [out, o] = output(be, [...outBatch, m, n], k > 0);
    addon.gemm(
      view(be, a),
      view(be, b),
      o,
      Math.max(ba, bb),
      m,
      n,
      k,
      transposeA ? 1 : 0,
      transposeB ? 1 : 0,
      ba === 1 ? 0 : m * k,
      bb === 1 ? 0 : k * n,
      bias ? view(be, bias) : null,
      relu ? 1 : 0,
      threads,
    );
    return out;
  }

  function conv(args: KernelArgs, fused: boolean): tf.TensorInfo | tf.TensorInfo[] {
    const be = args.backend as CpuStorage;
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const at = args.attrs as unknown as tf.FusedConv2DAttrs;
    const act = fused ? at.activation : 'linear';
    const ok =
      at.dataFormat !== 'NCHW' &&
      (act === 'linear' || act === 'relu') &&
      preluActivationWeights == null &&
      allFloat(x, filter, bias) &&
      (bias == null || size(bias.shape) === filter!.shape[3]);
    if (!ok) return cpuKernel(fused ? 'FusedConv2D' : 'Conv2D', args);
    const info = tf.backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filter!.shape as [number, number, number, number],
      at.strides,
      at.dilations,
      at.pad,
      at.dimRoundingMode,
    );
    const [out, o] = output(be, info.outShape, true);
    addon.conv2dForward(view(be, x!), view(be, filter!), bias ? view(be, bias) : null, o, convShape(info, threads), act === 'relu' ? 1 : 0);
    return out;
  }

  /** Same-shape float32 sum of 2–16 tensors (AddN, Add without broadcasting); else null (use cpu). */
  function addN(be: CpuStorage, ts: tf.TensorInfo[]): tf.TensorInfo | null {
    const shape = ts[0].shape;
    if (ts.length < 2 || ts.length > 16 || !ts.every((t) => t.dtype === 'float32' && t.shape.join() === shape.join())) return null;
    const [out, o] = output(be, shape, true);
    addon.addN(
      ts.map((t) => view(be, t)),
      o,
      o.length,
      threads,
    );
    return out;
  }

  return {
    BatchMatMul: (args) => matMul(args) ?? cpuKernel('BatchMatMul', args),
    _FusedMatMul: (args) => {
      const { bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const act = (args.attrs as { activation?: string }).activation ?? 'linear';
      const out = preluActivationWeights == null && (act === 'linear' || act === 'relu') ? matMul(args, bias, act === 'relu') : null;
      return out ?? cpuKernel('_FusedMatMul', args);
    },
    Conv2D: (args) => conv(args, false),
    FusedConv2D: (args) => conv(args, true),
    Conv2DBackpropInput: (args) => {
      const be = args.backend as CpuStorage;
      const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
      const at = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
      if (at.dataFormat === 'NCHW' || !allFloat(dy, filter)) return cpuKernel('Conv2DBackpropInput', args);
      const info = tf.backend_util.computeConv2DInfo(
        at.inputShape,
        filter.shape as [number, number, number, number],
        at.strides,
        1,
        at.pad,
        at.dimRoundingMode,
      );
      const [out, o] = output(be, at.inputShape, true);
      addon.conv2dBackpropInput(view(be, dy), view(be, filter), o, convShape(info, threads));
      return out;
    },
    Conv2DBackpropFilter: (args) => {
      const be = args.backend as CpuStorage;
      const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
      const at = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (at.dataFormat === 'NCHW' || !allFloat(x, dy)) return cpuKernel('Conv2DBackpropFilter', args);
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], at.filterShape, at.strides, 1, at.pad, at.dimRoundingMode);
      const [out, o] = output(be, at.filterShape, true);
      addon.conv2dBackpropFilter(view(be, x), view(be, dy), o, convShape(info, threads));
      return out;
    },
    MaxPool: (args) => {
      const be = args.backend as CpuStorage;
      const { x } = args.inputs as Record<string, tf.TensorInfo>;
      const at = args.attrs as unknown as tf.MaxPoolAttrs;
      const two = (v: number | [number, number]) => (Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2);
      if (x.dtype !== 'float32' || x.shape.length !== 4 || !two(at.filterSize) || !two(at.strides) || at.pad !== 'valid') return cpuKernel('MaxPool', args);
      const [n, h, w, c] = x.shape;
      const [ph, pw] = [Math.floor(h / 2), Math.floor(w / 2)];
      const [out, o] = output(be, [n, ph, pw, c], true);
      addon.maxpool2(view(be, x), o, n, h, w, c);
      return out;
    },
    [BATCH_MOMENTS]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const c = x.shape[x.shape.length - 1];
      const [mean, m] = output(be, [c], true);
      const [variance, v] = output(be, [c], true);
      addon.bnMoments(view(be, x), m, v, size(x.shape) / c, c, threads);
      return [mean, variance];
    },
    FusedBatchNorm: (args) => {
      const be = args.backend as CpuStorage;
      const { x, mean, variance, scale, offset } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const c = x!.shape[x!.shape.length - 1];
      const perChannel = [mean, variance, scale, offset].every((t) => t != null && t.dtype === 'float32' && size(t.shape) === c && t.shape.length === 1);
      if (!perChannel || x!.dtype !== 'float32') return cpuKernel('FusedBatchNorm', args);
      const [out, o] = output(be, x!.shape, true);
      const eps = (args.attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
      addon.bnApply(view(be, x!), view(be, mean!), view(be, variance!), view(be, scale!), view(be, offset!), eps, o, size(x!.shape) / c, c, threads);
      return out;
    },
    [BATCH_NORM_GRAD]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { dy, x, gamma, mean, variance } = inputs as Record<string, tf.TensorInfo>;
      const c = x.shape[x.shape.length - 1];
      const [dx, dxv] = output(be, x.shape, true);
      const [dgamma, dg] = output(be, [c], true);
      const [dbeta, db] = output(be, [c], true);
      const eps = (attrs as { epsilon: number }).epsilon;
      addon.bnGrad(view(be, dy), view(be, x), view(be, gamma), view(be, mean), view(be, variance), eps, dxv, dg, db, size(x.shape) / c, c, threads);
      return [dx, dgamma, dbeta];
    },
    Relu: (args) => {
      const be = args.backend as CpuStorage;
      const { x } = args.inputs as Record<string, tf.TensorInfo>;
      if (x.dtype !== 'float32') return cpuKernel('Relu', args);
      const [out, o] = output(be, x.shape, true);
      addon.relu(view(be, x), o, o.length, threads);
      return out;
    },
    [RELU_GRAD]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { dy, y } = inputs as Record<string, tf.TensorInfo>;
      const [out, o] = output(be, dy.shape, true);
      addon.reluGrad(view(be, dy), view(be, y), o, o.length, threads);
      return out;
    },
    [GLOBAL_AVG_POOL]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const [n, h, w, c] = x.shape;
      const [out, o] = output(be, [n, c], true);
      addon.globalAvgPool(view(be, x), o, n, h * w, c, 0);
      return out;
    },
    [GLOBAL_AVG_POOL_GRAD]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { dy } = inputs as Record<string, tf.TensorInfo>;
      const shape = (attrs as { shape: number[] }).shape;
      const [out, o] = output(be, shape, true);
      addon.globalAvgPool(view(be, dy), o, shape[0], shape[1] * shape[2], shape[3], 1);
      return out;
    },
    AddN: (args) => addN(args.backend as CpuStorage, args.inputs as unknown as tf.TensorInfo[]) ?? cpuKernel('AddN', args),
    Add: (args) => {
      const { a, b } = args.inputs as Record<string, tf.TensorInfo>;
      return addN(args.backend as CpuStorage, [a, b]) ?? cpuKernel('Add', args);
    },
    [GEMM_SMALL]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { a, b } = inputs as Record<string, tf.TensorInfo>;
      const [m, k] = a.shape;
      const n = b.shape[1];
      const [out, o] = output(be, [m, n], k > 0);
      addon.gemm(view(be, a), view(be, b), o, 1, m, n, k, 0, 0, 0, 0, null, 0, threads);
      return out;
    },
    [MASKED_ADAM]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { w, g, m, v, mask, fixed } = inputs as Record<string, tf.TensorInfo>;
      const { beta1, beta2, a, epsilon } = attrs as unknown as MaskedAdamAttrs;
      const [out, o] = output(be, w.shape, true);
      // m and v are the optimizer's own variables: updated in place, as on wasm.
      const ms = view(be, m);
      const vs = view(be, v);
      const ma = mask ? view(be, mask) : null;
      const fx = fixed ? view(be, fixed) : null;
      addon.maskedAdam(view(be, w), view(be, g), ma, ms, vs, fx, o, size(w.shape), beta1, 1 - beta1, beta2, 1 - beta2, a, epsilon);
      return out;
    },
    [SPARSE_MATMUL]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { wt, x } = inputs as Record<string, tf.TensorInfo>;
      const { layout, transposed } = attrs as unknown as { layout: SparseLayout; transposed: boolean };
      const n = x.shape[1];
      const [out, o] = output(be, [transposed ? layout.cols : layout.rows, n], true);
      const [ptr, idx] = transposed ? [layout.colPtr, layout.rowIdx] : [layout.rowPtr, layout.colIdx];
      addon.sparseMatMul(view(be, wt), ptr, idx, view(be, x), o, layout.rows, layout.cols, n, transposed ? 1 : 0);
      return out;
    },
    [SAMPLED_MATMUL]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { dz, xT } = inputs as Record<string, tf.TensorInfo>;
      const { layout } = attrs as unknown as { layout: SparseLayout };
      const [out, o] = output(be, [layout.rows, layout.cols]);
      addon.sampledMatMul(layout.rowPtr, layout.colIdx, view(be, dz), view(be, xT), o, layout.rows, layout.cols, dz.shape[1]);
      return out;
    },
    [SPARSE_ADAM]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { w, g, m, v } = inputs as Record<string, tf.TensorInfo>;
      const { beta1, beta2, a, epsilon, layout } = attrs as unknown as MaskedAdamAttrs & { layout: SparseLayout };
      const [out, o] = output(be, w.shape, true);
      // m and v are updated in place, as by MASKED_ADAM
      addon.sparseAdam(view(be, w), view(be, g), view(be, m), view(be, v), o, size(w.shape), layout.kept, beta1, 1 - beta1, beta2, 1 - beta2, a, epsilon);
      return out;
    },
    [TRANSPOSE]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const perm = (attrs as { perm: number[] }).perm;
      const [out, o] = output(
        be,
        perm.map((p) => x.shape[p]),
        true,
      );
      const mg = mergeAxes(x.shape, perm)!;
      addon.transpose3(view(be, x), o, mg.extents[0], mg.extents[1], mg.extents[2], mg.strides[0], mg.strides[1], mg.strides[2]);
      return out;
    },
    [IM2COL3X3]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { x } = inputs as Record<string, tf.TensorInfo>;
      const [c, n, h, w] = x.shape;
      const [out, o] = output(be, [9, c, n, h, w], true);
      addon.im2col3x3(view(be, x), o, c * n, h, w);
      return out;
    },
    [MAXPOOL2_GRAD]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { x, dy } = inputs as Record<string, tf.TensorInfo>;
      const [n, h, w, c] = x.shape;
      const [out, o] = output(be, x.shape, true);
      addon.maxpool2Grad(view(be, x), view(be, dy), o, n, h, w, c);
      return out;
    },
    [COLUMN_SUMS]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { m } = inputs as Record<string, tf.TensorInfo>;
      const [rows, cols] = m.shape;
      const [out, o] = output(be, [cols], true);
      addon.columnSums(view(be, m), o, rows, cols);
      return out;
    },
    [BIAS_ACT]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { z, b } = inputs as Record<string, tf.TensorInfo>;
      const [out, o] = output(be, z.shape, true);
      addon.biasAct(view(be, z), view(be, b), o, z.shape[0], z.shape[1], (attrs as { relu: boolean }).relu ? 1 : 0);
      return out;
    },
    [BIAS_ACT_GRAD]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { dy, a } = inputs as Record<string, tf.TensorInfo>;
      const [dz, dzv] = output(be, dy.shape, true);
      const [db, dbv] = output(be, [dy.shape[0]], true);
      addon.biasActGrad(view(be, dy), view(be, a), dzv, dbv, dy.shape[0], dy.shape[1], (attrs as { relu: boolean }).relu ? 1 : 0);
      return [dz, db];
    },
    [ACT_GRAD_COLS]: ({ inputs, backend, attrs }) => {
      const be = backend as CpuStorage;
      const { dy, a } = inputs as Record<string, tf.TensorInfo>;
      const cols = dy.shape[dy.shape.length - 1];
      const rows = size(dy.shape) / cols;
      const [dz, dzv] = output(be, dy.shape, true);
      const [db, dbv] = output(be, [cols], true);
      addon.actGradCols(view(be, dy), view(be, a), dzv, dbv, rows, cols, (attrs as { relu: boolean }).relu ? 1 : 0);
      return [dz, db];
    },
    [SOFTMAX_CE]: ({ inputs, backend }) => {
      const be = backend as CpuStorage;
      const { logits, labels } = inputs as Record<string, tf.TensorInfo>;
      const [n, c] = logits.shape;
      const y = be.data.get(labels.dataId)?.values;
      if (!(y instanceof Int32Array)) throw new Error('native kernels: softmax cross-entropy labels must be int32');
      const [grad, g] = output(be, [n, c]);
      const [loss, l] = output(be, []);
      l[0] = softmaxCrossEntropyRows(view(be, logits), y, g, n, c) / n;
      return [loss, grad];
    },
  };
}

/**
 * On the native backend, the input and filter gradients of an NHWC convolution of x [n, h, w, ci]
 * with f [kh, kw, ci, co] (stride `strides`, tfjs 'same' or 'valid' padding), given dz
 * [n, h', w', co], as two lazy thunks that run the native Conv2DBackpropInput /
 * Conv2DBackpropFilter kernels (one im2col GEMM each, no flipped filter, dilation or
 * transposes). Null on other backends or with LTH_FUSED=0: models/ops.ts then uses its own
 * gradients.
 */
export function nativeConv2dGrads(
  x: tf.Tensor4D,
  f: tf.Tensor4D,
  dz: tf.Tensor4D,
  strides = 1,
  pad: 'same' | 'valid' = 'same',
): [() => tf.Tensor4D, () => tf.Tensor4D] | null {
  if (tf.getBackend() !== 'native' || process.env.LTH_FUSED === '0') return null;
  const conv = { strides, pad, dataFormat: 'NHWC' };
  return [
    () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter: f }, { ...conv, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
    () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...conv, filterShape: f.shape } as unknown as tf.NamedAttrMap) as tf.Tensor4D,
  ];
}

/**
 * Registers backend `name`'s kernels: every cpu-backend kernel under `name`, then the native
 * ones over them (call after tf.registerBackend(name, () => new MathBackendCPU())). Idempotent.
 */
export function registerNativeKernels(name: string, addon: NativeAddon, threads: number): void {
  const own = nativeKernels(addon, threads);
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (own[k.kernelName] == null && tf.getKernel(k.kernelName, name) == null) tf.registerKernel({ ...k, backendName: name });
  }
  for (const [kernelName, f] of Object.entries(own)) {
    if (tf.getKernel(kernelName, name) != null) tf.unregisterKernel(kernelName, name);
    tf.registerKernel({ kernelName, backendName: name, kernelFunc: f as tf.KernelFunc });
  }
  registerTransposeGradient();
}
