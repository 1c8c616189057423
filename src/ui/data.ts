/**
 * What the dashboard's API returns: plain JSON built from src/reporting (the same functions
 * as `lth report`, `lth compare`, `lth plot` and `lth query`), never recomputed here.
 */
import {
  type Db,
  type Tabular,
  compareRows,
  comparisonTable,
  curvesSpec,
  curveData,
  defaultCurveLevels,
  levelSpec,
  loadLevels,
  metricDef,
  metricTable,
  reportCaption,
  summarizeExperiment,
  DEFAULT_METRICS,
  formatPercent,
  anatomy,
  matrixSpec,
  pixelSpec,
  profileSpec,
  type AnatomyOptions,
  type CompareOptions,
  DASHBOARD_VIEWS,
  QUERY_EXAMPLES,
  relations,
  requireExperiment,
} from './reporting.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import { planProgress } from './plan.js';
import type { QueryReply, QueryRequest } from './query-process.js';

type VlSpec = Record<string, unknown>;

export interface ExperimentInfo {
  name: string;
  model: string | null;
  dataset: string | null;
  trials: number | null;
  /** chain names, in the spec's order */
  strategies: string[];
  /** mask criteria the chains use (weight granularity: the weight criterion; neuron/filter: the unit criterion) */
  criteria: string[];
  /** pruning.granularity: weight, neuron or filter */
  granularity: string | null;
  /** what its chains do during training, e.g. "set", "early-bird" (none when empty) */
  during: string[];
  /** rows stored / rows the spec plans (null: unknown) */
  stored: number;
  planned: number | null;
  /** complete: every planned row stored; running: a level was committed recently; stopped: neither */
  status: 'complete' | 'running' | 'stopped' | 'empty';
  backend: string | null;
  /** seconds left if the remaining rows take the mean stored wall time each, one at a time; null when complete or unknown */
  etaSeconds: number | null;
  last: { strategy: string; branch: string | null; trial: number; level: number; percentRemaining: number; esAccuracy: number | null; at: string } | null;
}

/** A run is "running" if its last level was committed within this many mean level times (or a minute). */
const RUNNING_WINDOW_LEVELS = 3;

/** The parts of a stored (resolved) spec the experiments list reads; anything may be missing in a spec of another version. */
interface StoredSpec {
  model?: { name?: string; file?: string; module?: string };
  data?: { dataset?: string };
  trials?: number;
  pruning?: { criterion?: string; granularity?: string; unitCriterion?: string };
  strategies?: (
    { name?: string; criterion?: string | null; unitCriterion?: string | null; during?: { kind?: string; regrow?: string } | string | null } | string
  )[];
}

/** Criterion, granularity and during-training kinds of a spec, as the list shows them. */
function whatItIs(spec: StoredSpec): Pick<ExperimentInfo, 'criteria' | 'granularity' | 'during'> {
  const granularity = spec.pruning?.granularity ?? null;
  const unit = granularity === 'neuron' || granularity === 'filter';
  const chains = (spec.strategies ?? []).map((c) => (typeof c === 'string' ? { name: c } : c));
  const criteria = chains.map((c) =>
    unit ? (c.unitCriterion ?? spec.pruning?.unitCriterion ?? null) : (('criterion' in c ? c.criterion : null) ?? spec.pruning?.criterion ?? null),
  );
  const during = chains.map((c) =>
    'during' in c && c.during
      ? typeof c.during === 'string'
        ? c.during
        : `${c.during.kind ?? ''}${c.during.regrow ? ` (${c.during.regrow} regrowth)` : ''}`
      : null,
  );
  const uniq = (xs: (string | null | undefined)[]) => [...new Set(xs.filter((x): x is string => typeof x === 'string' && x !== ''))];
  return { criteria: uniq(criteria), granularity, during: uniq(during) };
}

