export { describeStrategies, resolveStrategy, strategyNames, type ResetInputs, type Strategy } from './registry.js';
