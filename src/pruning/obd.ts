import { given } from './criteria.js';
import { criterion } from './pruner.js';
import { obdScores } from './saliency.js';

/**
 * Optimal Brain Damage (LeCun, Denker & Solla 1990; docs/PAPERS.md#obd): the trained weights
 * scored by ½·h_ii·w², h_ii the empirical-Fisher diagonal on `pruning.sample` (./saliency.ts obdScores).
 */
export const obd = criterion(
  'keep the largest Optimal Brain Damage saliency ½·h_ii·w_f², h_ii the empirical-Fisher diagonal on pruning.sample (LeCun et al. 1990)',
  given('obd'),
  {
    needs: { sample: 'pruning' },
    saliency: (x) => (m) => {
      if (!x.sample) throw new Error('obd needs a data sample: declare needs.sample');
      return obdScores(x.model, x.final, m, x.sample);
    },
  },
);
