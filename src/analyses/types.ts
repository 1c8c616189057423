import type { Split } from '../data/index.js';
import type { InitName, Masks, Model, Weights } from '../models/index.js';

/** One stored level as an analysis sees it. */
export interface AnalysisInputs {
  readonly model: Model;
  readonly init: InitName;
  /** θ0 of the level's trial (stored layout) */
  readonly theta0: Weights;
  /** the level's final weights (stored layout; pruned weights exactly 0) */
  readonly weights: Weights;
  readonly masks: Masks;
  /** the test split, normalized as the model was trained */
  readonly test: Split;
  /** the seed of the level's trial (orchestration's trialSeed): what re-randomization draws from */
  readonly trialSeed: number;
  /** the experiment's master seed: the noise is drawn from it, so every level sees the same perturbed inputs */
  readonly seed: number;
  /** test loss (nats) and accuracy (fraction) of `w` (stored layout) on `split`; leaves no tensors */
  evaluate(w: Weights, split: Split): Promise<{ loss: number; accuracy: number }>;
}

/** A row of an analysis table without its result_id: column name → value. */
export type AnalysisRow = Record<string, string | number>;

/**
 * An analysis of stored levels (docs/DESIGN.md#analyses): `lth analyze NAME EXP` measures every
 * stored chain level once and writes `measure`'s rows to `table` (docs/SCHEMA.md).
 */
export interface AnalysisDef {
  /** one line for --help */
  readonly help: string;
  /** its table in the storage schema (src/storage/schema.ts): result_id plus the row's columns */
  readonly table: string;
  /** the columns that name a setting of a row (the rest of the key is result_id); the report's column groups */
  readonly setting: readonly string[];
  measure(x: AnalysisInputs): Promise<AnalysisRow[]>;
}
