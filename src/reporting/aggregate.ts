import { UserError } from '../util/index.js';
import { type Db, requireExperiment } from './db.js';

/** One row of the `levels` view (see docs/SCHEMA.md), plus the chain's seed for pairing. */
export interface LevelRow {
  experiment: string;
  spec_hash: string;
  strategy: string;
  branch: string | null;
  replicate: number;
  trial: number;
  level: number;
  percent_remaining: number;
  early_stop_iteration: number | null;
  early_stop_val_loss: number | null;
  early_stop_val_accuracy: number | null;
  early_stop_test_accuracy: number | null;
  final_test_accuracy: number | null;
  iterations: number;
  wall_seconds: number;
  backend: string;
  mask_hash: string;
  result_id: number;
  /** training compute to reach this row, earlier levels and dense training included (null: not recorded) */
  total_iterations: number | null;
  total_multiply_adds: number | null;
  /** early-bird: the dense step the mask was taken at */
  detection_iteration: number | null;
  /** mean over hidden layers of the fraction of test-split ReLU outputs exactly 0; null when not measured */
  activation_sparsity?: number | null;
  /** instability branch rows: max test error on the path − mean of the two ends (fraction; docs/SCHEMA.md, instability) */
  instability_barrier?: number | null;
  /** seed of the (strategy, trial) chain; null if the chain row is missing */
  seed: number | null;
  /** step of the level's last evaluation, i.e. the end of its training: the largest early-stop iteration possible (null: no curve) */
  last_iteration?: number | null;
}

export type Unit = 'accuracy' | 'iteration' | 'loss' | 'seconds' | 'multiply-adds';

export interface MetricDef {
  id: string;
  /** column of the `levels` view */
  column: keyof LevelRow & string;
  /** axis / long header, with the display unit */
  label: string;
  /** compact header for tables */
  short: string;
  unit: Unit;
  higherIsBetter: boolean;
}

/** The metrics a report or comparison can show. Accuracies are stored as fractions and shown in %. */
export const METRICS: readonly MetricDef[] = [
  {
    id: 'es-accuracy',
    column: 'early_stop_test_accuracy',
    label: 'Test accuracy at early stop (%)',
    short: 'test acc @ES (%)',
    unit: 'accuracy',
    higherIsBetter: true,
  },
  { id: 'es-iteration', column: 'early_stop_iteration', label: 'Early-stop iteration', short: 'ES iteration', unit: 'iteration', higherIsBetter: false },
  {
    id: 'final-accuracy',
    column: 'final_test_accuracy',
    label: 'Final test accuracy (%)',
    short: 'final test acc (%)',
    unit: 'accuracy',
    higherIsBetter: true,
  },
  {
    id: 'es-val-accuracy',
    column: 'early_stop_val_accuracy',
    label: 'Validation accuracy at early stop (%)',
    short: 'val acc @ES (%)',
    unit: 'accuracy',
    higherIsBetter: true,
  },
  { id: 'es-val-loss', column: 'early_stop_val_loss', label: 'Validation loss at early stop', short: 'val loss @ES', unit: 'loss', higherIsBetter: false },
  {
    id: 'total-iterations',
    column: 'total_iterations',
    label: 'Training iterations to reach the level, earlier levels included',
    short: 'total iterations',
    unit: 'iteration',
    higherIsBetter: false,
  },
  {
    id: 'total-macs',
    column: 'total_multiply_adds',
    label: 'Training multiply-adds to reach the level, earlier levels included',
    short: 'total MACs',
    unit: 'multiply-adds',
    higherIsBetter: false,
  },
  {
    id: 'detection-iteration',
    column: 'detection_iteration',
    label: 'Early-bird detection iteration',
    short: 'EB detection',
    unit: 'iteration',
    higherIsBetter: false,
  },
  {
    id: 'activation-sparsity',
    column: 'activation_sparsity',
    label: 'ReLU outputs exactly 0 on the test set (%, mean over hidden layers)',
    short: 'act. zeros (%)',
    unit: 'accuracy',
    higherIsBetter: false,
  },
  {
    id: 'instability-barrier',
    column: 'instability_barrier',
    label: 'Instability: error barrier between two copies (%, Frankle et al. 2020)',
    short: 'barrier (%)',
    unit: 'accuracy',
    higherIsBetter: false,
  },
  { id: 'wall-seconds', column: 'wall_seconds', label: 'Wall time per level (s)', short: 'wall (s)', unit: 'seconds', higherIsBetter: false },
];

