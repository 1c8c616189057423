import { createInterface } from 'node:readline/promises';
import type { CommandModule } from 'yargs';
import { noExperiment, Store } from '../../storage/index.js';
import { UserError } from '../../util/index.js';
import { dbOption } from './common.js';

export const rm: CommandModule<object, { name: string; db: string; yes: boolean }> = {
  command: 'rm <name>',
  describe: 'drop one experiment from the database: its rows and only its weight files',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'the experiment (its spec "name"; see lth status)' })
      .option('db', dbOption)
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation' })
      .example('$0 rm quickstart --yes', 'drop the quickstart, e.g. to re-run it after a corrupt weight file'),
  handler: async (a) => {
    // Checked read-only first: a typo must not need (or create) a writable database.
    const ro = new Store(a.db, { readonly: true });
    try {
      const names = ro.experiments().map((e) => e.name);
      if (!names.includes(a.name)) {
        throw new UserError(noExperiment(a.name, names, a.db));
      }
    } finally {
      ro.close();
    }
    if (!a.yes) {
      if (!process.stdin.isTTY)
        throw new UserError(`lth rm deletes experiment "${a.name}" and its weight files: pass --yes to confirm (no terminal to ask on)`);
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(`delete experiment "${a.name}" (its rows and weight files) from ${a.db}? [y/N] `);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        process.stderr.write('nothing deleted\n');
        return;
      }
    }
    const store = new Store(a.db);
    try {
      const r = store.removeExperiment(a.name);
      process.stdout.write(`${a.name}: removed ${r.rows} row(s) and ${r.files} weight file(s) from ${a.db}\n`);
    } finally {
      store.close();
    }
  },
};
