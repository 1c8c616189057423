import * as tf from '@tensorflow/tfjs-core';
import type { ParamSpec } from './types.js';

/**
 * The boundary between stored layout (ParamSpec.shape: files, masks, strategies) and the
 * layout a model computes with (ParamSpec.layout). Conversions happen once per level, never
 * per step.
 */

/** The shape of the tensor the model computes with. */
export const heldShape = (p: ParamSpec): number[] => (p.layout === 'transposed' ? [p.shape[1], p.shape[0]] : [...p.shape]);

/** A tensor in held layout from values in stored layout (masks as 0/1 bytes become 0/1 floats). */
export function toHeld(p: ParamSpec, values: Float32Array | Uint8Array): tf.Tensor {
  const v = values instanceof Float32Array ? values : Float32Array.from(values);
  if (p.layout !== 'transposed') return tf.tensor(v, p.shape as number[], 'float32');
  return tf.tidy(() => tf.transpose(tf.tensor(v, p.shape as number[], 'float32')));
}

/** Values in stored layout from a tensor in held layout. */
export async function fromHeld(p: ParamSpec, t: tf.Tensor): Promise<Float32Array> {
  if (p.layout !== 'transposed') return (await t.data()) as Float32Array;
  const s = tf.transpose(t);
  try {
    return (await s.data()) as Float32Array;
  } finally {
    s.dispose();
  }
}

/**
 * `w` (held layout) as stored-layout tensors, for Model.predict: transposed params are
 * transposed back (new tensors, listed in `created` for the caller to dispose), the rest are
 * the same tensors.
 */
export function storedLayout(params: readonly ParamSpec[], w: Readonly<Record<string, tf.Tensor>>): { w: Record<string, tf.Tensor>; created: tf.Tensor[] } {
  const out: Record<string, tf.Tensor> = {};
  const created: tf.Tensor[] = [];
  for (const p of params) {
    if (p.layout === 'transposed') {
      out[p.name] = tf.transpose(w[p.name]);
      created.push(out[p.name]);
    } else out[p.name] = w[p.name];
  }
  return { w: out, created };
}
