/**
 * Views of the tables lth stores beside the `levels` summary (docs/SCHEMA.md): units alive per
 * layer, the mask updates of pruning during training, early-bird's mask-distance search,
 * training compute and activation sparsity per layer. Each view is one entry of STORED_VIEWS: a
 * table (`lth report EXP --view ID`), a figure (`lth plot EXP --kind ID`) and a section of the
 * dashboard's Analyses page, all from the same rows. A new analysis (instability, robustness)
 * is one more entry: the CLI choices and the dashboard read this list.
 */
import { UserError } from '../util/index.js';
import { chainOrder, seriesKey, summarizeExperiment } from './aggregate.js';
import { type Db, requireExperiment } from './db.js';
import { distinctLayers, distinctLines, percentAxis, subtitleWithOverlaps } from './encodings.js';
import { type Tabular, formatPercent } from './format.js';

type VlSpec = Record<string, unknown>;

export interface AnalysisResult {
  /** what `lth report --view` prints, and the dashboard's table under the figure */
  table: Tabular;
  /** a Vega-Lite spec (no $schema/config: the caller adds its own) */
  figure: VlSpec;
}

export interface AnalysisView {
  /** `lth report --view ID`, `lth plot --kind ID` */
  readonly id: string;
  readonly title: string;
  /** the stored tables it reads */
  readonly tables: readonly string[];
  /** which runs store it: said when an experiment has none */
  readonly storedBy: string;
  /** null when the experiment stores none of it */
  build(db: Db, experiment: string): AnalysisResult | null;
}

// ---------- shared helpers ----------

/** Series keys of the rows in the spec's chain order (branches after their chain), for facets and legends. */
function seriesDomain(db: Db, experiment: string, rows: { strategy: string; branch: string | null }[]): string[] {
  const order = chainOrder(db, experiment);
  const uniq = [...new Set(rows.map((r) => seriesKey(r.strategy, r.branch)))];
  const rank = (k: string) => {
    const i = order.indexOf(k.split(':')[0]);
    return i < 0 ? order.length : i;
  };
  return uniq.sort((a, b) => rank(a) - rank(b) || (a.includes(':') ? 1 : 0) - (b.includes(':') ? 1 : 0) || a.localeCompare(b));
}

