import type { Artifact } from './levels.js';

/** The shapes storage reads and writes: what a level commits, what the run plan and `lth status` read back. */

/** What the spec's identity rules say about resuming a stored experiment. */
export type ResumeVerdict = { ok: true; extended: boolean } | { ok: false; reason: string };

/** One evaluation point of a level, as stored (structurally the training loop's CurvePoint). */
export interface StoredPoint {
  iteration: number;
  trainLoss: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
}

/** Remaining weights of a level, as stored (structurally pruning's Sparsity). */
export interface StoredSparsity {
  percentRemaining: number;
  layers: { layer: string; total: number; remaining: number }[];
}

export interface LevelRecord {
  experimentId: number;
  /** the chain's name, stored in the db column `strategy` (docs/DESIGN.md#glossary); '' for level 0, shared by the trial's chains */
  strategy: string;
  branch?: string;
  replicate?: number;
  trial: number;
  level: number;
  sparsity: StoredSparsity;
  maskHash: string;
  earlyStop: StoredPoint;
  final: StoredPoint;
  curve: StoredPoint[];
  iterations: number;
  wallSeconds: number;
  backend: string;
  /** weight files written for this level, by artifact key */
  artifacts: Record<string, Artifact>;
  /** mask updates during training (table mask_updates) */
  churn?: readonly { step: number; layer: string; dropped: number; regrown: number; remaining: number }[];
  /** early-bird search: mask distance per evaluation (table mask_distances) */
  distances?: readonly { iteration: number; distance: number }[];
  /** compute spent to reach this row (table compute) */
  compute?: { totalIterations: number; totalMultiplyAdds: number; detectionIteration?: number | null };
  /** units kept per unit layer (neuron/filter granularity; empty or absent otherwise) */
  units?: { layer: string; total: number; remaining: number }[];
  /** per hidden layer, the fraction of ReLU outputs on the test split that are exactly 0 */
  activations?: { layer: string; zeroFraction: number }[];
  /** instability branch: test loss and error at evenly spaced α between two copies (table instability) */
  instability?: readonly { alpha: number; testLoss: number; testError: number }[];
}

/** A stored row's identity and its % remaining: what the run plan needs (orchestration/plan.ts). */
export interface StoredRow {
  strategy: string;
  branch: string;
  replicate: number;
  trial: number;
  level: number;
  percentRemaining: number;
  /** final test accuracy (fraction), null when not measured: pruning.maxAccuracyDrop reads it */
  finalTestAccuracy?: number | null;
}

/** An experiment as `lth status` lists it. */
export interface ExperimentInfo {
  id: number;
  name: string;
  specHash: string;
  specJson: string;
  codeVersion: string;
  /** backends that trained its levels, comma-separated, or null before the first level */
  backends: string | null;
  /** ISO time of its last stored level, or null */
  last: string | null;
}
