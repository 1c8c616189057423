export * from './schema.js';
export { applySets, loadSpec, validateSpec, type LoadedSpec } from './load.js';
export { parseStep, stepToIterations, type Step } from './step.js';
export { COMPUTE_VERSION, EXTENDABLE, checkResume, diffIdentity, identityOf, type Identity, type IdentityDiff } from './identity.js';
export { checkSpec, checkChainsAndBranches, type TwinPair } from './check.js';
export { describeSpec } from './describe.js';
