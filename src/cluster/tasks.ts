import { checkChainsAndBranches } from '../orchestration/context.js';
import type { Spec } from '../spec/schema.js';

/**
 * The task list of a cluster plan (docs/CLUSTER.md): phase `dense` has one task per trial (its
 * level 0: θ0, dense training, θ_k); phase `chains` has K (chain, trial) pairs per task, each
 * with the branch rows hanging off its levels. A chain needs its trial's dense level, so the
 * chains array runs after the dense array (submit.sh: --dependency=afterok).
 */

export type Phase = 'dense' | 'chains';
export const PHASES: readonly Phase[] = ['dense', 'chains'];

/** One unit of work of a task, as src/orchestration/runner.ts `runJob` takes it. */
export type TaskJob = { kind: 'dense'; trial: number } | { kind: 'chain'; chain: string; trial: number };

export interface PlanTask {
  phase: Phase;
  /** the array index (SLURM_ARRAY_TASK_ID) */
  index: number;
  jobs: TaskJob[];
  /** rows this task stores when it is done: upper bound when pruning.targetPercent ends chains early */
  rows: number;
}

export interface TaskList {
  dense: PlanTask[];
  chains: PlanTask[];
}

/** Branch rows one chain of one trial stores: each branch at every level it names (0…levels). */
export function branchRowsPerChain(spec: Spec, chain: string): number {
  const L = spec.pruning.levels;
  let n = 0;
  for (const b of checkChainsAndBranches(spec)) {
    if (b.chains !== 'all' && !b.chains.includes(chain)) continue;
    n += b.levels === 'all' ? L : b.levels.filter((l) => l <= L).length;
  }
  return n;
}

/**
 * THE task list of a spec: the one place a cluster plan decides which task runs what.
 * (When the run plan of src/orchestration gains its own job list, this is the function to
 * re-point at it.) Order: trials outer, chains in spec order inner; chain task i holds pairs
 * i·K … i·K+K−1. Throws UserError on a spec whose chains or branches do not check out.
 */
export function tasksOf(spec: Spec, chainsPerTask = 1): TaskList {
  const dense: PlanTask[] = [];
  for (let t = 0; t < spec.trials; t++) dense.push({ phase: 'dense', index: t, jobs: [{ kind: 'dense', trial: t }], rows: 1 });
  const pairs: TaskJob[] = [];
  for (let t = 0; t < spec.trials; t++) for (const c of spec.strategies) pairs.push({ kind: 'chain', chain: c.name, trial: t });
  const chains: PlanTask[] = [];
  for (let i = 0; i * chainsPerTask < pairs.length; i++) {
    const jobs = pairs.slice(i * chainsPerTask, (i + 1) * chainsPerTask);
    const rows = jobs.reduce((n, j) => n + (j.kind === 'chain' ? spec.pruning.levels + branchRowsPerChain(spec, j.chain) : 1), 0);
    chains.push({ phase: 'chains', index: i, jobs, rows });
  }
  return { dense, chains };
}

/** [0,1,2,5,7,8] → "0-2,5,7-8" (the syntax of sbatch --array). */
export function arrayRanges(indices: readonly number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
