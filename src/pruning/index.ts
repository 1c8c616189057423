export { CRITERIA, type ScoreFn, type ScoreInputs } from './criteria.js';
export {
  denseMasks,
  isExcluded,
  keepTop,
  prunePools,
  type PrunePool,
  layerOf,
  maskHash,
  prune,
  pruneCount,
  randomMasks,
  remainingAfter,
  shuffledMasks,
  sparsity,
  type PruneArgs,
  type Sparsity,
} from './masker.js';
export type { CriterionName } from './criteria.js';
export {
  AT_INIT_CRITERIA,
  AT_INIT_DEFAULTS,
  atInitScores,
  isAtInit,
  obdScores,
  sampleAt,
  saliencySample,
  type AtInitCriterion,
  type SaliencySample,
} from './saliency.js';
export { UNIT_CRITERIA, unitCounts, unitLayers, withBiasMasks, type Granularity, type UnitCriterionName, type UnitStats } from './units.js';
export { sampleIndices, unitStatistics } from './statistics.js';