/** "L3 (51.2%)": a level in legends, sorted by % remaining (densest first). */
const levelLabel = (level: number, percent: number) => `L${level} (${formatPercent(percent)}%)`;
function levelLabels(rows: { level: number; percent: number }[]): string[] {
  const m = new Map<string, number>();
  for (const r of rows) m.set(levelLabel(r.level, r.percent), r.percent);
  return [...m].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** Facet columns: at most three panels a row. */
const columnsFor = (n: number) => Math.min(3, Math.max(1, n));

/**
 * Per-layer rows of one table joined to the `levels` view: mean over the results (trials) of
 * each series, level and layer, with `value` the mean of `valueSql` and `total` the max of
 * `totalSql`; sorted as the figures show them (chains in spec order, levels, layers as stored).
 */
function perLayer(db: Db, experiment: string, table: string, valueSql: string, totalSql = 'NULL') {
  const rows = db
    .prepare(
      `SELECT l.strategy, l.branch, l.level, avg(l.percent_remaining) AS percent, t.layer,
              avg(${valueSql}) AS value, max(${totalSql}) AS total, count(*) AS n
         FROM levels l JOIN ${table} t ON t.result_id = l.result_id
        WHERE l.experiment = ?
        GROUP BY l.strategy, l.branch, l.level, t.layer ORDER BY l.level, min(t.rowid)`,
    )
    .all(experiment) as {
    strategy: string;
    branch: string | null;
    level: number;
    percent: number;
    layer: string;
    value: number;
    total: number | null;
    n: number;
  }[];
  const series = seriesDomain(db, experiment, rows);
  const layers = [...new Set(rows.map((r) => r.layer))];
  const data = rows
    .map((r) => ({ series: seriesKey(r.strategy, r.branch), level: r.level, percent: r.percent, layer: r.layer, value: r.value, total: r.total, n: r.n }))
    .sort((a, b) => series.indexOf(a.series) - series.indexOf(b.series) || a.level - b.level || layers.indexOf(a.layer) - layers.indexOf(b.layer));
  return { data, series, layers };
}

/** Panels of lines (distinctLines), with the subtitle naming lines that coincide within a panel. */
function panelsOfLines<T extends Record<string, unknown>>(o: {
  title: string;
  subtitle: string;
  data: T[];
  panel: { field: keyof T & string; sort: string[] };
  line: { field: keyof T & string; title: string; domain: string[] };
  x: Record<string, unknown> & { field: string };
  y: Record<string, unknown> & { field: string };
  tooltip: unknown[];
}): VlSpec {
  const lines = distinctLines(o.line.field, o.line.title, o.line.domain);
  const at = (d: T) => `${String(d[o.panel.field])}|${String(d[o.x.field as keyof T])}`;
  return {
    title: {
      text: o.title,
      subtitle: subtitleWithOverlaps(
        o.subtitle,
        o.data.map((d) => ({ line: String(d[o.line.field]), x: at(d), value: Number(d[o.y.field as keyof T]) })),
      ),
    },
    data: { values: o.data },
    facet: { field: o.panel.field, type: 'nominal', title: null, sort: o.panel.sort },
    columns: columnsFor(o.panel.sort.length),
    spec: { width: 260, height: 185, encoding: { x: o.x, y: o.y, color: lines.color }, layer: distinctLayers(lines, o.tooltip) },
  };
}

// ---------- units alive per layer (unit_counts) ----------

const units: AnalysisView = {
  id: 'units',
  title: 'Units alive per layer',
  tables: ['unit_counts'],
  storedBy: 'runs with pruning.granularity neuron or filter store unit counts',
  build(db, experiment) {
    const { data, series, layers } = perLayer(db, experiment, 'unit_counts', 't.remaining', 't.total');
    if (!data.length) return null;
    return {
      table: {
        columns: ['strategy', 'level', '% weights remaining', 'layer', 'units alive', 'of', '% units alive'],
        rows: data.map((d) => [d.series, d.level, formatPercent(d.percent), d.layer, round(d.value, 2), d.total, ((100 * d.value) / d.total!).toFixed(1)]),
        caption: [`${experiment}: units alive per layer (mean over trials) at each level; table unit_counts`],
      },
      figure: panelsOfLines({
        title: 'Units alive per layer',
        subtitle: `${experiment}: mean over trials; a dead unit has lost its incoming and outgoing weights and its bias`,
        data,
        panel: { field: 'series', sort: series },
        line: { field: 'layer', title: 'Layer', domain: layers },
        x: { field: 'level', type: 'quantitative', title: 'Level', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: 'Units alive' },
        tooltip: [
          { field: 'layer' },
          { field: 'level' },
          { field: 'percent', title: '% weights remaining', format: '.1f' },
          { field: 'value', title: 'units alive', format: '.1f' },
          { field: 'total', title: 'of' },
        ],
      }),
    };
  },
};

// ---------- drop / regrow updates (mask_updates) ----------

interface UpdateRow {
  strategy: string;
  branch: string | null;
  level: number;
  percent: number;
  step: number;
  dropped: number;
  regrown: number;
  kept: number;
}

const QUANTITIES = ['dropped', 'regrown', 'kept'] as const;

const maskUpdates: AnalysisView = {
  id: 'mask-updates',
  title: 'Mask updates during training',
  tables: ['mask_updates'],
  storedBy: 'chains that prune during training (gradual, set, rigl) store their mask updates',
  build(db, experiment) {
    // sum over layers per result and step, then the mean over the results (trials) of a level
    const rows = db
      .prepare(
        `SELECT strategy, branch, level, avg(percent) AS percent, step, avg(dropped) AS dropped, avg(regrown) AS regrown, avg(kept) AS kept
           FROM (SELECT l.strategy, l.branch, l.level, l.percent_remaining AS percent, u.step,
                        sum(u.dropped) AS dropped, sum(u.regrown) AS regrown, sum(u.remaining) AS kept
                   FROM levels l JOIN mask_updates u ON u.result_id = l.result_id
                  WHERE l.experiment = ?
                  GROUP BY l.result_id, l.strategy, l.branch, u.step)
          GROUP BY strategy, branch, level, step ORDER BY level, step`,
      )
      .all(experiment) as UpdateRow[];
    if (!rows.length) return null;
    const series = seriesDomain(db, experiment, rows);
    const labels = levelLabels(rows);
    const data = rows.flatMap((r) =>
      QUANTITIES.map((q) => ({
        series: seriesKey(r.strategy, r.branch),
        level: r.level,
        label: levelLabel(r.level, r.percent),
        step: r.step,
        quantity: q,
        value: r[q],
      })),
    );
    const sorted = [...rows].sort((a, b) => series.indexOf(seriesKey(a.strategy, a.branch)) - series.indexOf(seriesKey(b.strategy, b.branch)));
    return {
      table: {
        columns: ['strategy', 'level', '% weights remaining', 'step', 'dropped', 'regrown', 'kept after'],
        rows: sorted.map((r) => [
          seriesKey(r.strategy, r.branch),
          r.level,
          formatPercent(r.percent),
          r.step,
          round(r.dropped, 2),
          round(r.regrown, 2),
          round(r.kept, 2),
        ]),
        caption: [`${experiment}: weights dropped and regrown by each mask update (all layers, mean over trials); table mask_updates`],
      },
      figure: {
        title: {
          text: 'Drop and regrow updates during training',
          subtitle: `${experiment}: weights per update, summed over layers, mean over trials; one row per quantity, one line per level`,
        },
        data: { values: data },
        facet: {
          row: { field: 'quantity', type: 'nominal', title: null, sort: [...QUANTITIES], header: { labelFontWeight: 'bold' } },
          column: { field: 'series', type: 'nominal', title: null, sort: series, header: { labelFontWeight: 'bold' } },
        },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: 240,
          height: 120,
          mark: { type: 'line', point: { size: 20 }, strokeWidth: 1.6 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'Training step' },
            y: { field: 'value', type: 'quantitative', title: 'Weights', scale: { domain: { unionWith: [0, 1] } } }, // a row of zeros (gradual's regrowth) keeps a readable axis
            color: { field: 'label', type: 'ordinal', title: 'Level (% remaining)', sort: labels, scale: { scheme: 'viridis' } },
            detail: { field: 'level' },
            tooltip: [{ field: 'label', title: 'level' }, { field: 'step' }, { field: 'quantity' }, { field: 'value', title: 'weights', format: '.1f' }],
          },
        },
      },
    };
  },
};

