import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { backendLabel } from '../backend/index.js';
import { checkResume, loadSpec, validateSpec, type LoadedSpec } from '../spec/index.js';
import { DEFAULT_DB, Store } from '../storage/index.js';
import { Interrupted, UserError } from '../util/index.js';
import { runChain, runDense } from './chain.js';
import { openStarts, resolveRun, trialSeed, type Context, type ProgressEvent, type RunOptions } from './context.js';
import { planRun, type RunPlan } from './plan.js';

export interface RunSummary {
  experiment: string;
  experimentId: number;
  db: string;
  backend: string;
  /** levels trained by this call (0 when everything was already stored) */
  levelsTrained: number;
  interrupted: boolean;
  seconds: number;
}

/** A unit of work for one process: the dense level of a trial, or the rest of one chain. */
export type Job = { kind: 'level0'; trial: number } | { kind: 'chain'; chain: string; trial: number };

/** The job's name in progress events and in the database's `locks` table. */
export const jobName = (j: Job): string => (j.kind === 'level0' ? `dense t${j.trial}` : `${j.chain} t${j.trial}`);

/** The experiment's plan as stored now (orchestration/plan.ts). */
export const currentPlan = (ctx: Context): RunPlan => planRun(ctx.spec, ctx.store.storedRows(ctx.experimentId));

/** Jobs with rows still missing, trial by trial: the dense level, then each chain. */
export function pendingJobs(plan: RunPlan): Job[] {
  const out: Job[] = [];
  for (const d of plan.level0) {
    if (!d.done) out.push({ kind: 'level0', trial: d.trial });
    for (const c of plan.chains) if (c.trial === d.trial && !c.done) out.push({ kind: 'chain', chain: c.chain, trial: c.trial });
  }
  return out;
}

/** How long a process with nothing to do waits before it looks again at jobs another process holds. */
const BUSY_WAIT_MS = 1000;

export function codeVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `lth ${pkg.version}`;
}

/** Builds a process's context: the same in the parent and in every worker. */
export async function openContext(given: LoadedSpec, opts: RunOptions): Promise<Context> {
  const db = opts.db ?? DEFAULT_DB;
  // Sources other chains start from (another experiment's ticket) are checked first, and pinned in the stored spec.
  const { loaded, starts } = openStarts(given, db);
  const prepared = await resolveRun(loaded, opts, starts);
  // The database is touched only after the spec, data and strategies all checked out.
  const store = new Store(db, opts.store);
  const spec = loaded.spec;
  const chains = [];
  for (let t = 0; t < spec.trials; t++) for (const c of prepared.chains) chains.push({ strategy: c.name, trial: t, seed: trialSeed(spec, t) });
  let experimentId: number;
  try {
    experimentId = store.registerExperiment(spec.name, loaded.hash, loaded.json, codeVersion(), chains, (hash, json) =>
      checkResume(spec.name, hash, json, loaded.json),
    );
  } catch (e) {
    store.close();
    throw e;
  }
  return { loaded, spec, store, experimentId, ...prepared, emit: opts.onProgress ?? (() => {}), shouldStop: opts.shouldStop ?? (() => false) };
}

/**
 * Runs one job under its lock in the database. 'busy': another live process holds it (it trains
 * those levels; this one works on other jobs and looks again later), or it is a twin chain whose
 * source has not stored the next level yet (it copied what was there; run it again later).
 * A job already finished by another process finds nothing left to do.
 */
export async function runJob(ctx: Context, job: Job): Promise<'done' | 'busy'> {
  const name = jobName(job);
  if (!ctx.store.tryLock(ctx.experimentId, name)) return 'busy';
  try {
    if (job.kind === 'level0') await runDense(ctx, job.trial);
    else {
      const chain = ctx.chains.find((c) => c.name === job.chain);
      if (!chain) throw new Error(`unknown chain ${job.chain}`);
      if ((await runChain(ctx, chain, job.trial)) === 'waiting') return 'busy';
    }
  } finally {
    ctx.store.unlock(ctx.experimentId, name);
  }
  return 'done';
}

const denseStored = (ctx: Context, trial: number): boolean => ctx.store.doneLevels(ctx.experimentId, '', trial).includes(0);

/**
 * Runs jobs in this process, in order. A job another process holds is skipped for now, and so
 * are the chains of a trial whose dense level another process is training; when only such jobs
 * are left, this process waits for them (polling once a second, stoppable) and then finishes
 * whatever they left undone.
 */
