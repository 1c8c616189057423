import { tf } from '../util/tf.js';
import type { BackendChoice } from '../backend/index.js';
import type { DataOptions, Split } from '../data/index.js';
import { initializerOf, type Weights } from '../models/index.js';
import { resolveRun, trialSeed } from '../orchestration/index.js';
import { validateSpec } from '../spec/index.js';
import { keys, noExperiment, Store } from '../storage/index.js';
import { evaluate, toTensors } from '../training/index.js';
import { UserError } from '../util/index.js';
import { ANALYSES, type AnalysisName } from './registry.js';
import type { AnalysisDef } from './types.js';

export interface AnalyzeOptions {
  db: string;
  backend?: BackendChoice;
  data?: DataOptions;
  /** the analysis itself, e.g. noiseAnalysis({...}) with other amounts (default: the registry's, with its defaults) */
  def?: AnalysisDef;
  log?: (message: string) => void;
}

/**
 * `lth analyze NAME EXP`: measures every stored chain level of an experiment (level 0 included;
 * branch rows are not levels) with one analysis of the registry and stores its rows, one
 * transaction per level (stopped at any moment, every stored level is complete). Resumable and idempotent: a level that already has rows in the
 * analysis's table is skipped, so a re-run adds nothing. The data and model are rebuilt from the
 * spec stored with the experiment.
 * @returns levels measured now and levels skipped (already measured)
 * @throws UserError when the database or the experiment is missing (before any data is loaded)
 */
export async function runAnalysis(name: AnalysisName, experiment: string, opts: AnalyzeOptions): Promise<{ measured: number; skipped: number }> {
  const def = opts.def ?? ANALYSES[name]();
  const specJson = storedSpec(opts.db, experiment);
  const loaded = validateSpec(JSON.parse(specJson), `the spec stored with "${experiment}"`);
  // a pretrained model file has no initializer: θ0 is the file's weights and there is nothing to redraw from
  const init = initializerOf(loaded.spec.model);
  if (!init)
    throw new UserError(
      `lth analyze ${name}: ${experiment} starts from a pretrained model file, which has no initializer to draw from or θ0 to reset to: analyze an experiment trained from an initializer`,
    );
  const { model, data } = await resolveRun(loaded, { backend: opts.backend ?? 'auto', data: opts.data });
  const store = new Store(opts.db);
  try {
    const exp = store.experiments().find((e) => e.name === experiment)!;
    let measured = 0;
    let skipped = 0;
    // θ0 by artifact key: the trial's, or a transferred chain's own (src/resets/ticket.ts)
    const thetas = new Map<string, Weights>();
    for (const row of store.chainLevelRows(exp.id)) {
      if (store.hasAnalysisRows(def.table, row.resultId)) {
        skipped++;
        continue;
      }
      const own = keys.chainTheta0(row.trial, row.strategy);
      const thetaKey = row.level > 0 && store.hasArtifact(exp.id, own) ? own : keys.theta0(row.trial);
      if (!thetas.has(thetaKey)) thetas.set(thetaKey, store.loadArtifact(exp.id, thetaKey) as Weights);
      const { weights, masks } = store.loadLevel(exp.id, keys.chainLevel(row.trial, row.strategy, row.level));
      const rows = await def.measure({
        model,
        init,
        theta0: thetas.get(thetaKey)!,
        weights,
        masks,
        test: data.test,
        trialSeed: trialSeed(loaded.spec, row.trial),
        seed: loaded.spec.seed,
        evaluate: (w: Weights, split: Split) => {
          const t = toTensors(model, w);
          return evaluate(model, t, split).finally(() => tf.dispose(Object.values(t)));
        },
      });
      store.insertAnalysisRows(def.table, row.resultId, rows);
      measured++;
      opts.log?.(`${name}: ${row.strategy || 'dense'} trial ${row.trial} level ${row.level} (${rows.length} rows)`);
    }
    return { measured, skipped };
  } finally {
    store.close();
  }
}

/** The resolved spec stored with `experiment`, read before anything is loaded. */
function storedSpec(db: string, experiment: string): string {
  const store = new Store(db, { readonly: true });
  try {
    const all = store.experiments();
    const exp = all.find((e) => e.name === experiment);
    if (!exp)
      throw new UserError(
        noExperiment(
          experiment,
          all.map((e) => e.name),
          db,
        ),
      );
    return exp.specJson;
  } finally {
    store.close();
  }
}
