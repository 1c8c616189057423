export { BRANCHES, expandBranch, type BranchInputs, type BranchTask, type BranchWork } from './kinds.js';
export { alphaAt, errorBarrier, interpolate, SECOND_COPY } from './instability.js';