async function runJobsHere(ctx: Context, jobs: Job[]): Promise<void> {
  const pending = [...jobs];
  while (pending.length) {
    let ran = false;
    for (let i = 0; i < pending.length && !ran; i++) {
      const j = pending[i];
      if (j.kind === 'chain' && !denseStored(ctx, j.trial)) continue;
      if ((await runJob(ctx, j)) === 'done') {
        pending.splice(i, 1);
        ran = true;
      }
    }
    if (!ran) await pause(ctx);
  }
}

async function pause(ctx: Context): Promise<void> {
  for (let waited = 0; waited < BUSY_WAIT_MS; waited += 100) {
    if (ctx.shouldStop()) throw new Interrupted();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs (or resumes) an experiment to the end. The CLI's `lth run` is a thin wrapper around this. */
export async function runExperiment(spec: string | LoadedSpec, opts: RunOptions = {}): Promise<RunSummary> {
  const loaded = typeof spec === 'string' ? loadSpec(spec) : spec;
  const started = Date.now();
  const ctx = await openContext(loaded, opts);
  let levelsTrained = 0;
  const emit = ctx.emit;
  const counting: Context = {
    ...ctx,
    emit: (e: ProgressEvent) => {
      if (e.type === 'level-done') levelsTrained++;
      emit(e);
    },
  };
  let interrupted = false;
  const plan = currentPlan(ctx);
  emit({ type: 'plan', experiment: ctx.spec.name, backend: backendLabel(), totalLevels: plan.total, doneLevels: plan.done });
  for (const w of ctx.warnings) emit({ type: 'log', message: `warning: ${w}` });
  try {
    // A writer of this host killed mid-write (SIGKILL) leaves a temporary file; its process is gone now.
    ctx.store.removeStaleTemps();
    const workers = Math.max(1, opts.workers ?? 1);
    if (workers === 1) await runJobsHere(counting, pendingJobs(plan));
    else await runInWorkers(counting, ctx.loaded, opts, workers, plan);
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    interrupted = true;
  } finally {
    ctx.store.close();
  }
  return {
    experiment: ctx.spec.name,
    experimentId: ctx.experimentId,
    db: ctx.store.path,
    backend: ctx.backend,
    levelsTrained,
    interrupted,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Messages between the parent and its worker processes. */
export type ToWorker = { type: 'job'; job: Job } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'done' }
  | { type: 'busy' }
  | { type: 'interrupted' }
  | { type: 'error'; message: string; user: boolean };

/**
 * Independent chains in parallel processes. Chains of a trial wait for its dense level;
 * each worker opens the database itself (WAL + busy timeout make concurrent commits safe).
 */
async function runInWorkers(ctx: Context, loaded: LoadedSpec, opts: RunOptions, n: number, plan: RunPlan): Promise<void> {
  const pending: Job[] = pendingJobs(plan);
  const denseReady = new Set<number>(plan.level0.filter((d) => d.done).map((d) => d.trial));
  // Fewer dense levels than workers: nothing can run beside them (every chain waits for its
  // trial's dense level), and a worker has only cores/N threads. Train them here, on all cores.
  const denseJobs = pending.filter((j) => j.kind === 'level0');
  if (denseJobs.length > 0 && denseJobs.length < n) {
    await runJobsHere(ctx, denseJobs);
    for (const j of denseJobs) {
      denseReady.add(j.trial);
      pending.splice(pending.indexOf(j), 1);
    }
  }
  // A job another process holds comes back after a pause (see runJob).
  const retryAt = new Map<Job, number>();
  const runnable = () => pending.findIndex((j) => (j.kind === 'level0' || denseReady.has(j.trial)) && (retryAt.get(j) ?? 0) <= Date.now());
  const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));
  const config = JSON.stringify({
    spec: JSON.parse(loaded.json),
    source: 'worker',
    db: ctx.store.path,
    store: opts.store,
    backend: ctx.backend,
    data: opts.data ?? {},
  });
  const children: ChildProcess[] = [];
  let failure: Error | null = null;
  let stopping = false;

  await new Promise<void>((resolveAll) => {
    const inFlight = new Map<ChildProcess, Job>();
    const idle: ChildProcess[] = [];
    let resolved = false;
    const finish = () => {
      if (!resolved && inFlight.size === 0 && (pending.length === 0 || failure || stopping)) {
        resolved = true;
        clearInterval(stopPoll);
        resolveAll();
      }
    };
    const dispatch = () => {
      while (idle.length && !failure && !stopping) {
        const i = runnable();
        if (i < 0) break;
        const [job] = pending.splice(i, 1);
        const child = idle.shift()!;
        inFlight.set(child, job);
        child.send({ type: 'job', job } satisfies ToWorker);
      }
      finish();
    };
    const stopAll = () => {
      stopping = true;
      for (const c of children) if (c.connected) c.send({ type: 'stop' } satisfies ToWorker);
    };
    const stopPoll = setInterval(() => {
      if (!stopping && ctx.shouldStop()) stopAll();
      else dispatch();
    }, 200);
    for (let w = 0; w < Math.min(n, Math.max(1, pending.length)); w++) {
      const child = fork(workerPath, [config], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: workerEnv(n) });
      children.push(child);
      child.on('message', (m: FromWorker) => {
        if (m.type === 'progress') return ctx.emit(m.event);
        const job = inFlight.get(child);
        inFlight.delete(child);
        if (m.type === 'error') failure ??= m.user ? new UserError(m.message) : new Error(m.message);
        else if (m.type === 'interrupted') stopAll();
        else if (m.type === 'busy' && job) {
          pending.push(job);
          retryAt.set(job, Date.now() + BUSY_WAIT_MS);
        } else if (m.type === 'done' && job?.kind === 'level0') denseReady.add(job.trial);
        idle.push(child);
        dispatch();
      });
      child.on('exit', (code, signal) => {
        if (resolved) return;
        // A worker that dies mid-job (killed, out of memory) fails the run; its level was never committed.
        failure ??= new Error(`a worker process exited unexpectedly (${signal ?? `code ${code}`})`);
        inFlight.delete(child);
        const k = idle.indexOf(child);
        if (k >= 0) idle.splice(k, 1);
        finish();
      });
    }
    finish();
  }).finally(async () => {
    for (const c of children) if (c.connected) c.disconnect();
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  });
  if (failure) throw failure;
  if (stopping) throw new Interrupted();
}

