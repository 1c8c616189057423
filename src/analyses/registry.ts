import { noiseAnalysis } from './noise.js';
import { reinitAnalysis } from './reinit.js';
import type { AnalysisDef } from './types.js';

/** Every analysis `lth analyze` runs, by name (docs/DESIGN.md#analyses). Adding one: a file and a line here, and its table in src/storage/schema.ts. */
export const ANALYSES = {
  noise: noiseAnalysis,
  reinit: reinitAnalysis,
} as const satisfies Record<string, (...a: never[]) => AnalysisDef>;

export type AnalysisName = keyof typeof ANALYSES;
export const ANALYSIS_NAMES = Object.keys(ANALYSES) as AnalysisName[];
