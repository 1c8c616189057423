/**
 * The papers' figures as Vega-Lite specs, rendered to SVG by Vega in Node and to PNG by resvg.
 * No SVG is written by hand: every mark, axis and legend comes from the libraries.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Resvg from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';
import { didYouMean, UserError } from '../util/index.js';
import { type Summary, seriesKey, summarizeExperiment } from './aggregate.js';
import { type Db, withDb } from './db.js';
import { formatPercent, toDisplay } from './format.js';
import { anatomy, anatomySpec } from './anatomy.js';
import { STORED_VIEW_IDS, buildAnalysis } from './analyses.js';
import { INDEPENDENT_LINES, PAPER_TICKS, distinctLayers, distinctLines, percentAxis, subtitleWithOverlaps } from './encodings.js';
import { instabilitySpec } from './instability.js';
import { ANALYSIS_NAMES, type AnalysisName } from '../analyses/registry.js';
import { analysisSpec } from '../analyses/report.js';

/** The figures of the levels summary, the instability figure, one per analysis of src/analyses/registry.ts (`lth analyze`), then one per view of a stored table (src/reporting/analyses.ts). */
const SUMMARY_KINDS = ['accuracy', 'early-stop', 'curves', 'all', 'masks', 'speed', 'instability'] as const;
export const PLOT_KINDS: readonly string[] = [...SUMMARY_KINDS, ...ANALYSIS_NAMES, ...STORED_VIEW_IDS];
export type PlotKind = string;
export const ERROR_BARS = ['std', 'minmax', 'none'] as const;
export type ErrorBars = (typeof ERROR_BARS)[number];

export { PAPER_TICKS };

/** Fonts: the first one installed wins, in SVG viewers, browsers and resvg alike. */
export const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

export interface PlotOptions {
  kind?: PlotKind;
  /** what the error bars show: ±1 sample std over trials (default), min–max over trials, or nothing */
  errorBars?: ErrorBars;
  /** series to draw ("rewind", "rewind:random-reinit"); default: all */
  series?: string[];
  /** levels (numbers) whose learning curves to draw; default: those nearest the paper's ticks */
  levels?: number[];
  /** PNG width in pixels (height follows the figure's aspect ratio); default 2× the SVG size */
  width?: number;
  /** masks: the trial whose masks the heat maps and matrices use (default 0) */
  trial?: number;
}

// ---------- data for the figures ----------

export interface PointDatum {
  series: string;
  level: number;
  percent: number;
  mean: number;
  low: number;
  high: number;
  n: number;
}

/** One point per (series, level) for a metric, in display units, with its error bar. */
export function pointData(s: Summary, metricId: string, errorBars: ErrorBars, series?: string[]): PointDatum[] {
  const m = s.metrics.find((x) => x.id === metricId);
  if (!m) throw new Error(`summary lacks metric ${metricId}`);
  const out: PointDatum[] = [];
  for (const se of s.series) {
    if (series && !series.includes(se.key)) continue;
    for (const l of s.levels) {
      const st = l.cells[se.key]?.[metricId];
      if (!st) continue;
      const d = (v: number) => toDisplay(m.unit, v);
      let [lo, hi] =
        errorBars === 'minmax' ? [st.min, st.max] : errorBars === 'std' && st.std !== null ? [st.mean - st.std, st.mean + st.std] : [st.mean, st.mean];
      // ±1 std can reach past what an early-stop step can be: draw it within [0, the end of training]
      if (m.column === 'early_stop_iteration') [lo, hi] = [Math.max(0, lo), Math.min(hi, l.lastIteration?.[se.key] ?? Infinity)];
      out.push({ series: se.key, level: l.level, percent: l.seriesPercent[se.key] ?? l.percentRemaining, mean: d(st.mean), low: d(lo), high: d(hi), n: st.n });
    }
  }
  return out;
}

export interface CurveDatum {
  series: string;
  level: number;
  percent: number;
  /** legend label, e.g. "21.1%" */
  label: string;
  iteration: number;
  /** mean test accuracy over trials, % */
  accuracy: number;
  n: number;
}

