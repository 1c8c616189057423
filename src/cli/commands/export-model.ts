import type { CommandModule } from 'yargs';
import { initBackend } from '../../backend/index.js';
import { exportModel } from '../../export/model.js';
import { Store } from '../../storage/db.js';
import { dbOption, pathOption } from './common.js';

export const exportModelCmd: CommandModule<object, { experiment: string; strategy: string; trial: number; level: number; out: string; db: string }> = {
  command: 'export-model <experiment>',
  describe:
    "write a stored level's final weights (after its last training step, not at the early-stop iteration: lth stores only the final ones) as a TensorFlow.js LayersModel (model.json + weights.bin) that tf.loadLayersModel loads without lth; its outputs are logits, and model.getUserDefinedMetadata().lth gives the input shape and normalization",
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: 'the experiment (its spec "name")' })
      .option('strategy', { type: 'string', demandOption: true, describe: 'the chain, e.g. rewind (any chain for level 0)' })
      .option('trial', { type: 'number', default: 0, describe: 'trial number' })
      .option('level', { type: 'number', demandOption: true, describe: 'pruning level (0 = dense)' })
      .option('out', { ...pathOption, demandOption: true, describe: 'folder to write (new or empty)' })
      .option('db', dbOption)
      .example(
        '$0 export-model quickstart --strategy rewind --level 3 --out ticket/',
        'neuron/filter levels export physically smaller; weight levels export w ⊙ m with masks.json/masks.bin',
      ),
  handler: async (a) => {
    // cpu: copying weights into a model needs no accelerator, and gives the same bits everywhere.
    await initBackend('cpu');
    const store = new Store(a.db, { readonly: true });
    try {
      const r = await exportModel(store, a.experiment, { strategy: a.strategy, trial: a.trial, level: a.level }, a.out);
      const units = Object.entries(r.units)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      // which weights: the level's final ones, so its accuracy is the level's final test accuracy, not the one at early stop
      const which = `final weights of ${a.strategy} trial ${a.trial} level ${a.level} (after its last training step, not at early stop)`;
      process.stdout.write(`${r.dir}: ${r.files.join(', ')} (${which}; ${r.structured ? 'physically pruned' : 'masked weights'}; units: ${units})\n`);
    } finally {
      store.close();
    }
  },
};
