import { z } from 'zod';
import { denseStepMultiplyAdds } from './compute.js';
import { earlyBirdSearch, fixedMaskMacs, levelPools, maskedCopy } from './during.js';
import { keepTop } from './masker.js';
import { during } from './pruner.js';

/**
 * Early-bird tickets (You et al. 2020): level L replays the dense training of level 0 (same θ0,
 * same batches) and, at each evaluation, takes the magnitude mask at the level's counts; once
 * the distance between consecutive masks stays below ε for `window` evaluations, the search asks
 * the training loop to stop, and θ0 ⊙ m retrains. Never detected: the mask of the fully trained
 * dense network. The search's steps count toward the row's compute (detectionIteration).
 */
const schema = z
  .strictObject({
    kind: z.literal('early-bird'),
    epsilon: z.number().gt(0).lt(1).default(0.1).describe('ε: detection threshold on the normalized Hamming distance (You et al.: 0.1)'),
    window: z.number().int().positive().default(5).describe('consecutive distances that must all be below ε (You et al.: 5)'),
  })
  .describe(
    "early-bird tickets (You et al. 2020): train dense from θ0, at each evaluation take the magnitude mask at the level's counts; prune where the distance between consecutive masks stays below ε, then retrain θ0 ⊙ m",
  );

const SHORTHAND = /^early-bird(?:@(.+))?$/;

export const earlyBird = during({
  kind: 'early-bird',
  schema,
  shorthands: [{ form: 'early-bird' }, { form: 'early-bird@ε, e.g. early-bird@0.05' }],
  // ε is range-checked by `check`, for one clear message naming the chain string.
  parse: (s) => {
    const m = SHORTHAND.exec(s);
    return m ? { kind: 'early-bird', epsilon: m[1] === undefined ? 0.1 : Number(m[1]), window: 5 } : null;
  },
  name: (d) => `early-bird@${d.epsilon}`,
  check: (d) => (d.epsilon > 0 && d.epsilon < 1 ? null : { field: '', message: 'ε must be a number in (0, 1), e.g. early-bird@0.1' }),
  async run(d, x) {
    const { pools, dense, targets } = levelPools(x);
    const search = earlyBirdSearch({ pools, dense, targets, every: x.plan.evalEvery, epsilon: d.epsilon, window: d.window, rng: x.rng });
    // The dense replay of level 0 (same θ0, same batches) until the ticket is found.
    const dry = await x.trainFrom({ init: x.theta0, masks: dense, stepCallbacks: [search], orderLevel: 0, label: 'search' });
    const found = search.found();
    let masks = found?.masks;
    if (!masks) {
      masks = Object.fromEntries(Object.entries(dense).map(([k, v]) => [k, Uint8Array.from(v)]));
      const m = masks;
      pools.forEach((p, j) => keepTop(m, p.names, Object.fromEntries(p.names.map((n) => [n, dry.weights[n].map(Math.abs)])), targets[j], x.rng));
    }
    const detection = found?.step ?? dry.iterations;
    const res = await x.trainFrom({ init: maskedCopy(x.model, x.theta0, masks), masks });
    const batch = x.plan.spec.batchSize;
    const compute = {
      totalIterations: detection + res.iterations,
      totalMultiplyAdds: detection * denseStepMultiplyAdds(x.model, batch) + fixedMaskMacs(x.model, batch, masks, res.iterations),
      detectionIteration: detection,
    };
    return { masks, res, compute, distances: search.distances };
  },
});
