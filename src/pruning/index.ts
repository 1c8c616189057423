export { type ScoreFn, type ScoreInputs } from './criteria.js';
export { CRITERIA, DURING_PRUNERS, UNIT_CRITERIA, duringPruner, duringShorthand, type CriterionName } from './registry.js';
export { criterion, during, type CriterionDef, type DuringLevel, type DuringOutcome, type DuringPruner, type SampleNeed } from './pruner.js';
export { chainPruning, type ChainPruning } from './level.js';
export { erkCounts, erkDensities } from './erk.js';
export {
  fullMasks,
  isExcluded,
  isUnitExcluded,
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
export { AT_INIT_CRITERIA, atInitScores, isAtInit, obdScores, sampleAt, saliencySample, type AtInitCriterion, type SaliencySample } from './saliency.js';
export { unitCounts, unitLayers, unitLayersLeftOut, withUnitMasks, type Granularity, type UnitCriterionName, type UnitStats } from './units.js';
export { sampleIndices, unitStatistics } from './statistics.js';
export { fixedMaskMacs } from './during.js';
export { AT_INIT_DEFAULTS, atInitSettings } from './at-init.js';