/**
 * Environment of a worker process. N workers × all-cores wasm thread pools oversubscribe the
 * machine, and XNNPACK's pool spin-waits for descheduled threads (docs/PERFORMANCE.md: LeNet
 * 2-3x slower with 2 threads per worker on 2 cores); the native backend's GEMM threads likewise.
 * So each worker gets cores/N threads (at least 1) of each, unless the user chose
 * LTH_WASM_THREADS or LTH_NATIVE_THREADS. Native rows do not depend on the thread count
 * (test/native.test.ts), so this changes speed only.
 */
export function workerEnv(workers: number, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): NodeJS.ProcessEnv {
  const share = String(Math.max(1, Math.floor(cores / workers)));
  const chosen = (name: string) => env[name] != null && env[name] !== '';
  return {
    ...env,
    ...(chosen('LTH_WASM_THREADS') ? {} : { LTH_WASM_THREADS: share }),
    ...(chosen('LTH_NATIVE_THREADS') ? {} : { LTH_NATIVE_THREADS: share }),
  };
}

/**
 * The worker side: build a context once, then run jobs as the parent sends them. SIGINT and
 * SIGTERM (a scheduler signals the whole process group) stop it like the parent's 'stop':
 * the level in flight is dropped, stored levels are kept. `stopped`: a signal that came before
 * this module loaded (worker.ts listens from its first line).
 */
export async function workerMain(configJson: string, stopped: () => boolean = () => false): Promise<void> {
  const cfg = JSON.parse(configJson) as { spec: unknown; db: string; store?: RunOptions['store']; backend: RunOptions['backend']; data: RunOptions['data'] };
  let stop = false;
  // a parent with nothing left to do (e.g. a rerun of a finished experiment) may disconnect before 'ready'
  // The parent may also exit between the check and the write (SIGTERM to the whole group): the write
  // then fails with EPIPE, which the callback takes instead of an uncaught 'error' event.
  const send = (m: FromWorker) => {
    if (process.connected) process.send?.(m, undefined, {}, () => undefined);
  };
  process.on('message', async (m: ToWorker) => {
    if (m.type === 'stop') stop = true;
  });
  process.on('SIGINT', () => (stop = true));
  process.on('SIGTERM', () => (stop = true));
  process.on('disconnect', () => {
    stop = true;
    setTimeout(() => process.exit(0), 50).unref();
  });
  const ctx = await openContext(validateSpec(cfg.spec, 'worker'), {
    db: cfg.db,
    store: cfg.store,
    backend: cfg.backend,
    data: cfg.data,
    onProgress: (event) => send({ type: 'progress', event }),
    shouldStop: () => stop || stopped(),
  });
  process.on('message', async (m: ToWorker) => {
    if (m.type !== 'job') return;
    try {
      send({ type: (await runJob(ctx, m.job)) === 'busy' ? 'busy' : 'done' });
    } catch (e) {
      if (e instanceof Interrupted) send({ type: 'interrupted' });
      else send({ type: 'error', message: (e as Error).message, user: e instanceof UserError });
    }
  });
  process.on('disconnect', () => ctx.store.close());
  send({ type: 'ready' });
}
