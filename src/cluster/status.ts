import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkChainsAndBranches } from '../orchestration/context.js';
import type { Spec } from '../spec/schema.js';
import { readPlan, shardPath } from './plan.js';
import { arrayRanges, type Phase, type PlanTask } from './tasks.js';

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

/** Is the chain (strategy, trial) complete in this shard: every level (or the target reached) and the branch rows of its stored levels. */
function chainDone(db: Database.Database, spec: Spec, chain: string, trial: number): { rows: number; done: boolean } {
  const rows = db
    .prepare("SELECT r.level, r.branch, r.replicate, r.percent_remaining p FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? AND r.strategy = ? AND r.trial = ?")
    .all(spec.name, chain, trial) as { level: number; branch: string; replicate: number; p: number }[];
  const levels = rows.filter((r) => r.branch === '').sort((a, b) => a.level - b.level);
  const L = spec.pruning.levels;
  const last = levels[levels.length - 1];
  const target = spec.pruning.targetPercent;
  const levelsDone = levels.length === L || (target !== null && last !== undefined && last.p <= target);
  const stored = new Set([0, ...levels.map((r) => r.level)]);
  const have = new Set(rows.filter((r) => r.branch !== '').map((r) => `${r.level}/${r.branch}/${r.replicate}`));
  let branchesDone = true;
  for (const b of checkChainsAndBranches(spec)) {
    if (b.chains !== 'all' && !b.chains.includes(chain)) continue;
    for (const l of stored) {
      const applies = b.levels === 'all' ? l >= 1 && l <= L : b.levels.includes(l);
      if (applies && !have.has(`${l}/${b.label}/${b.replicate}`)) branchesDone = false;
    }
  }
  return { rows: rows.length, done: levelsDone && branchesDone };
}

function taskStatus(dir: string, spec: Spec, task: PlanTask): TaskStatus {
  const jobs = task.jobs.map((j) => (j.kind === 'dense' ? `dense t${j.trial}` : `${j.chain} t${j.trial}`)).join(', ');
  const file = shardPath(dir, task.phase, task.index);
  const base = { phase: task.phase, index: task.index, expected: task.rows, jobs };
  if (!existsSync(file)) return { ...base, state: 'missing', rows: 0 };
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (e) {
    // e.g. a hot journal left by a killed task: its next run rolls it back
    return { ...base, state: 'partial', rows: 0, jobs: `${jobs} (shard unreadable until the task runs again: ${(e as Error).message})` };
  }
  try {
    const hasResults = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='results'").get();
    if (!hasResults) return { ...base, state: 'missing', rows: 0 };
    let rows = 0;
    let done = true;
    for (const j of task.jobs) {
      if (j.kind === 'dense') {
        const n = (
          db.prepare("SELECT count(*) n FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? AND r.strategy = '' AND r.branch = '' AND r.trial = ? AND r.level = 0").get(spec.name, j.trial) as {
            n: number;
          }
        ).n;
        rows += n;
        done &&= n === 1;
      } else {
        const c = chainDone(db, spec, j.chain, j.trial);
        rows += c.rows;
        done &&= c.done;
      }
    }
    return { ...base, state: done ? 'done' : rows > 0 ? 'partial' : 'missing', rows };
  } finally {
    db.close();
  }
}

/**
 * `lth status --plan DIR`: each task done, partial or missing, read from its shard, and the
 * sbatch lines that resubmit those not done (partial ones resume after their last stored level).
 */
export function planStatus(dir: string): PlanStatus {
  const plan = readPlan(dir);
  const spec = plan.loaded.spec;
  const abs = resolve(dir);
  const tasks = [...plan.tasks.dense, ...plan.tasks.chains].map((t) => taskStatus(abs, spec, t));
  const resubmit: string[] = [];
  const throttle = plan.slurm.maxParallel ? `%${plan.slurm.maxParallel}` : '';
  const notDone = (p: Phase) => tasks.filter((t) => t.phase === p && t.state !== 'done').map((t) => t.index);
  const dense = notDone('dense');
  const chains = notDone('chains');
  if (plan.emit === 'slurm') {
    if (dense.length) resubmit.push(`${chains.length ? 'dense=$(' : ''}sbatch ${chains.length ? '--parsable ' : ''}--array=${arrayRanges(dense)}${throttle} ${join(abs, 'dense.sbatch')}${chains.length ? ')' : ''}`);
    if (chains.length) resubmit.push(`sbatch ${dense.length ? '--dependency=afterok:${dense%%;*} ' : ''}--array=${arrayRanges(chains)}${throttle} ${join(abs, 'chains.sbatch')}`);
  }
  return { dir: abs, experiment: plan.experiment, tasks, resubmit };
}
