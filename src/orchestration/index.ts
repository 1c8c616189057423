export { runExperiment, codeVersion, pendingJobs, jobName, type Job, type RunSummary } from './runner.js';
export type { ProgressEvent, RunOptions } from './context.js';
export { resolveRun, trialSeed } from './context.js';
export { planRun, branchTasksByChain, type RunPlan, type Level0Task, type ChainTask, type PlannedRow } from './plan.js';
