import type { Argv, CommandModule } from 'yargs';
import { shownByMetrics, storedNumberNotes, METRIC_IDS, type CompareMethod, compareStrategies, renderComparison, type Format } from '../../reporting/index.js';
import { dbOption, formatOption } from './common.js';

interface Args {
  db: string;
  experiment: string;
  a: string;
  b: string;
  metric: string;
  method: CompareMethod;
  confidence: number;
  resamples: number;
  seed: number;
  format: Format;
}

export const command: CommandModule<object, Args> = {
  command: 'compare <experiment> <a> <b>',
  describe: 'Paired comparison of strategies A and B at each level (trials paired by seed): mean difference, confidence interval, significant levels',
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: "the experiment's spec name" })
      .positional('a', { type: 'string', demandOption: true, describe: 'strategy A (a branch: strategy:branch)' })
      .positional('b', { type: 'string', demandOption: true, describe: 'strategy B' })
      .option('db', dbOption)
      .option('metric', { alias: 'm', choices: METRIC_IDS, default: 'es-accuracy', describe: 'what to compare' })
      .option('method', {
        choices: ['t', 'bootstrap'],
        default: 't',
        describe: 'paired t interval, or percentile bootstrap of the paired differences (too narrow with few trials)',
      })
      .option('confidence', { type: 'number', default: 0.95, describe: 'confidence level of the interval' })
      .option('resamples', { type: 'number', default: 10000, describe: 'bootstrap resamples' })
      .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' })
      .option('format', { ...formatOption, alias: 'f' })
      .example('$0 compare lenet-mnist rewind random-reinit', 'is the winning ticket better than its random reinitialization, level by level?')
      .example('$0 compare renda lr-rewind fine-tune --metric final-accuracy', 'Renda et al.: learning-rate rewinding vs fine-tuning')
      .example('$0 compare lenet-mnist rewind random-reinit --metric es-iteration', 'does the ticket stop earlier? (lower is better)') as unknown as Argv<Args>,
  handler: (argv) => {
    const c = compareStrategies(argv.db, argv.experiment, argv.a, argv.b, {
      metric: argv.metric,
      method: argv.method,
      confidence: argv.confidence,
      resamples: argv.resamples,
      seed: argv.seed,
    });
    process.stdout.write(renderComparison(c, argv.format));
    for (const n of storedNumberNotes(argv.db, argv.experiment, shownByMetrics([argv.metric]))) process.stderr.write(`${n}\n`);
  },
};
