/**
 * Ticket anatomy from the stored masks: per-layer sparsity across levels, which input pixels
 * LeNet's first layer keeps (Frankle & Carbin 2019 look at this input connectivity of LeNet
 * tickets in their appendix),
 * and how much two tickets overlap (Jaccard index of the kept weights). Used by `lth ui` and
 * `lth plot --kind masks`; the figures are Vega-Lite specs like the rest of src/reporting.
 */
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/closest.js';
import { chainOrder } from './aggregate.js';
import { type Db, requireExperiment } from './db.js';
import { INDEPENDENT_LINES, distinctLayers, distinctLines, subtitleWithOverlaps } from './encodings.js';
import { formatPercent } from './format.js';
import { type StoredMasks, chainLevelMasks } from './masks.js';

export interface AnatomyOptions {
  /** chain strategy whose masks the heat maps and the trial / level matrices use (default: the first) */
  strategy?: string;
  /** trial of the heat maps and the strategy / level matrices (default 0) */
  trial?: number;
  /** level of the strategy / trial matrices (default: the deepest level every chain reached) */
  level?: number;
  /** levels drawn as heat maps (default: every stored level) */
  heatmapLevels?: number[];
}

export interface ProfilePoint {
  strategy: string;
  level: number;
  layer: string;
  /** % of the layer's weights remaining, mean over trials */
  percent: number;
}

export interface PixelMap {
  level: number;
  /** % of all prunable weights remaining at this level */
  percentRemaining: number;
  /** image side: counts has side × side entries, row-major */
  side: number;
  /** units of the first hidden layer: the most connections a pixel can keep */
  fanOut: number;
  /** surviving first-layer connections of each input pixel */
  counts: number[];
}

export interface OverlapMatrix {
  kind: 'strategies' | 'trials' | 'levels';
  /** what is held fixed, e.g. "trial 0, level 3" */
  fixed: string;
  labels: string[];
  /** values[i][j] = Jaccard(mask i, mask j); null where a mask is not stored */
  values: (number | null)[][];
}

export interface Anatomy {
  experiment: string;
  model: string;
  strategies: string[];
  trials: number[];
  /** chain levels stored (0 = dense) */
  levels: number[];
  strategy: string;
  trial: number;
  level: number;
  profile: ProfilePoint[];
  /** first-layer connectivity per input pixel; null unless the model is LeNet-300-100 on square images */
  pixels: PixelMap[] | null;
  matrices: OverlapMatrix[];
}

/** Jaccard index |A ∩ B| / |A ∪ B| of the kept weights over the layers both masks have; 1 when both keep nothing. */
export function jaccard(a: StoredMasks, b: StoredMasks): number {
  let inter = 0;
  let union = 0;
  for (const name of Object.keys(a)) {
    const x = a[name];
    const y = b[name];
    if (!y || y.length !== x.length) continue;
    for (let i = 0; i < x.length; i++) {
      const p = x[i] !== 0;
      const q = y[i] !== 0;
      if (p && q) inter++;
      if (p || q) union++;
    }
  }
  return union === 0 ? 1 : inter / union;
}

/** LeNet-300-100's first hidden layer has 300 units (src/models/registry.ts): its kernel is stored [in, 300]. */
const LENET_HIDDEN = 300;

/** Surviving connections per input pixel of `fc1/kernel` ([in, out], row-major), when `in` is a square image. */
export function pixelCounts(masks: StoredMasks, fanOut: number): { side: number; counts: number[] } | null {
  const m = masks['fc1/kernel'];
  if (!m || m.length % fanOut !== 0) return null;
  const fanIn = m.length / fanOut;
  const side = Math.round(Math.sqrt(fanIn));
  if (side * side !== fanIn) return null;
  const counts = new Array<number>(fanIn).fill(0);
  for (let i = 0; i < fanIn; i++) {
    let c = 0;
    const row = i * fanOut;
    for (let j = 0; j < fanOut; j++) c += m[row + j];
    counts[i] = c;
  }
  return { side, counts };
}

function matrix(kind: OverlapMatrix['kind'], fixed: string, labels: string[], masks: (StoredMasks | null)[]): OverlapMatrix {
  const values = masks.map((a, i) => masks.map((b, j) => (a && b ? (i === j ? 1 : jaccard(a, b)) : null)));
  return { kind, fixed, labels, values };
}

