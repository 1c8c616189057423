import { z } from 'zod';
import { it, stepSchema } from '../spec/step.js';
import { dynamicSparsity, lastUpdate, levelPools, trainScheduled } from './during.js';
import { prune } from './masker.js';
import { during } from './pruner.js';

/**
 * Dynamic sparse training at a fixed per-layer count (SET, Mocanu et al. 2018; RigL, Evci et
 * al. 2020): level L starts from a random mask at its counts (per pool of the distribution:
 * layerwise, global or ERK) and every ΔT steps drops the smallest |w| and regrows as many,
 * at random (SET) or where |∂L/∂w| is largest (RigL). The number moved per layer is capped at
 * the weights pruned before the update (./during.ts dynamicSparsity; docs/CONTROLS.md).
 */
const schema = z
  .strictObject({
    kind: z.literal('dynamic'),
    regrow: z.enum(['random', 'gradient']).describe('random: SET (Mocanu et al. 2018); gradient: RigL (Evci et al. 2020), largest |∂L/∂w| of the step’s batch'),
    dropFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(0.3)
      .describe('α: fraction of each layer’s kept weights moved at the first update, cosine-decayed to 0 at `end` (RigL)'),
    end: stepSchema.nullable().default(null).describe('T_end: no updates from here on; null = 75% of training.iterations (RigL)'),
    every: stepSchema.default(it(100)).describe('ΔT: steps between mask updates'),
  })
  .describe('dynamic sparse training at a fixed per-layer count, from a random mask: drop the smallest |w|, regrow as many at zero with optimizer state reset');

const SHORT = { set: 'random', rigl: 'gradient' } as const;

export const dynamic = during({
  kind: 'dynamic',
  schema,
  shorthands: Object.keys(SHORT).map((form) => ({ form })),
  parse: (s) => (s in SHORT ? schema.parse({ kind: 'dynamic', regrow: SHORT[s as keyof typeof SHORT] }) : null),
  name: (d) => Object.entries(SHORT).find(([, r]) => r === d.regrow)![0],
  check(d, plan, steps) {
    const end = lastUpdate(d.end, { plan, steps });
    if (steps(d.every) < 1) return { field: 'every', message: 'must be at least 1 step' };
    if (end > plan.iterations)
      return { field: 'end', message: `step ${end} is past the end of training (${plan.iterations} steps): set it to at most ${plan.iterations}` };
    return null;
  },
  run(d, x) {
    const { pools, dense } = levelPools(x);
    // A random mask at the level's counts, as SET and RigL start.
    const start = prune({
      model: x.model,
      masks: dense,
      init: x.theta0,
      final: x.theta0,
      spec: x.pruning,
      criterion: 'random',
      rng: x.rng,
      rounds: x.level,
      level: x.level,
    });
    const schedule = dynamicSparsity({
      pools,
      masks: start,
      regrow: d.regrow,
      dropFraction: d.dropFraction,
      end: lastUpdate(d.end, x),
      every: x.steps(d.every),
      rng: x.rng,
    });
    return trainScheduled(x, start, schedule, d.regrow === 'gradient');
  },
});
