import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { BACKENDS, type BackendName } from '../../backend/names.js';
import { benchModels } from '../../models/registry.js';
import { UserError } from '../../util/index.js';
import { dbOption, parseStringList, pathOption } from './common.js';

export interface Args {
  models?: string[];
  backends?: string[];
  steps: number;
  warmup: number;
  batch: number;
  budget: number;
  only?: string[];
  json?: string;
  quick: boolean;
  'cpu-conv': boolean;
  nets?: string[];
  shapes: boolean;
  input?: string;
  'protocol-iterations'?: number;
  experiment?: string;
  db: string;
  strategy?: string[];
  trial?: number;
  out?: string;
}

const ALL_SECTIONS = ['step', 'eval', 'protocol', 'quickstart', 'workers', 'memory', 'cluster', 'sparsity'];
// Run alone (--only kernels, --only profile): their own reports, not part of the default set.
const SOLO_SECTIONS = ['kernels', 'profile'];

export const bench: CommandModule<object, Args> = {
  command: 'bench',
  describe:
    'measure training-step time, evaluation throughput, whole runs, --workers scaling, memory, Slurm overhead, inference and training speed vs sparsity',
  builder: (y) =>
    y
      .option('models', {
        type: 'string',
        array: true,
        describe: `models for step/eval (default ${benchModels().join(',')}; --quick: ${benchModels(true).join(',')})`,
      })
      .option('backends', {
        type: 'string',
        array: true,
        describe:
          'backends to measure, in order; whole runs use the first that loads (default native,wasm,cpu,tensorflow, as `auto` picks them; webgpu on request)',
      })
      .option('steps', { type: 'number', default: 30, describe: 'timed training steps per model (median reported)' })
      .option('warmup', { type: 'number', default: 3, describe: 'untimed steps first' })
      .option('batch', { type: 'number', default: 60, describe: 'batch size' })
      .option('budget', { type: 'number', default: 30, describe: 'seconds per step measurement before it stops early' })
      .option('only', { type: 'string', array: true, describe: `sections: ${ALL_SECTIONS.join(',')} (default all); or, alone, kernels or profile` })
      .option('nets', { type: 'string', array: true, describe: '--only kernels: nets to time, naive tfjs vs lth ops (default lenet,conv2,conv4,conv6)' })
      .option('input', { type: 'string', describe: "--only profile: the example shape, e.g. 28,28,1 (default: the bench's)" })
      .option('shapes', { type: 'boolean', default: false, describe: '--only profile: kernel time in train() by name and input shapes' })
      .option('json', { type: 'string', describe: 'also write the full report as JSON here' })
      .option('quick', { type: 'boolean', default: false, describe: 'tiny sizes: a smoke test in seconds (numbers meaningless)' })
      .option('cpu-conv', { type: 'boolean', default: false, describe: 'also run conv nets on the cpu backend (tens of seconds per step)' })
      .option('protocol-iterations', { type: 'number', describe: 'training steps of the protocol level (default 1000 for lenet-300-100, 200 for conv-2)' })
      .option('experiment', {
        type: 'string',
        describe: "--only sparsity: time this stored experiment's levels (in --db) instead of the built-in weight/neuron pair",
      })
      .option('db', { ...dbOption, describe: '--only sparsity with --experiment: the results database' })
      .option('strategy', { type: 'string', array: true, describe: '--only sparsity with --experiment: only these chains (default: all)' })
      .option('trial', { type: 'number', describe: '--only sparsity with --experiment: the trial (default 0)' })
      .option('out', { ...pathOption, describe: 'sparsity: also draw examples/s vs % remaining to FILE.png or FILE.svg' })
      .example('$0 bench --only protocol --models lenet-300-100 conv-2', "one level at Frankle & Carbin's evaluation protocol: level time over step time")
      .example('$0 bench --only step --models lenet-300-100 --backends wasm', 'LeNet step time on wasm')
      .example('$0 bench --json results/bench.json', 'everything (about 10 minutes on 2 cores)')
      .example('$0 bench --only profile --models lenet-300-100 --backends wasm', "where a training step's time goes, by kernel")
      .example(
        '$0 bench --only sparsity --backends wasm --out speed.png',
        'examples/s of weight- vs neuron-pruned LeNet levels (trains a small pair first; about 15 s on 2 cores)',
      ),
  handler: async (a) => {
    const only = parseStringList(a.only) ?? ALL_SECTIONS;
    const known = [...ALL_SECTIONS, ...SOLO_SECTIONS];
    for (const s of only) if (!known.includes(s)) throw new UserError(`--only: unknown section "${s}" (use ${known.join(', ')})`);
    const solo = only.find((s) => SOLO_SECTIONS.includes(s));
    if (solo && only.length > 1) throw new UserError(`--only ${solo} runs alone: drop ${only.filter((s) => s !== solo).join(', ')}`);
    const backends = (parseStringList(a.backends) ?? ['native', 'wasm', 'cpu', 'tensorflow']) as BackendName[];
    for (const b of backends)
      if (!(BACKENDS as readonly string[]).includes(b) || b === ('auto' as string))
        throw new UserError(`--backends: unknown backend "${b}" (use native, wasm, cpu, tensorflow, webgpu)`);
    for (const [k, v] of [
      ['steps', a.steps],
      ['batch', a.batch],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new UserError(`--${k} must be a whole number ≥ 1`);
    if (!Number.isInteger(a.warmup) || a.warmup < 0) throw new UserError('--warmup must be a whole number ≥ 0');
    for (const [flag, v] of [
      ['experiment', a.experiment],
      ['strategy', a.strategy],
      ['trial', a.trial],
      ['out', a.out],
    ] as const)
      if (v !== undefined && !only.includes('sparsity'))
        throw new UserError(`--${flag} is an option of the sparsity section: add --only sparsity, or drop --${flag}`);
    for (const [flag, v] of [
      ['strategy', a.strategy],
      ['trial', a.trial],
    ] as const)
      if (v !== undefined && a.experiment === undefined)
        throw new UserError(`--${flag} picks chains of --experiment: give --experiment NAME (and --db), or drop --${flag}`);
    if (a.trial !== undefined && (!Number.isInteger(a.trial) || a.trial < 0)) throw new UserError('--trial must be a whole number ≥ 0');
    const { checkPlotOut, plotSpeed } = await import('../../reporting/index.js');
    if (a.out) checkPlotOut(a.out);
    const pi = a['protocol-iterations'];
    if (pi !== undefined && (!Number.isInteger(pi) || pi < 1)) throw new UserError('--protocol-iterations must be a whole number ≥ 1');
    if (a.input !== undefined && solo !== 'profile') throw new UserError('--input is an option of --only profile: add --only profile, or leave --input out');
    const input = a.input === undefined ? undefined : parseInputShape(a.input);
    const { runBench, formatReport, benchKernels, profileStep } = await import('../../bench/index.js');
    const steps = a.quick ? Math.min(a.steps, 3) : a.steps;
    const batch = a.quick ? Math.min(a.batch, 8) : a.batch;
    const budget = a.quick ? Math.min(a.budget, 1) : a.budget;
    if (solo === 'kernels')
      return benchKernels({
        backends: parseStringList(a.backends)?.join(','),
        nets: parseStringList(a.nets)?.join(','),
        batch,
        iters: steps,
        budget,
        json: a.json,
      });
    if (solo === 'profile') {
      const models = parseStringList(a.models);
      if (models && models.length > 1) throw new UserError(`--only profile: give one model in --models, not ${models.length}`);
      return profileStep({
        model: models?.[0],
        backend: a.backends ? backends[0] : undefined,
        steps,
        batch,
        shapes: a.shapes,
        input,
      });
    }
    const report = await runBench({
      models: parseStringList(a.models) ?? benchModels(a.quick),
      backends,
      steps,
      warmup: a.quick ? Math.min(a.warmup, 1) : a.warmup,
      batch,
      budgetS: budget,
      only: only as never,
      quick: a.quick,
      cpuConv: a['cpu-conv'],
      protocolIterations: pi,
      sparsity: a.experiment ? { experiment: a.experiment, db: a.db, strategies: parseStringList(a.strategy), trial: a.trial } : undefined,
      log: (m) => process.stderr.write(`bench: ${m}\n`),
    });
    process.stdout.write(formatReport(report) + '\n');
    if (a.json) {
      writeFileSync(a.json, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`wrote ${a.json}\n`);
    }
    if (a.out && report.sparsity) {
      const { speedFigureData, speedSubtitle } = await import('../../bench/sparsity.js');
      const title = a.experiment ? `Speed vs sparsity: ${a.experiment}` : 'Speed vs sparsity: LeNet-300-100, weight vs neuron pruning';
      const p = await plotSpeed(speedFigureData(report.sparsity), a.out, title, speedSubtitle(report.sparsity));
      process.stdout.write(`wrote ${p.file}\n`);
    }
  },
};

/** `--input H,W,C` (or a flat size N for an MLP) → the example shape; one error line otherwise. */
function parseInputShape(text: string): number[] {
  const dims = text.split(',').map((d) => d.trim());
  const shape = dims.map(Number);
  if ((shape.length !== 1 && shape.length !== 3) || dims.some((d) => !/^\d+$/.test(d)) || shape.some((d) => d < 1))
    throw new UserError(`--input must be an example shape H,W,C (or a size N for an MLP) of whole numbers ≥ 1, e.g. 28,28,1; got "${text}"`);
  return shape;
}
