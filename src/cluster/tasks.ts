import { checkChainsAndBranches } from '../spec/index.js';
import { planRun } from '../orchestration/plan.js';
import type { Spec } from '../spec/schema.js';

/**
 * The task list of a cluster plan (docs/CLUSTER.md): phase `dense` has one task per trial (its
 * level 0: θ0, dense training, θ_k); phase `chains` has K (chain, trial) pairs per task, each
 * with the branch rows hanging off its levels. A chain needs its trial's level 0, so the
 * chains array runs after the dense array (submit.sh: --dependency=afterok).
 */

export type Phase = 'dense' | 'chains';
export const PHASES: readonly Phase[] = ['dense', 'chains'];

/** One unit of work of a task, as src/orchestration/runner.ts `runJob` takes it. */
export type TaskJob = { kind: 'level0'; trial: number } | { kind: 'chain'; chain: string; trial: number };

export interface SweepTask {
  phase: Phase;
  /** the array index (SLURM_ARRAY_TASK_ID) */
  index: number;
  jobs: TaskJob[];
  /** rows this task stores when it is done: upper bound when pruning.targetPercent ends chains early */
  rows: number;
}

export interface TaskList {
  dense: SweepTask[];
  chains: SweepTask[];
}

/**
 * THE task list of a spec: the one place a cluster plan decides which task runs what, cut from
 * the one run plan (src/orchestration/plan.ts) that `lth run` and `lth status` follow. Order:
 * the plan's (trials outer, chains in spec order inner); chain task i holds pairs i·K … i·K+K−1.
 * Throws UserError on a spec whose chains or branches do not check out.
 */
export function tasksOf(spec: Spec, chainsPerTask = 1): TaskList {
  checkChainsAndBranches(spec);
  const plan = planRun(spec, []);
  const dense: SweepTask[] = plan.level0.map((d) => ({ phase: 'dense', index: d.trial, jobs: [{ kind: 'level0', trial: d.trial }], rows: 1 }));
  const chains: SweepTask[] = [];
  for (let i = 0; i * chainsPerTask < plan.chains.length; i++) {
    const part = plan.chains.slice(i * chainsPerTask, (i + 1) * chainsPerTask);
    chains.push({
      phase: 'chains',
      index: i,
      jobs: part.map((c) => ({ kind: 'chain', chain: c.chain, trial: c.trial })),
      rows: part.reduce((n, c) => n + c.levels.length + c.branches.length, 0),
    });
  }
  return { dense, chains };
}

/** [0,1,2,5,7,8] → "0-2,5,7-8" (the syntax of sbatch --array). */
export function arrayRanges(indices: readonly number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
