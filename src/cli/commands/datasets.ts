import Table from 'cli-table3';
import type { CommandModule } from 'yargs';

interface Args {
  source?: string;
  'data-dir'?: string;
  verify: boolean;
  json: boolean;
}

/**
 * `lth datasets`: every registered data set, and for the published ones what is cached or
 * installed, where, and whether it verifies against the published checksums.
 * `lth datasets PATH-or-SPEC`: what lth sees in your data (shape, classes with counts, value range, digest).
 */
export const datasets: CommandModule<object, Args> = {
  command: 'datasets [source]',
  describe: 'the data sets lth knows and which are available offline; with PATH or SPEC, what lth sees in that data',
  builder: (y) =>
    y
      .positional('source', { type: 'string', describe: 'a spec (.json), a folder of .npy files, an image folder or an .npz file' })
      .option('data-dir', { type: 'string', describe: 'also look in this folder (as lth run --data-dir)' })
      .option('verify', { type: 'boolean', default: true, describe: 'read and checksum every file (--no-verify: only list)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 datasets', 'list the data sets, and the MNIST, Fashion-MNIST and CIFAR-10 files and their checksums')
      .example('$0 datasets --data-dir ~/data', 'include a folder of your own')
      .example('$0 datasets ~/my-images', 'shape, classes with counts, value range and digest of your own data'),
  handler: async (a) => {
    if (a.source !== undefined) return inspect(a.source, a);
    const { DATASET_DEFS, listDatasets } = await import('../../data/index.js');
    const list = await listDatasets({ dataDir: a['data-dir'], verify: a.verify });
    if (a.json) {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return;
    }
    for (const d of DATASET_DEFS) process.stdout.write(`${d.name} — ${d.help}\n`);
    process.stdout.write('\n');
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

async function inspect(source: string, a: Args): Promise<void> {
  const { dataSpecForPath, inspectData } = await import('../../data/index.js');
  const { loadSpec, validateSpec } = await import('../../spec/index.js');
  const loaded = source.endsWith('.json') ? loadSpec(source) : validateSpec({ name: 'inspect', data: dataSpecForPath(source) }, source);
  const r = await inspectData(loaded.spec.data, loaded.spec.seed, { dataDir: a['data-dir'] });
  if (a.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  const total = (c: readonly number[]) => c.reduce((x, y) => x + y, 0);
  const lines = [
    `data set   ${r.dataset}: ${r.source}`,
    `shape      [${r.inputShape.join(', ')}] per example`,
    `examples   ${total(r.counts.train)} train (validation is held out of these), ${total(r.counts.test)} test`,
    `classes    ${r.counts.train.length}; per class (label: train / test): ${r.counts.train.map((n, k) => `${k}: ${n} / ${r.counts.test[k]}`).join(', ')}`,
    `values     ${r.range[0]} … ${r.range[1]} as stored`,
    `digest     ${r.digest ?? 'none (the name pins the content)'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
