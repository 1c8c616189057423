export { BRANCHES, expandBranch, type BranchInputs, type BranchTask, type BranchWork } from './kinds.js';