export const METRIC_IDS = METRICS.map((m) => m.id);
export const DEFAULT_METRICS = ['es-accuracy', 'es-iteration', 'final-accuracy'];

export function metricDef(id: string): MetricDef {
  const m = METRICS.find((x) => x.id === id || x.column === id);
  if (!m) throw new UserError(`unknown metric "${id}" — choose from: ${METRIC_IDS.join(', ')}`);
  return m;
}

/** A line of a figure / a column group of a table: a chain strategy, or a branch hanging off one. */
export interface Series {
  /** "rewind", or "rewind:random-reinit" for a branch */
  key: string;
  strategy: string;
  branch: string | null;
}

export function seriesKey(strategy: string, branch: string | null): string {
  return branch ? `${strategy}:${branch}` : strategy;
}

/** Summary of one metric over trials. std is the sample standard deviation (n − 1); null when n < 2. */
export interface Stat {
  n: number;
  mean: number;
  std: number | null;
  min: number;
  max: number;
}

export function stat(values: number[]): Stat | null {
  const v = values.filter((x) => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, std, min: Math.min(...v), max: Math.max(...v) };
}

export interface LevelSummary {
  level: number;
  /** mean % of weights remaining over the chain rows of this level */
  percentRemaining: number;
  /** series key → its own mean % remaining at this level (chains can differ: a transferred ticket starts at its source's) */
  seriesPercent: Record<string, number>;
  /** level 0: the dense network */
  dense: boolean;
  /** series key → metric id → statistics over trials (absent where no trial has a value) */
  cells: Record<string, Record<string, Stat>>;
  /** series key → the largest early-stop iteration possible (the end of training; absent when unknown) */
  lastIteration?: Record<string, number>;
}

export interface Summary {
  experiment: string;
  specHash: string;
  metrics: MetricDef[];
  series: Series[];
  levels: LevelSummary[];
  /** the most trials any cell has: cells with fewer are incomplete */
  trials: number;
}

/** All rows of the `levels` view for one experiment, with the chain seed. */
export function loadLevels(db: Db, experiment: string): LevelRow[] {
  requireExperiment(db, experiment);
  return db
    .prepare(
      `SELECT l.*, c.seed, (SELECT max(p.iteration) FROM curve_points p WHERE p.result_id = l.result_id) AS last_iteration
         FROM levels l
         JOIN experiments e ON e.name = l.experiment
         LEFT JOIN chains c ON c.experiment_id = e.id AND c.strategy = l.strategy AND c.trial = l.trial
        WHERE l.experiment = ?
        ORDER BY l.level, l.strategy, l.branch, l.trial, l.replicate`,
    )
    .all(experiment) as LevelRow[];
}

/** Chain strategies in the order the spec lists them (the order chains were registered). */
export function chainOrder(db: Db, experiment: string): string[] {
  return db
    .prepare(
      `SELECT c.strategy FROM chains c JOIN experiments e ON e.id = c.experiment_id
        WHERE e.name = ? GROUP BY c.strategy ORDER BY min(c.rowid)`,
    )
    .pluck()
    .all(experiment) as string[];
}

/** Series present in the rows: chains in spec order, each followed by its branches alphabetically. */
export function seriesOf(rows: LevelRow[], order: string[] = []): Series[] {
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length + strategies.indexOf(s));
  strategies.sort((a, b) => rank(a) - rank(b));
  const out: Series[] = [];
  for (const s of strategies) {
    const branches = [...new Set(rows.filter((r) => r.strategy === s).map((r) => r.branch))];
    branches.sort((a, b) => (a === null ? -1 : b === null ? 1 : a.localeCompare(b)));
    for (const b of branches) out.push({ key: seriesKey(s, b), strategy: s, branch: b });
  }
  return out;
}

