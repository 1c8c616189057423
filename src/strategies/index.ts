export { resetOf, resolveStrategy, strategyNames, type ResetInputs, type Strategy } from './registry.js';
export { MASK0, type Mask0Inputs } from './mask0.js';
export { BRANCHES, expandBranch, type BranchInputs, type BranchTask, type BranchWork } from './branches.js';
