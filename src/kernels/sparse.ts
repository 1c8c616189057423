import { tf } from '../util/tf.js';
import type { MaskedAdamAttrs } from './wasm.js';

/**
 * Sparse kernels for pruned dense layers (issue 26 item 2; docs/PERFORMANCE.md, "Sparse dense
 * layers"). A dense kernel held in column layout, Wt [rows = units, cols = inputs]
 * (models/ops.ts denseT), whose mask keeps fewer than SPARSE_DENSITY of its entries gets a
 * `SparseLayout` (CSR index arrays of the kept entries, built once per mask: per level, and
 * again when SET, RigL or gradual pruning change the mask). While it has one, on a backend
 * that registers these kernels (native and wasm, both from src/kernels/sparse.c), the layer's forward pass, input gradient, weight
 * gradient (kept entries only, zero elsewhere) and masked-Adam step touch only kept entries.
 * The switch is a pure function of the mask, and the kernels sum in the order of the layout's
 * lists with plain float32 operations, so the same spec gives the same bits on every machine,
 * and the sparse layers the same bits on native and wasm; elsewhere (webgpu, tensorflow, or
 * `LTH_SPARSE=0`) the dense path runs.
 */

/**
 * Below this fraction of kept entries a dense layer's kernel runs sparse, per backend: where
 * forward + input gradient + weight gradient + Adam of LeNet-300-100's fc1 (300×784, batch 60)
 * cost the same sparse and dense (docs/PERFORMANCE.md, "Sparse dense layers"). Native's dense
 * GEMMs (OpenBLAS, AVX2) are fast, so the sparse loops pay only below 15% (0.80 ms against
 * 0.85 ms at 15%, 1.06 against 0.85 at 20%); wasm's dense products (XNNPACK, 128-bit SIMD) are
 * slower, and there the step is as fast sparse as dense at about 26% (1.05–1.08× at 26.2%,
 * 0.71–0.91× at 32.8%, fastest steps, 2 threads). A function of the mask and the backend only.
 */
export const SPARSE_DENSITY: Readonly<Record<string, number>> = { native: 0.15, wasm: 0.25 };

export const SPARSE_MATMUL = 'LthSparseMatMul';
export const SAMPLED_MATMUL = 'LthSampledMatMul';
export const SPARSE_ADAM = 'LthSparseAdam';

/** The kept entries of a [rows, cols] mask: row by row (CSR), column by column (CSC), and as flat indices. */
export interface SparseLayout {
  readonly rows: number;
  readonly cols: number;
  /** [rows + 1]: row r's kept entries are colIdx[rowPtr[r] … rowPtr[r + 1]) */
  readonly rowPtr: Int32Array;
  /** [nnz]: their column indices, ascending within a row */
  readonly colIdx: Int32Array;
  /** [cols + 1]: column c's kept entries are rowIdx[colPtr[c] … colPtr[c + 1]) */
  readonly colPtr: Int32Array;
  /** [nnz]: their row indices, ascending within a column */
  readonly rowIdx: Int32Array;
  /** [nnz]: the flat indices r·cols + c of the kept entries, ascending */
  readonly kept: Int32Array;
}

/**
 * The sparse layout of a mask [rows, cols] (row-major, nonzero = kept), or null when it keeps
 * `density` (a backend's SPARSE_DENSITY) or more of its entries: the dense kernels are faster there.
 */
export function sparseLayout(mask: ArrayLike<number>, rows: number, cols: number, density: number): SparseLayout | null {
  let nnz = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) nnz++;
  if (nnz >= density * rows * cols) return null;
  const rowPtr = new Int32Array(rows + 1);
  const colIdx = new Int32Array(nnz);
  const colPtr = new Int32Array(cols + 1);
  const kept = new Int32Array(nnz);
  let j = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (mask[i] === 0) continue;
      colIdx[j] = c;
      kept[j++] = i;
      colPtr[c + 1]++;
    }
    rowPtr[r + 1] = j;
  }
  for (let c = 0; c < cols; c++) colPtr[c + 1] += colPtr[c];
  const rowIdx = new Int32Array(nnz);
  const next = colPtr.slice(0, cols);
  for (let r = 0; r < rows; r++) for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) rowIdx[next[colIdx[k]]++] = r;
  return { rows, cols, rowPtr, colIdx, colPtr, rowIdx, kept };
}