// ---------- early-bird search (mask_distances, compute.detection_iteration) ----------

interface DistanceRow {
  strategy: string;
  branch: string | null;
  trial: number;
  level: number;
  percent: number;
  detection: number | null;
  iteration: number;
  distance: number;
}

const earlyBird: AnalysisView = {
  id: 'early-bird',
  title: 'Early-bird mask distance and detection',
  tables: ['mask_distances', 'compute'],
  storedBy: 'early-bird chains store their mask-distance search',
  build(db, experiment) {
    const rows = db
      .prepare(
        `SELECT l.strategy, l.branch, l.trial, l.level, l.percent_remaining AS percent, l.detection_iteration AS detection,
                d.iteration, d.distance
           FROM levels l JOIN mask_distances d ON d.result_id = l.result_id
          WHERE l.experiment = ?
          ORDER BY l.strategy, l.branch, l.trial, l.level, d.iteration`,
      )
      .all(experiment) as DistanceRow[];
    if (!rows.length) return null;
    const series = seriesDomain(db, experiment, rows);
    const labels = levelLabels(rows);
    const data = rows.map((r) => ({
      kind: 'distance',
      series: seriesKey(r.strategy, r.branch),
      trial: r.trial,
      level: r.level,
      percent: r.percent,
      label: levelLabel(r.level, r.percent),
      iteration: r.iteration,
      distance: r.distance,
      detected: r.detection === r.iteration,
    }));
    // one rule per (series, trial, level) at the step the mask was taken
    const rules = [
      ...new Map(rows.filter((r) => r.detection !== null).map((r) => [`${seriesKey(r.strategy, r.branch)}|${r.trial}|${r.level}`, r])).values(),
    ].map((r) => ({
      kind: 'detection',
      series: seriesKey(r.strategy, r.branch),
      trial: r.trial,
      level: r.level,
      label: levelLabel(r.level, r.percent),
      detection: r.detection,
    }));
    const color = { field: 'label', type: 'ordinal', title: 'Level (% remaining)', sort: labels, scale: { scheme: 'viridis' } };
    return {
      table: {
        columns: ['strategy', 'trial', 'level', '% weights remaining', 'iteration', 'mask distance', 'detection'],
        rows: data.map((d) => [d.series, d.trial, d.level, formatPercent(d.percent), d.iteration, round(d.distance, 6), d.detected ? 'mask taken here' : '']),
        caption: [
          `${experiment}: normalized Hamming distance between the masks of consecutive evaluations of the dense search; the mask is taken at the detection iteration; tables mask_distances and compute`,
        ],
      },
      figure: {
        title: {
          text: 'Early-bird: mask distance during the dense search',
          subtitle: `${experiment}: fraction of prunable weights whose mask bit changed since the previous evaluation; dashed rule: detection (mask taken)`,
        },
        data: { values: [...data, ...rules] },
        facet: { field: 'series', type: 'nominal', title: null, sort: series },
        columns: columnsFor(series.length),
        spec: {
          width: 320,
          height: 200,
          layer: [
            {
              transform: [{ filter: "datum.kind === 'distance'" }],
              mark: { type: 'line', strokeWidth: 1.8, point: { size: 22 } },
              encoding: {
                x: { field: 'iteration', type: 'quantitative', title: 'Dense training iteration' },
                y: { field: 'distance', type: 'quantitative', title: 'Mask distance (fraction changed)' },
                color,
                detail: { field: 'trial' },
                tooltip: [
                  { field: 'label', title: 'level' },
                  { field: 'trial' },
                  { field: 'iteration' },
                  { field: 'distance', format: '.4f' },
                  { field: 'detected', title: 'mask taken here' },
                ],
              },
            },
            {
              transform: [{ filter: "datum.kind === 'detection'" }],
              mark: { type: 'rule', strokeDash: [5, 3], strokeWidth: 1.5 },
              encoding: {
                x: { field: 'detection', type: 'quantitative' },
                color,
                detail: { field: 'trial' },
                tooltip: [{ field: 'label', title: 'level' }, { field: 'trial' }, { field: 'detection', title: 'detection iteration' }],
              },
            },
          ],
        },
      },
    };
  },
};