/** Everything the anatomy page and `lth plot --kind masks` show, from the stored masks. */
export function anatomy(db: Db, experiment: string, opts: AnatomyOptions = {}): Anatomy {
  requireExperiment(db, experiment);
  const rows = db
    .prepare('SELECT DISTINCT strategy, trial, level, percent_remaining AS pct FROM levels WHERE experiment = ? AND branch IS NULL ORDER BY level, trial')
    .all(experiment) as { strategy: string; trial: number; level: number; pct: number }[];
  if (!rows.length) throw new UserError(`experiment "${experiment}" has no finished levels yet — run \`lth run\` on its spec, or check \`lth status\``);
  const order = chainOrder(db, experiment);
  const strategies = [...new Set([...order, ...rows.map((r) => r.strategy)])].filter((s) => rows.some((r) => r.strategy === s));
  const trials = [...new Set(rows.map((r) => r.trial))].sort((a, b) => a - b);
  const levels = [...new Set(rows.map((r) => r.level))].sort((a, b) => a - b);
  const strategy = opts.strategy ?? strategies[0];
  if (!strategies.includes(strategy))
    throw new UserError(`experiment "${experiment}" has no strategy "${strategy}"${didYouMean(strategy, strategies)} — choose from: ${strategies.join(', ')}`);
  const trial = opts.trial ?? trials[0];
  if (!trials.includes(trial)) throw new UserError(`experiment "${experiment}" has no trial ${trial} — trials stored: ${trials.join(', ')}`);
  // deepest level every chain of the trial reached: there the strategies are comparable
  const reached = strategies.map((s) => Math.max(...rows.filter((r) => r.strategy === s && r.trial === trial).map((r) => r.level), 0));
  const level = opts.level ?? Math.min(...reached);
  if (!levels.includes(level)) throw new UserError(`experiment "${experiment}" has no level ${level} — levels stored: ${levels.join(', ')}`);
  const spec = JSON.parse((db.prepare('SELECT spec_json FROM experiments WHERE name = ?').pluck().get(experiment) as string) ?? '{}') as {
    model?: { name?: string; file?: string; module?: string };
  };
  const model = spec.model?.name ?? spec.model?.file ?? spec.model?.module ?? 'unknown';

  const profile = db
    .prepare(
      `SELECT l.strategy, l.level, s.layer, avg(100.0 * s.remaining / s.total) AS percent
           FROM levels l JOIN layer_sparsity s ON s.result_id = l.result_id
          WHERE l.experiment = ? AND l.branch IS NULL
          GROUP BY l.strategy, l.level, s.layer ORDER BY l.strategy, s.layer, l.level`,
    )
    .all(experiment) as ProfilePoint[];

  const masksOf = (s: string, t: number, l: number) =>
    rows.some((r) => r.strategy === s && r.trial === t && r.level === l) ? chainLevelMasks(db, experiment, s, t, l) : null;
  const pctOf = (l: number) => {
    const at = rows.filter((r) => r.level === l && r.strategy === strategy);
    return at.length ? at.reduce((a, r) => a + r.pct, 0) / at.length : NaN;
  };

  let pixels: PixelMap[] | null = null;
  if (model === 'lenet-300-100') {
    pixels = [];
    for (const l of opts.heatmapLevels ?? levels) {
      const m = masksOf(strategy, trial, l);
      const pc = m && pixelCounts(m, LENET_HIDDEN);
      if (pc) pixels.push({ level: l, percentRemaining: pctOf(l), side: pc.side, fanOut: LENET_HIDDEN, counts: pc.counts });
    }
    if (!pixels.length) pixels = null;
  }

  const chainLevels = levels.filter((l) => rows.some((r) => r.strategy === strategy && r.trial === trial && r.level === l));
  const matrices = [
    matrix(
      'strategies',
      `trial ${trial}, level ${level}`,
      strategies,
      strategies.map((s) => masksOf(s, trial, level)),
    ),
    matrix(
      'trials',
      `${strategy}, level ${level}`,
      trials.map((t) => `trial ${t}`),
      trials.map((t) => masksOf(strategy, t, level)),
    ),
    matrix(
      'levels',
      `${strategy}, trial ${trial}`,
      chainLevels.map((l) => `L${l} (${formatPercent(pctOf(l))}%)`),
      chainLevels.map((l) => masksOf(strategy, trial, l)),
    ),
  ];
  return { experiment, model, strategies, trials, levels, strategy, trial, level, profile, pixels, matrices };
}

// ---------- figures ----------

type VlSpec = Record<string, unknown>;

