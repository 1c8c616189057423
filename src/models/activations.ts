import { tf } from '../util/tf.js';
import type { Split } from '../data/types.js';
import { MODES, runGraph, unitOwner, type GraphNode } from './graph.js';
import type { Model, Weights } from './types.js';

/**
 * The network's hidden ReLU outputs, for statistics (activation sparsity, data-driven unit
 * criteria): the graph interpreter's taps pass (src/models/graph.ts MODES.taps), plain ops one
 * per step on weights in stored layout. It is not the training forward (fused ops, column
 * layout), so a pre-activation within rounding of 0 may land on the other side of the ReLU;
 * counts of exact zeros can differ from the training graph's by such ties only.
 */
export interface Hidden {
  /** "conv1", "fc2": the layer whose units this ReLU output carries (graph.unitOwner) */
  readonly layer: string;
  /** [n, h, w, c] for conv layers, [n, units] for dense layers */
  readonly value: tf.Tensor;
}

/**
 * Logits [n, classes] and every ReLU output for a batch x [n, prod(inputShape)], in graph order.
 * `probes` (one per ReLU, shaped like its output) are added to the ReLU outputs: with zeros,
 * ∂loss/∂probe = ∂loss/∂a, the gradient the Taylor criterion needs (Molchanov et al. 2017).
 */
export function forwardHidden(
  model: Model,
  w: Readonly<Record<string, tf.Tensor>>,
  x: tf.Tensor2D,
  probes?: readonly tf.Tensor[],
): { logits: tf.Tensor2D; hidden: Hidden[] } {
  const hidden: Hidden[] = [];
  const tap = (relu: GraphNode, a: tf.Tensor): tf.Tensor => {
    const v = probes ? tf.add(a, probes[hidden.length]) : a;
    hidden.push({ layer: unitOwner(model.graph, relu.inputs[0]), value: v });
    return v;
  };
  return { logits: runGraph(model.graph, w, x, { mode: MODES.taps, tap }), hidden };
}

/** Weights (stored layout) as tensors for forwardHidden; the caller disposes them. */
export const storedTensors = (model: Model, w: Weights): Record<string, tf.Tensor> =>
  Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(w[p.name], [...p.shape])]));

/**
 * Activation sparsity (Rhu et al. 2018, "ephemeral sparsity"): per hidden layer, the fraction
 * of its ReLU outputs on `split` that are exactly 0 (over examples, positions and units; a
 * pruned unit's outputs count as zeros). Read once per chunk of `chunk` examples.
 */
export async function activationSparsity(model: Model, weights: Weights, split: Split, chunk = 1000): Promise<{ layer: string; zeroFraction: number }[]> {
  if (split.n === 0) return [];
  const w = storedTensors(model, weights);
  const dim = split.x.length / split.n;
  const zeros = new Map<string, number>();
  const sizes = new Map<string, number>();
  try {
    for (let s = 0; s < split.n; s += chunk) {
      const e = Math.min(split.n, s + chunk);
      const counts = tf.tidy(() => {
        const { hidden } = forwardHidden(model, w, tf.tensor2d(split.x.subarray(s * dim, e * dim), [e - s, dim]));
        for (const h of hidden) sizes.set(h.layer, (sizes.get(h.layer) ?? 0) + h.value.size);
        return hidden.map((h) => ({ layer: h.layer, t: tf.sum(tf.cast(tf.equal(h.value, 0), 'float32')) }));
      });
      for (const c of counts) {
        zeros.set(c.layer, (zeros.get(c.layer) ?? 0) + (await c.t.data())[0]);
        c.t.dispose();
      }
    }
  } finally {
    for (const t of Object.values(w)) t.dispose();
  }
  return [...zeros].map(([layer, z]) => ({ layer, zeroFraction: z / sizes.get(layer)! }));
}