// ---------- activation sparsity per layer (activation_sparsity) ----------

const activations: AnalysisView = {
  id: 'activations',
  title: 'Activation sparsity per layer',
  tables: ['activation_sparsity'],
  storedBy: 'levels stored from schema version 3 on measure it (not learned-supermask rows)',
  build(db, experiment) {
    const { data: rows, series, layers } = perLayer(db, experiment, 'activation_sparsity', 't.zero_fraction');
    if (!rows.length) return null;
    const data = rows.map((d) => ({ ...d, zeros: 100 * d.value }));
    return {
      table: {
        columns: ['strategy', 'level', '% weights remaining', 'layer', 'ReLU outputs exactly 0 (%)', 'results'],
        rows: data.map((d) => [d.series, d.level, formatPercent(d.percent), d.layer, d.zeros.toFixed(2), d.n]),
        caption: [`${experiment}: % of each hidden layer's ReLU outputs on the test split that are exactly 0 (mean over trials); table activation_sparsity`],
      },
      figure: panelsOfLines({
        title: 'Activation sparsity per layer',
        subtitle: `${experiment}: % of ReLU outputs on the test set exactly 0, mean over trials`,
        data,
        panel: { field: 'layer', sort: layers },
        line: { field: 'series', title: 'Strategy', domain: series },
        x: percentAxis(data.map((d) => d.percent)),
        y: { field: 'zeros', type: 'quantitative', title: 'ReLU outputs exactly 0 (%)', scale: { zero: false } },
        tooltip: [
          { field: 'series', title: 'Strategy' },
          { field: 'layer' },
          { field: 'level' },
          { field: 'percent', title: '% weights remaining', format: '.1f' },
          { field: 'zeros', title: 'zeros (%)', format: '.2f' },
        ],
      }),
    };
  },
};

// ---------- accuracy against training compute (compute) ----------

