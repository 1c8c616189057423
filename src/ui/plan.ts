/**
 * How many rows a finished experiment has, from its stored spec: the count `lth run` plans
 * (one dense level per trial, `pruning.levels` per chain and trial, and every branch task at
 * every level it names — as orchestration/branches.ts expands them). Kept in this one module
 * so that it can follow the run plan wherever that moves.
 */
import type { BranchSpec } from '../spec/schema.js';
import { expandBranch } from '../strategies/branches.js';

interface StoredSpec {
  trials?: number;
  strategies?: ({ name?: string } | string)[];
  pruning?: { levels?: number };
  branches?: BranchSpec[];
}

/** Rows of the results table when the experiment is complete; null when the stored spec lacks what is needed. */
export function plannedRows(specJson: string): number | null {
  let spec: StoredSpec;
  try {
    spec = JSON.parse(specJson) as StoredSpec;
  } catch {
    return null;
  }
  const trials = spec.trials;
  const levels = spec.pruning?.levels;
  const chains = (spec.strategies ?? []).map((c) => (typeof c === 'string' ? c : (c.name ?? '')));
  if (typeof trials !== 'number' || typeof levels !== 'number' || !chains.length) return null;
  let branchRows = 0;
  try {
    const tasks = (spec.branches ?? []).flatMap(expandBranch);
    for (const c of chains)
      for (const t of tasks) {
        if (t.chains !== 'all' && !t.chains.includes(c)) continue;
        for (let l = 0; l <= levels; l++) if (t.levels === 'all' ? l >= 1 : t.levels.includes(l)) branchRows++;
      }
  } catch {
    return null;
  }
  return trials * (1 + chains.length * levels + branchRows);
}
