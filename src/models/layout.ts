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

/** A tensor in held layout from values in stored layout (masks as 0/1 bytes become 0/1 floats). */
export function toHeld(p: ParamSpec, values: Float32Array | Uint8Array): tf.Tensor {
  const v = values instanceof Float32Array ? values : Float32Array.from(values);
  return tf.tidy(() => swap(p, tf.tensor(v, p.shape as number[], 'float32')));
}

/** Values in stored layout from a tensor in held layout. */
export async function fromHeld(p: ParamSpec, t: tf.Tensor): Promise<Float32Array> {
  const s = swap(p, t);
  try {
    return (await s.data()) as Float32Array;
  } finally {
    if (s !== t) s.dispose();
  }
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
