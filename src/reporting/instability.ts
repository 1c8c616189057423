import { UserError } from '../util/index.js';
import type { Summary } from './aggregate.js';
import { levelSpec, pointData, type ErrorBars, type PlotOptions, type VlSpec } from './plot.js';

const METRIC = 'instability-barrier';

/**
 * `lth plot --kind instability` (Frankle, Dziugaite, Roy & Carbin 2020, Fig. 3 and 5): the error
 * barrier (%) of the `instability` branch rows against the rewind point k (the dense level of each
 * chain, k read from the chain's name: `rewind` is k = 0, `rewind@500it` is k = 500it), and
 * against % of weights remaining (one line per chain). `s` must summarize METRIC. Without
 * instability rows at level 0 (branches on pruned levels only) the figure is the second panel alone.
 * @throws UserError when the experiment has no instability rows
 */
export function instabilitySpec(s: Summary, opts: PlotOptions = {}): VlSpec {
  const series = s.series.filter((x) => x.branch !== null && s.levels.some((l) => l.cells[x.key]?.[METRIC])).map((x) => x.key);
  if (!series.length) throw new UserError(`no instability rows in ${s.experiment}: add a branch {"kind": "instability"} to its spec and lth run it`);
  const errorBars: ErrorBars = opts.errorBars ?? 'std';
  const dense = pointData(s, METRIC, errorBars, series)
    .filter((d) => d.level === 0)
    .map((d) => ({ ...d, k: d.series.split(':')[0].split('@')[1] ?? '0' }));
  const vsK = {
    width: 300,
    height: 300,
    title: { text: 'Instability of the dense network vs rewind point k', subtitle: `${s.experiment}: error barrier at level 0 of each chain` },
    data: { values: dense },
    encoding: {
      x: { field: 'k', type: 'ordinal' as const, title: 'Rewind point k', sort: null },
      y: { field: 'mean', type: 'quantitative' as const, title: 'Error barrier (%)' },
    },
    layer: [
      { mark: { type: 'line' as const, strokeWidth: 2 } },
      {
        mark: { type: 'point' as const, filled: true, size: 48 },
        encoding: { tooltip: [{ field: 'k' }, { field: 'mean', title: 'barrier (%)', format: '.2f' }] },
      },
    ],
  };
  const vsLevel = levelSpec(s, METRIC, { ...opts, series: opts.series ?? series });
  if (!dense.length) return vsLevel;
  return { hconcat: [vsK, vsLevel], resolve: { scale: { color: 'independent' } }, spacing: 30 };
}