/** Mean learning curve (test accuracy vs iteration) over trials for the chosen levels, from the `curves` view. */
export function curveData(db: Db, experiment: string, levels: number[], series?: string[]): CurveDatum[] {
  if (!levels.length) return [];
  const rows = db
    .prepare(
      `SELECT strategy, branch, level, avg(percent_remaining) AS percent, iteration, avg(test_accuracy) AS accuracy, count(test_accuracy) AS n
         FROM curves
        WHERE experiment = ? AND level IN (${levels.map(() => '?').join(',')}) AND test_accuracy IS NOT NULL
        GROUP BY strategy, branch, level, iteration
        ORDER BY strategy, branch, level, iteration`,
    )
    .all(experiment, ...levels) as {
    strategy: string;
    branch: string | null;
    level: number;
    percent: number;
    iteration: number;
    accuracy: number;
    n: number;
  }[];
  return rows
    .map((r) => ({
      series: seriesKey(r.strategy, r.branch),
      level: r.level,
      percent: r.percent,
      label: `${formatPercent(r.percent)}%`,
      iteration: r.iteration,
      accuracy: r.accuracy * 100,
      n: r.n,
    }))
    .filter((r) => !series || series.includes(r.series));
}

/** Levels nearest the paper's ticks (100, 51.3, 21.1, 7.0, 3.6, 1.9), as Frankle & Carbin's Fig. 3 shows. */
export function defaultCurveLevels(s: Summary): number[] {
  const picked = new Set<number>();
  for (const t of PAPER_TICKS) {
    let best: { level: number; dist: number } | null = null;
    for (const l of s.levels) {
      const dist = Math.abs(Math.log(l.percentRemaining / t));
      if (!best || dist < best.dist) best = { level: l.level, dist };
    }
    if (best && best.dist < Math.log(1.15)) picked.add(best.level);
  }
  if (picked.size < 3 && s.levels.length) {
    const ls = s.levels.map((l) => l.level);
    for (const i of [0, Math.floor((ls.length - 1) / 2), ls.length - 1]) picked.add(ls[i]);
  }
  return [...picked].sort((a, b) => a - b);
}

// ---------- specs ----------

/** A Vega-Lite spec as plain JSON (checked by vega-lite's compiler when rendered). */
export type VlSpec = Record<string, unknown>;

function caption(s: Summary, errorBars: ErrorBars): string {
  if (s.trials < 2) return `${s.experiment}: one trial, no error bars`;
  const bars = errorBars === 'std' ? 'error bars ±1 std over trials' : errorBars === 'minmax' ? 'error bars min–max over trials' : 'no error bars';
  return `${s.experiment}: mean over ${s.trials} trial${s.trials === 1 ? '' : 's'}; ${bars}`;
}

/** A metric vs % remaining: one line per series, points at each level, error bars over trials. */
export function levelSpec(s: Summary, metricId: string, opts: PlotOptions = {}): VlSpec {
  const errorBars = opts.errorBars ?? 'std';
  const m = s.metrics.find((x) => x.id === metricId)!;
  const data = pointData(s, metricId, errorBars, opts.series);
  if (!data.length)
    throw new UserError(`nothing to plot for ${s.experiment}: no ${m.label.toLowerCase()} values${opts.series ? ` for ${opts.series.join(', ')}` : ''}`);
  const x = percentAxis(data.map((d) => d.percent));
  const lines = distinctLines(
    'series',
    'Strategy',
    s.series.map((se) => se.key).filter((k) => data.some((d) => d.series === k)),
  );
  const y = { field: 'mean', type: 'quantitative' as const, title: m.label, scale: { zero: false } };
  const spec = {
    width: 400,
    height: 300,
    title: {
      text: m.id === 'es-iteration' ? 'Early-stop iteration' : m.label.replace(/ \(%\)$/, ''),
      subtitle: subtitleWithOverlaps(
        caption(s, errorBars),
        data.map((d) => ({ line: d.series, x: d.level, value: d.mean })),
      ),
    },
    data: { values: data },
    encoding: { x, color: lines.color },
    layer: [
      ...(errorBars === 'none'
        ? []
        : [
            {
              mark: { type: 'errorbar' as const, ticks: true, opacity: 0.75 },
              encoding: { y: { field: 'low', type: 'quantitative' as const, title: m.label, scale: { zero: false } }, y2: { field: 'high' } },
            },
          ]),
      ...distinctLayers(lines, [
        { field: 'series', title: 'Strategy' },
        { field: 'level', title: 'Level' },
        { field: 'percent', title: '% remaining', format: '.1f' },
        { field: 'mean', title: m.label, format: m.unit === 'iteration' ? '.0f' : '.2f' },
        { field: 'n', title: 'trials' },
      ]).map((l) => ({ ...l, encoding: { ...l.encoding, y } })),
    ],
  };
  return spec;
}

