import Database from 'better-sqlite3';
import Table from 'cli-table3';
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { dbOption } from './common.js';
import { UserError } from '../../util/errors.js';

interface Row {
  name: string;
  spec_hash: string;
  spec_json: string;
  chains: number;
  stored: number;
  backends: string | null;
  last: string | null;
}

export const status: CommandModule<object, { db: string; plan?: string }> = {
  command: 'status',
  describe: 'experiments in the database and how far each has run',
  builder: (y) =>
    y
      .option('db', dbOption)
      .option('plan', { type: 'string', describe: 'a cluster plan folder: each task done, partial or missing, and how to resubmit (docs/CLUSTER.md)' })
      .example('$0 status --db results/lth.db', '')
      .example('$0 status --plan plans/lenet', 'tasks of a cluster plan'),
  handler: async (a) => {
    if (a.plan !== undefined) return (await import('./plan-status.js')).printPlanStatus(a.plan);
    if (!existsSync(a.db)) throw new UserError(`no database at ${a.db}: run an experiment first (lth run SPEC) or pass --db`);
    const db = new Database(a.db, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          `SELECT e.name, e.spec_hash, e.spec_json,
                  (SELECT count(*) FROM chains c WHERE c.experiment_id = e.id) AS chains,
                  (SELECT count(*) FROM results r WHERE r.experiment_id = e.id) AS stored,
                  (SELECT group_concat(DISTINCT backend) FROM results r WHERE r.experiment_id = e.id) AS backends,
                  (SELECT max(created_at) FROM results r WHERE r.experiment_id = e.id) AS last
             FROM experiments e ORDER BY e.id`,
        )
        .all() as Row[];
      if (rows.length === 0) {
        process.stdout.write(`${a.db}: no experiments yet\n`);
        return;
      }
      const plain = !process.stdout.isTTY;
      const t = new Table({ head: ['experiment', 'spec', 'trials × chains', 'levels stored', 'backend', 'last level'], style: plain ? { head: [], border: [] } : {} });
      for (const r of rows) {
        const spec = JSON.parse(r.spec_json) as { trials: number; strategies: unknown[]; pruning: { levels: number } };
        const expected = spec.trials * (1 + spec.strategies.length * spec.pruning.levels);
        const state = r.stored >= expected ? 'complete' : `${r.stored}/${expected}`;
        t.push([r.name, r.spec_hash.slice(0, 10), `${spec.trials} × ${spec.strategies.length}`, state, r.backends ?? '-', r.last ?? '-']);
      }
      process.stdout.write(t.toString() + '\n');
    } finally {
      db.close();
    }
  },
};
