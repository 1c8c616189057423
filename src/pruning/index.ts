export { CRITERIA, type ScoreFn, type ScoreInputs } from './criteria.js';
export { denseMasks, maskHash, prune, pruneCount, sparsity, type PruneArgs, type Sparsity } from './masker.js';