/**
 * Learning curves: test accuracy vs iteration, one panel per series, one line per level.
 * `levelsFrom`: where the levels were chosen (`--levels`, or the web UI's query parameter), for the error.
 */
export function curvesSpec(s: Summary, data: CurveDatum[], levelsFrom = '--levels'): VlSpec {
  if (!data.length)
    throw new UserError(
      `no learning curves for the chosen levels of ${s.experiment} — pick levels that exist with ${levelsFrom} (0..${Math.max(...s.levels.map((l) => l.level))})`,
    );
  // zoom past the first 10% of training, as the papers' curve plots do (clip the climb from chance)
  const maxIt = Math.max(...data.map((d) => d.iteration));
  const late = data.filter((d) => d.iteration >= 0.1 * maxIt).map((d) => d.accuracy);
  const yLo = Math.floor(Math.min(...(late.length ? late : data.map((d) => d.accuracy))) * 2) / 2;
  const yHi = Math.min(100, Math.ceil(Math.max(...data.map((d) => d.accuracy)) * 2) / 2);
  const labels = [...new Map(data.map((d) => [d.label, d.percent])).entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  const nSeries = new Set(data.map((d) => d.series)).size;
  return {
    title: { text: 'Test accuracy during training', subtitle: `${s.experiment}: mean over trials at each evaluation; legend: % of weights remaining` },
    data: { values: data },
    facet: { field: 'series', type: 'nominal', title: null, sort: s.series.map((x) => x.key), header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: nSeries <= 3 ? nSeries : 2,
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', clip: true, strokeWidth: 1.8 },
      encoding: {
        x: { field: 'iteration', type: 'quantitative', title: 'Training iteration' },
        y: { field: 'accuracy', type: 'quantitative', title: 'Test accuracy (%)', scale: { domain: [yLo, yHi], zero: false } },
        color: { field: 'label', type: 'ordinal', title: '% remaining', sort: labels, scale: { scheme: 'viridis' } },
        detail: { field: 'level' },
      },
    },
  };
}

/** One measured level of the speed figure (src/bench/sparsity.ts measures them). */
export interface SpeedDatum {
  /** legend label, e.g. "rewind (neuron)" */
  series: string;
  /** which call was timed: "predict", "forward" (the layers alone) or "train" (lth's training step) */
  call: string;
  level: number;
  percent: number;
  examplesPerSecond: number;
  speedup: number;
}

/**
 * Speed of each level relative to the dense level (examples/s over level 0's: inference of the
 * exported network and lth's training step) vs % weights remaining, reversed log x axis as the
 * accuracy figure; one colour per series (strategy and granularity), one dash per timed call.
 * Relative, so that inference (10⁴–10⁶ examples/s) and training (10²–10⁴) share one axis; the
 * tooltip gives examples/s.
 * @param subtitle what was measured where, e.g. "wasm, predict of 1000 examples, median of 7"
 */
export function speedSpec(data: SpeedDatum[], title: string, subtitle: string): VlSpec {
  if (!data.length) throw new UserError('nothing to plot: no level was measured');
  const x = percentAxis(data.map((d) => d.percent));
  const y = { field: 'speedup', type: 'quantitative' as const, title: 'Speed-up over the dense level (× its examples/s)', scale: { zero: true } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    width: 420,
    height: 300,
    title: { text: title, subtitle },
    data: { values: data },
    encoding: {
      x,
      y,
      color: { field: 'series', type: 'nominal' as const, title: 'Chain', sort: null },
      detail: { field: 'call' },
      order: { field: 'level' },
    },
    layer: [
      {
        mark: { type: 'line' as const, strokeWidth: 2 },
        encoding: {
          strokeDash: { field: 'call', type: 'nominal' as const, title: 'Timed call', sort: null, legend: { symbolType: 'stroke', symbolStrokeWidth: 2 } },
        },
      },
      {
        mark: { type: 'point' as const, filled: true, size: 36 },
        encoding: {
          tooltip: [
            { field: 'series', title: 'Chain' },
            { field: 'call', title: 'Call' },
            { field: 'level', title: 'Level' },
            { field: 'percent', title: '% remaining', format: '.1f' },
            { field: 'examplesPerSecond', title: 'examples/s', format: '.0f' },
            { field: 'speedup', title: 'vs dense', format: '.2f' },
          ],
        },
      },
    ],
  };
}

const CONFIG = {
  font: FONT,
  background: 'white',
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: '#444', anchor: 'start' as const },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  point: { size: 36 },
};

