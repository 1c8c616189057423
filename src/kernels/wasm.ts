import { tf } from '../util/tf.js';
import { kernelsSharedWasm, kernelsWasm } from './binaries.js';
import { SAMPLED_MATMUL, SPARSE_ADAM, SPARSE_MATMUL, type SparseLayout } from './sparse.js';

/**
 * Fused kernels for the wasm backend, written in C (src/kernels/*.c), compiled to wasm SIMD
 * (scripts/build-kernels) and run directly on the tfjs wasm heap: the module imports the very
 * memory tfjs's module uses, so a kernel reads and writes tensors in place, with no copies.
 *
 * They are registered as ordinary tfjs kernels (`tf.registerKernel`) for the 'wasm' backend
 * only; callers ask `hasFusedAdam()` and otherwise use plain tensor ops, which every backend
 * runs (and which the fused kernel reproduces bit for bit; test/wasm-kernels.test.ts).
 */

export const MASKED_ADAM = 'LthMaskedAdam';

export interface MaskedAdamAttrs {
  beta1: number;
  beta2: number;
  /** step size with Adam's bias correction folded in */
  a: number;
  epsilon: number;
}

interface WasmHeapBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(id: object): boolean;
}

/** The C functions (src/kernels/*.c); pointers are byte offsets into the tfjs heap. */
interface Exports {
  masked_adam(
    w: number,
    g: number,
    mask: number,
    m: number,
    v: number,
    fixed: number,
    out: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    a: number,
    eps: number,
  ): void;
  transpose3(inp: number, out: number, e0: number, e1: number, e2: number, s0: number, s1: number, s2: number): void;
  maxpool2_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number): void;
  column_sums(m: number, acc: number, out: number, rows: number, cols: number): void;
  im2col3x3(inp: number, out: number, planes: number, h: number, w: number): void;
  bias_act(z: number, b: number, out: number, rows: number, cols: number, relu: number): void;
  bias_act_grad(dy: number, a: number, dz: number, db: number, rows: number, cols: number, relu: number): void;
  act_grad_cols(dy: number, a: number, dz: number, acc: number, db: number, rows: number, cols: number, relu: number): void;
  gemm_small(a: number, b: number, c: number, m: number, k: number, n: number): void;
  masked_adam_at(
    idx: number,
    nnz: number,
    w: number,
    g: number,
    m: number,
    v: number,
    out: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    a: number,
    eps: number,
  ): void;
  sparse_rows_matmul(wt: number, rowPtr: number, colIdx: number, xt: number, zt: number, rows: number, cols: number, n: number): void;
  sparse_cols_matmul_t(wt: number, colPtr: number, rowIdx: number, dz: number, dxt: number, rows: number, cols: number, n: number): void;
  sampled_matmul(rowPtr: number, colIdx: number, dz: number, xt: number, dwt: number, rows: number, cols: number, n: number): void;
}

interface Bound {
  fns: Exports;
  memory: WebAssembly.Memory;
  be: WasmHeapBackend;
  ptr(t: tf.TensorInfo | undefined): number;
}

const instances = new WeakMap<object, Bound>();

function bind(backend: unknown): Bound {
  const be = backend as WasmHeapBackend;
  let b = instances.get(be);
  if (!b) {
    const memory = be.wasm.wasmMemory ?? be.wasm.asm?.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error('lth kernels: cannot find the wasm backend memory');
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? kernelsSharedWasm : kernelsWasm, 'base64');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    b = { fns: inst.exports as unknown as Exports, memory, be, ptr: (t) => (t ? be.dataIdMap.get(t.dataId)!.memoryOffset : 0) };
    instances.set(be, b);
  }
  return b;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function maskedAdamWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { w, g, m, v, mask, fixed } = inputs as Record<string, tf.TensorInfo>;
  const { beta1, beta2, a, epsilon } = attrs as unknown as MaskedAdamAttrs;
  const out = k.be.makeOutput(w.shape, 'float32');
  // 1 − β is rounded to float32 from the float64 difference, as tf.mul(g, 1 − β) rounds its scalar.
  k.fns.masked_adam(
    k.ptr(w),
    k.ptr(g),
    k.ptr(mask),
    k.ptr(m),
    k.ptr(v),
    k.ptr(fixed),
    k.ptr(out),
    size(w.shape),
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    a,
    epsilon,
  );
  return out;
}

