import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

export interface Args {
  dbs: string[];
  into: string;
}

/** `lth merge`: shards of a plan, or any lth databases, into one (src/storage/merge.ts). */
export const merge: CommandModule<object, Args> = {
  command: 'merge <dbs..>',
  describe: "merge lth databases (a plan's shards, or two runs of one experiment) into one; safe to repeat",
  builder: (y) =>
    y
      .positional('dbs', { type: 'string', array: true, demandOption: true, describe: 'lth databases, e.g. DIR/shards/*.db' })
      .option('into', { type: 'string', demandOption: true, describe: 'the target database (created when missing; its weights go beside it)' })
      .example('$0 merge plans/lenet/shards/*.db --into results/lth.db', 'a finished (or partial) sweep into the results database'),
  handler: async (a) => {
    if (!a.dbs.length) throw new UserError('lth merge: give the databases to merge, e.g. lth merge DIR/shards/*.db --into results/lth.db');
    const { mergeDatabases } = await import('../../storage/merge.js');
    const t0 = performance.now();
    const r = mergeDatabases(a.dbs, a.into);
    const added = r.sources.reduce((n, s) => n + s.added, 0);
    const dup = r.sources.reduce((n, s) => n + s.duplicates, 0);
    const files = r.sources.reduce((n, s) => n + s.files, 0);
    for (const v of r.versionMismatches)
      process.stderr.write(`lth merge: note: experiment "${v.experiment}" was run by different lth versions: ${v.versions.join(', ')}\n`);
    process.stdout.write(
      `merged ${r.sources.length} database(s) into ${a.into}: ${added} row(s) added, ${dup} already there, ${files} weight file(s) verified (${((performance.now() - t0) / 1000).toFixed(2)} s)\n`,
    );
  },
};
