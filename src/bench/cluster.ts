import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../backend/index.js';
import { ensureSlurm, startLocalSlurm } from '../cluster/local.js';
import type { SpecInput } from '../spec/schema.js';
import { Store } from '../storage/db.js';
import { mergeDatabases } from '../storage/merge.js';
import { makeRng } from '../util/rng.js';
import { runNodeSampled } from './proc.js';

/**
 * `lth bench --only cluster`: the cost of going through Slurm (docs/CLUSTER.md). The same
 * 8-chain experiment (2 trials × 4 strategies, synthetic LeNet data) once through the local
 * one-node Slurm with 2 task slots — plan, submit.sh, poll squeue, merge — and once as
 * `lth run --workers 2`, in one sitting; the ratio of wall times (target ≤ 1.2×: task start-up,
 * scheduling and the merge are the overhead). Plus the time `lth merge` takes for 1,000 levels.
 */

export interface ClusterBench {
  /** why the Slurm part did not run */
  note?: string;
  workersSeconds?: number;
  /** submit.sh to the last task's end, as seen by polling squeue every 0.5 s */
  slurmSeconds?: number;
  mergeSeconds?: number;
  /** (slurmSeconds + mergeSeconds) / workersSeconds */
  ratio?: number;
  /** where the Slurm wall time went, from the batch logs (see taskRuns) */
  split?: SlurmSplit;
  levels?: number;
  /** merge of synthetic shards: 10 shards × 100 levels, a curve of 10 points and a weight file per level */
  merge1000: { levels: number; shards: number; seconds: number };
}

/**
 * How a sweep's slot-seconds (slots × wall) divide: inside the task runs (of which each
 * process's start-up) and idle (Slurm's scheduling, the chains array waiting for the whole
 * dense array, submit).
 */
export interface SlurmSplit {
  runs: number;
  taskSeconds: number;
  startupSeconds: number;
  idleSlotSeconds: number;
}

/**
 * Each run of a task in one batch log (append mode: a requeued task's runs follow each other),
 * from the lines the batch script and `lth run --task` write: "lth: task I of job … at T",
 * "lth: start-up S s", "lth: task I ended (exit N) at T".
 */
export function taskRuns(log: string): { seconds: number; startup: number | null }[] {
  const runs: { seconds: number; startup: number | null }[] = [];
  let start: number | null = null;
  let startup: number | null = null;
  for (const line of log.split('\n')) {
    const begin = /^lth: task \d+ of job .* at (\S+)$/.exec(line);
    const up = /^lth: start-up ([\d.]+) s$/.exec(line);
    const end = /^lth: task \d+ ended \(exit \d+\) at (\S+)$/.exec(line);
    if (begin) [start, startup] = [Date.parse(begin[1]!), null];
    else if (up) startup = Number(up[1]);
    else if (end && start !== null) {
      runs.push({ seconds: (Date.parse(end[1]!) - start) / 1000, startup });
      start = null;
    }
  }
  return runs;
}

export function slurmSplit(logs: string[], slots: number, wallSeconds: number): SlurmSplit {
  const runs = logs.flatMap(taskRuns);
  const taskSeconds = runs.reduce((t, r) => t + r.seconds, 0);
  return { runs: runs.length, taskSeconds, startupSeconds: runs.reduce((t, r) => t + (r.startup ?? 0), 0), idleSlotSeconds: slots * wallSeconds - taskSeconds };
}

/** Task slots of the local Slurm, and `--workers` of the reference run. */
const SLOTS = 2;

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function clusterSpec(quick: boolean): SpecInput {
  const strategies = ['rewind', 'fine-tune', 'random-reinit', 'lr-rewind'];
  return {
    name: 'bench-cluster',
    trials: 2,
    data: {
      dataset: 'synthetic',
      validation: quick ? 120 : 1000,
      synthetic: { train: quick ? 480 : 6000, test: quick ? 120 : 2000, features: 784, classes: 10 },
    },
    model: { name: 'lenet-300-100' },
    training: quick ? { iterations: '20it', evalEvery: '10it' } : { iterations: '400it', evalEvery: '200it' },
    pruning: { levels: quick ? 1 : 3 },
    strategies,
  };
}