/**
 * Runs f with copies of the index lists `lists` on the tfjs heap (their byte offsets), freed
 * after. A sparse layout's lists live in JS memory (src/kernels/sparse.ts); copying them costs
 * 4 bytes per kept entry and list, small against the kernel's n multiply-adds per kept entry.
 */
function withHeapLists<T>(k: Bound, lists: Int32Array[], f: (...ptrs: number[]) => T): T {
  const held = lists.map((l) => {
    const t = k.be.makeOutput([Math.max(1, l.length)], 'int32');
    new Int32Array(k.memory.buffer, k.ptr(t), l.length).set(l);
    return t;
  });
  try {
    return f(...held.map((t) => k.ptr(t)));
  } finally {
    for (const t of held) k.be.disposeData(t.dataId);
  }
}

/** Wt·xT or Wtᵀ·dz at the kept entries (src/kernels/sparse.c; attrs from sparse.ts sparseMatMul). */
function sparseMatMulWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { wt, x } = inputs as Record<string, tf.TensorInfo>;
  const { layout, transposed } = attrs as unknown as { layout: SparseLayout; transposed: boolean };
  const n = x.shape[1];
  const out = k.be.makeOutput([transposed ? layout.cols : layout.rows, n], 'float32');
  const run = transposed ? k.fns.sparse_cols_matmul_t : k.fns.sparse_rows_matmul;
  const lists = transposed ? [layout.colPtr, layout.rowIdx] : [layout.rowPtr, layout.colIdx];
  withHeapLists(k, lists, (ptr, idx) => run(k.ptr(wt), ptr, idx, k.ptr(x), k.ptr(out), layout.rows, layout.cols, n));
  return out;
}

/** dz·xTᵀ at the kept entries, zero elsewhere (src/kernels/sparse.c). */
function sampledMatMulWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { dz, xT } = inputs as Record<string, tf.TensorInfo>;
  const { layout } = attrs as unknown as { layout: SparseLayout };
  const out = k.be.makeOutput([layout.rows, layout.cols], 'float32');
  new Float32Array(k.memory.buffer, k.ptr(out), layout.rows * layout.cols).fill(0);
  withHeapLists(k, [layout.rowPtr, layout.colIdx], (ptr, idx) =>
    k.fns.sampled_matmul(ptr, idx, k.ptr(dz), k.ptr(xT), k.ptr(out), layout.rows, layout.cols, dz.shape[1]),
  );
  return out;
}

/** The masked Adam step at the kept entries only (adam.c masked_adam_at); pruned entries are copied from w. */
function sparseAdamWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { w, g, m, v } = inputs as Record<string, tf.TensorInfo>;
  const { beta1, beta2, a, epsilon, layout } = attrs as unknown as MaskedAdamAttrs & { layout: SparseLayout };
  const out = k.be.makeOutput(w.shape, 'float32');
  const n = size(w.shape);
  new Float32Array(k.memory.buffer, k.ptr(out), n).set(new Float32Array(k.memory.buffer, k.ptr(w), n));
  // m and v are the optimizer's own variables: updated in place, as by MASKED_ADAM
  withHeapLists(k, [layout.kept], (kept) =>
    k.fns.masked_adam_at(kept, layout.kept.length, k.ptr(w), k.ptr(g), k.ptr(m), k.ptr(v), k.ptr(out), beta1, 1 - beta1, beta2, 1 - beta2, a, epsilon),
  );
  return out;
}

