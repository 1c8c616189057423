import Table from 'cli-table3';
import type { CommandModule } from 'yargs';

interface Args {
  'data-dir'?: string;
  verify: boolean;
  json: boolean;
}

/** `lth datasets`: what is cached or installed, where, and whether it verifies against the published checksums. */
export const datasets: CommandModule<object, Args> = {
  command: 'datasets',
  describe: 'which data sets are available offline, where their files are, and whether they verify',
  builder: (y) =>
    y
      .option('data-dir', { type: 'string', describe: 'also look in this folder (as lth run --data-dir)' })
      .option('verify', { type: 'boolean', default: true, describe: 'read and checksum every file (--no-verify: only list)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 datasets', 'list MNIST, Fashion-MNIST and CIFAR-10 files and their checksums')
      .example('$0 datasets --data-dir ~/data', 'include a folder of your own'),
  handler: async (a) => {
    const { listDatasets } = await import('../../data/index.js');
    const list = await listDatasets({ dataDir: a['data-dir'], verify: a.verify });
    if (a.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    const plain = !process.stdout.isTTY;
    const t = new Table({ head: ['data set', 'file', 'where', 'verified'], style: plain ? { head: [], border: [] } : {} });
    for (const d of list) {
      for (const f of d.files) {
        const first = f.copies[0];
        const where = first ? `${first.path} (${first.origin})` : `missing: lth run downloads it into ${d.cacheDir}`;
        const ok = !first ? '-' : first.verified === true ? 'yes' : first.verified === false ? `NO: ${first.problem ?? 'checksum mismatch'}` : 'not checked';
        t.push([d.name, f.name, where, ok]);
      }
    }
    process.stdout.write(t.toString() + '\n');
    for (const d of list) process.stdout.write(`${d.name}: ${d.ready ? 'ready offline' : `not ready offline (cache: ${d.cacheDir})`}\n`);
  },
};
