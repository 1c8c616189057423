import type { Argv, CommandModule } from 'yargs';
import { storedNumberNotes, exportExperiment } from '../../reporting/index.js';
import { dbOption, pathOption } from './common.js';

interface Args {
  db: string;
  experiment: string;
  out: string;
  force: boolean;
}

export const command: CommandModule<object, Args> = {
  command: 'export <experiment>',
  describe: 'Write CSV files for pandas / R: levels.csv (the levels view), curves.csv (learning curves), summary.csv (the report)',
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: "the experiment's spec name" })
      .option('db', dbOption)
      .option('out', { alias: 'o', ...pathOption, demandOption: true, describe: 'folder to write the CSV files into (created if missing)' })
      .option('force', { type: 'boolean', default: false, describe: 'overwrite levels.csv, curves.csv and summary.csv if the folder already has them' })
      .example('$0 export lenet-mnist --out results/lenet-csv', 'then pandas.read_csv("results/lenet-csv/levels.csv")') as unknown as Argv<Args>,
  handler: (argv) => {
    for (const f of exportExperiment(argv.db, argv.experiment, argv.out, { force: argv.force }))
      process.stderr.write(`wrote ${f.file} (${f.rows} rows): ${f.what}\n`);
    // levels.csv and curves.csv carry every loss column and the early-stop points
    for (const n of storedNumberNotes(argv.db, argv.experiment, { losses: true, earlyStop: true })) process.stderr.write(`${n}\n`);
  },
};