/**
 * A permutation of `shape` as a transpose of ≤ 3 merged axes: runs of input axes that stay
 * adjacent and in order in `perm` are one axis. Returns extents and input strides of the
 * output axes, or null if more than 3 merged axes remain.
 */
export function mergeAxes(shape: readonly number[], perm: readonly number[]): { extents: number[]; strides: number[] } | null {
  const groups: number[][] = [];
  for (const ax of perm) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] + 1 === ax) last.push(ax);
    else groups.push([ax]);
  }
  const groupOf = (ax: number) => groups.findIndex((g) => g[0] === ax);
  // merged input shape: groups in input order
  const inputOrder = groups
    .map((g) => g[0])
    .sort((a, b) => a - b)
    .map(groupOf);
  const ext = groups.map((g) => g.reduce((p, ax) => p * shape[ax], 1));
  const stride = new Array<number>(groups.length);
  let s = 1;
  for (let i = inputOrder.length - 1; i >= 0; i--) {
    stride[inputOrder[i]] = s;
    s *= ext[inputOrder[i]];
  }
  if (groups.length > 3) return null;
  while (ext.length < 3) {
    ext.unshift(1);
    stride.unshift(0);
  }
  return { extents: ext, strides: stride };
}

function transposeWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { x } = inputs as Record<string, tf.TensorInfo>;
  const perm = (attrs as { perm: number[] }).perm;
  const out = k.be.makeOutput(
    perm.map((p) => x.shape[p]),
    'float32',
  );
  const m = mergeAxes(x.shape, perm)!;
  k.fns.transpose3(k.ptr(x), k.ptr(out), m.extents[0], m.extents[1], m.extents[2], m.strides[0], m.strides[1], m.strides[2]);
  return out;
}

function im2col3x3Wasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { x } = inputs as Record<string, tf.TensorInfo>;
  const [c, n, h, w] = x.shape;
  const out = k.be.makeOutput([9, c, n, h, w], 'float32');
  k.fns.im2col3x3(k.ptr(x), k.ptr(out), c * n, h, w);
  return out;
}

function biasActWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { z, b } = inputs as Record<string, tf.TensorInfo>;
  const out = k.be.makeOutput(z.shape, 'float32');
  k.fns.bias_act(k.ptr(z), k.ptr(b), k.ptr(out), z.shape[0], z.shape[1], (attrs as { relu: boolean }).relu ? 1 : 0);
  return out;
}

function biasActGradWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const k = bind(backend);
  const { dy, a } = inputs as Record<string, tf.TensorInfo>;
  const dz = k.be.makeOutput(dy.shape, 'float32');
  const db = k.be.makeOutput([dy.shape[0]], 'float32');
  k.fns.bias_act_grad(k.ptr(dy), k.ptr(a), k.ptr(dz), k.ptr(db), dy.shape[0], dy.shape[1], (attrs as { relu: boolean }).relu ? 1 : 0);
  return [dz, db];
}

function actGradColsWasm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const k = bind(backend);
  const { dy, a } = inputs as Record<string, tf.TensorInfo>;
  const cols = dy.shape[dy.shape.length - 1];
  const rows = dy.shape.reduce((p, d) => p * d, 1) / cols;
  const dz = k.be.makeOutput(dy.shape, 'float32');
  const db = k.be.makeOutput([cols], 'float32');
  const acc = k.be.makeOutput([2 * cols], 'float32'); // float64 scratch
  k.fns.act_grad_cols(k.ptr(dy), k.ptr(a), k.ptr(dz), k.ptr(acc), k.ptr(db), rows, cols, (attrs as { relu: boolean }).relu ? 1 : 0);
  k.be.disposeData(acc.dataId);
  return [dz, db];
}

function gemmSmallWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { a, b } = inputs as Record<string, tf.TensorInfo>;
  const [m, kk] = a.shape;
  const n = b.shape[1];
  const out = k.be.makeOutput([m, n], 'float32');
  k.fns.gemm_small(k.ptr(a), k.ptr(b), k.ptr(out), m, kk, n);
  return out;
}