/** The Vega-Lite spec of one figure (or of all three, stacked). */
export function figureSpec(db: Db, experiment: string, opts: PlotOptions = {}): VlSpec {
  const kind = opts.kind ?? 'accuracy';
  if (!PLOT_KINDS.includes(kind)) throw new UserError(`unknown plot kind "${kind}" — choose from: ${PLOT_KINDS.join(', ')}`);
  if (opts.errorBars && !(ERROR_BARS as readonly string[]).includes(opts.errorBars))
    throw new UserError(`unknown --error-bars "${opts.errorBars}" — choose from: ${ERROR_BARS.join(', ')}`);
  const s = summarizeExperiment(db, experiment, ['es-accuracy', 'es-iteration', 'final-accuracy']);
  if (opts.series) {
    const unknown = opts.series.filter((x) => !s.series.some((se) => se.key === x));
    if (unknown.length)
      throw new UserError(
        `experiment "${experiment}" has no strategy ${unknown.map((u) => `"${u}"`).join(', ')}${
          unknown.length === 1
            ? didYouMean(
                unknown[0]!,
                s.series.map((x) => x.key),
              )
            : ''
        } — choose from: ${s.series.map((x) => x.key).join(', ')}`,
      );
  }
  const curves = () => {
    const levels = opts.levels?.length ? opts.levels : defaultCurveLevels(s);
    const chainsOnly = opts.series ?? s.series.filter((x) => x.branch === null).map((x) => x.key);
    return curvesSpec(s, curveData(db, experiment, levels, chainsOnly));
  };
  const schema = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CONFIG };
  if ((ANALYSIS_NAMES as string[]).includes(kind)) return { ...schema, ...analysisSpec(db, experiment, kind as AnalysisName) };
  switch (kind) {
    case 'accuracy':
      return { ...schema, ...levelSpec(s, 'es-accuracy', opts) };
    case 'early-stop':
      return { ...schema, ...levelSpec(s, 'es-iteration', opts) };
    case 'curves':
      return { ...schema, ...curves() };
    case 'masks': {
      // the first chosen strategy's ticket; heat maps at the chosen levels, matrices at the deepest of them
      const levels = opts.levels?.length ? opts.levels : undefined;
      const a = anatomy(db, experiment, {
        strategy: opts.series?.[0],
        trial: opts.trial,
        heatmapLevels: levels,
        level: levels ? Math.max(...levels) : undefined,
      });
      return { ...schema, ...anatomySpec(a) };
    }
    case 'speed':
      // measured, not read from the database: src/bench/sparsity.ts, then speedSpec
      throw new UserError('the speed figure is measured, not stored: lth plot EXPERIMENT --kind speed measures it (or lth bench --only sparsity)');
    case 'instability':
      return { ...schema, ...instabilitySpec(summarizeExperiment(db, experiment, ['instability-barrier']), opts) };
    case 'all':
      return {
        ...schema,
        vconcat: [{ hconcat: [levelSpec(s, 'es-accuracy', opts), levelSpec(s, 'es-iteration', opts)] }, curves()],
        resolve: INDEPENDENT_LINES,
        spacing: 30,
      };
    default: {
      // an analysis view: --strategy keeps those series' rows
      const fig = buildAnalysis(db, experiment, kind).figure as VlSpec & { data: { values: { series: string }[] } };
      const values = opts.series ? fig.data.values.filter((d) => opts.series!.includes(d.series)) : fig.data.values;
      if (!values.length) throw new UserError(`nothing to plot for ${experiment}: no ${kind} rows for ${opts.series!.join(', ')}`);
      return { ...schema, ...fig, data: { values } };
    }
  }
}

