export { describeStrategies, resetOf, resolveStrategy, strategyNames, type ResetInputs, type Strategy } from './registry.js';
export { hasStart, openStart, type ChainStart, type OpenedStart } from './start.js';
