import type { Db, Tabular } from '../reporting/index.js';
import { requireExperiment } from '../reporting/index.js';
import { UserError } from '../util/index.js';
import { ANALYSES, type AnalysisName } from './registry.js';
import type { AnalysisDef } from './types.js';

/**
 * `lth report EXP --metric noise|reinit`: an analysis table as strategy × level rows with one
 * column per setting (e.g. "gaussian 0.5", "fc1 reinit"): mean test accuracy (%) over trials, and
 * the trials' count when it is not the same everywhere. Level 0 is the dense network, shown as
 * "(dense)". Empty (one caption line saying what to run) when nothing is measured yet.
 */
export function analysisTable(db: Db, experiment: string, name: AnalysisName): Tabular {
  const { def, rows } = analysisRows(db, experiment, name);
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

/**
 * `lth plot EXP --kind noise|reinit`: one panel per setting (e.g. "gaussian 0.5", "fc1 reinit"),
 * test accuracy (%) of each level's final weights vs % of weights remaining (reversed log axis,
 * as the accuracy figures), one line per chain; the dense level is drawn under every chain.
 * @throws UserError when nothing is measured yet (naming the lth analyze command to run)
 */
export function analysisSpec(db: Db, experiment: string, name: AnalysisName): Record<string, unknown> {
  const { def, rows } = analysisRows(db, experiment, name);
  if (!rows.length) throw new UserError(`no ${name} rows for ${experiment} yet: run lth analyze ${name} ${experiment} first`);
  const chains = [...new Set(rows.map((r) => r.strategy))].filter((c) => c !== DENSE);
  const values = rows.flatMap((r) =>
    (r.strategy === DENSE ? chains : [r.strategy]).map((strategy) => ({
      strategy,
      level: r.level,
      percent: r.pr,
      setting: def.setting.map((c) => String(r[c])).join(' '),
      accuracy: 100 * r.acc,
    })),
  );
  return {
    title: { text: `Test accuracy per ${name} setting vs % weights remaining`, subtitle: `${experiment}: ${def.help}` },
    data: { values },
    facet: { field: 'setting', type: 'nominal', title: null, sort: null },
    columns: 5,
    spec: {
      width: 200,
      height: 160,
      encoding: {
        x: {
          field: 'percent',
          type: 'quantitative',
          title: '% weights remaining',
          scale: { type: 'log', reverse: true, nice: false, domain: [Math.min(...values.map((v) => v.percent)) / 1.1, 110] },
        },
        y: { field: 'accuracy', type: 'quantitative', title: 'Test accuracy (%)', scale: { zero: false } },
        color: { field: 'strategy', type: 'nominal', title: 'Strategy', sort: null },
        order: { field: 'level' },
      },
      layer: [{ mark: { type: 'line', strokeWidth: 1.5 } }, { mark: { type: 'point', filled: true, size: 24 } }],
    },
  };
}

const DENSE = '(dense)';

type Row = { strategy: string; level: number; pr: number; acc: number; n: number } & Record<string, string | number>;

/** An analysis table's rows per (chain, level, setting), mean over trials, in measurement order. */
function analysisRows(db: Db, experiment: string, name: AnalysisName): { def: AnalysisDef; rows: Row[] } {
  requireExperiment(db, experiment);
  const def = ANALYSES[name]();
  const setting = def.setting.map((c) => `t.${c}`).join(', ');
  const rows = db
    .prepare(
      `SELECT CASE WHEN r.strategy = '' THEN '${DENSE}' ELSE r.strategy END AS strategy, r.level, avg(r.percent_remaining) AS pr,
              ${setting}, avg(t.test_accuracy) AS acc, count(*) AS n
         FROM ${def.table} t JOIN results r ON r.id = t.result_id JOIN experiments e ON e.id = r.experiment_id
        WHERE e.name = ?
        GROUP BY 1, r.level, ${setting}
        ORDER BY r.level, 1, min(t.rowid)`,
    )
    .all(experiment) as Row[];
  return { def, rows };
}