// ---------- rendering ----------

/** Vega-Lite spec → SVG text (Vega's own SVG renderer, headless). */
export async function renderSvg(spec: VlSpec): Promise<string> {
  // Loaded here, not at the top: every lth process imports this module (through the CLI's
  // commands), and Vega, Vega-Lite and d3 are hundreds of modules only a figure needs.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  // vega-lite's notes (e.g. "scale property dropped") are for spec authors, not for users
  const compiled = vl.compile(spec as unknown as TopLevelSpec, { logger: vega.logger(vega.Error) }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG → PNG with resvg, text drawn with the system's fonts (Debian: fonts-dejavu-core). */
export function svgToPng(svg: string, width?: number): { png: Buffer; width: number; height: number } {
  if (width !== undefined && !(Number.isInteger(width) && width > 0 && width <= 20000))
    throw new UserError(`--width must be a whole number of pixels between 1 and 20000 (got ${width})`);
  // a native addon, loaded when a PNG is first drawn (see renderSvg)
  const { Resvg: Renderer } = createRequire(import.meta.url)('@resvg/resvg-js') as typeof Resvg;
  const r = new Renderer(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    fitTo: width ? { mode: 'width', value: width } : { mode: 'zoom', value: 2 },
    background: 'white',
  });
  const img = r.render();
  return { png: img.asPng(), width: img.width, height: img.height };
}

export interface PlotResult {
  file: string;
  format: 'svg' | 'png';
  kind: PlotKind;
  /** PNG size in pixels (SVG: its nominal size) */
  width: number;
  height: number;
}

/** Render a figure of an experiment to SVG text. */
export async function plotSvg(db: Db | string, experiment: string, opts: PlotOptions = {}): Promise<string> {
  const spec = withDb(db, (h) => figureSpec(h, experiment, opts));
  return renderSvg(spec);
}

/** `lth plot`: write FILE.svg or FILE.png. */
export async function plotExperiment(db: Db | string, experiment: string, out: string, opts: PlotOptions = {}): Promise<PlotResult> {
  checkPlotOut(out);
  return writeFigure(await plotSvg(db, experiment, opts), out, opts.kind ?? 'accuracy', opts.width);
}

/** The speed figure (speedSpec) written to FILE.svg or FILE.png. */
export async function plotSpeed(data: SpeedDatum[], out: string, title: string, subtitle: string, width?: number): Promise<PlotResult> {
  checkPlotOut(out, width);
  return writeFigure(await renderSvg(speedSpec(data, title, subtitle)), out, 'speed', width);
}

/**
 * Refuses an --out that is neither .svg nor .png, and a --width that is not a pixel count, before any work.
 * @throws UserError naming the option and what it takes
 */
export function checkPlotOut(out: string, width?: number): void {
  const ext = path.extname(out).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new UserError(`--out must end in .svg or .png (got "${out}")`);
  if (width !== undefined && !(Number.isInteger(width) && width > 0 && width <= 20000))
    throw new UserError(`--width must be a whole number of pixels between 1 and 20000 (got ${width})`);
}

function writeFigure(svg: string, out: string, kind: PlotKind, width?: number): PlotResult {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  if (path.extname(out).toLowerCase() === '.svg') {
    fs.writeFileSync(out, svg);
    const m = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
    return { file: out, format: 'svg', kind, width: m ? Number(m[1]) : 0, height: m ? Number(m[2]) : 0 };
  }
  const { png, width: w, height } = svgToPng(svg, width);
  fs.writeFileSync(out, png);
  return { file: out, format: 'png', kind, width: w, height };
}
