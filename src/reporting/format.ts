import Table from 'cli-table3';
import { UserError } from '../util/index.js';
import type { LevelSummary, MetricDef, Stat, Summary, Unit } from './aggregate.js';

export const FORMATS = ['table', 'csv', 'json', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

export function checkFormat(f: string): Format {
  if ((FORMATS as readonly string[]).includes(f)) return f as Format;
  throw new UserError(`unknown format "${f}" — choose from: ${FORMATS.join(', ')}`);
}

/** A plain table: what every command prints, in any of the formats. */
export interface Tabular {
  columns: string[];
  rows: (string | number | null)[][];
  /** lines shown above a terminal / markdown table (not in csv or json) */
  caption?: string[];
}

// ---------- numbers ----------

/** Stored value → display unit: accuracies are stored as fractions and shown in %. */
export function toDisplay(unit: Unit, v: number): number {
  return unit === 'accuracy' ? v * 100 : v;
}

/** A number the way a researcher reads it: accuracy 98.12 (%), iterations 1234, losses 0.0712, seconds 12.3. */
export function formatValue(unit: Unit, displayValue: number): string {
  if (!Number.isFinite(displayValue)) return '–';
  switch (unit) {
    case 'accuracy':
      return displayValue.toFixed(2);
    case 'iteration':
      return String(Math.round(displayValue));
    case 'loss':
      return displayValue.toFixed(4);
    case 'seconds':
      return displayValue.toFixed(1);
    case 'multiply-adds':
      return displayValue.toExponential(2);
  }
}

/** "98.12 ± 0.15" (std over trials); the mean alone when there is one trial; "(n=2)" when a cell has fewer trials than the experiment. */
export function formatStat(unit: Unit, s: Stat | undefined, expectedN: number): string {
  if (!s) return '';
  const mean = formatValue(unit, toDisplay(unit, s.mean));
  const text = s.std === null ? mean : `${mean} ± ${formatValue(unit, toDisplay(unit, s.std))}`;
  return s.n < expectedN ? `${text} (n=${s.n})` : text;
}

/** % of weights remaining as in the papers: 100.0, 51.3, 7.0, 1.9; two decimals below 1%. */
export function formatPercent(p: number): string {
  return p < 1 ? p.toFixed(2) : p.toFixed(1);
}

/** Round for machine-readable output without float noise (98.12000000000001). */
function tidy(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function machineValue(unit: Unit, v: number | null): number | null {
  if (v === null) return null;
  const d = toDisplay(unit, v);
  return tidy(d, unit === 'iteration' ? 2 : 6);
}

// ---------- generic rendering ----------

function csvCell(v: string | number | null): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(columns: string[], rows: (string | number | null)[][]): string {
  return [columns, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function mdCell(v: string | number | null): string {
  return v === null ? '' : String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function toMarkdown(columns: string[], rows: (string | number | null)[][], caption: string[] = []): string {
  const numeric = columns.map(
    (_, i) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === '' || typeof r[i] === 'number' || /^[-+\d.–<[]/.test(String(r[i]))),
  );
  const lines = [
    `| ${columns.map(mdCell).join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
  ];
  return (caption.length ? caption.join('  \n') + '\n\n' : '') + lines.join('\n') + '\n';
}

export function toTerminal(columns: string[], rows: (string | number | null)[][], caption: string[] = []): string {
  const t = new Table({ head: columns, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((v) => (v === null ? '' : String(v))));
  return (caption.length ? caption.join('\n') + '\n' : '') + t.toString() + '\n';
}

/** Render a plain table in any format (json: an array of row objects). */
export function renderTabular(t: Tabular, format: Format): string {
  switch (format) {
    case 'csv':
      return toCsv(t.columns, t.rows);
    case 'json':
      return (
        JSON.stringify(
          t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, r[i] ?? null]))),
          null,
          2,
        ) + '\n'
      );
    case 'markdown':
      return toMarkdown(t.columns, t.rows, t.caption);
    case 'table':
      return toTerminal(t.columns, t.rows, t.caption);
  }
}

// ---------- the report ----------

export function reportCaption(s: Summary): string[] {
  const errs = s.trials > 1 ? `mean ± std over ${s.trials} trials (sample std)` : 'one trial: means only';
  return [
    `Experiment ${s.experiment} (spec ${s.specHash.slice(0, 12)}): ${errs}; accuracies in %, iterations as steps.`,
    'Level 0 is the dense network (shared by every strategy); a branch is shown as strategy:branch; (n=k) marks cells with fewer trials.',
  ];
}

function levelLabel(level: number, dense: boolean): string {
  return dense ? `${level} (dense)` : String(level);
}

/**
 * A level's "% remaining" cell: one number when every series stands at it, else the range of the
 * series' own values (a transferred ticket starts at its source's sparsity), so no row shows a
 * mean that no chain has.
 */
function percentCell(l: LevelSummary): string {
  const ps = Object.values(l.seriesPercent);
  const [lo, hi] = [Math.min(...ps), Math.max(...ps)];
  return ps.length && formatPercent(lo) !== formatPercent(hi) ? `${formatPercent(lo)}–${formatPercent(hi)}` : formatPercent(l.percentRemaining);
}

/** One metric as display strings: one row per level, one column per series (markdown, HTML). */
export function metricTable(s: Summary, m: MetricDef): Tabular {
  const columns = ['Level', '% remaining', ...s.series.map((se) => se.key)];
  const rows = s.levels.map((l) => [
    levelLabel(l.level, l.dense),
    percentCell(l),
    ...s.series.map((se) => formatStat(m.unit, l.cells[se.key]?.[m.id], s.trials)),
  ]);
  return { columns, rows, caption: [m.label] };
}

/** The terminal report: one row per level, one column per series, each cell stacking the chosen metrics. */
export function stackedTable(s: Summary): Tabular {
  const columns = ['Level', '% remaining', 'metric', ...s.series.map((se) => se.key)];
  const rows = s.levels.map((l) => [
    levelLabel(l.level, l.dense),
    percentCell(l),
    s.metrics.map((m) => m.short).join('\n'),
    ...s.series.map((se) => (l.cells[se.key] ? s.metrics.map((m) => formatStat(m.unit, l.cells[se.key][m.id], s.trials) || '–').join('\n') : '')),
  ]);
  return { columns, rows, caption: reportCaption(s) };
}

/** The report as numbers (display units: accuracy in %): mean, std and n columns per series × metric. */
export function reportCsvTable(s: Summary): Tabular {
  const columns = ['level', 'percent_remaining', 'dense'];
  const cols: { key: string; m: MetricDef }[] = [];
  for (const se of s.series) {
    for (const m of s.metrics) {
      columns.push(`${se.key} ${m.id} mean`, `${se.key} ${m.id} std`, `${se.key} ${m.id} n`);
      cols.push({ key: se.key, m });
    }
  }
  const rows = s.levels.map((l) => [
    l.level,
    tidy(l.percentRemaining, 4),
    l.dense ? 1 : 0,
    ...cols.flatMap(({ key, m }) => {
      const st = l.cells[key]?.[m.id];
      return st ? [machineValue(m.unit, st.mean), machineValue(m.unit, st.std), st.n] : [null, null, null];
    }),
  ]);
  return { columns, rows };
}

/** The report as a JSON document (display units: accuracy in %). */
export function reportJson(s: Summary): unknown {
  return {
    experiment: s.experiment,
    spec_hash: s.specHash,
    trials: s.trials,
    units: { accuracy: 'percent', iteration: 'optimizer steps', std: 'sample standard deviation over trials' },
    metrics: s.metrics.map((m) => ({ id: m.id, column: m.column, label: m.label, unit: m.unit, higher_is_better: m.higherIsBetter })),
    series: s.series,
    levels: s.levels.map((l) => ({
      level: l.level,
      percent_remaining: tidy(l.percentRemaining, 4),
      dense: l.dense,
      values: Object.fromEntries(
        Object.entries(l.cells).map(([key, cell]) => [
          key,
          Object.fromEntries(
            s.metrics
              .filter((m) => cell[m.id])
              .map((m) => {
                const st = cell[m.id];
                return [
                  m.id,
                  {
                    n: st.n,
                    mean: machineValue(m.unit, st.mean),
                    std: machineValue(m.unit, st.std),
                    min: machineValue(m.unit, st.min),
                    max: machineValue(m.unit, st.max),
                  },
                ];
              }),
          ),
        ]),
      ),
    })),
  };
}

export function renderReport(s: Summary, format: Format): string {
  switch (format) {
    case 'table': {
      const t = stackedTable(s);
      return toTerminal(t.columns, t.rows, t.caption);
    }
    case 'markdown':
      return [
        reportCaption(s).join('  \n') + '\n',
        ...s.metrics.map((m) => {
          const t = metricTable(s, m);
          return `### ${m.label}\n\n${toMarkdown(t.columns, t.rows)}`;
        }),
      ].join('\n');
    case 'csv': {
      const t = reportCsvTable(s);
      return toCsv(t.columns, t.rows);
    }
    case 'json':
      return JSON.stringify(reportJson(s), null, 2) + '\n';
  }
}