function maxPool2GradWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { x, dy } = inputs as Record<string, tf.TensorInfo>;
  const out = k.be.makeOutput(x.shape, 'float32');
  const [n, h, w, c] = x.shape;
  k.fns.maxpool2_grad(k.ptr(x), k.ptr(dy), k.ptr(out), n, h, w, c);
  return out;
}

function columnSumsWasm({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const k = bind(backend);
  const { m } = inputs as Record<string, tf.TensorInfo>;
  const [rows, cols] = m.shape;
  const out = k.be.makeOutput([cols], 'float32');
  const acc = k.be.makeOutput([2 * cols], 'float32'); // float64 scratch
  k.fns.column_sums(k.ptr(m), k.ptr(acc), k.ptr(out), rows, cols);
  k.be.disposeData(acc.dataId);
  return out;
}

/**
 * Σ over rows of the softmax cross-entropy of z [n, c] (row-major) against labels y [n]; writes
 * the gradient of the mean, (softmax − onehot) / n, to g [n, c]. float64 inside, one rounding
 * per output. Shared by the wasm and native kernels (src/kernels/native.ts).
 */
export function softmaxCrossEntropyRows(z: Float32Array, y: Int32Array, g: Float32Array, n: number, c: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (z[o + j] > max) max = z[o + j];
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(z[o + j] - max);
    const lse = Math.log(sum) + max;
    total += lse - z[o + y[i]];
    for (let j = 0; j < c; j++) g[o + j] = (Math.exp(z[o + j] - lse) - (j === y[i] ? 1 : 0)) / n;
  }
  return total;
}

/**
 * Mean softmax cross-entropy of logits [n, c] against integer labels [n], and its gradient
 * (softmax − onehot) / n, in one pass. Runs in JS on the wasm heap (the tensors are tiny: the
 * point is one kernel instead of ~15), in float64 with one rounding per output.
 */
function softmaxCrossEntropyWasm({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const k = bind(backend);
  const { logits, labels } = inputs as Record<string, tf.TensorInfo>;
  const [n, c] = logits.shape;
  const loss = k.be.makeOutput([], 'float32');
  const grad = k.be.makeOutput([n, c], 'float32');
  const buf = k.memory.buffer;
  const z = new Float32Array(buf, k.ptr(logits), n * c);
  const y = new Int32Array(buf, k.ptr(labels), n);
  const g = new Float32Array(buf, k.ptr(grad), n * c);
  const total = softmaxCrossEntropyRows(z, y, g, n, c);
  new Float32Array(buf, k.ptr(loss), 1)[0] = total / n;
  return [loss, grad];
}

export const TRANSPOSE = 'LthTranspose';
export const MAXPOOL2_GRAD = 'LthMaxPool2Grad';
export const COLUMN_SUMS = 'LthColumnSums';
export const SOFTMAX_CE = 'LthSoftmaxCrossEntropy';
export const IM2COL3X3 = 'LthIm2col3x3';
export const BIAS_ACT = 'LthBiasAct';
export const BIAS_ACT_GRAD = 'LthBiasActGrad';
export const GEMM_SMALL = 'LthGemmSmall';
export const ACT_GRAD_COLS = 'LthActGradCols';

/** LthTranspose can sit on the tape (a model's last transpose); its gradient is the inverse
 *  permutation. Gradients are global in tfjs: registered once, for every backend's kernel. */
export function registerTransposeGradient(): void {
  if (tf.getGradient(TRANSPOSE) != null) return;
  tf.registerGradient({
    kernelName: TRANSPOSE,
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as { perm: number[] }).perm;
      const inv = perm.map((_, i) => perm.indexOf(i));
      return { x: () => transpose(dy as tf.Tensor, inv) };
    },
  });
}

