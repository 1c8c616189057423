import Table from 'cli-table3';
import type { CommandModule } from 'yargs';
import { planRun } from '../../orchestration/index.js';
import type { Spec } from '../../spec/index.js';
import { Store } from '../../storage/index.js';
import { dbOption } from './common.js';

export const status: CommandModule<object, { db: string; plan?: string }> = {
  command: 'status',
  describe: 'experiments in the database and how far each has run (read-only)',
  builder: (y) =>
    y
      .option('db', dbOption)
      .option('plan', { type: 'string', describe: 'a cluster plan folder: each task done, partial or missing, and how to resubmit (docs/CLUSTER.md)' })
      .example('$0 status --db results/lth.db', '')
      .example('$0 status --plan plans/lenet', 'tasks of a cluster plan'),
  handler: async (a) => {
    if (a.plan !== undefined) return (await import('./plan-status.js')).printPlanStatus(a.plan);
    // Read-only: status works on a database in a read-only folder, and never creates one.
    const store = new Store(a.db, { readonly: true });
    try {
      const rows = store.experiments();
      if (rows.length === 0) {
        process.stdout.write(`${a.db}: no experiments yet\n`);
        return;
      }
      const plain = !process.stdout.isTTY;
      const t = new Table({
        head: ['experiment', 'spec', 'trials × chains', 'levels stored', 'backend', 'last level'],
        style: plain ? { head: [], border: [] } : {},
      });
      for (const r of rows) {
        const spec = JSON.parse(r.specJson) as Spec;
        // The same plan `lth run` follows (orchestration/plan.ts): no data, no backend needed.
        const plan = planRun(spec, store.storedRows(r.id));
        const state = plan.complete ? 'complete' : `${plan.done}/${plan.total}`;
        t.push([r.name, r.specHash.slice(0, 10), `${spec.trials} × ${spec.strategies.length}`, state, r.backends ?? '-', r.last ?? '-']);
      }
      process.stdout.write(t.toString() + '\n');
    } finally {
      store.close();
    }
  },
};
