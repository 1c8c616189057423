import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_METRICS, METRIC_IDS, summarizeExperiment } from './aggregate.js';
import { type Db, requireExperiment, withDb } from './db.js';
import { reportCsvTable, toCsv } from './format.js';
import { UserError } from '../util/index.js';

export interface ExportedFile {
  file: string;
  rows: number;
  what: string;
}

/** Write a query's rows as CSV; returns the row count. Values are as stored (accuracy as a fraction). */
function writeQueryCsv(db: Db, file: string, sql: string, ...params: unknown[]): number {
  const stmt = db.prepare(sql);
  const columns = stmt.columns().map((c) => c.name);
  const rows = stmt.raw(true).all(...params) as (string | number | null)[][];
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, toCsv(columns, rows));
  fs.renameSync(tmp, file);
  return rows.length;
}

/**
 * `lth export`: CSV files for pandas / R in `outDir`:
 *  - levels.csv  — every row of the `levels` view for the experiment (stored units: accuracy 0–1)
 *  - curves.csv  — every row of the `curves` view (learning curves, one row per evaluation)
 *  - summary.csv — the report: mean/std/n over trials per level and strategy (accuracy in %)
 * @throws UserError if one of these files already exists in `outDir` and `force` is not set (nothing written)
 */
export function exportExperiment(db: Db | string, experiment: string, outDir: string, { force = false } = {}): ExportedFile[] {
  return withDb(db, (h) => {
    requireExperiment(h, experiment);
    const stored = (h.prepare('SELECT COUNT(*) AS n FROM levels WHERE experiment = ?').get(experiment) as { n: number }).n;
    if (stored === 0) throw new UserError(`experiment "${experiment}" has no finished levels yet — run \`lth run\` on its spec, or check \`lth status\``);
    const levelsFile = path.join(outDir, 'levels.csv');
    const curvesFile = path.join(outDir, 'curves.csv');
    const summaryFile = path.join(outDir, 'summary.csv');
    const existing = force ? [] : [levelsFile, curvesFile, summaryFile].filter((f) => fs.existsSync(f));
    if (existing.length)
      throw new UserError(`${outDir} already has ${existing.map((f) => path.basename(f)).join(', ')}: add --force to overwrite, or give another --out folder`);
    fs.mkdirSync(outDir, { recursive: true });
    const nLevels = writeQueryCsv(h, levelsFile, 'SELECT * FROM levels WHERE experiment = ? ORDER BY strategy, branch, replicate, trial, level', experiment);
    const nCurves = writeQueryCsv(
      h,
      curvesFile,
      'SELECT * FROM curves WHERE experiment = ? ORDER BY strategy, branch, replicate, trial, level, iteration',
      experiment,
    );
    const out: ExportedFile[] = [
      { file: levelsFile, rows: nLevels, what: 'the levels view: one row per trained level (accuracy as a fraction)' },
      { file: curvesFile, rows: nCurves, what: 'the curves view: one row per evaluation of each level' },
    ];
    if (nLevels > 0) {
      const t = reportCsvTable(summarizeExperiment(h, experiment, [...DEFAULT_METRICS, ...METRIC_IDS.filter((m) => !DEFAULT_METRICS.includes(m))]));
      fs.writeFileSync(summaryFile, toCsv(t.columns, t.rows));
      out.push({ file: summaryFile, rows: t.rows.length, what: 'mean, std and n over trials per level and strategy (accuracy in %)' });
    }
    return out;
  });
}
