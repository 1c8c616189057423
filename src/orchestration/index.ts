export { runExperiment, codeVersion, type RunSummary } from './runner.js';
export type { ProgressEvent, RunOptions } from './context.js';
