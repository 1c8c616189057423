import { existsSync } from 'node:fs';
import { openContext, runJob } from '../orchestration/runner.js';
import type { ProgressEvent } from '../orchestration/context.js';
import { mergeDatabases } from '../storage/merge.js';
import type { StoreOptions } from '../storage/db.js';
import { Interrupted, UserError } from '../util/errors.js';
import { readSweep, shardPath, taskOf, weightsPath } from './sweep.js';
import { PHASE_ENV } from './scripts.js';
import { PHASES, type Phase } from './tasks.js';

/** Array-index variables of the schedulers that run lth tasks, in the order they are tried. */
export const INDEX_ENVS = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;

/**
 * `--task auto|dense:I|chains:I` → phase and index. `auto` reads the index from the first of
 * INDEX_ENVS that is set and the phase from LTH_PLAN_PHASE (set by the generated scripts).
 */
export function resolveTask(arg: string, env: NodeJS.ProcessEnv = process.env): { phase: Phase; index: number } {
  const parseIndex = (v: string, from: string) => {
    if (!/^\d+$/.test(v)) throw new UserError(`${from} is "${v}", not a task index (a whole number ≥ 0)`);
    return Number(v);
  };
  if (arg === 'auto') {
    const name = INDEX_ENVS.find((k) => env[k] !== undefined && env[k] !== '');
    if (!name)
      throw new UserError(`--task auto: none of ${INDEX_ENVS.join(', ')} is set: run it from the generated batch scripts, or give --task dense:I or chains:I`);
    const phase = env[PHASE_ENV];
    if (!phase || !(PHASES as readonly string[]).includes(phase))
      throw new UserError(
        `--task auto: ${PHASE_ENV} is "${phase ?? ''}", not dense or chains: run it from the generated batch scripts, or give --task dense:I or chains:I`,
      );
    return { phase: phase as Phase, index: parseIndex(env[name]!, name) };
  }
  const m = /^(dense|chains):(\d+)$/.exec(arg);
  if (!m) throw new UserError(`--task "${arg}" is not auto, dense:I or chains:I (e.g. --task chains:3)`);
  return { phase: m[1] as Phase, index: Number(m[2]) };
}

export interface TaskResult {
  phase: Phase;
  index: number;
  shard: string;
  backend: string;
  levelsTrained: number;
  interrupted: boolean;
}

/** Shards are written by one process of one host; DELETE journaling keeps them plain files on NFS. */
const shardStore = (dir: string): StoreOptions => ({ weightsDir: weightsPath(dir), journal: 'delete' });

/** Artifacts of trial t's level 0: θ0, θ_k and level 0 (keys `trial-t/NAME`, src/orchestration/levels.ts; chain files sit one folder deeper). */
const denseArtifact = (t: number) => (key: string) => new RegExp(`^trial-${t}/[^/]+$`).test(key);

/**
 * Runs one task of a plan: its jobs through the orchestration's runJob against the task's own
 * shard `DIR/shards/<phase>-<I>.db`, weight files in `DIR/weights/`. A chains task first imports
 * its trials' dense rows and files (θ0, θ_k, level 0) from `DIR/shards/dense-<t>.db`, every file
 * checked against its sha256. Resumes after the last stored level; `shouldStop` (SIGTERM) drops
 * the level in flight and returns with interrupted = true.
 */
export async function runTask(
  dir: string,
  taskArg: string,
  opts: { env?: NodeJS.ProcessEnv; onProgress?: (e: ProgressEvent) => void; shouldStop?: () => boolean } = {},
): Promise<TaskResult> {
  const plan = readSweep(dir);
  const { phase, index } = resolveTask(taskArg, opts.env ?? process.env);
  const task = taskOf(plan, phase, index, dir);
  const shard = shardPath(dir, phase, index);
  const spec = plan.loaded.spec;
  const trials = [...new Set(task.jobs.filter((j) => j.kind === 'chain').map((j) => j.trial))];
  for (const t of trials) {
    const dense = shardPath(dir, 'dense', t);
    const missing = `task ${phase}:${index} needs trial ${t}'s level 0, which is not in ${dense}: run task dense:${t} first (submit.sh makes the chains array wait for the dense one)`;
    if (!existsSync(dense)) throw new UserError(missing);
    const r = mergeDatabases([dense], shard, {
      store: shardStore(dir),
      filter: {
        experiment: (n) => n === spec.name,
        result: (row) => row.strategy === '' && row.branch === '' && row.trial === t && row.level === 0,
        artifact: (_e, key) => denseArtifact(t)(key),
      },
    });
    if (r.sources[0].added + r.sources[0].duplicates === 0) throw new UserError(missing);
  }
  const emit = opts.onProgress ?? (() => {});
  let levelsTrained = 0;
  const ctx = await openContext(plan.loaded, {
    db: shard,
    store: shardStore(dir),
    backend: plan.backend,
    data: { dataDir: plan.dataDir ?? undefined, log: (message) => emit({ type: 'log', message }) },
    onProgress: (e) => {
      if (e.type === 'level-done') levelsTrained++;
      emit(e);
    },
    shouldStop: opts.shouldStop,
  });
  let interrupted = false;
  try {
    emit({
      type: 'log',
      message: `${spec.name}: task ${phase}:${index} (${task.jobs.length} job${task.jobs.length === 1 ? '' : 's'}) on ${ctx.backend} → ${shard}`,
    });
    // A twin chain copies its source's levels only from this shard: a source in another task is
    // not here, so such a twin trains its own levels (the same numbers, computed again).
    const here = (c: string, t: number) => task.jobs.some((j) => j.kind === 'chain' && j.chain === c && j.trial === t);
    for (const job of task.jobs) {
      const local =
        job.kind === 'chain'
          ? { ...ctx, chains: ctx.chains.map((c) => (c.name === job.chain && c.twinOf !== null && !here(c.twinOf, job.trial) ? { ...c, twinOf: null } : c)) }
          : ctx;
      await runJob(local, job);
    }
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    interrupted = true;
  } finally {
    ctx.store.close();
  }
  return { phase, index, shard, backend: ctx.backend, levelsTrained, interrupted };
}