/** Per-layer % remaining vs level, one panel per strategy; layers at the same rate stay visible (dashes and shapes differ). */
export function profileSpec(a: Anatomy): VlSpec | null {
  if (!a.profile.length) return null;
  const layers = [...new Set(a.profile.map((p) => p.layer))];
  const lines = distinctLines('layer', 'Layer', layers);
  return {
    title: {
      text: 'Per-layer sparsity',
      subtitle: subtitleWithOverlaps(
        `${a.experiment}: % of each layer's weights remaining, mean over trials`,
        a.profile.map((p) => ({ line: p.layer, x: `${p.strategy}|${p.level}`, value: p.percent })),
      ),
    },
    data: { values: a.profile },
    facet: { field: 'strategy', type: 'nominal', title: null, sort: a.strategies },
    columns: Math.min(3, a.strategies.length),
    spec: {
      width: 260,
      height: 180,
      layer: distinctLayers(lines, [{ field: 'layer' }, { field: 'level' }, { field: 'percent', title: '% remaining', format: '.2f' }]),
      encoding: {
        x: { field: 'level', type: 'quantitative', title: 'Level', axis: { tickMinStep: 1 } },
        y: { field: 'percent', type: 'quantitative', title: '% of layer remaining', scale: { type: 'log' } },
        color: lines.color,
      },
    },
  };
}

/** Surviving first-layer connections per input pixel, one side × side map per level. */
export function pixelSpec(a: Anatomy): VlSpec | null {
  if (!a.pixels) return null;
  const values = a.pixels.flatMap((p) =>
    p.counts.map((count, i) => ({
      level: p.level,
      panel: `level ${p.level} (${formatPercent(p.percentRemaining)}%)`,
      row: Math.floor(i / p.side),
      col: i % p.side,
      count,
    })),
  );
  const panels = a.pixels.map((p) => `level ${p.level} (${formatPercent(p.percentRemaining)}%)`);
  return {
    title: {
      text: 'Input connectivity of the first layer',
      subtitle: `${a.experiment}, ${a.strategy}, trial ${a.trial}: surviving connections per input pixel (of ${a.pixels[0].fanOut})`,
    },
    data: { values },
    facet: { field: 'panel', type: 'ordinal', title: null, sort: panels },
    columns: Math.min(4, panels.length),
    spec: {
      width: 140,
      height: 140,
      mark: { type: 'rect' },
      encoding: {
        x: { field: 'col', type: 'ordinal', axis: null },
        y: { field: 'row', type: 'ordinal', axis: null },
        color: { field: 'count', type: 'quantitative', title: 'connections', scale: { scheme: 'viridis', domain: [0, a.pixels[0].fanOut] } },
        tooltip: [{ field: 'row' }, { field: 'col' }, { field: 'count', title: 'connections' }],
      },
    },
  };
}

const MATRIX_TITLE = { strategies: 'between strategies', trials: 'between trials', levels: 'between levels' } as const;

/** One Jaccard overlap matrix as a heat map with the values written in. */
export function matrixSpec(m: OverlapMatrix): VlSpec {
  const values = m.labels.flatMap((x, i) => m.labels.map((y, j) => ({ a: x, b: y, value: m.values[i][j] })));
  const size = Math.max(90, 34 * m.labels.length);
  return {
    title: { text: `Mask overlap ${MATRIX_TITLE[m.kind]}`, subtitle: `Jaccard index; ${m.fixed}` },
    data: { values },
    width: size,
    height: size,
    encoding: {
      x: { field: 'a', type: 'ordinal', sort: m.labels, title: null, axis: { labelAngle: -40 } },
      y: { field: 'b', type: 'ordinal', sort: m.labels, title: null },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'value', type: 'quantitative', title: 'Jaccard', scale: { scheme: 'blues', domain: [0, 1] } },
          tooltip: [{ field: 'a' }, { field: 'b' }, { field: 'value', title: 'Jaccard', format: '.3f' }],
        },
      },
      {
        // a mask not stored has no value: an empty cell, not the word "null"
        transform: [{ filter: 'datum.value !== null' }],
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'value', type: 'quantitative', format: '.2f' },
          color: { condition: { test: 'datum.value > 0.6', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

/** All anatomy figures stacked, for `lth plot --kind masks`. */
export function anatomySpec(a: Anatomy): VlSpec {
  const parts = [profileSpec(a), pixelSpec(a), { hconcat: a.matrices.map(matrixSpec), resolve: { scale: { color: 'shared' } } }].filter((x) => x !== null);
  return { vconcat: parts, resolve: INDEPENDENT_LINES, spacing: 30 };
}
