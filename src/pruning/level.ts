import type { Split } from '../data/types.js';
import type { Masks, Model, Weights } from '../models/types.js';
import type { PruningSpec } from '../spec/schema.js';
import { makeRng, type Rng } from '../util/rng.js';
import { prune } from './masker.js';
import { CRITERIA, UNIT_CRITERIA, type CriterionName } from './registry.js';
import { AT_INIT_DEFAULTS } from './at-init.js';
import { sampleAt, saliencySample, type SaliencySample } from './saliency.js';
import { sampleIndices, unitStatistics } from './statistics.js';
import type { UnitCriterionName } from './units.js';

/**
 * Between-level pruning of one chain in one trial: what the chain's criterion declares it needs
 * (./pruner.ts CriterionDef) is prepared here, so the level loop names no criterion.
 * - a sample `at-init`: `pruning.atInit.sample` examples of the training split drawn per trial
 *   (the same for every chain and level), capped at the split's size (src/spec/check.ts warns);
 * - a sample `pruning`: the fixed draw of `pruning.sample` (capped the same way);
 * - unit statistics (neuron/filter granularity with a data-driven unit criterion): recomputed
 *   each level on the previous level's final weights over `pruning.sample`;
 * - rescoring rounds (`rounds`).
 */
export interface ChainPruning {
  /**
   * The mask of one level: scores the alive weights of `masks` (θ0 and `final`, the previous
   * level's final weights, stored layout) and keeps the top counts of the distribution.
   * `rounds`: iterative rounds this level prunes at once (one-shot level L: L).
   */
  pruneLevel(x: { masks: Masks; final: Weights; rng: Rng; rounds: number; level: number }): Promise<Masks>;
  /** the mask comes from θ0 alone (at-init criteria): it costs no training */
  readonly atInit: boolean;
}

export function chainPruning(a: {
  model: Model;
  pruning: PruningSpec;
  criterion: CriterionName;
  unitCriterion: UnitCriterionName;
  train: Split;
  trialSeed: number;
  theta0: Weights;
}): ChainPruning {
  const p = a.pruning;
  const entry = CRITERIA[a.criterion];
  const need = entry.needs?.sample;
  const pruningSample = () => sampleIndices(a.train.n, p.sample.size, p.sample.seed);
  let sample: SaliencySample | null = null;
  if (need === 'at-init') sample = saliencySample(a.train, Math.min((p.atInit ?? AT_INIT_DEFAULTS).sample, a.train.n), makeRng('saliency-sample', a.trialSeed));
  if (need === 'pruning') sample = sampleAt(a.train, pruningSample());
  const unitData = p.granularity !== 'weight' && UNIT_CRITERIA[a.unitCriterion].needsData;
  return {
    atInit: entry.atInit === true,
    async pruneLevel(x) {
      const unitStats = unitData ? await unitStatistics(a.model, x.final, a.train, pruningSample()) : undefined;
      return prune({
        model: a.model,
        masks: x.masks,
        init: a.theta0,
        final: x.final,
        spec: p,
        criterion: a.criterion,
        rng: x.rng,
        rounds: x.rounds,
        level: x.level,
        saliency: entry.saliency?.({ model: a.model, theta0: a.theta0, final: x.final, sample }),
        iterations: entry.rounds?.(p) ?? 1,
        unitCriterion: a.unitCriterion,
        unitStats,
      });
    },
  };
}
