export { CRITERIA, type ScoreFn, type ScoreInputs } from './criteria.js';
export { denseMasks, isExcluded, layerOf, maskHash, prune, pruneCount, randomMasks, remainingAfter, sparsity, type PruneArgs, type Sparsity } from './masker.js';
export type { CriterionName } from './criteria.js';
