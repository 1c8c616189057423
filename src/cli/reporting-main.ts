#!/usr/bin/env node
/**
 * A stand-alone entry for the reporting commands only (report, plot, compare, query, export),
 * for use before / beside the full `lth` CLI in main.ts, which registers the same modules.
 *   node dist/src/cli/reporting-main.js report my-experiment --db results/lth.db
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../util/errors.js';
import { reportingCommands } from './commands/index.js';

async function main(): Promise<void> {
  const y = yargs(hideBin(process.argv));
  await y
    .scriptName('lth')
    .wrap(Math.min(120, y.terminalWidth()))
    .command(reportingCommands)
    .demandCommand(1, 'name a command: report, plot, compare, query or export')
    .strict()
    .help()
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`error: ${msg} (see --help)\n`);
      process.exit(2);
    })
    .parseAsync();
}

main().catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
});