let registered = false;
/** Registers the fused kernels with tfjs (idempotent). Call after the wasm backend is set up. */
export function registerWasmKernels(): void {
  if (registered) return;
  const table: [string, unknown][] = [
    [MASKED_ADAM, maskedAdamWasm],
    [TRANSPOSE, transposeWasm],
    [MAXPOOL2_GRAD, maxPool2GradWasm],
    [COLUMN_SUMS, columnSumsWasm],
    [SOFTMAX_CE, softmaxCrossEntropyWasm],
    [IM2COL3X3, im2col3x3Wasm],
    [BIAS_ACT, biasActWasm],
    [BIAS_ACT_GRAD, biasActGradWasm],
    [GEMM_SMALL, gemmSmallWasm],
    [ACT_GRAD_COLS, actGradColsWasm],
    [SPARSE_MATMUL, sparseMatMulWasm],
    [SAMPLED_MATMUL, sampledMatMulWasm],
    [SPARSE_ADAM, sparseAdamWasm],
  ];
  for (const [kernelName, f] of table) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: f as tf.KernelFunc });
  registerTransposeGradient();
  registered = true;
}

export const fusedOn = (name: string): boolean => process.env.LTH_FUSED !== '0' && tf.getKernel(name, tf.getBackend()) != null;

/** Whether the current backend has the fused masked-Adam kernel (`LTH_FUSED=0` turns the
 *  fused kernels off, to compare with or to bisect against the plain tensor ops). */
export const hasFusedAdam = (): boolean => fusedOn(MASKED_ADAM);

/** tf.transpose (default perm: reversed axes), through the blocked wasm kernel where it applies. */
export function transpose<T extends tf.Tensor>(x: T, perm?: number[]): T {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (x.dtype !== 'float32' || !fusedOn(TRANSPOSE) || mergeAxes(x.shape, p) == null) return tf.transpose(x, p);
  return tf.engine().runKernel(TRANSPOSE, { x }, { perm: p } as unknown as tf.NamedAttrMap) as T;
}

/** Whether `maxPool2Grad` has a fused kernel here (else use tf.maxPool's own gradient). */
export const hasMaxPool2Grad = (): boolean => fusedOn(MAXPOOL2_GRAD);

/** Gradient of 2×2/stride-2 'valid' max pooling (NHWC) w.r.t. its input x, given dy. */
export function maxPool2Grad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(MAXPOOL2_GRAD, { x, dy }) as tf.Tensor4D;
}

/** Column sums of m [rows, cols] → [cols] (float64 accumulation on wasm; ones·m elsewhere). */
export function columnSums(m: tf.Tensor2D): tf.Tensor1D {
  if (!fusedOn(COLUMN_SUMS)) return tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]);
  return tf.engine().runKernel(COLUMN_SUMS, { m }) as tf.Tensor1D;
}

/** Whether `im2col3x3` is available on this backend. */
export const hasIm2col3x3 = (): boolean => fusedOn(IM2COL3X3);

/**
 * The nine 3×3-tap shifted copies of x [a, b, h, w], zero-filled at the borders of each h×w
 * plane: [9, a, b, h, w], out[t][.., i, j] = x[.., i + ⌊t/3⌋ − 1, j + t mod 3 − 1].
 * wasm only (ask `hasIm2col3x3()` first).
 */
export function im2col3x3(x: tf.Tensor4D): tf.Tensor5D {
  return tf.engine().runKernel(IM2COL3X3, { x }) as tf.Tensor5D;
}

/** Whether `biasAct` / `biasActGrad` are available on this backend. */
export const hasBiasAct = (): boolean => fusedOn(BIAS_ACT);

/** act(z + b[row]) for z [rows, cols], b [rows]; act = ReLU or identity (one pass on wasm,
 *  tfjs ops elsewhere). Not differentiable: see ops.denseT. */
