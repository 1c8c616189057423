export { ANALYSES, ANALYSIS_NAMES, type AnalysisName } from './registry.js';
export { runAnalysis, type AnalyzeOptions } from './run.js';
export { analysisTable } from './report.js';
export { noiseAnalysis, NOISE_AMOUNTS, type NoiseKind } from './noise.js';
export type { AnalysisDef, AnalysisInputs, AnalysisRow } from './types.js';
