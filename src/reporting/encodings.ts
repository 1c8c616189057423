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
const DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [3, 5], [10, 2, 2, 2, 2, 2]];
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down', 'triangle-right'];

/**
 * Colour, dash and point shape of one nominal field, each with the given domain (so that hiding
 * one line never reassigns the others). Lines with equal values stay distinguishable: the dashes
 * interleave and the shapes differ where the points coincide.
 */
export function distinctLines(field: string, title: string, domain: string[], colorScale: Record<string, unknown> = {}) {
  const cycle = <T>(xs: T[]) => domain.map((_, i) => xs[i % xs.length]);
  return {
    color: { field, type: 'nominal' as const, title, sort: null, scale: { domain, ...colorScale } },
    strokeDash: { field, type: 'nominal' as const, title, sort: null, scale: { domain, range: cycle(DASHES) } },
    shape: { field, type: 'nominal' as const, title, sort: null, scale: { domain, range: cycle(SHAPES) } },
  };
}
