import { planRun } from '../orchestration/plan.js';
import { Store } from '../storage/db.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Spec } from '../spec/schema.js';
import { readSweep, shardPath } from './sweep.js';
import { arrayRanges, type Phase, type SweepTask } from './tasks.js';

export type TaskState = 'done' | 'partial' | 'missing';

export interface TaskStatus {
  phase: Phase;
  index: number;
  state: TaskState;
  /** rows of this task's own jobs in its shard (imported dense rows not counted) */
  rows: number;
  /** rows when done (upper bound when pruning.targetPercent ends chains early) */
  expected: number;
  jobs: string;
}

export interface PlanStatus {
  dir: string;
  experiment: string;
  tasks: TaskStatus[];
  /** sbatch lines that resubmit every task not done (empty when all are done) */
  resubmit: string[];
}

function taskStatus(dir: string, spec: Spec, task: SweepTask): TaskStatus {
  const jobs = task.jobs.map((j) => (j.kind === 'level0' ? `dense t${j.trial}` : `${j.chain} t${j.trial}`)).join(', ');
  const file = shardPath(dir, task.phase, task.index);
  const base = { phase: task.phase, index: task.index, expected: task.rows, jobs };
  if (!existsSync(file)) return { ...base, state: 'missing', rows: 0 };
  let store: Store;
  try {
    store = new Store(file, { readonly: true });
  } catch (e) {
    // e.g. a hot journal left by a killed task: its next run rolls it back
    return { ...base, state: 'partial', rows: 0, jobs: `${jobs} (shard unreadable until the task runs again: ${(e as Error).message})` };
  }
  try {
    const exp = store.experiments().find((x) => x.name === spec.name);
    if (!exp) return { ...base, state: 'missing', rows: 0 };
    // The shard's rows judged by the one run plan (src/orchestration/plan.ts), as `lth status` judges a database.
    const plan = planRun(spec, store.storedRows(exp.id));
    let rows = 0;
    let done = true;
    for (const j of task.jobs) {
      if (j.kind === 'level0') {
        const d = plan.level0[j.trial];
        rows += d.done ? 1 : 0;
        done &&= d.done;
      } else {
        const c = plan.chains.find((x) => x.chain === j.chain && x.trial === j.trial)!;
        rows += [...c.levels, ...c.branches].filter((r) => r.done).length;
        done &&= c.done;
      }
    }
    return { ...base, state: done ? 'done' : rows > 0 ? 'partial' : 'missing', rows };
  } finally {
    store.close();
  }
}

/**
 * `lth status --plan DIR`: each task done, partial or missing, read from its shard, and the
 * sbatch lines that resubmit those not done (partial ones resume after their last stored level).
 */
export function planStatus(dir: string): PlanStatus {
  const plan = readSweep(dir);
  const spec = plan.loaded.spec;
  const abs = resolve(dir);
  const tasks = [...plan.tasks.dense, ...plan.tasks.chains].map((t) => taskStatus(abs, spec, t));
  const resubmit: string[] = [];
  const throttle = plan.slurm.maxParallel ? `%${plan.slurm.maxParallel}` : '';
  const notDone = (p: Phase) => tasks.filter((t) => t.phase === p && t.state !== 'done').map((t) => t.index);
  const dense = notDone('dense');
  const chains = notDone('chains');
  if (plan.emit === 'slurm') {
    if (dense.length)
      resubmit.push(
        `${chains.length ? 'dense=$(' : ''}sbatch ${chains.length ? '--parsable ' : ''}--array=${arrayRanges(dense)}${throttle} ${join(abs, 'dense.sbatch')}${chains.length ? ')' : ''}`,
      );
    if (chains.length)
      resubmit.push(
        `sbatch ${dense.length ? '--dependency=afterok:${dense%%;*} ' : ''}--array=${arrayRanges(chains)}${throttle} ${join(abs, 'chains.sbatch')}`,
      );
  }
  return { dir: abs, experiment: plan.experiment, tasks, resubmit };
}
