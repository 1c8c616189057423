import { macsPerWeight as graphMacs } from '../models/graph.js';
import type { Masks, Model } from '../models/types.js';
import { isPrunable } from '../models/types.js';

/**
 * Training compute, counted the way RigL counts it (Evci et al. 2020, §4 and Appendix H):
 * a training step on one example costs 3× the forward multiply-adds (forward, gradient with
 * respect to the activations, gradient with respect to the weights), and a sparse layer's
 * forward costs its dense multiply-adds × its density, i.e. one multiply-add per kept weight
 * per output position. Biases, activations, pooling, the loss and evaluations are not counted
 * (they are ≪ 1% of a step for these models). docs/SCHEMA.md, table `compute`.
 */

/** Forward multiply-adds per example of one kept weight of each prunable tensor, read from the
 *  model's layer graph (src/models/graph.ts macsPerWeight): 1 for a dense kernel, the output
 *  positions h·w for a convolution's kernel. */
export const macsPerWeight = (model: Model): Record<string, number> => graphMacs(model.graph);

/** Kept weights per prunable tensor. */
export const keptCounts = (masks: Masks): Record<string, number> =>
  Object.fromEntries(Object.entries(masks).map(([k, m]) => [k, m.reduce((a, b) => a + b, 0)]));

/** Multiply-adds of one training step of `batch` examples with `kept` weights per tensor. */
export function stepMultiplyAdds(model: Model, batch: number, kept: Record<string, number>): number {
  const per = macsPerWeight(model);
  let f = 0;
  for (const [name, c] of Object.entries(per)) f += c * (kept[name] ?? 0);
  return 3 * batch * f;
}

/** Multiply-adds of a dense training step. */
export function denseStepMultiplyAdds(model: Model, batch: number): number {
  const kept: Record<string, number> = {};
  for (const p of model.params) if (isPrunable(p)) kept[p.name] = p.shape.reduce((a, b) => a * b, 1);
  return stepMultiplyAdds(model, batch, kept);
}

/**
 * Multiply-adds of training steps `from` … `to`−1 while the mask changes: `updates` give each
 * layer's kept count from their step on (an update at step s applies before step s). Each of
 * `extraDenseSteps` adds one dense step (RigL's dense gradient at an update, Evci et al. §4).
 */
export function scheduleMultiplyAdds(
  model: Model,
  batch: number,
  range: { from: number; to: number },
  initial: Record<string, number>,
  updates: readonly { step: number; layer: string; remaining: number }[],
  extraDenseSteps = 0,
): number {
  const kept = { ...initial };
  const steps = [...new Set(updates.map((u) => u.step))].sort((a, b) => a - b);
  let total = 0;
  let at = range.from;
  for (const s of steps) {
    total += (Math.min(s, range.to) - at) * stepMultiplyAdds(model, batch, kept);
    at = Math.min(s, range.to);
    for (const u of updates) if (u.step === s) kept[u.layer] = u.remaining;
  }
  total += (range.to - at) * stepMultiplyAdds(model, batch, kept);
  return total + extraDenseSteps * denseStepMultiplyAdds(model, batch);
}
