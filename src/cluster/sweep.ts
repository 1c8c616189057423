import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../backend/names.js';
import { validateSpec, type LoadedSpec } from '../spec/load.js';
import { UserError } from '../util/errors.js';
import { k8sJob, k8sSubmitScript, sbatchScript, shellQuote, submitScript } from './scripts.js';
import { tasksOf, type Phase, type SweepTask, type TaskList } from './tasks.js';

/** `DIR/plan.json`: everything a task needs to know, written once by `lth plan`. */
export interface Sweep {
  format: 1;
  /** lth x.y.z that wrote the plan */
  lth: string;
  createdAt: string;
  experiment: string;
  specHash: string;
  /** the resolved spec, every default filled in */
  spec: unknown;
  backend: BackendChoice;
  dataDir: string | null;
  chainsPerTask: number;
  /** the shell command the batch scripts run lth with */
  command: string;
  emit: 'slurm' | 'k8s';
  slurm: { maxParallel: number | null; partition: string | null; time: string | null; cpusPerTask: number; gpusPerTask: number | null };
  tasks: TaskList;
}

export interface SweepOptions {
  out: string;
  chainsPerTask?: number;
  maxParallel?: number;
  partition?: string;
  time?: string;
  cpusPerTask?: number;
  gpusPerTask?: number;
  emit?: 'slurm' | 'k8s';
  /** shell command for lth on the compute nodes (default: this node and this CLI, absolute paths) */
  lth?: string;
  backend?: BackendChoice;
  dataDir?: string;
  /** container image of the Kubernetes jobs */
  image?: string;
}

export function lthVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `lth ${pkg.version}`;
}

/** `node /abs/dist/src/cli/main.js`, quoted for sh. */
export function defaultLthCommand(): string {
  return `${shellQuote(process.execPath)} ${shellQuote(fileURLToPath(new URL('../cli/main.js', import.meta.url)))}`;
}

export const shardPath = (dir: string, phase: Phase, index: number): string => join(resolve(dir), 'shards', `${phase}-${index}.db`);
export const weightsPath = (dir: string): string => join(resolve(dir), 'weights');

function writeAtomic(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

/** `--time` as Slurm reads it: HH:MM:SS or D-HH:MM:SS, minutes and seconds below 60 (hours below 24 after a day count). */
function checkTime(time: string): void {
  const m = /^(?:(\d+)-)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(time);
  if (!m) throw new UserError(`--time "${time}" is not HH:MM:SS (or D-HH:MM:SS), e.g. --time 04:00:00`);
  const [, days, h, min, sec] = m;
  const over = [
    [Number(min), 60, 'minutes'],
    [Number(sec), 60, 'seconds'],
    [days === undefined ? 0 : Number(h), 24, 'hours after a day count'],
  ] as const;
  for (const [v, limit, what] of over)
    if (v >= limit) throw new UserError(`--time "${time}": ${what} must be below ${limit} (got ${v}), e.g. --time 04:30:00 or 1-02:00:00`);
}

/**
 * Writes a plan folder: plan.json, dense.sbatch, chains.sbatch and submit.sh (or, with emit
 * 'k8s', dense.job.json, chains.job.json and submit.sh applying them in order), plus the empty
 * shards/, weights/ and logs/ folders. Everything is checked before the first file is written.
 * Refuses a folder that already holds a plan of another spec.
 */
export function writeSweep(loaded: LoadedSpec, o: SweepOptions): Sweep {
  const int = (v: number | undefined, name: string, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new UserError(`--${name} ${v} must be a whole number ≥ ${min}`);
  };
  int(o.chainsPerTask, 'chains-per-task', 1);
  int(o.maxParallel, 'max-parallel', 1);
  int(o.cpusPerTask, 'cpus-per-task', 1);
  int(o.gpusPerTask, 'gpus-per-task', 1);
  if (o.time !== undefined) checkTime(o.time);
  if (o.partition !== undefined && !/^[\w.,-]+$/.test(o.partition)) throw new UserError(`--partition "${o.partition}" is not a partition name`);
  const dir = resolve(o.out);
  const planFile = join(dir, 'plan.json');
  if (existsSync(planFile)) {
    const old = readSweep(dir);
    if (old.specHash !== loaded.hash || old.experiment !== loaded.spec.name)
      throw new UserError(`${planFile} already holds a plan for another spec ("${old.experiment}", hash ${old.specHash.slice(0, 12)}): choose another --out`);
  }
  const tasks = tasksOf(loaded.spec, o.chainsPerTask ?? 1);
  const plan: Sweep = {
    format: 1,
    lth: lthVersion(),
    createdAt: new Date().toISOString(),
    experiment: loaded.spec.name,
    specHash: loaded.hash,
    spec: JSON.parse(loaded.json),
    backend: o.backend ?? 'auto',
    dataDir: o.dataDir ? resolve(o.dataDir) : null,
    chainsPerTask: o.chainsPerTask ?? 1,
    command: o.lth ?? defaultLthCommand(),
    emit: o.emit ?? 'slurm',
    slurm: {
      maxParallel: o.maxParallel ?? null,
      partition: o.partition ?? null,
      time: o.time ?? null,
      cpusPerTask: o.cpusPerTask ?? 1,
      gpusPerTask: o.gpusPerTask ?? null,
    },
    tasks,
  };
  for (const d of ['shards', 'weights', 'logs']) mkdirSync(join(dir, d), { recursive: true });
  if (plan.emit === 'slurm') {
    for (const phase of ['dense', 'chains'] as const) writeAtomic(join(dir, `${phase}.sbatch`), sbatchScript(plan, dir, phase), 0o755);
    writeAtomic(join(dir, 'submit.sh'), submitScript(plan), 0o755);
  } else {
    for (const phase of ['dense', 'chains'] as const)
      writeAtomic(join(dir, `${phase}.job.json`), JSON.stringify(k8sJob(plan, dir, phase, o.image), null, 2) + '\n');
    writeAtomic(join(dir, 'submit.sh'), k8sSubmitScript(plan), 0o755);
  }
  // plan.json last: a folder with plan.json is a complete plan
  writeAtomic(planFile, JSON.stringify(plan, null, 2) + '\n');
  return plan;
}

/** Reads and checks DIR/plan.json; the spec inside must still hash to the plan's identity. */
export function readSweep(dir: string): Sweep & { loaded: LoadedSpec } {
  const file = join(resolve(dir), 'plan.json');
  let plan: Sweep;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8')) as Sweep;
  } catch (e) {
    throw new UserError(
      existsSync(file)
        ? `${file} is not valid JSON (${(e as Error).message}): write the plan again with lth plan`
        : `no plan at ${file}: write one with lth plan SPEC --out ${dir}`,
    );
  }
  if (plan.format !== 1 || !plan.tasks?.dense || !plan.tasks?.chains)
    throw new UserError(`${file} is not an lth plan (format ${String(plan.format)}): write the plan again with lth plan`);
  const loaded = validateSpec(plan.spec, file);
  if (loaded.hash !== plan.specHash)
    throw new UserError(
      `${file}: the spec was edited after planning (hash ${loaded.hash.slice(0, 12)} ≠ ${plan.specHash.slice(0, 12)}): write the plan again with lth plan`,
    );
  return { ...plan, loaded };
}

export function taskOf(plan: Sweep, phase: Phase, index: number, dir: string): SweepTask {
  const list = plan.tasks[phase];
  const t = list[index];
  if (!t) throw new UserError(`task ${phase}:${index} is not in ${join(dir, 'plan.json')}: phase ${phase} has tasks 0…${list.length - 1}`);
  return t;
}
