export type { AnalysisName } from './registry.js';
export { runAnalysis } from './run.js';
export { analysisTable } from './report.js';
export { noiseAnalysis, NOISE_AMOUNTS } from './noise.js';
