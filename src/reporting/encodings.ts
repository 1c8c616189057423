/**
 * Vega-Lite pieces every figure of src/reporting shares: the reversed log axis of % weights
 * remaining, and encodings that keep overlapping lines apart (a dash pattern and a point
 * shape per line besides its colour, so two series with the same values both stay visible).
 */
import { formatPercent } from './format.js';

/** Frankle & Carbin's x ticks (LeNet after 0, 3, 7, 12, 15, 18 rounds). */
export const PAPER_TICKS = [100, 51.3, 21.1, 7.0, 3.6, 1.9];

/** % of weights remaining on a reversed log axis, with the paper's ticks where they fall inside the data. */
export function percentAxis(percents: number[], field = 'percent') {
  const lo = Math.min(...percents);
  const hi = Math.max(...percents);
  let ticks = PAPER_TICKS.filter((t) => t >= lo / 1.05 && t <= hi * 1.05);
  if (ticks.length < 3) ticks = [...new Set(percents.map((p) => Number(formatPercent(p))))];
  return {
    field,
    type: 'quantitative' as const,
    title: 'Percent of weights remaining',
    scale: { type: 'log' as const, reverse: true, domain: [lo / 1.15, hi * 1.12], nice: false },
    axis: { values: ticks, labelExpr: "datum.value >= 99.95 ? '100' : format(datum.value, '.1f')", grid: true },
  };
}

/** Dash patterns in the order lines get them: the first solid, then ever sparser dashes. */
const DASHES = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [12, 4],
  [3, 5],
  [10, 2, 2, 2, 2, 2],
];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right'];

/** Line widths and point sizes in the same order: each later line is narrower and each later point smaller, so one drawn on top of another leaves it visible around it. */
const WIDTHS = [4, 2.8, 2, 1.5, 1.2, 1, 1];
const SIZES = [80, 50, 32, 22, 16, 14, 12];

/**
 * Colour, dash, width (lines) and shape, size (hollow points) of one nominal field, each with the
 * given domain (so that hiding one line never reassigns the others). Lines with equal values
 * stay distinguishable: a wider line shows around a narrower dashed one, and the hollow shapes
 * nest where the points coincide.
 */
export function distinctLines(field: string, title: string, domain: string[], colorScale: Record<string, unknown> = {}) {
  const cycle = <T>(xs: T[]) => domain.map((_, i) => xs[i % xs.length]);
  const enc = (range: unknown[]) => ({ field, type: 'nominal' as const, title, sort: null, scale: { domain, range } });
  return {
    color: { field, type: 'nominal' as const, title, sort: null, scale: { domain, ...colorScale } },
    strokeDash: enc(cycle(DASHES)),
    strokeWidth: enc(cycle(WIDTHS)),
    shape: enc(cycle(SHAPES)),
    size: enc(cycle(SIZES)),
  };
}

/** For vconcat/hconcat of figures with their own colours: every channel of distinctLines independent, so each figure keeps one legend. */
export const INDEPENDENT_LINES = {
  scale: { color: 'independent', strokeDash: 'independent', strokeWidth: 'independent', shape: 'independent', size: 'independent' },
} as const;

/** The line layer and the hollow point layer of distinctLines (the point layer takes the tooltip). */
export function distinctLayers(lines: ReturnType<typeof distinctLines>, tooltip: unknown[]) {
  return [
    { mark: { type: 'line' as const }, encoding: { strokeDash: lines.strokeDash, strokeWidth: lines.strokeWidth } },
    { mark: { type: 'point' as const, filled: false, strokeWidth: 1.6 }, encoding: { shape: lines.shape, size: lines.size, tooltip } },
  ];
}

/** Groups of lines whose values agree (to 6 significant digits) at every x: they are drawn on top of each other. */
export function coinciding(points: { line: string; x: string | number; value: number }[]): string[][] {
  const trace = new Map<string, string[]>();
  for (const p of points) trace.set(p.line, [...(trace.get(p.line) ?? []), `${p.x}=${p.value.toPrecision(6)}`]);
  const groups = new Map<string, string[]>();
  for (const [line, t] of trace) {
    const k = [...t].sort().join('|');
    groups.set(k, [...(groups.get(k) ?? []), line]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** A figure's subtitle: its lines, plus one naming the lines drawn on top of each other (e.g. "same values, lines on top of each other: fc1 = fc2"). */
export function subtitleWithOverlaps(subtitle: string, points: { line: string; x: string | number; value: number }[]): string[] {
  const same = coinciding(points);
  return same.length ? [subtitle, `same values, lines on top of each other: ${same.map((g) => g.join(' = ')).join('; ')}`] : [subtitle];
}
