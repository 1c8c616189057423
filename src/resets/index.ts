export { describeResets, resetOf, resolveReset, resetNames, type ResetInputs, type Reset } from './registry.js';
export { hasStart, openStart, type ChainStart, type OpenedStart } from './start.js';
