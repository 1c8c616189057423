import type { Argv, CommandModule } from 'yargs';
import { BACKENDS, type BackendChoice } from '../../backend/names.js';
import { STORED_VIEWS, storedNumberNotes, ERROR_BARS, type ErrorBars, PLOT_KINDS, type PlotKind, plotExperiment } from '../../reporting/index.js';
import { dbOption, parseIntList, parseStringList, pathOption } from './common.js';

interface Args {
  db: string;
  experiment: string;
  out: string;
  kind: PlotKind;
  'error-bars': ErrorBars;
  strategy?: string[];
  levels?: string[];
  width?: number;
  trial?: number;
  backend: BackendChoice;
}

export const command: CommandModule<object, Args> = {
  command: 'plot <experiment>',
  describe:
    "The papers' figures: accuracy or early-stop iteration vs % weights remaining, learning curves; inference and training speed of each level (SVG or PNG)",
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: "the experiment's spec name" })
      .option('db', dbOption)
      .option('out', { alias: 'o', ...pathOption, demandOption: true, describe: 'FILE.svg or FILE.png' })
      .option('kind', {
        alias: 'k',
        choices: PLOT_KINDS as string[],
        default: 'accuracy',
        describe: `accuracy: test accuracy at early stop vs % remaining; early-stop: early-stop iteration vs % remaining; curves: test accuracy vs iteration; instability: error barrier vs rewind point k and vs % remaining (instability branches); noise, reinit: accuracy under input noise / per-layer resets (after lth analyze); all: accuracy, early-stop and curves together; masks: ticket anatomy from the stored masks (per-layer sparsity, LeNet input heat maps, Jaccard overlap); speed: inference (exported network) and training (lth's step) speed of each level over the dense level's vs % remaining, measured now on --backend (also prints the table); ${STORED_VIEWS.map((a) => `${a.id}: ${a.title.toLowerCase()} (table ${a.tables.join(' and ')}; lth report --view ${a.id} prints it)`).join('; ')}`,
      })
      .option('error-bars', {
        choices: ERROR_BARS as unknown as string[],
        default: 'std',
        describe: 'error bars over trials: ±1 sample std, min–max, or none (the caption says which)',
      })
      .option('strategy', { alias: 's', type: 'string', array: true, describe: 'only these strategies (a branch: strategy:branch)' })
      .option('levels', {
        type: 'string',
        array: true,
        describe: 'levels whose learning curves to draw, e.g. 0,3,7,12 (default: nearest 100, 51.3, 21.1, 7.0, 3.6, 1.9%)',
      })
      .option('trial', {
        type: 'number',
        describe: 'masks: the trial whose masks the heat maps and overlap matrices use; speed: the trial whose chains are timed (default 0)',
      })
      .option('backend', {
        choices: BACKENDS,
        default: 'auto' as BackendChoice,
        describe: 'speed: the tensor backend the exported models run on (auto: as lth run)',
      })
      .option('width', { type: 'number', describe: 'PNG width in pixels; height follows the figure (default: 2× the SVG size)' })
      .example('$0 plot lenet-mnist --out fig3.svg', 'test accuracy at early stop vs % weights remaining, one line per strategy')
      .example('$0 plot lenet-mnist --kind curves --levels 0,3,7 --out curves.png --width 1600', 'learning curves of three levels as a PNG')
      .example('$0 plot lenet-mnist --kind all --out all.png', 'all three figures on one image')
      .example('$0 plot when-to-prune-quick --kind early-bird --out eb.png', "early-bird's mask distance during the dense search and its detection step")
      .example(
        '$0 plot quickstart --kind masks -s rewind --levels 0,3,6 --out masks.png',
        'ticket anatomy: heat maps at levels 0, 3, 6; overlap matrices at level 6',
      )
      .example(
        '$0 plot quickstart --kind speed --out speed.png',
        'examples/s of every exported level of each chain vs % weights remaining',
      ) as unknown as Argv<Args>,
  handler: async (argv) => {
    if (argv.kind === 'speed') return plotSpeedCommand(argv);
    const r = await plotExperiment(argv.db, argv.experiment, argv.out, {
      kind: argv.kind,
      errorBars: argv['error-bars'],
      series: parseStringList(argv.strategy),
      levels: parseIntList(argv.levels, '--levels'),
      width: argv.width,
      trial: argv.trial,
    });
    // learning curves show test accuracy only; the other figures are at the early-stop point
    for (const n of storedNumberNotes(argv.db, argv.experiment, { earlyStop: r.kind !== 'curves' })) process.stderr.write(`${n}\n`);
    process.stderr.write(`wrote ${r.file} (${r.kind}, ${r.width}×${r.height}${r.format === 'png' ? ' px' : ''})\n`);
  },
};

/** `lth plot --kind speed`: time every stored level of the chains (src/bench/sparsity.ts), print the table, draw the figure. */
async function plotSpeedCommand(argv: Args): Promise<void> {
  const { checkPlotOut, plotSpeed } = await import('../../reporting/index.js');
  checkPlotOut(argv.out, argv.width);
  const { initBackend } = await import('../../backend/index.js');
  const { Store } = await import('../../storage/index.js');
  const { formatSpeed, measureSpeed, speedChains, speedFigureData, speedSubtitle } = await import('../../bench/sparsity.js');
  await initBackend(argv.backend);
  const store = new Store(argv.db, { readonly: true });
  try {
    const chains = speedChains(store, argv.experiment, parseStringList(argv.strategy), argv.trial ?? 0);
    const r = await measureSpeed(store, chains, { log: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(formatSpeed(r) + '\n');
    const p = await plotSpeed(speedFigureData(r), argv.out, `Speed vs sparsity: ${argv.experiment}`, speedSubtitle(r), argv.width);
    process.stderr.write(`wrote ${p.file} (speed, ${p.width}×${p.height}${p.format === 'png' ? ' px' : ''})\n`);
  } finally {
    store.close();
  }
}
