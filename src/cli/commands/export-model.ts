import type { CommandModule } from 'yargs';
import { initBackend } from '../../backend/index.js';
import { EXPORTED_WEIGHTS, exportModel, type ExportedWeights } from '../../export/model.js';
import { Store } from '../../storage/db.js';
import { dbOption, pathOption } from './common.js';

export const exportModelCmd: CommandModule<
  object,
  { experiment: string; strategy: string; trial: number; level: number; weights: ExportedWeights; out: string; db: string }
> = {
  command: 'export-model <experiment>',
  describe:
    "write a stored level's weights as a TensorFlow.js LayersModel (model.json + weights.bin) that tf.loadLayersModel loads without lth: its final weights (after its last training step), or with --weights early-stop those at its early-stop point, stored when the spec sets training.keepEarlyStop; its outputs are logits, and model.getUserDefinedMetadata().lth gives the weights, the input shape and normalization",
  builder: (y) =>
    y
      .positional('experiment', { type: 'string', demandOption: true, describe: 'the experiment (its spec "name")' })
      .option('strategy', { type: 'string', demandOption: true, describe: 'the chain, e.g. rewind (any chain for level 0)' })
      .option('trial', { type: 'number', default: 0, describe: 'trial number' })
      .option('level', { type: 'number', demandOption: true, describe: 'pruning level (0 = dense)' })
      .option('weights', {
        choices: EXPORTED_WEIGHTS,
        default: EXPORTED_WEIGHTS[0],
        describe:
          "final: after the level's last training step (its final_test_accuracy); early-stop: at its evaluation of minimum validation loss (its early_stop_test_accuracy), kept only with training.keepEarlyStop",
      })
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
      const r = await exportModel(store, a.experiment, { strategy: a.strategy, trial: a.trial, level: a.level }, a.out, a.weights);
      const units = Object.entries(r.units)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      // which weights, so that the accuracy a user measures is matched with the right column
      const which =
        a.weights === 'final'
          ? `final weights of ${a.strategy} trial ${a.trial} level ${a.level} (after its last training step, not at early stop)`
          : `early-stop weights of ${a.strategy} trial ${a.trial} level ${a.level} (at its evaluation of minimum validation loss, not the final ones)`;
      process.stdout.write(`${r.dir}: ${r.files.join(', ')} (${which}; ${r.structured ? 'physically pruned' : 'masked weights'}; units: ${units})\n`);
    } finally {
      store.close();
    }
  },
};
