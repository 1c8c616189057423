import type { CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '../../backend/names.js';
import { loadSpec } from '../../spec/index.js';

export interface Args {
  spec: string;
  set: string[];
  out: string;
  'chains-per-task': number;
  'max-parallel'?: number;
  partition?: string;
  time?: string;
  'cpus-per-task': number;
  'gpus-per-task'?: number;
  emit: 'slurm' | 'k8s';
  lth?: string;
  backend: BackendChoice;
  'data-dir'?: string;
  image?: string;
}

/** `lth plan`: a sweep as two job arrays (docs/CLUSTER.md). */
export const plan: CommandModule<object, Args> = {
  command: 'plan <spec>',
  describe: 'write a cluster plan: plan.json, two Slurm job arrays (dense, chains) and submit.sh',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'JSON spec, e.g. experiments/frankle-carbin-lenet.json' })
      .option('set', { type: 'string', array: true, default: [], describe: 'override a spec field: path=value (repeatable)' })
      .option('out', { type: 'string', demandOption: true, describe: 'the plan folder, on a file system every node sees' })
      .option('chains-per-task', { type: 'number', default: 1, describe: 'K (chain, trial) pairs per task of the chains array' })
      .option('max-parallel', { type: 'number', describe: 'at most P tasks of an array at once (the %P throttle)' })
      .option('partition', { type: 'string', describe: 'Slurm partition' })
      .option('time', { type: 'string', describe: 'time limit per task, HH:MM:SS' })
      .option('cpus-per-task', { type: 'number', default: 1, describe: 'CPUs per task (also its wasm threads)' })
      .option('gpus-per-task', { type: 'number', describe: 'GPUs per task (use with --backend tensorflow and tfjs-node-gpu)' })
      .option('emit', { choices: ['slurm', 'k8s'] as const, default: 'slurm' as const, describe: 'Slurm batch scripts, or Kubernetes Indexed Job manifests' })
      .option('lth', { type: 'string', describe: 'the shell command that runs lth on the compute nodes (default: this node and CLI, absolute paths)' })
      .option('backend', {
        choices: BACKENDS,
        default: 'auto' as BackendChoice,
        describe: 'tensor backend of every task (the same numbers need the same backend)',
      })
      .option('data-dir', { type: 'string', describe: 'folder with the data set files, as the nodes see it' })
      .option('image', { type: 'string', describe: 'container image of the Kubernetes jobs (--emit k8s)' })
      .example('$0 plan experiments/frankle-carbin-lenet.json --out /nfs/plans/lenet --max-parallel 20 --time 12:00:00', 'then: sh /nfs/plans/lenet/submit.sh')
      .example('$0 plan experiments/quickstart.json --out plans/qs --emit k8s', 'Kubernetes Indexed Jobs instead'),
  handler: async (a) => {
    const loaded = loadSpec(a.spec, a.set);
    const { writeSweep } = await import('../../cluster/sweep.js');
    const p = writeSweep(loaded, {
      out: a.out,
      chainsPerTask: a['chains-per-task'],
      maxParallel: a['max-parallel'],
      partition: a.partition,
      time: a.time,
      cpusPerTask: a['cpus-per-task'],
      gpusPerTask: a['gpus-per-task'],
      emit: a.emit,
      lth: a.lth,
      backend: a.backend,
      dataDir: a['data-dir'],
      image: a.image,
    });
    const files = p.emit === 'slurm' ? 'plan.json, dense.sbatch, chains.sbatch, submit.sh' : 'plan.json, dense.job.json, chains.job.json, submit.sh';
    process.stdout.write(
      `${p.experiment}: ${p.tasks.dense.length} dense task(s), ${p.tasks.chains.length} chains task(s) of ${p.chainsPerTask} chain(s); wrote ${files} in ${a.out}\n` +
        `submit: sh ${a.out}/submit.sh   progress: lth status --plan ${a.out}   results: lth merge ${a.out}/shards/*.db --into results/lth.db\n`,
    );
  },
};
