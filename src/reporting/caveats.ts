import { metricDef } from './aggregate.js';
import { type Db, requireExperiment, withDb } from './db.js';

/**
 * Known faults of numbers stored by earlier lth versions, and the one-line notes readers show
 * next to them (docs/SCHEMA.md, "Losses written by lth 0.1.0").
 *
 * lth 0.1.0 passed the loss reduction to tf.losses.softmaxCrossEntropy in the label-smoothing
 * slot, so each evaluation chunk of 1000 examples gave its mean and the chunk means were summed
 * and divided by the split size: every stored validation and test loss (`early_stop_val_loss`,
 * `final_val_loss`, `final_test_loss`, curve `val_loss`/`test_loss`) is wrong: 1/n of the mean
 * cross-entropy for a split of n ≤ 1000 examples, about 1/1000 for larger ones. Training
 * losses and accuracies were computed correctly. The early-stop point is the minimum of those
 * losses: the true one when the validation split has at most 1000 examples or a multiple of
 * 1000 (the losses are then a constant multiple of the true ones), possibly another
 * evaluation otherwise (a short last chunk weighs more).
 */
export const WRONG_LOSS_VERSIONS: readonly string[] = ['lth 0.1.0'];

/** What a reader shows: loss columns, and/or anything picked at the early-stop point. */
export interface Shown {
  losses?: boolean;
  earlyStop?: boolean;
}

/**
 * Notes (one line each, no trailing newline) for an experiment whose stored numbers a reader
 * is about to show: empty when its rows are exact. Throws UserError for an unknown experiment.
 */
export function storedNumberNotes(db: Db | string, experiment: string, shown: Shown): string[] {
  return withDb(db, (h) => {
    requireExperiment(h, experiment);
    const e = h.prepare('SELECT code_version, spec_json FROM experiments WHERE name = ?').get(experiment) as { code_version: string; spec_json: string };
    if (!WRONG_LOSS_VERSIONS.includes(e.code_version)) return [];
    const notes: string[] = [];
    if (shown.losses)
      notes.push(
        `note: ${experiment} was written by ${e.code_version}: its stored validation/test losses are wrong (1/n of the mean cross-entropy for a split of n ≤ 1000 examples, about 1/1000 above); ` +
          'accuracies are valid — see "Losses written by lth 0.1.0" in docs/SCHEMA.md, and re-run into a new database for exact losses',
      );
    let validation: unknown;
    try {
      validation = (JSON.parse(e.spec_json) as { data?: { validation?: unknown } }).data?.validation;
    } catch {
      validation = undefined;
    }
    const n = typeof validation === 'number' ? validation : null;
    if (shown.earlyStop && (n === null || (n > 1000 && n % 1000 !== 0)))
      notes.push(
        `note: ${experiment} was written by ${e.code_version} with ${n === null ? 'an unknown number of' : n} validation examples: its early-stop points ` +
          'may not be the minimum of the true validation loss (the accuracies at them are real) — see "Losses written by lth 0.1.0" in docs/SCHEMA.md',
      );
    return notes;
  });
}

/** What a table or comparison of these metrics (ids of METRICS) shows. */
export function shownByMetrics(ids: readonly string[]): Shown {
  const defs = ids.map(metricDef);
  return { losses: defs.some((m) => m.unit === 'loss'), earlyStop: defs.some((m) => m.column.startsWith('early_stop_')) };
}