export function biasAct(z: tf.Tensor2D, b: tf.Tensor1D, relu: boolean): tf.Tensor2D {
  if (!fusedOn(BIAS_ACT)) {
    const s = tf.add(z, tf.reshape(b, [b.shape[0], 1])) as tf.Tensor2D;
    return relu ? tf.relu(s) : s;
  }
  return tf.engine().runKernel(BIAS_ACT, { z, b }, { relu } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** [dz, db] of biasAct given dy and its output a: dz = dy·step(a) (ReLU) or dy, db = row sums of dz. */
export function biasActGrad(dy: tf.Tensor2D, a: tf.Tensor2D, relu: boolean): [tf.Tensor2D, tf.Tensor1D] {
  if (!fusedOn(BIAS_ACT_GRAD)) {
    const dz = relu ? (tf.mul(dy, tf.step(a)) as tf.Tensor2D) : dy;
    return [dz, tf.sum(dz, 1)];
  }
  return tf.engine().runKernel(BIAS_ACT_GRAD, { dy, a }, { relu } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor1D];
}

/**
 * [dz, db] for a channels-last layer act(z + b) given dy and its output a (same shape, last
 * axis = channels): dz = dy·step(a) (ReLU) or dy, db = sums of dz over every axis but the last.
 * One pass on wasm (float64 sums); tfjs ops elsewhere.
 */
export function actGradCols<T extends tf.Tensor>(dy: T, a: T, relu: boolean): [T, tf.Tensor1D] {
  if (!fusedOn(ACT_GRAD_COLS)) {
    const dz = relu ? (tf.mul(dy, tf.step(a)) as T) : dy;
    const c = dz.shape[dz.rank - 1];
    return [dz, tf.sum(tf.reshape(dz, [-1, c]), 0)];
  }
  return tf.engine().runKernel(ACT_GRAD_COLS, { dy, a }, { relu } as unknown as tf.NamedAttrMap) as unknown as [T, tf.Tensor1D];
}

/** Below this many multiply-adds a plain SIMD loop beats XNNPACK's per-call set-up (bench: lth bench --only kernels). */
const SMALL_GEMM_MACS = 600_000;

/** a·b for 2-D a, b (no transposes): the small-product kernel on wasm when it is small, else tf.matMul. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.shape[0] * a.shape[1] * b.shape[1] > SMALL_GEMM_MACS || !fusedOn(GEMM_SMALL)) return tf.matMul(a, b);
  return tf.engine().runKernel(GEMM_SMALL, { a, b }) as tf.Tensor2D;
}

/** Whether `softmaxCrossEntropyFused` is available on this backend. */
export const hasSoftmaxCrossEntropy = (): boolean => fusedOn(SOFTMAX_CE);

/** [mean softmax cross-entropy (scalar), its gradient w.r.t. logits] for integer labels. */
export function softmaxCrossEntropyFused(logits: tf.Tensor2D, labels: tf.Tensor1D): [tf.Scalar, tf.Tensor2D] {
  return tf.engine().runKernel(SOFTMAX_CE, { logits, labels }) as unknown as [tf.Scalar, tf.Tensor2D];
}

/**
 * One masked Adam update: updates the moment variables `m` and `v` in place (they must be
 * owned by the optimizer alone) and returns the new weights as a new tensor (a new tensor id,
 * so XNNPACK's packed-weight cache, keyed by id, never sees stale weights).
 */
export function fusedMaskedAdam(
  t: { w: tf.Tensor; g: tf.Tensor; m: tf.Tensor; v: tf.Tensor; mask?: tf.Tensor; fixed?: tf.Tensor },
  attrs: MaskedAdamAttrs,
): tf.Tensor {
  const inputs: tf.NamedTensorMap = { w: t.w, g: t.g, m: t.m, v: t.v };
  if (t.mask) inputs.mask = t.mask;
  if (t.fixed) inputs.fixed = t.fixed;
  return tf.engine().runKernel(MASKED_ADAM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
