/**
 * The dashboard's Analyses page: every view of a stored table (src/reporting/analyses.ts), then the
 * instability branches' error barriers and the tables `lth analyze` writes (src/analyses), each
 * with the same table and figure `lth report` / `lth plot` give.
 */
import { analysisSpec, analysisTable } from '../analyses/report.js';
import { ANALYSIS_NAMES, ANALYSES, type AnalysisName } from '../analyses/registry.js';
import { summarizeExperiment } from '../reporting/aggregate.js';
import { type AnalysisView, STORED_VIEWS } from '../reporting/analyses.js';
import type { Db } from '../reporting/db.js';
import { instabilitySpec } from '../reporting/instability.js';

/** `lth analyze NAME`'s table as a view: null until the analysis has been run on the experiment. */
const robustness = (name: AnalysisName): AnalysisView => {
  const def = ANALYSES[name]();
  return {
    id: name,
    title: def.help.charAt(0).toUpperCase() + def.help.slice(1),
    tables: [def.table],
    storedBy: `lth analyze ${name} EXPERIMENT`,
    build(db: Db, experiment: string) {
      const table = analysisTable(db, experiment, name);
      return table.rows.length ? { table, figure: analysisSpec(db, experiment, name) } : null;
    },
  };
};

const instability: AnalysisView = {
  id: 'instability',
  title: 'Instability: error barrier between two copies trained with different data orders',
  tables: ['instability', 'instability_barriers'],
  storedBy: 'a branch {"kind": "instability"} in the spec',
  build(db: Db, experiment: string) {
    const rows = db
      .prepare(
        `SELECT l.strategy, l.branch, l.trial, l.level, round(l.percent_remaining, 2) AS pct, round(100 * b.barrier, 2) AS barrier, b.points
           FROM levels l JOIN instability_barriers b ON b.result_id = l.result_id WHERE l.experiment = ? ORDER BY l.strategy, l.level, l.trial`,
      )
      .all(experiment) as { strategy: string; branch: string; trial: number; level: number; pct: number; barrier: number; points: number }[];
    if (!rows.length) return null;
    return {
      table: {
        columns: ['strategy', 'branch', 'trial', 'level', '% remaining', 'error barrier (%)', 'points'],
        rows: rows.map((r) => [r.strategy, r.branch, r.trial, r.level, r.pct, r.barrier, r.points]),
        caption: [`${experiment}: the largest test error on the straight line between the two copies minus the mean of its ends (Frankle et al. 2020)`],
      },
      figure: instabilitySpec(summarizeExperiment(db, experiment, ['instability-barrier'])),
    };
  },
};

/** Every view the Analyses page shows, in order. */
export const DASHBOARD_VIEWS: readonly AnalysisView[] = [...STORED_VIEWS, instability, ...ANALYSIS_NAMES.map(robustness)];