/** 1,000 levels in 10 shards written through Store.commitLevel, then merged into a fresh database. */
export function mergeBench(dir: string): ClusterBench['merge1000'] {
  const shards = 10;
  const perShard = 100;
  const rng = makeRng('bench-merge');
  const paths: string[] = [];
  const weights = path.join(dir, 'weights');
  for (let s = 0; s < shards; s++) {
    const p = path.join(dir, `shard-${s}.db`);
    const store = new Store(p, { weightsDir: weights, journal: 'delete' });
    const id = store.registerExperiment('bench-merge', 'h', '{}', 'lth bench', [{ strategy: `c${s}`, trial: 0, seed: s }]);
    for (let l = 1; l <= perShard; l++) {
      const curve = Array.from({ length: 10 }, (_, i) => ({
        iteration: 10 * i,
        trainLoss: rng.uniform(),
        valLoss: rng.uniform(),
        valAccuracy: rng.uniform(),
        testLoss: rng.uniform(),
        testAccuracy: rng.uniform(),
      }));
      const w = Float32Array.from({ length: 4096 }, () => rng.normal());
      store.commitLevel('bench-merge', {
        experimentId: id,
        strategy: `c${s}`,
        trial: 0,
        level: l,
        sparsity: { percentRemaining: 100 * 0.8 ** l, layers: [{ layer: 'fc1', total: 4096, remaining: Math.round(4096 * 0.8 ** l) }] },
        maskHash: `m${s}-${l}`,
        earlyStop: curve[5],
        final: curve[9],
        curve,
        iterations: 100,
        wallSeconds: 1,
        backend: 'bench',
        artifacts: { [`trial-0/c${s}/level-${l}`]: { 'w/fc1': w } },
      });
    }
    store.close();
    paths.push(p);
  }
  const t0 = performance.now();
  mergeDatabases(paths, path.join(dir, 'merged.db'));
  return { levels: shards * perShard, shards, seconds: (performance.now() - t0) / 1000 };
}

export async function clusterSection(quick: boolean, backend: BackendName, tmp: string, log: (m: string) => void): Promise<ClusterBench> {
  const mdir = path.join(tmp, 'merge1000');
  mkdirSync(mdir);
  log('cluster: merge of 1,000 levels');
  const merge1000 = mergeBench(mdir);
  const reason = ensureSlurm(false);
  if (reason) return { note: `Slurm part skipped: ${reason} (bash scripts/setup --test installs Slurm)`, merge1000 };

  const spec = path.join(tmp, 'cluster.json');
  writeFileSync(spec, JSON.stringify(clusterSpec(quick)));
  // A fair pair: both run 2 processes of 1 wasm thread each on 2 slots.
  const env = { ...process.env, LTH_WASM_THREADS: '1' };
  log(`cluster: lth run --workers 2 (${backend})`);
  const ref = await runNodeSampled(
    [CLI, 'run', spec, '--db', path.join(tmp, 'cluster-w2.db'), '--workers', String(SLOTS), '--backend', backend, '--quiet'],
    env,
  );
  if (ref.code !== 0) throw new Error(`lth run --workers 2 failed: ${ref.stderr.trim().split('\n').slice(-3).join(' ')}`);

  const planDir = path.join(tmp, 'cluster-plan');
  const p = spawnSync(process.execPath, [CLI, 'plan', spec, '--out', planDir, '--backend', backend, '--cpus-per-task', '1'], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`lth plan failed: ${p.stderr.trim()}`);
  log('cluster: starting a local one-node Slurm (2 CPUs)');
  const c = await startLocalSlurm({ cpus: SLOTS });
  try {
    log('cluster: submit.sh');
    const t0 = performance.now();
    const sub = spawnSync('sh', [path.join(planDir, 'submit.sh')], { env: { ...c.env, LTH_WASM_THREADS: '1' }, encoding: 'utf8' });
    if (sub.status !== 0) throw new Error(`submit.sh failed: ${sub.stderr.trim()}`);
    const ids = [...sub.stdout.matchAll(/^(?:dense|chains): (\d+)$/gm)].map((m) => m[1]);
    await c.waitEmpty(ids, 3600);
    const slurmSeconds = (performance.now() - t0) / 1000;
    const shards = readdirSync(path.join(planDir, 'shards'))
      .filter((f) => f.endsWith('.db'))
      .map((f) => path.join(planDir, 'shards', f));
    const t1 = performance.now();
    const m = mergeDatabases(shards, path.join(tmp, 'cluster-merged.db'));
    const mergeSeconds = (performance.now() - t1) / 1000;
    const levels = m.sources.reduce((n, s) => n + s.added, 0);
    const logDir = path.join(planDir, 'logs');
    const split = slurmSplit(
      readdirSync(logDir).map((f) => readFileSync(path.join(logDir, f), 'utf8')),
      SLOTS,
      slurmSeconds,
    );
    return { workersSeconds: ref.seconds, slurmSeconds, mergeSeconds, ratio: (slurmSeconds + mergeSeconds) / ref.seconds, levels, split, merge1000 };
  } finally {
    await c.stop();
  }
}
