export * from './schema.js';
export { applySets, loadSpec, validateSpec, type LoadedSpec } from './load.js';
export { parseStep, stepToIterations, type Step } from './step.js';