/** Whether the current backend runs the sparse kernels (native, wasm). `LTH_SPARSE=0` turns off
 *  only these (to time or compare the dense path), `LTH_FUSED=0` these with the other fused kernels. */
const hasSparseKernels = (): boolean =>
  process.env.LTH_FUSED !== '0' &&
  process.env.LTH_SPARSE !== '0' &&
  SPARSE_DENSITY[tf.getBackend()] != null &&
  tf.getKernel(SPARSE_MATMUL, tf.getBackend()) != null;

const layouts = new WeakMap<tf.Tensor, SparseLayout>();

/**
 * Attaches the sparse layout of `mask` (held layout [units, in], 0/1) to the dense kernel
 * variable `w`, or detaches it (mask null, or one at the backend's SPARSE_DENSITY or above).
 * Call whenever the mask changes. Only for kernels whose pruned entries are zero (no frozen
 * mask-0 values).
 */
export function setSparseMask(w: tf.Tensor, mask: tf.Tensor | null): void {
  const density = SPARSE_DENSITY[tf.getBackend()];
  let layout: SparseLayout | null = null;
  if (mask && mask.rank === 2 && density !== undefined && hasSparseKernels())
    layout = sparseLayout(mask.dataSync(), ...(mask.shape as [number, number]), density);
  if (layout) layouts.set(w, layout);
  else layouts.delete(w);
}

let allWeightGradients = false;

/** Runs f with every weight gradient computed at every entry, pruned ones included (RigL's grow
 *  score): the sparse forward and input-gradient kernels still run. */
export function withAllWeightGradients<T>(f: () => T): T {
  const before = allWeightGradients;
  allWeightGradients = true;
  try {
    return f();
  } finally {
    allWeightGradients = before;
  }
}

/** The sparse layout attached to `w` when the current backend runs the sparse kernels, else null. */
export function sparseLayoutOf(w: tf.Tensor): SparseLayout | null {
  return hasSparseKernels() ? (layouts.get(w) ?? null) : null;
}

/** Wt·xT (xT [cols, n] → [rows, n]) or, `transposed`, Wtᵀ·dz (dz [rows, n] → [cols, n]), Wt read at the kept entries only. */
export function sparseMatMul(wt: tf.Tensor2D, x: tf.Tensor2D, layout: SparseLayout, transposed: boolean): tf.Tensor2D {
  return tf.engine().runKernel(SPARSE_MATMUL, { wt, x }, { layout, transposed } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** dWt [rows, cols] = dz·xTᵀ at the kept entries (dz [rows, n], xT [cols, n]), 0 elsewhere;
 *  with withAllWeightGradients, at every entry. */
export function sampledMatMul(dz: tf.Tensor2D, xT: tf.Tensor2D, layout: SparseLayout): tf.Tensor2D {
  if (allWeightGradients) return tf.matMul(dz, xT, false, true);
  return tf.engine().runKernel(SAMPLED_MATMUL, { dz, xT }, { layout } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** The masked-Adam step of `w` (src/kernels/adam.c) on its kept entries only, when it has a
 *  sparse layout here and no frozen values; pruned entries are copied. Null: use the dense kernel. */
export function sparseAdam(t: { w: tf.Tensor; g: tf.Tensor; m: tf.Tensor; v: tf.Tensor; fixed?: tf.Tensor }, attrs: MaskedAdamAttrs): tf.Tensor | null {
  const layout = t.fixed ? null : sparseLayoutOf(t.w);
  if (!layout) return null;
  return tf.engine().runKernel(SPARSE_ADAM, { w: t.w, g: t.g, m: t.m, v: t.v }, { ...attrs, layout } as unknown as tf.NamedAttrMap);
}
