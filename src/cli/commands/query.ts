import type { Argv, CommandModule } from 'yargs';
import { type Format, renderQuery, runQuery } from '../../reporting/index.js';
import { dbOption, formatOption } from './common.js';

interface Args {
  db: string;
  sql: string;
  format: Format;
}

export const command: CommandModule<object, Args> = {
  command: 'query <sql>',
  describe: 'Run one read-only SQL statement on the database (views: levels, curves — see docs/SCHEMA.md)',
  builder: (y) =>
    y
      .positional('sql', { type: 'string', demandOption: true, describe: 'one SELECT / WITH / VALUES / EXPLAIN statement, or an informational PRAGMA' })
      .option('db', dbOption)
      .option('format', { ...formatOption, alias: 'f' })
      .example(
        '$0 query "SELECT experiment, avg(early_stop_test_accuracy) FROM levels WHERE level = 0 GROUP BY experiment"',
        'dense baseline of every experiment',
      )
      .example(
        '$0 query "SELECT * FROM levels WHERE experiment = \'lenet-mnist\'" --format csv > levels.csv',
        'raw rows for another tool',
      ) as unknown as Argv<Args>,
  handler: (argv) => {
    process.stdout.write(renderQuery(runQuery(argv.db, argv.sql), argv.format));
  },
};
