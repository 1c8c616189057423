import type { Spec } from '../spec/index.js';
import type { StoredRow } from '../storage/index.js';
import { expandBranch, type BranchTask } from '../branches/index.js';

/**
 * The run plan: every row an experiment must contain, worked out in one place from the resolved
 * spec and the rows already stored. `lth run` (its job list and progress totals), `lth status`
 * and any scheduler that splits an experiment into tasks read it, so they cannot disagree.
 * Needs neither data nor a backend: the spec and the database are enough.
 *
 * What a spec asks for (docs/SCHEMA.md, "Words"):
 * - per trial, level 0 (chain '', shared by the trial's chains);
 * - per (chain, trial), levels 1..`pruning.levels`, stopping early at the first stored level whose
 *   % remaining is ≤ `pruning.targetPercent`, or whose final test accuracy is more than
 *   `pruning.maxAccuracyDrop` percentage points below the trial's level 0 (then the chain
 *   is complete at that level: node pruning's termination condition, Molchanov et al. 2017);
 * - per chain level L (0 included when a branch names it), one row per branch task (label,
 *   replicate) of the chain that applies to L ('all' = every pruned level 1..`pruning.levels`).
 * Until a targetPercent chain has stopped, its planned levels are an upper bound.
 */

/** One row of the `results` table the experiment must have. */
export interface PlannedRow {
  /** chain name (the db column `strategy`); '' for level 0 */
  readonly strategy: string;
  /** '' on a chain level or level 0; the branch label otherwise */
  readonly branch: string;
  readonly replicate: number;
  readonly trial: number;
  readonly level: number;
  readonly done: boolean;
}

/** Level 0 of one trial (docs/DESIGN.md#glossary): the first task of a trial, every chain of it waits for it. */
export interface Level0Task {
  readonly kind: 'level0';
  readonly trial: number;
  /** the job name used in progress events and locks */
  readonly job: string;
  readonly row: PlannedRow;
  readonly done: boolean;
}

/** One chain of one trial: its pruned levels, then the branch rows hanging off them. Runs after its trial's level-0 task. */
export interface ChainTask {
  readonly kind: 'chain';
  readonly chain: string;
  readonly trial: number;
  readonly job: string;
  /** chain levels 1..n, in order (n = pruning.levels, or the level where targetPercent was reached) */
  readonly levels: readonly PlannedRow[];
  /** branch rows under this chain, by level then spec order */
  readonly branches: readonly PlannedRow[];
  /** the stored level at which targetPercent was reached or accuracy fell more than maxAccuracyDrop, or null */
  readonly stoppedAt: number | null;
  readonly done: boolean;
}

export interface RunPlan {
  /** one per trial, by trial */
  readonly level0: readonly Level0Task[];
  /** one per (trial, chain), trial-major in spec order */
  readonly chains: readonly ChainTask[];
  /** every planned row: level 0, chain levels and branches */
  readonly rows: readonly PlannedRow[];
  readonly total: number;
  readonly done: number;
  /** every planned row is stored */
  readonly complete: boolean;
}

/** Branch tasks of each chain of the spec (spec order), as the orchestrator runs them. */
export function branchTasksByChain(spec: Spec): Map<string, BranchTask[]> {
  const tasks = (spec.branches ?? []).flatMap(expandBranch);
  return new Map(spec.strategies.map((c) => [c.name, tasks.filter((t) => t.chains === 'all' || t.chains.includes(c.name))]));
}

/** Whether a branch task hangs off chain level `level` ('all' = every pruned level). */
export const branchApplies = (spec: Spec, task: Pick<BranchTask, 'levels'>, level: number): boolean =>
  task.levels === 'all' ? level >= 1 && level <= spec.pruning.levels : task.levels.includes(level);

const rowKey = (r: { strategy: string; branch: string; replicate: number; trial: number; level: number }) =>
  `${r.strategy}\u0000${r.branch}\u0000${r.replicate}\u0000${r.trial}\u0000${r.level}`;

/** Whether a stored chain level's final test accuracy is more than `maxDrop` points (percent) below its trial's level 0's. */
function accuracyDropped(maxDrop: number | null, level0: PlannedRow, level: StoredRow | undefined, have: Map<string, StoredRow>): boolean {
  if (maxDrop === null || !level) return false;
  const a0 = have.get(rowKey(level0))?.finalTestAccuracy;
  const a = level.finalTestAccuracy;
  return a0 != null && a != null && 100 * (a0 - a) > maxDrop;
}

/** The plan of `spec` given its stored rows (Store.storedRows). Pure: the same inputs give the same plan. */
export function planRun(spec: Spec, stored: readonly StoredRow[]): RunPlan {
  const have = new Map(stored.map((r) => [rowKey(r), r]));
  const row = (strategy: string, branch: string, replicate: number, trial: number, level: number): PlannedRow => ({
    strategy,
    branch,
    replicate,
    trial,
    level,
    done: have.has(rowKey({ strategy, branch, replicate, trial, level })),
  });
  const target = spec.pruning.targetPercent;
  const maxDrop = spec.pruning.maxAccuracyDrop ?? null;
  const byChain = branchTasksByChain(spec);
  const level0: Level0Task[] = [];
  const chains: ChainTask[] = [];
  for (let trial = 0; trial < spec.trials; trial++) {
    const d = row('', '', 0, trial, 0);
    level0.push({ kind: 'level0', trial, job: `dense t${trial}`, row: d, done: d.done });
    for (const c of spec.strategies) {
      const levels: PlannedRow[] = [];
      let stoppedAt: number | null = null;
      for (let l = 1; l <= spec.pruning.levels; l++) {
        const r = row(c.name, '', 0, trial, l);
        levels.push(r);
        const stored = have.get(rowKey(r));
        const p = stored?.percentRemaining;
        if ((target !== null && p !== undefined && p <= target) || accuracyDropped(maxDrop, d, stored, have)) {
          stoppedAt = l;
          break;
        }
      }
      const branches: PlannedRow[] = [];
      for (let l = 0; l <= levels.length; l++)
        for (const t of byChain.get(c.name) ?? []) if (branchApplies(spec, t, l)) branches.push(row(c.name, t.label, t.replicate, trial, l));
      chains.push({
        kind: 'chain',
        chain: c.name,
        trial,
        job: `${c.name} t${trial}`,
        levels,
        branches,
        stoppedAt,
        done: levels.every((r) => r.done) && branches.every((r) => r.done),
      });
    }
  }
  const rows: PlannedRow[] = [];
  for (let t = 0; t < spec.trials; t++) {
    rows.push(level0[t].row);
    for (const c of chains.filter((c) => c.trial === t)) rows.push(...c.levels, ...c.branches);
  }
  const done = rows.filter((r) => r.done).length;
  return { level0, chains, rows, total: rows.length, done, complete: done === rows.length };
}
