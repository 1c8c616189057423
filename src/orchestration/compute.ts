import type { Masks } from '../models/index.js';
import { CRITERIA, fixedMaskMacs as macs } from '../pruning/index.js';
import type { LevelRecord } from '../storage/db.js';
import type { Chain, Context } from './context.js';

/** Training compute per stored row (docs/SCHEMA.md, table compute; counting in src/pruning/compute.ts). */

export type Compute = NonNullable<LevelRecord['compute']>;
export const ZERO: Compute = { totalIterations: 0, totalMultiplyAdds: 0 };
export const plus = (a: Compute | null, iterations: number, macs: number): Compute | undefined =>
  a ? { totalIterations: a.totalIterations + iterations, totalMultiplyAdds: a.totalMultiplyAdds + macs } : undefined;

/**
 * Compute spent to obtain the mask m_L of a chain's level L, before any training on it
 * (docs/SCHEMA.md, table compute): 0 at level 0, at level 1 of a chain with a start source (another experiment's ticket) and for criteria that score θ0 (their
 * registry entry's `atInit`; the scoring passes not counted); the dense level's total under one-shot pruning; level L−1's
 * total under iterative pruning. A chain that prunes during training makes its mask by
 * training, so a branch off it starts from the chain row's whole total. null when a needed row
 * has no compute (stored before schema version 3).
 */
export function maskCost(ctx: Context, chain: Chain, trial: number, level: number): Compute | null {
  // level 0; and level 1 of a chain with a start source, whose mask was made (and paid for) elsewhere
  if (level === 0 || (level === 1 && chain.start)) return ZERO;
  const of = (strategy: string, l: number) => ctx.store.computeOf(ctx.experimentId, l === 0 ? '' : strategy, trial, l);
  if (chain.during) return of(chain.name, level);
  if (CRITERIA[chain.criterion].atInit) return ZERO;
  return ctx.spec.pruning.schedule === 'one-shot' ? of('', 0) : of(chain.name, level - 1);
}

/** Multiply-adds of `iterations` training steps with fixed `masks`. */
export const fixedMaskMacs = (ctx: Context, masks: Masks, iterations: number): number => macs(ctx.model, ctx.plan.spec.batchSize, masks, iterations);