export function experimentsInfo(db: Db, now = Date.now()): ExperimentInfo[] {
  const exps = db.prepare('SELECT id, name, spec_json FROM experiments ORDER BY id').all() as { id: number; name: string; spec_json: string }[];
  const agg = db.prepare(
    `SELECT count(*) AS stored, avg(wall_seconds) AS wall, group_concat(DISTINCT backend) AS backend, max(created_at) AS last
       FROM results WHERE experiment_id = ?`,
  );
  const lastRow = db.prepare(
    `SELECT strategy, branch, trial, level, percent_remaining, early_stop_test_accuracy, created_at
       FROM results WHERE experiment_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
  );
  return exps.map((e) => {
    let spec: StoredSpec = {};
    try {
      spec = JSON.parse(e.spec_json);
    } catch {
      /* a spec that does not parse still lists, with unknowns */
    }
    const a = agg.get(e.id) as { stored: number; wall: number | null; backend: string | null; last: string | null };
    const plan = planProgress(db, e.id, e.spec_json);
    const planned = plan?.total ?? null;
    const l = lastRow.get(e.id) as
      | {
          strategy: string;
          branch: string;
          trial: number;
          level: number;
          percent_remaining: number;
          early_stop_test_accuracy: number | null;
          created_at: string;
        }
      | undefined;
    const complete = plan?.complete ?? false;
    const lastAt = a.last ? Date.parse(a.last) : NaN;
    const window = Math.max(60, RUNNING_WINDOW_LEVELS * (a.wall ?? 0)) * 1000;
    const status: ExperimentInfo['status'] = a.stored === 0 ? 'empty' : complete ? 'complete' : now - lastAt <= window ? 'running' : 'stopped';
    return {
      name: e.name,
      model: spec.model?.name ?? spec.model?.file ?? spec.model?.module ?? null,
      dataset: spec.data?.dataset ?? null,
      trials: typeof spec.trials === 'number' ? spec.trials : null,
      strategies: (spec.strategies ?? []).map((c) => (typeof c === 'string' ? c : (c.name ?? ''))),
      ...whatItIs(spec),
      stored: a.stored,
      planned,
      status,
      backend: a.backend,
      etaSeconds: !complete && plan && a.wall !== null ? Math.max(0, plan.total - plan.done) * a.wall : null,
      last: l
        ? {
            strategy: l.strategy || '(dense)',
            branch: l.branch || null,
            trial: l.trial,
            level: l.level,
            percentRemaining: l.percent_remaining,
            esAccuracy: l.early_stop_test_accuracy,
            at: l.created_at,
          }
        : null,
    };
  });
}

export interface ExperimentPage {
  experiment: string;
  specHash: string;
  trials: number;
  series: string[];
  levels: { level: number; percentRemaining: number }[];
  defaultCurveLevels: number[];
  caption: string[];
  /** `lth report`'s numbers, one table per metric (as its markdown and HTML output) */
  tables: Tabular[];
  figures: { accuracy: VlSpec; earlyStop: VlSpec };
  spec: unknown;
}

/**
 * A figure of `lth plot` made interactive: series hidden through the `hidden` signal (the
 * strategy toggles), colours fixed to every series so a hidden one does not shift the others.
 */
function interactive(spec: VlSpec, series: string[]): VlSpec {
  const enc = spec.encoding as Record<string, Record<string, unknown>>;
  return {
    ...spec,
    params: [{ name: 'hidden', value: [] }],
    transform: [{ filter: 'indexof(hidden, datum.series) < 0' }],
    encoding: { ...enc, color: { ...enc.color, scale: { domain: series } } },
  };
}

export function experimentPage(db: Db, experiment: string, errorBars: 'std' | 'minmax' | 'none' = 'std'): ExperimentPage {
  const s = summarizeExperiment(db, experiment, DEFAULT_METRICS);
  const series = s.series.map((x) => x.key);
  const specJson = db.prepare('SELECT spec_json FROM experiments WHERE name = ?').pluck().get(experiment) as string;
  return {
    experiment,
    specHash: s.specHash,
    trials: s.trials,
    series,
    levels: s.levels.map((l) => ({ level: l.level, percentRemaining: l.percentRemaining })),
    defaultCurveLevels: defaultCurveLevels(s),
    caption: reportCaption(s),
    tables: s.metrics.map((m) => metricTable(s, m)),
    figures: {
      accuracy: interactive(levelSpec(s, 'es-accuracy', { errorBars }), series),
      earlyStop: interactive(levelSpec(s, 'es-iteration', { errorBars }), series),
    },
    spec: JSON.parse(specJson),
  };
}

export function curvesFigure(db: Db, experiment: string, levels: number[]): VlSpec {
  const s = summarizeExperiment(db, experiment, DEFAULT_METRICS);
  const chains = s.series.filter((x) => x.branch === null).map((x) => x.key);
  return curvesSpec(s, curveData(db, experiment, levels, chains), `the levels query parameter (got levels=${levels.join(',')})`);
}

export interface ComparePage {
  experiment: string;
  a: string;
  b: string;
  metric: string;
  unit: string;
  confidence: number;
  /** `lth compare`'s table (display units) */
  table: Tabular;
  /** per level: difference and CI in display units, for the figure and for checks */
  levels: { level: number; percentRemaining: number; n: number; diff: number | null; ciLow: number | null; ciHigh: number | null; verdict: string }[];
  figure: VlSpec | null;
}

/** The levels' % remaining as axis ticks, thinned so that neighbours on the log axis stay ≥ 15% apart. */
function levelTicks(percents: number[]): number[] {
  const out: number[] = [];
  for (const p of [...new Set(percents.map((x) => Number(formatPercent(x))))].sort((a, b) => b - a))
    if (!out.length || out[out.length - 1] / p >= 1.15) out.push(p);
  return out;
}

export function comparePage(db: Db, experiment: string, a: string, b: string, opts: CompareOptions): ComparePage {
  const c = compareRows(loadLevels(db, experiment), experiment, a, b, opts);
  const scale = c.metric.unit === 'accuracy' ? 100 : 1;
  const d = (v: number | null) => (v === null ? null : v * scale);
  const levels = c.levels.map((l) => ({
    level: l.level,
    percentRemaining: l.percentRemaining,
    n: l.n,
    diff: d(l.diff),
    ciLow: d(l.ciLow),
    ciHigh: d(l.ciHigh),
    verdict: l.verdict,
  }));
  const values = levels.filter((l) => l.diff !== null).map((l) => ({ ...l, low: l.ciLow ?? l.diff, high: l.ciHigh ?? l.diff }));
  const label = `${c.a} − ${c.b}, ${c.metric.short}`;
  const figure = values.length
    ? {
        title: {
          text: `${c.a} − ${c.b}`,
          subtitle: `${c.metric.label}; ${Math.round(c.confidence * 1000) / 10}% CI (${c.method === 't' ? 'paired t' : 'bootstrap'})`,
        },
        width: 460,
        height: 260,
        data: { values },
        encoding: {
          x: {
            field: 'percentRemaining',
            type: 'quantitative',
            title: 'Percent of weights remaining',
            scale: { type: 'log', reverse: true, nice: false, domain: [Math.min(...values.map((v) => v.percentRemaining)) / 1.15, 112] },
            axis: {
              values: levelTicks(values.map((v) => v.percentRemaining)),
              labelExpr: "datum.value >= 1 ? format(datum.value, '.1f') : format(datum.value, '.2f')",
            },
          },
        },
        layer: [
          { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { x: null, y: { datum: 0 } } },
          { mark: { type: 'errorbar', ticks: true }, encoding: { y: { field: 'low', type: 'quantitative', title: label }, y2: { field: 'high' } } },
          {
            mark: { type: 'point', filled: true, size: 50 },
            encoding: {
              y: { field: 'diff', type: 'quantitative' },
              color: {
                field: 'verdict',
                type: 'nominal',
                scale: { domain: ['better', 'no difference', 'worse', 'too few pairs'], range: ['#2a9d8f', '#777', '#d62828', '#bbb'] },
              },
              tooltip: [
                { field: 'level' },
                { field: 'percentRemaining', title: '% remaining', format: '.1f' },
                { field: 'diff', title: 'difference', format: '.3f' },
                { field: 'low', title: 'CI low', format: '.3f' },
                { field: 'high', title: 'CI high', format: '.3f' },
                { field: 'n', title: 'pairs' },
                { field: 'verdict' },
              ],
            },
          },
        ],
      }
    : null;
  return { experiment, a: c.a, b: c.b, metric: c.metric.id, unit: c.metric.unit, confidence: c.confidence, table: comparisonTable(c), levels, figure };
}

export function metricChoices(): { id: string; label: string }[] {
  return ['es-accuracy', 'es-iteration', 'final-accuracy', 'es-val-accuracy', 'es-val-loss'].map((id) => ({ id, label: metricDef(id).label }));
}

export function anatomyPage(db: Db, experiment: string, opts: AnatomyOptions) {
  const a = anatomy(db, experiment, opts);
  return {
    experiment,
    model: a.model,
    strategies: a.strategies,
    trials: a.trials,
    levels: a.levels,
    strategy: a.strategy,
    trial: a.trial,
    level: a.level,
    matrices: a.matrices,
    pixels: a.pixels ? a.pixels.map((p) => ({ level: p.level, side: p.side, fanOut: p.fanOut, percentRemaining: p.percentRemaining })) : null,
    figures: { profile: profileSpec(a), pixels: pixelSpec(a), matrices: a.matrices.map(matrixSpec) },
  };
}

/** Cap on rows the query box reads: the statement stops there (nothing more is materialized). */
export const QUERY_ROW_LIMIT = 5000;
/** How long one query-box statement may run before it is stopped, ms. */
export const QUERY_TIME_LIMIT_MS = 10_000;

/**
 * One statement of the query box, with exactly `lth query`'s guard, run in a child process
 * (src/ui/query-process.ts) that is killed after `timeLimitMs`: the server stays responsive
 * whatever the SQL. Rows beyond QUERY_ROW_LIMIT are never read.
 * @throws UserError for a refused or failing statement, or one that ran too long
 */
export function queryPage(
  dbPath: string,
  sql: string,
  timeLimitMs = QUERY_TIME_LIMIT_MS,
): Promise<{ columns: string[]; rows: unknown[][]; total: number; truncated: boolean }> {
  const cell = (v: unknown) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) || v instanceof Uint8Array ? `<blob ${v.length} bytes>` : v);
  return new Promise((resolve, reject) => {
    // 'advanced' serialization carries bigint and Buffer cells as they are
    const child = fork(fileURLToPath(new URL('./query-process.js', import.meta.url)), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new UserError(`the query ran longer than ${timeLimitMs / 1000} s and was stopped — narrow it with WHERE or LIMIT`));
    }, timeLimitMs);
    child.once('message', (r: QueryReply) => {
      clearTimeout(timer);
      if (!r.ok) return reject(r.userError ? new UserError(r.message) : new Error(r.message));
      resolve({ columns: r.columns, rows: r.rows.map((row) => row.map(cell)), total: r.rows.length, truncated: r.truncated });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the query process ended without an answer (code ${code}, signal ${signal})`));
    });
    child.send({ db: dbPath, sql, maxRows: QUERY_ROW_LIMIT } satisfies QueryRequest);
  });
}

/** The Analyses page: every view of src/reporting/analyses.ts, with its figure and table where the experiment stores its rows. */
export function analysesPage(db: Db, experiment: string) {
  requireExperiment(db, experiment);
  return {
    experiment,
    views: DASHBOARD_VIEWS.map((v) => {
      const r = v.build(db, experiment);
      return { id: v.id, title: v.title, tables: v.tables, storedBy: v.storedBy, figure: r?.figure ?? null, table: r?.table ?? null };
    }),
  };
}

/** The query page's reference: the database's views and tables with their columns, and example statements. */
export function schemaPage(db: Db) {
  return { relations: relations(db), examples: QUERY_EXAMPLES };
}
