import type { CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '../../backend/index.js';
import { loadSpec } from '../../spec/index.js';
import { catalogText } from '../catalog.js';
import { dbOption } from './common.js';
import { UserError } from '../../util/index.js';
import { progressReporter } from '../progress.js';

export interface Args {
  spec?: string;
  plan?: string;
  task: string;
  set: string[];
  db: string;
  workers: number;
  backend: BackendChoice;
  'data-dir'?: string;
  quiet: boolean;
}

export const run: CommandModule<object, Args> = {
  command: 'run [spec]',
  describe: 'run or resume an experiment (the same spec twice continues; nothing is duplicated)',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', describe: 'JSON spec, e.g. experiments/quickstart.json' })
      .option('plan', { type: 'string', describe: 'run one task of a cluster plan (lth plan) instead of a spec' })
      .option('task', { type: 'string', default: 'auto', describe: 'with --plan: auto (from SLURM_ARRAY_TASK_ID etc.), dense:I or chains:I' })
      .option('set', { type: 'string', array: true, default: [], describe: 'override a spec field: path=value (repeatable)' })
      .option('db', dbOption)
      .option('workers', { type: 'number', default: 1, describe: 'run independent chains in N processes' })
      .option('backend', {
        choices: BACKENDS,
        default: 'auto' as BackendChoice,
        describe:
          'tensor backend (auto: tensorflow, then webgpu on a GPU, then native (lth CPU kernels, when built), then wasm, then cpu; lth doctor lists what loads here)',
      })
      .option('data-dir', { type: 'string', describe: 'folder with the data set files as distributed' })
      .option('quiet', { type: 'boolean', default: false, describe: 'no progress output (for scripts)' })
      .example('$0 run experiments/quickstart.json', 'the quickstart: Fashion-MNIST LeNet-300-100, winning tickets (rewind) vs random-reinit')
      .example('$0 run experiments/frankle-carbin-lenet.json --workers 2 --set trials=2', 'a paper preset on two cores')
      .example('$0 run --plan plans/lenet --task chains:3', 'one task of a cluster plan (docs/CLUSTER.md)')
      .epilogue(catalogText())
      .check((a) => {
        if ((a.spec === undefined) === (a.plan === undefined))
          throw new UserError('give a spec (lth run SPEC) or a plan task (lth run --plan DIR --task dense:I), not both or neither');
        if (a.plan !== undefined && (a.set.length > 0 || a.workers !== 1))
          throw new UserError('--plan runs one task as its plan says: --set and --workers do not apply (write a new plan with lth plan)');
        if (!Number.isInteger(a.workers) || a.workers < 1) throw new UserError(`--workers ${a.workers} must be a whole number ≥ 1`);
        return true;
      }),
  handler: async (a) => {
    if (a.plan !== undefined) return (await import('./task.js')).runPlanTask(a.plan, a.task, a.quiet);
    const loaded = loadSpec(a.spec!, a.set);
    // Loaded only now: tfjs takes a moment to import, and bad input should fail at once.
    const { runExperiment } = await import('../../orchestration/index.js');
    const progress = progressReporter(a.quiet);
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130); // a second Ctrl-C: leave now (stored levels are complete either way)
      stop = true;
      const msg = 'stopping: the level in flight is discarded, stored levels are kept (Ctrl-C again to quit at once)';
      // above the bars: written into them, it leaves a stale copy of them behind
      if (progress.mode === 'bars') progress.write(msg);
      else process.stderr.write(`\n${msg}\n`);
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const r = await runExperiment(loaded, {
        db: a.db,
        workers: a.workers,
        backend: a.backend,
        data: { dataDir: a['data-dir'], log: (m) => progress.onProgress({ type: 'log', message: m }) },
        onProgress: progress.onProgress,
        shouldStop: () => stop,
      });
      progress.stop();
      const what = r.interrupted ? 'stopped' : 'done';
      process.stdout.write(
        `${r.experiment}: ${what}; ${r.levelsTrained} level(s) trained in ${r.seconds.toFixed(1)} s on ${r.backend}; results in ${r.db} (lth report ${r.experiment} --db ${r.db})\n`,
      );
      if (r.interrupted) process.exitCode = 130;
    } finally {
      progress.stop();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
};
