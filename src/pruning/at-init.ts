import { z } from 'zod';
import { given } from './criteria.js';
import { criterion, type CriterionDef } from './pruner.js';
import { atInitScores, type AtInitCriterion } from './saliency.js';

/**
 * Pruning at initialization (docs/PAPERS.md#when-to-prune): SNIP, GraSP and SynFlow score θ0
 * under the masks pruned so far (./saliency.ts atInitScores), never trained weights, so the
 * mask costs no training. SNIP and GraSP read `pruning.atInit.sample` examples drawn per trial;
 * SynFlow is data-free and rescores `pruning.atInit.synflowIterations` times per level.
 */
/** The spec's `pruning.atInit` fields (src/spec/schema.ts uses this object). SNIP and GraSP use
 *  one batch of 100 examples for MNIST-sized data (Lee et al. 2019 §4); SynFlow prunes in 100
 *  rounds (Tanaka et al. 2020, Algorithm 1). */
export const atInitSettings = z.strictObject({
  sample: z.number().int().positive().default(100).describe('training examples (a fixed sample, seeded per trial) SNIP and GraSP score θ0 on'),
  synflowIterations: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe('SynFlow rounds per level, the kept fraction shrinking geometrically (Tanaka et al.: 100)'),
});

/** `pruning.atInit` when the spec leaves it out (it is optional, so old specs keep their hash): the schema's defaults. */
export const AT_INIT_DEFAULTS = atInitSettings.parse({});

const atInit = (name: AtInitCriterion, help: string, more: Pick<CriterionDef, 'needs' | 'rounds'>): CriterionDef =>
  criterion(help, given(name), { atInit: true, saliency: (x) => (m) => atInitScores(x.model, name, x.theta0, m, x.sample), ...more });

export const snip = atInit('snip', 'keep the largest |g ⊙ θ0| on a data sample (Lee et al. 2019, SNIP)', { needs: { sample: 'at-init' } });

export const grasp = atInit('grasp', 'keep the largest θ0 ⊙ Hg, i.e. remove the highest −θ0 ⊙ Hg (Wang et al. 2020, GraSP)', {
  needs: { sample: 'at-init' },
});

export const synflow = atInit('synflow', 'keep the largest data-free path-norm saliency θ ⊙ ∂R/∂θ, iterated (Tanaka et al. 2020, SynFlow)', {
  rounds: (p) => (p.atInit ?? AT_INIT_DEFAULTS).synflowIterations,
});
