import type { InitName } from '../models/init.js';
import type { Masks, Model, Weights } from '../models/types.js';
import { randomMasks, shuffledMasks } from '../pruning/masker.js';
import type { BranchKind, BranchSpec } from '../spec/schema.js';
import type { Step } from '../spec/step.js';
import type { Rng } from '../util/rng.js';
import { resetOf, type ResetInputs } from './registry.js';

/**
 * Branches (docs/DESIGN.md#branches): controls hanging off a chain's level L that reuse its mask m_L.
 * Each spec entry expands into tasks (one per stored row: a label and a replicate); a task is
 * a pure function from (θ0, m_L, rng) to the work the orchestrator does. Registered by kind.
 */
export interface BranchInputs {
  readonly model: Model;
  readonly init: InitName;
  /** θ0 of the trial */
  readonly theta0: Weights;
  /** the chain level's mask m_L */
  readonly masks: Masks;
  /** seeded for this (trial, chain, level, label, replicate) */
  readonly rng: Rng;
}

/** What a branch row needs done. Pruned weights are zero in every case (mask-0 = zero). */
export type BranchWork =
  /** train from `init` ⊙ `masks` on the full schedule */
  | { readonly kind: 'train'; readonly init: Weights; readonly masks: Masks }
  /** evaluate `weights` (already ⊙ `masks`) with no training: iterations 0 */
  | { readonly kind: 'evaluate'; readonly weights: Weights; readonly masks: Masks }
  /** learn a supermask over `masks` with the weights frozen at `frozen` (already ⊙ `masks`) */
  | { readonly kind: 'learn-mask'; readonly frozen: Weights; readonly masks: Masks; readonly iterations: Step | null; readonly lr: number; readonly scoreInit: number };

export interface BranchTask {
  /** the `branch` column */
  readonly label: string;
  readonly replicate: number;
  readonly levels: 'all' | readonly number[];
  readonly chains: 'all' | readonly string[];
  build(x: BranchInputs): BranchWork;
}

type Of<K extends BranchKind> = Extract<BranchSpec, { kind: K }>;
interface BranchDef<K extends BranchKind> {
  readonly describe: string;
  expand(b: Of<K>): { label: string; replicate: number; build(x: BranchInputs): BranchWork }[];
}

const resetInputs = (x: BranchInputs): ResetInputs => ({ ...x, thetaK: null, thetaFinal: x.theta0 });
/** θ0 ⊙ m or sign(θ0)·σ ⊙ m: the two weight choices of Zhou et al.'s supermasks. */
const supermaskWeights = (w: 'init' | 'signed-constant', x: BranchInputs): Weights => resetOf(w === 'init' ? 'rewind' : 'sign-constant')(resetInputs(x));
const labelFor = (b: { label?: string; kind: string }, w: 'init' | 'signed-constant') => `${b.label ?? b.kind}${w === 'init' ? '' : '-signed-constant'}`;
const replicates = <T>(count: number, f: (r: number) => T): T[] => Array.from({ length: count }, (_, r) => f(r));

export const BRANCHES: { [K in BranchKind]: BranchDef<K> } = {
  'random-reinit': {
    describe: 'm_L ⊙ a fresh draw from the initializer, trained the full schedule (Frankle & Carbin control)',
    expand: (b) =>
      replicates(b.count, (r) => ({
        label: b.label ?? b.kind,
        replicate: r,
        build: (x) => ({ kind: 'train', init: resetOf('random-reinit')(resetInputs(x)), masks: x.masks }),
      })),
  },
  'random-mask': {
    describe: "a random mask with m_L's per-layer counts, from θ0, trained the full schedule",
    expand: (b) =>
      replicates(b.count, (r) => ({
        label: b.label ?? b.kind,
        replicate: r,
        build: (x) => {
          const masks = randomMasks(x.model, x.masks, x.rng);
          return { kind: 'train', init: resetOf('rewind')({ ...resetInputs(x), masks }), masks };
        },
      })),
  },
  'layer-shuffle': {
    describe: "m_L's kept positions permuted within each layer, from θ0, trained the full schedule (Su et al. 2020)",
    expand: (b) =>
      replicates(b.count, (r) => ({
        label: b.label ?? b.kind,
        replicate: r,
        build: (x) => {
          const masks = shuffledMasks(x.model, x.masks, x.rng);
          return { kind: 'train', init: resetOf('rewind')({ ...resetInputs(x), masks }), masks };
        },
      })),
  },
  supermask: {
    describe: 'θ0 ⊙ m_L and sign(θ0)·σ ⊙ m_L evaluated untrained (Zhou et al. §5)',
    expand: (b) =>
      [...new Set(b.weights)].map((w) => ({
        label: labelFor(b, w),
        replicate: 0,
        build: (x) => ({ kind: 'evaluate', weights: supermaskWeights(w, x), masks: x.masks }),
      })),
  },
  'learned-supermask': {
    describe: 'weights frozen at θ0 (or signed constant) ⊙ m_L; Bernoulli(sigmoid(score)) mask learned with a straight-through estimator (Zhou et al. §5)',
    expand: (b) => [
      {
        label: labelFor(b, b.weights),
        replicate: 0,
        build: (x) => ({ kind: 'learn-mask', frozen: supermaskWeights(b.weights, x), masks: x.masks, iterations: b.iterations, lr: b.lr, scoreInit: b.scoreInit }),
      },
    ],
  },
};

/** The rows a branch entry of the spec produces at every level it hangs off. */
export function expandBranch(b: BranchSpec): BranchTask[] {
  const def = BRANCHES[b.kind] as BranchDef<BranchKind>;
  return def.expand(b as never).map((t) => ({ ...t, levels: b.levels, chains: b.chains }));
}
