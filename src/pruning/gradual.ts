import { z } from 'zod';
import { it, stepSchema } from '../spec/step.js';
import { gradualPruning, lastUpdate, levelPools, trainScheduled } from './during.js';
import { during } from './pruner.js';

/**
 * Gradual magnitude pruning (Zhu & Gupta 2017): level L trains θ0 from dense while the
 * smallest |w| are removed at t0, t0 + Δt, … up to `end`, following the cubic schedule
 * (./during.ts cubicKept), so exactly level L's per-pool counts remain from `end` on.
 */
const schema = z
  .strictObject({
    kind: z.literal('gradual'),
    start: stepSchema.default(it(0)).describe('first mask update t0'),
    end: stepSchema.nullable().default(null).describe("last mask update t0 + nΔt, where the level's sparsity is reached; null = 75% of training.iterations"),
    every: stepSchema.default(it(100)).describe('Δt: steps between mask updates'),
  })
  .describe('gradual magnitude pruning (Zhu & Gupta 2017): from dense, sparsity s_t = s_f(1 − (1 − (t − t0)/(nΔt))³), the smallest |w| removed at each update');

export const gradual = during({
  kind: 'gradual',
  schema,
  shorthands: [{ form: 'gradual' }],
  parse: (s) => (s === 'gradual' ? schema.parse({ kind: 'gradual' }) : null),
  name: () => 'gradual',
  check(d, plan, steps) {
    const end = lastUpdate(d.end, { plan, steps });
    if (steps(d.every) < 1) return { field: 'every', message: 'must be at least 1 step' };
    if (end > plan.iterations)
      return { field: 'end', message: `step ${end} is past the end of training (${plan.iterations} steps): set it to at most ${plan.iterations}` };
    if (steps(d.start) > end) return { field: 'start', message: `step ${steps(d.start)} comes after end (${end}): start earlier or end later` };
    return null;
  },
  run(d, x) {
    const { pools, dense, targets } = levelPools(x);
    const schedule = gradualPruning({ pools, masks: dense, targets, start: x.steps(d.start), end: lastUpdate(d.end, x), every: x.steps(d.every), rng: x.rng });
    return trainScheduled(x, dense, schedule, false);
  },
});
