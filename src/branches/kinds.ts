import type { InitName, Masks, Model, Weights } from '../models/index.js';
import { randomMasks, shuffledMasks } from '../pruning/index.js';
import type { BranchKind, BranchSpec, Step } from '../spec/index.js';
import type { Rng } from '../util/index.js';
import { resetOf, type ResetInputs } from '../resets/index.js';

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
  | {
      readonly kind: 'learn-mask';
      readonly frozen: Weights;
      readonly masks: Masks;
      readonly iterations: Step | null;
      readonly lr: number;
      readonly scoreInit: number;
    }
  /** train two copies from the chain's start at this level with different data orders and evaluate
   *  the straight line between them at `points` α (instability.ts) */
  | {
      readonly kind: 'instability';
      readonly masks: Masks;
      readonly points: number;
      /** re-estimate BatchNorm's running statistics at each α on this many training batches; null = interpolate them */
      readonly statsBatches: number | null;
    };

export interface BranchTask {
  /** the `branch` column */
  readonly label: string;
  readonly replicate: number;
  readonly levels: 'all' | readonly number[];
  readonly chains: 'all' | readonly string[];
  build(x: BranchInputs): BranchWork;
}

type Of<K extends BranchKind> = Extract<BranchSpec, { kind: K }>;
/** What each branch kind does; its options and help text are declared once, in spec/schema.ts's branchSchema. */
interface BranchDef<K extends BranchKind> {
  expand(b: Of<K>): { label: string; replicate: number; build(x: BranchInputs): BranchWork }[];
}

const resetInputs = (x: BranchInputs): ResetInputs => ({ ...x, thetaK: null, thetaFinal: x.theta0 });
/** θ0 ⊙ m or sign(θ0)·σ ⊙ m: the two weight choices of Zhou et al.'s supermasks. */
const supermaskWeights = (w: 'init' | 'signed-constant', x: BranchInputs): Weights => resetOf(w === 'init' ? 'rewind' : 'sign-constant')(resetInputs(x));
const labelFor = (b: { label?: string; kind: string }, w: 'init' | 'signed-constant') => `${b.label ?? b.kind}${w === 'init' ? '' : '-signed-constant'}`;
const replicates = <T>(count: number, f: (r: number) => T): T[] => Array.from({ length: count }, (_, r) => f(r));

export const BRANCHES: { [K in BranchKind]: BranchDef<K> } = {
  'random-reinit': {
    expand: (b) =>
      replicates(b.count, (r) => ({
        label: b.label ?? b.kind,
        replicate: r,
        build: (x) => ({ kind: 'train', init: resetOf('random-reinit')(resetInputs(x)), masks: x.masks }),
      })),
  },
  'random-mask': {
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
    expand: (b) =>
      [...new Set(b.weights)].map((w) => ({
        label: labelFor(b, w),
        replicate: 0,
        build: (x) => ({ kind: 'evaluate', weights: supermaskWeights(w, x), masks: x.masks }),
      })),
  },
  'learned-supermask': {
    expand: (b) => [
      {
        label: labelFor(b, b.weights),
        replicate: 0,
        build: (x) => ({
          kind: 'learn-mask',
          frozen: supermaskWeights(b.weights, x),
          masks: x.masks,
          iterations: b.iterations,
          lr: b.lr,
          scoreInit: b.scoreInit,
        }),
      },
    ],
  },
  instability: {
    expand: (b) => [
      {
        label: b.label ?? b.kind,
        replicate: 0,
        build: (x) => ({ kind: 'instability', masks: x.masks, points: b.points, statsBatches: b.batchnorm === 'reestimate' ? b.statsBatches : null }),
      },
    ],
  },
};

/** The rows a branch entry of the spec produces at every level it hangs off. */
export function expandBranch(b: BranchSpec): BranchTask[] {
  const def = BRANCHES[b.kind] as BranchDef<BranchKind>;
  return def.expand(b as never).map((t) => ({ ...t, levels: b.levels, chains: b.chains }));
}