/**
 * One value per trial for a series/level/metric. A branch may have several replicates per
 * trial (e.g. F&C's 3 random reinitializations per ticket): they are averaged first, so that
 * every trial counts once in the mean ± std over trials.
 */
export function perTrial(rows: LevelRow[], metric: MetricDef): Map<number, { value: number; seed: number | null }> {
  const acc = new Map<number, { sum: number; n: number; seed: number | null }>();
  for (const r of rows) {
    const v = r[metric.column];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const a = acc.get(r.trial) ?? { sum: 0, n: 0, seed: r.seed };
    a.sum += v;
    a.n += 1;
    acc.set(r.trial, a);
  }
  const out = new Map<number, { value: number; seed: number | null }>();
  for (const [t, a] of [...acc].sort((x, y) => x[0] - y[0])) out.set(t, { value: a.sum / a.n, seed: a.seed });
  return out;
}

/** Group rows by series and level. */
export function groupRows(rows: LevelRow[]): Map<string, Map<number, LevelRow[]>> {
  const g = new Map<string, Map<number, LevelRow[]>>();
  for (const r of rows) {
    const k = seriesKey(r.strategy, r.branch);
    let byLevel = g.get(k);
    if (!byLevel) g.set(k, (byLevel = new Map()));
    const list = byLevel.get(r.level) ?? [];
    list.push(r);
    byLevel.set(r.level, list);
  }
  return g;
}

/** Mean ± std over trials of each metric, per level and series. Pure: works on rows from anywhere. */
export function summarize(rows: LevelRow[], metricIds: string[] = DEFAULT_METRICS, order: string[] = []): Omit<Summary, 'experiment' | 'specHash'> {
  const metrics = metricIds.map(metricDef);
  const series = seriesOf(rows, order);
  const grouped = groupRows(rows);
  const levelNumbers = [...new Set(rows.map((r) => r.level))].sort((a, b) => a - b);
  let trials = 0;
  const levels: LevelSummary[] = levelNumbers.map((level) => {
    const atLevel = rows.filter((r) => r.level === level);
    const chainRows = atLevel.filter((r) => r.branch === null);
    const pctRows = chainRows.length ? chainRows : atLevel;
    const percentRemaining = pctRows.reduce((a, r) => a + r.percent_remaining, 0) / pctRows.length;
    const cells: LevelSummary['cells'] = {};
    const lastIteration: Record<string, number> = {};
    const seriesPercent: Record<string, number> = {};
    for (const s of series) {
      const rs = grouped.get(s.key)?.get(level);
      if (!rs) continue;
      seriesPercent[s.key] = rs.reduce((a, r) => a + r.percent_remaining, 0) / rs.length;
      const ends = rs.map((r) => r.last_iteration).filter((x): x is number => typeof x === 'number');
      if (ends.length) lastIteration[s.key] = Math.max(...ends);
      const cell: Record<string, Stat> = {};
      for (const m of metrics) {
        const st = stat([...perTrial(rs, m).values()].map((x) => x.value));
        if (st) {
          cell[m.id] = st;
          trials = Math.max(trials, st.n);
        }
      }
      cells[s.key] = cell;
    }
    return { level, percentRemaining, seriesPercent, dense: level === 0, cells, ...(Object.keys(lastIteration).length ? { lastIteration } : {}) };
  });
  return { metrics, series, levels, trials };
}

/** Load and summarize one experiment. */
export function summarizeExperiment(db: Db, experiment: string, metricIds: string[] = DEFAULT_METRICS): Summary {
  const rows = loadLevels(db, experiment);
  if (rows.length === 0) throw new UserError(`experiment "${experiment}" has no finished levels yet — run \`lth run\` on its spec, or check \`lth status\``);
  const s = summarize(rows, metricIds, chainOrder(db, experiment));
  return { experiment, specHash: rows[0].spec_hash, ...s };
}
