import { tf } from '../util/tf.js';
import type { Split } from '../data/index.js';
import { fromHeld, isTrained, toHeld, type Model, type Weights } from '../models/index.js';
import { augmentShape, BatchSource } from './loop.js';
import type { TrainingSchedule } from './schedule.js';

/**
 * Model state re-estimated on training batches (Frankle, Dziugaite, Roy & Carbin 2020, "Linear
 * Mode Connectivity and the Lottery Ticket Hypothesis": BatchNorm statistics of an interpolated
 * network are recomputed on training data; docs/DESIGN.md#branches). Every state entry
 * (ParamSpec.role 'state': BatchNorm's moving_mean, moving_variance) is reset to its initial value
 * (`fill`: mean 0, variance 1), then `batches` training-mode forward passes over batches
 * 0 … batches − 1 of `orderKey` (training.batchSize examples, augmented as training is) move it
 * by the layers' own update, r ← m·r + (1 − m)·b (b = the batch mean, or its unbiased variance;
 * src/models/layers/batch-normalization.ts), exactly as a training step does, with no parameter
 * changed. The reset value keeps weight m^batches. Weights in stored layout in and out; the
 * parameters are returned unchanged, and a model without state gets `weights` back.
 */
export async function reestimateState(
  model: Model,
  weights: Weights,
  train: Split,
  plan: TrainingSchedule,
  batches: number,
  orderKey: (string | number)[],
): Promise<Weights> {
  const state = model.params.filter((p) => !isTrained(p));
  if (!state.length) return weights;
  const held: Record<string, tf.Tensor> = {};
  for (const p of model.params)
    held[p.name] = isTrained(p) ? toHeld(p, weights[p.name]) : toHeld(p, new Float32Array(weights[p.name].length).fill(p.fill ?? 0));
  const source = new BatchSource(train, plan.spec.batchSize, orderKey, augmentShape(plan, model));
  try {
    for (let b = 0; b < batches; b++) {
      const next = tf.tidy(() => {
        const { x, y } = source.at(b);
        y.dispose();
        return model.forwardTrain(held, x).state;
      });
      for (const p of state) {
        held[p.name].dispose();
        held[p.name] = next[p.name];
      }
    }
    const out: Weights = { ...weights };
    for (const p of state) out[p.name] = await fromHeld(p, held[p.name]);
    return out;
  } finally {
    tf.dispose(Object.values(held));
  }
}
