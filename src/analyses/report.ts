import type { Db, Tabular } from '../reporting/index.js';
import { requireExperiment } from '../reporting/index.js';
import { ANALYSES, type AnalysisName } from './registry.js';

/**
 * `lth report EXP --metric noise|reinit`: an analysis table as strategy × level rows with one
 * column per setting (e.g. "gaussian 0.5", "fc1 reinit"): mean test accuracy (%) over trials, and
 * the trials' count when it is not the same everywhere. Level 0 is the dense network, shown as
 * "(dense)". Empty (one caption line saying what to run) when nothing is measured yet.
 */
export function analysisTable(db: Db, experiment: string, name: AnalysisName): Tabular {
  requireExperiment(db, experiment);
  const def = ANALYSES[name]();
  const setting = def.setting.map((c) => `t.${c}`).join(', ');
  const rows = db
    .prepare(
      `SELECT CASE WHEN r.strategy = '' THEN '(dense)' ELSE r.strategy END AS strategy, r.level, avg(r.percent_remaining) AS pr,
              ${setting}, avg(t.test_accuracy) AS acc, count(*) AS n
         FROM ${def.table} t JOIN results r ON r.id = t.result_id JOIN experiments e ON e.id = r.experiment_id
        WHERE e.name = ?
        GROUP BY 1, r.level, ${setting}
        ORDER BY r.level, 1, min(t.rowid)`,
    )
    .all(experiment) as ({ strategy: string; level: number; pr: number; acc: number; n: number } & Record<string, string | number>)[];
  if (!rows.length) return { columns: [], rows: [], caption: [`no ${name} rows for ${experiment} yet: run lth analyze ${name} ${experiment}`] };
  const label = (r: Record<string, string | number>) => def.setting.map((c) => String(r[c])).join(' ');
  const settings = [...new Set(rows.map(label))];
  const byRow = new Map<string, (string | number | null)[]>();
  for (const r of rows) {
    const key = `${r.level}/${r.strategy}`;
    if (!byRow.has(key)) byRow.set(key, [r.strategy, r.level, Number(r.pr.toFixed(2)), ...settings.map(() => null)]);
    byRow.get(key)![3 + settings.indexOf(label(r))] = Number((100 * r.acc).toFixed(2));
  }
  const ns = new Set(rows.map((r) => r.n));
  return {
    columns: ['strategy', 'level', '% remaining', ...settings],
    rows: [...byRow.values()],
    caption: [
      `${experiment}: ${def.help}`,
      `test accuracy (%) of each level's final weights, mean over ${ns.size === 1 ? `${[...ns][0]} trial(s)` : `${[...ns].join('/')} trials (cells differ)`}`,
    ],
  };
}
