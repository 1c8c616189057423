import * as tf from '@tensorflow/tfjs-core';
import { adamSharedWasm, adamWasm } from './binaries.js';

/**
 * Fused kernels for the wasm backend, written in C (src/kernels/*.c), compiled to wasm SIMD
 * (scripts/build-kernels) and run directly on the tfjs wasm heap: the module imports the very
 * memory tfjs's module uses, so a kernel reads and writes tensors in place, with no copies.
 *
 * They are registered as ordinary tfjs kernels (`tf.registerKernel`) for the 'wasm' backend
 * only; callers ask `hasFusedAdam()` and otherwise use plain tensor ops, which every backend
 * runs (and which the fused kernel reproduces bit for bit; test/kernels.test.ts).
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
}

type AdamFn = (
  w: number, g: number, mask: number, m: number, v: number, fixed: number, out: number, n: number,
  b1: number, c1: number, b2: number, c2: number, a: number, eps: number,
) => void;

const instances = new WeakMap<object, AdamFn>();

function heapMemory(backend: WasmHeapBackend): WebAssembly.Memory {
  const mem = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!(mem instanceof WebAssembly.Memory)) throw new Error('lth kernels: cannot find the wasm backend memory');
  return mem;
}

function adamFor(backend: WasmHeapBackend): AdamFn {
  let fn = instances.get(backend);
  if (!fn) {
    const memory = heapMemory(backend);
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const bytes = Buffer.from(shared ? adamSharedWasm : adamWasm, 'base64');
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    fn = inst.exports.masked_adam as AdamFn;
    instances.set(backend, fn);
  }
  return fn;
}

function maskedAdamWasm({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const be = backend as WasmHeapBackend;
  const { w, g, m, v, mask, fixed } = inputs as Record<string, tf.TensorInfo>;
  const { beta1, beta2, a, epsilon } = attrs as unknown as MaskedAdamAttrs;
  const ptr = (t: tf.TensorInfo | undefined) => (t ? be.dataIdMap.get(t.dataId)!.memoryOffset : 0);
  const out = be.makeOutput(w.shape, 'float32');
  const n = w.shape.reduce((p, d) => p * d, 1);
  // 1 − β is rounded to float32 from the float64 difference, as tf.mul(g, 1 − β) rounds its scalar.
  adamFor(be)(ptr(w), ptr(g), ptr(mask), ptr(m), ptr(v), ptr(fixed), ptr(out), n, beta1, 1 - beta1, beta2, 1 - beta2, a, epsilon);
  return out;
}

let registered = false;
/** Registers the fused kernels with tfjs (idempotent). Call after the wasm backend is set up. */
export function registerWasmKernels(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: MASKED_ADAM, backendName: 'wasm', kernelFunc: maskedAdamWasm as unknown as tf.KernelFunc });
  registered = true;
}

/** Whether the current backend has the fused masked-Adam kernel (`LTH_FUSED=0` turns the
 *  fused kernels off, to compare with or to bisect against the plain tensor ops). */
export const hasFusedAdam = (): boolean =>
  process.env.LTH_FUSED !== '0' && tf.getKernel(MASKED_ADAM, tf.getBackend()) != null;

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
