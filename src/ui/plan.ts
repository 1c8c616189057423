/**
 * An experiment's progress for the dashboard, from the one run plan `lth run` and `lth status`
 * follow (orchestration/plan.ts): the rows its stored spec asks for (chains, branches, the
 * `targetPercent` stop) against the rows stored. Read-only.
 */
import { planRun } from '../orchestration/plan.js';
import type { Spec } from '../spec/schema.js';
import type { StoredRow } from '../storage/db.js';
import type { Db } from '../reporting/db.js';

/** { total, done, complete } of the plan; null when the stored spec cannot be planned (not lth's, or corrupt). */
export function planProgress(db: Db, experimentId: number, specJson: string): { total: number; done: number; complete: boolean } | null {
  try {
    const spec = JSON.parse(specJson) as Spec;
    const rows = db
      .prepare('SELECT strategy, branch, replicate, trial, level, percent_remaining AS percentRemaining FROM results WHERE experiment_id = ?')
      .all(experimentId) as StoredRow[];
    const p = planRun(spec, rows);
    return { total: p.total, done: p.done, complete: p.complete };
  } catch {
    return null;
  }
}
