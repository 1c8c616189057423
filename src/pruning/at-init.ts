import { given } from './criteria.js';
import { criterion, type CriterionDef } from './pruner.js';
import { AT_INIT_DEFAULTS, atInitScores, type AtInitCriterion } from './saliency.js';

/**
 * Pruning at initialization (docs/PAPERS.md#when-to-prune): SNIP, GraSP and SynFlow score θ0
 * under the masks pruned so far (./saliency.ts atInitScores), never trained weights, so the
 * mask costs no training. SNIP and GraSP read `pruning.atInit.sample` examples drawn per trial;
 * SynFlow is data-free and rescores `pruning.atInit.synflowIterations` times per level.
 */
const atInit = (name: AtInitCriterion, help: string, more: Pick<CriterionDef, 'needs' | 'rounds'>): CriterionDef =>
  criterion(help, given(name), { atInit: true, saliency: (x) => (m) => atInitScores(x.model, name, x.theta0, m, x.sample), ...more });

export const snip = atInit('snip', 'keep the largest |g ⊙ θ0| on a data sample (Lee et al. 2019, SNIP)', { needs: { sample: 'at-init' } });

export const grasp = atInit('grasp', 'keep the largest θ0 ⊙ Hg, i.e. remove the highest −θ0 ⊙ Hg (Wang et al. 2020, GraSP)', {
  needs: { sample: 'at-init' },
});

export const synflow = atInit('synflow', 'keep the largest data-free path-norm saliency θ ⊙ ∂R/∂θ, iterated (Tanaka et al. 2020, SynFlow)', {
  rounds: (p) => (p.atInit ?? AT_INIT_DEFAULTS).synflowIterations,
});
