#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../util/index.js';
import { commands } from './commands/index.js';

/** The `lth` command line. Every command is a thin layer over the library in src/. */
export async function main(argv: string[]): Promise<void> {
  let cli = yargs(argv)
    .scriptName('lth')
    .usage('$0 <command> [options]\n\nLottery-ticket experiments: train, prune, reset, retrain; every level logged to SQLite.')
    .strict()
    .demandCommand(1, 'give a command, e.g. lth run experiments/quickstart.json')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, yargs().terminalWidth()))
    .example('$0 run experiments/quickstart.json', 'run (or resume) the quickstart')
    .example('$0 report quickstart --format markdown', 'mean ± std per strategy and level')
    .example('$0 plot quickstart --out results/quickstart.png', 'accuracy vs % weights remaining')
    .epilogue('Docs: README.md, docs/SCHEMA.md. Defaults follow Frankle & Carbin (2019).')
    .fail((msg, err) => {
      throw err ?? new UserError(`${msg} (see lth --help)`);
    });
  for (const c of commands) cli = cli.command(c as never);
  await cli.parseAsync();
}

main(hideBin(process.argv)).catch((e: unknown) => {
  const err = e as Error;
  if (err instanceof UserError || err?.name === 'UserError') {
    process.stderr.write(`lth: error: ${err.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`lth: internal error: ${err?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
});
