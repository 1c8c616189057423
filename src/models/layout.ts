import { tf } from '../util/tf.js';
import type { ParamSpec } from './types.js';

/**
 * The boundary between stored layout (ParamSpec.shape: files, masks, strategies) and the
 * layout a model computes with (ParamSpec.layout). Conversions happen once per level, never
 * per step.
 */

/** The shape of the tensor the model computes with. */
export const heldShape = (p: ParamSpec): number[] => (p.layout === 'transposed' ? [p.shape[1], p.shape[0]] : [...p.shape]);

/** Held ↔ stored: the layout change is a transpose either way; `t` itself when there is none. */
const swap = (p: ParamSpec, t: tf.Tensor): tf.Tensor => (p.layout === 'transposed' ? tf.transpose(t) : t);

/**
 * [rows, cols] row-major → [cols, rows] row-major (a 2-D transpose of flat values), in tiles so
 * both sides stay in cache: a few times faster than tf.transpose on the CPU-side backends, and
 * exact. For the held ↔ stored conversions of mask updates during training.
 */
export function transposeValues<T extends Float32Array | Uint8Array>(values: T, rows: number, cols: number): T {
  const out = new (values.constructor as new (n: number) => T)(values.length);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) for (let c = c0, i = r * cols + c0; c < c1; c++, i++) out[c * rows + r] = values[i];
    }
  }
  return out;
}

/** Flat stored-layout indices → the same entries' flat indices in held layout (a copy). */
export function heldIndices(p: ParamSpec, stored: Int32Array): Int32Array {
  if (p.layout !== 'transposed') return Int32Array.from(stored);
  // stored [r, c] of [rows, cols] is held [c, r] of [cols, rows]
  const [rows, cols] = p.shape;
  return stored.map((i) => (i % cols) * rows + Math.floor(i / cols));
}

/** A tensor in held layout from values in stored layout (masks as 0/1 bytes become 0/1 floats). */
export function toHeld(p: ParamSpec, values: Float32Array | Uint8Array): tf.Tensor {
  const v = values instanceof Float32Array ? values : Float32Array.from(values);
  return p.layout === 'transposed'
    ? tf.tensor(transposeValues(v, p.shape[0], p.shape[1]), heldShape(p), 'float32')
    : tf.tensor(v, p.shape as number[], 'float32');
}

/** Values in stored layout from a tensor in held layout. */
export async function fromHeld(p: ParamSpec, t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  return p.layout === 'transposed' ? transposeValues(v, p.shape[1], p.shape[0]) : v;
}

/**
 * `w` (held layout) as stored-layout tensors, for Model.predict: transposed params are
 * transposed back (new tensors, listed in `created` for the caller to dispose), the rest are
 * the same tensors.
 */
export function storedLayout(params: readonly ParamSpec[], w: Readonly<Record<string, tf.Tensor>>): { w: Record<string, tf.Tensor>; created: tf.Tensor[] } {
  const out: Record<string, tf.Tensor> = {};
  for (const p of params) out[p.name] = swap(p, w[p.name]);
  return { w: out, created: params.filter((p) => out[p.name] !== w[p.name]).map((p) => out[p.name]) };
}
