export { describeStrategies, resetOf, resolveStrategy, strategyNames, type ResetInputs, type Strategy } from './registry.js';