const compute: AnalysisView = {
  id: 'compute',
  title: 'Accuracy against training compute',
  tables: ['compute'],
  storedBy: 'levels stored from schema version 3 on record their compute',
  build(db, experiment) {
    const s = summarizeExperiment(db, experiment, ['es-accuracy', 'final-accuracy', 'total-iterations', 'total-macs']);
    const data = s.series.flatMap((se) =>
      s.levels.flatMap((l) => {
        const c = l.cells[se.key] ?? {};
        const macs = c['total-macs'];
        if (!macs) return [];
        return [
          {
            series: se.key,
            level: l.level,
            percent: l.percentRemaining,
            iterations: c['total-iterations']?.mean ?? null,
            macs: macs.mean,
            accuracy: c['es-accuracy'] ? 100 * c['es-accuracy'].mean : null,
            final: c['final-accuracy'] ? 100 * c['final-accuracy'].mean : null,
          },
        ];
      }),
    );
    if (!data.length) return null;
    const series = s.series.map((x) => x.key).filter((k) => data.some((d) => d.series === k));
    const lines = distinctLines('series', 'Strategy', series);
    return {
      table: {
        columns: [
          'strategy',
          'level',
          '% weights remaining',
          'training iterations',
          'training multiply-adds',
          'test acc at early stop (%)',
          'final test acc (%)',
        ],
        rows: data.map((d) => [
          d.series,
          d.level,
          formatPercent(d.percent),
          d.iterations === null ? null : Math.round(d.iterations),
          d.macs.toExponential(3),
          d.accuracy === null ? null : d.accuracy.toFixed(2),
          d.final === null ? null : d.final.toFixed(2),
        ]),
        caption: [
          `${experiment}: training compute to reach each level (dense training and earlier levels included; sparse steps at dense cost × density, RigL's count), mean over trials; table compute`,
        ],
      },
      figure: {
        width: 420,
        height: 300,
        title: {
          text: 'Accuracy vs training compute',
          subtitle: subtitleWithOverlaps(
            `${experiment}: test accuracy at early stop, mean over trials; dense training and earlier levels included; sparse steps at dense cost × density (RigL's count)`,
            data.flatMap((d) => (d.accuracy === null ? [] : [{ line: d.series, x: `${d.level}|${d.macs.toPrecision(6)}`, value: d.accuracy }])),
          ),
        },
        data: { values: data.filter((d) => d.accuracy !== null) },
        encoding: {
          x: {
            field: 'macs',
            type: 'quantitative',
            title: 'Training multiply-adds to reach the level (log)',
            scale: { type: 'log' },
            axis: { format: '.0e', labelOverlap: 'greedy', labelSeparation: 8 },
          },
          y: { field: 'accuracy', type: 'quantitative', title: 'Test accuracy at early stop (%)', scale: { zero: false } },
          color: lines.color,
          order: { field: 'level' },
        },
        layer: distinctLayers(lines, [
          { field: 'series', title: 'Strategy' },
          { field: 'level', title: 'Level' },
          { field: 'percent', title: '% remaining', format: '.1f' },
          { field: 'macs', title: 'multiply-adds', format: '.3e' },
          { field: 'accuracy', title: 'test acc at early stop (%)', format: '.2f' },
        ]),
      },
    };
  },
};

// ---------- the registry ----------

/**
 * Every analysis view, in the order the dashboard shows them. Instability curves and robustness
 * tables (issue #25) join here when lth stores them.
 */
export const STORED_VIEWS: readonly AnalysisView[] = [units, maskUpdates, earlyBird, compute, activations];
export const STORED_VIEW_IDS: readonly string[] = STORED_VIEWS.map((a) => a.id);

/** @throws UserError naming the choices for an unknown id */
export function analysisView(id: string): AnalysisView {
  const v = STORED_VIEWS.find((a) => a.id === id);
  if (!v) throw new UserError(`unknown view "${id}" — choose from: ${STORED_VIEW_IDS.join(', ')}`);
  return v;
}

/**
 * One view of one experiment.
 * @throws UserError when the experiment stores none of it, saying which runs do
 */
export function buildAnalysis(db: Db, experiment: string, id: string): AnalysisResult {
  const v = analysisView(id);
  requireExperiment(db, experiment);
  const r = v.build(db, experiment);
  if (!r) throw new UserError(`experiment "${experiment}" stores no ${v.title.toLowerCase()} (table ${v.tables[0]}) — ${v.storedBy}`);
  return r;
}
