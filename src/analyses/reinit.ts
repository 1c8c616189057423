import { initialize } from '../models/init.js';
import type { Weights } from '../models/index.js';
import type { AnalysisDef, AnalysisInputs, AnalysisRow } from './types.js';

/**
 * Layer criticality (Zhang, Bengio & Singer 2019, "Are all layers created equal?", §3;
 * docs/PAPERS.md#robustness): for each layer alone, the test accuracy of the level's final
 * weights with that layer's parameters (kernel and bias, "<layer>/…") replaced, the rest kept:
 * - `reinit`: by their values in θ0 (re-initialization), ⊙ the level's mask;
 * - `rerandomize`: by a fresh draw from the model's initializer, key ('rerandomize', trial seed,
 *   layer) (re-randomization; biases 0), ⊙ the level's mask.
 * A layer whose reset keeps the accuracy is "robust"; one whose reset destroys it is "critical".
 * θ0 is the level's own starting point only for chains that rewind to it (`rewind`): a
 * `rewind@k` level started from θ_k and a `random-reinit` level from a fresh draw, so for those
 * `reinit` is not Zhang et al.'s re-initialization (docs/SCHEMA.md, table layer_reset).
 */
const RESET_MODES = ['reinit', 'rerandomize'] as const;

/** Layer names of a model in order: the parameter names' part before '/'. */
const layersOf = (params: readonly { name: string }[]): string[] => [...new Set(params.map((p) => p.name.split('/')[0]))];

export const reinitAnalysis = (): AnalysisDef => ({
  help: 'per layer, test accuracy when that layer alone is reset to θ0 (re-initialization) or to a fresh draw (re-randomization) (Zhang, Bengio & Singer 2019)',
  table: 'layer_reset',
  setting: ['layer', 'mode'],
  async measure(x: AnalysisInputs): Promise<AnalysisRow[]> {
    const rows: AnalysisRow[] = [];
    for (const layer of layersOf(x.model.params))
      for (const mode of RESET_MODES) {
        const source = mode === 'reinit' ? x.theta0 : initialize(x.model, x.init, 'rerandomize', x.trialSeed, layer);
        const w: Weights = { ...x.weights };
        for (const p of x.model.params) {
          if (p.name.split('/')[0] !== layer) continue;
          const m = x.masks[p.name];
          w[p.name] = m ? source[p.name].map((v, i) => (m[i] ? v : 0)) : source[p.name].slice();
        }
        const r = await x.evaluate(w, x.test);
        rows.push({ layer, mode, test_loss: r.loss, test_accuracy: r.accuracy });
      }
    return rows;
  },
});
