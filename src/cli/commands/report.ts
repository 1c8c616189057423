import type { Argv, CommandModule } from 'yargs';
import {
  DEFAULT_METRICS,
  METRIC_IDS,
  type Format,
  shownByMetrics,
  storedNumberNotes,
  writeHtmlReport,
  type ErrorBars,
  ERROR_BARS,
  report,
  reportView,
  STORED_VIEWS,
  STORED_VIEW_IDS,
} from '../../reporting/index.js';
import { UserError } from '../../util/index.js';
import { dbOption, formatOption, parseIntList, parseStringList, pathOption } from './common.js';
import { ANALYSIS_NAMES, type AnalysisName } from '../../analyses/registry.js';

const isAnalysis = (m: string): m is AnalysisName => (ANALYSIS_NAMES as string[]).includes(m);

interface Args {
  db: string;
  experiment: string;
  format: Format;
  metric?: string[];
  html?: string;
  'error-bars': ErrorBars;
  levels?: string[];
  view?: string;
}

export const command: CommandModule<object, Args> = {
  command: 'report <experiment>',
  describe: 'Per-level table of an experiment: mean ± std over trials for each strategy (and an HTML page with --html)',
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: "the experiment's spec name" })
      .option('db', dbOption)
      .option('format', { ...formatOption, alias: 'f' })
      .option('metric', {
        alias: 'm',
        type: 'string',
        array: true,
        choices: [...METRIC_IDS, ...ANALYSIS_NAMES],
        describe: `columns to show (default: ${DEFAULT_METRICS.join(', ')}); ${ANALYSIS_NAMES.join(', ')}: the table lth analyze stored, one column per setting`,
      })
      .option('view', {
        choices: STORED_VIEW_IDS as string[],
        describe: `instead of the per-level table, one stored table's view: ${STORED_VIEWS.map((a) => `${a.id} (${a.title.toLowerCase()}, table ${a.tables.join(' and ')})`).join('; ')}`,
      })
      .option('html', { ...pathOption, describe: 'also write a self-contained HTML page with the tables and figures to FILE' })
      .option('error-bars', {
        choices: ERROR_BARS as unknown as string[],
        default: 'std',
        describe: 'error bars of the HTML figures: ±std or min–max over trials',
      })
      .option('levels', { type: 'string', array: true, describe: 'levels whose learning curves the HTML page shows, e.g. 0,3,7' })
      .example('$0 report lenet-mnist', 'test accuracy at early stop, early-stop iteration and final accuracy per level')
      .example('$0 report lenet-mnist --format markdown --metric es-accuracy', 'one markdown table to paste into notes')
      .example('$0 report lenet-mnist --metric noise', 'test accuracy under each input noise (after lth analyze noise lenet-mnist)')
      .example('$0 report liu-rethinking-structured-quick --view units', 'units alive per layer at each level of a neuron-pruning run')
      .example('$0 report lenet-mnist --html results/lenet.html', 'tables and figures on one page for a browser') as unknown as Argv<Args>,
  handler: async (argv) => {
    if (argv.view) {
      if (argv.html || argv.metric)
        throw new UserError('--view prints one stored table: leave out --html and --metric (lth plot EXPERIMENT --kind VIEW draws its figure)');
      process.stdout.write(reportView(argv.db, argv.experiment, argv.view, argv.format));
      return;
    }
    const asked = parseStringList(argv.metric);
    const analyses = (asked ?? []).filter(isAnalysis);
    const metrics = asked?.filter((m) => !isAnalysis(m));
    if (analyses.length) {
      const { analysisTable } = await import('../../analyses/index.js');
      const { openReadOnly, renderTabular } = await import('../../reporting/index.js');
      const db = openReadOnly(argv.db);
      try {
        for (const a of analyses) process.stdout.write(renderTabular(analysisTable(db, argv.experiment, a), argv.format));
      } finally {
        db.close();
      }
      if (!metrics?.length) return;
    }
    // the HTML page always adds the early-stop figures
    const shown = shownByMetrics([...(metrics?.length ? metrics : DEFAULT_METRICS), ...(argv.html ? ['es-iteration'] : [])]);
    for (const n of storedNumberNotes(argv.db, argv.experiment, shown)) process.stderr.write(`${n}\n`);
    if (argv.html) {
      await writeHtmlReport(argv.db, argv.experiment, argv.html, { metrics, errorBars: argv['error-bars'], levels: parseIntList(argv.levels, '--levels') });
      process.stderr.write(`wrote ${argv.html}\n`);
      return;
    }
    process.stdout.write(report(argv.db, argv.experiment, { format: argv.format, metrics }));
  },
};
