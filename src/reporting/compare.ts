import { createRequire } from 'node:module';
import type jstatTypes from 'jstat';
import { didYouMean, UserError, makeRng } from '../util/index.js';
import { type LevelRow, type MetricDef, groupRows, loadLevels, metricDef, perTrial, seriesOf } from './aggregate.js';
import { type Db, withDb } from './db.js';
import { type Format, type Tabular, checkFormat, formatPercent, formatValue, renderTabular, toDisplay } from './format.js';

// required, not imported: see src/util/tf.ts
const { jStat } = createRequire(import.meta.url)('jstat') as typeof jstatTypes;

export type CompareMethod = 't' | 'bootstrap';
export type Verdict = 'better' | 'worse' | 'no difference' | 'too few pairs';

export interface CompareOptions {
  /** metric id (default es-accuracy) */
  metric?: string;
  /** confidence level of the interval (default 0.95) */
  confidence?: number;
  /** paired t interval (default) or percentile bootstrap of the paired differences */
  method?: CompareMethod;
  /** bootstrap resamples (default 10000) */
  resamples?: number;
  /** bootstrap seed (default 0): the same data and seed give the same interval */
  seed?: number;
}

export interface LevelComparison {
  level: number;
  percentRemaining: number;
  /** each side's own mean % remaining (they differ when one chain is a transferred ticket) */
  percentA: number;
  percentB: number;
  /** trials present in both series (paired by chain seed) */
  n: number;
  /** trials of A or B without a partner (left out) */
  unpaired: number;
  /** means over the paired trials, stored units (accuracy as a fraction) */
  meanA: number | null;
  meanB: number | null;
  /** mean of A − B over pairs, stored units */
  diff: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** two-sided p of the paired t test (null for bootstrap or n < 2) */
  p: number | null;
  /** A compared with B, using the metric's direction (higher accuracy / earlier stop is better) */
  verdict: Verdict;
}

export interface Comparison {
  experiment: string;
  a: string;
  b: string;
  metric: MetricDef;
  method: CompareMethod;
  confidence: number;
  levels: LevelComparison[];
  /** levels where A is significantly better / worse than B */
  better: number[];
  worse: number[];
}

export interface Pair {
  a: number;
  b: number;
}

/** Interval for the mean of the differences d. */
export function pairedInterval(
  d: number[],
  confidence: number,
  method: CompareMethod,
  opts: { resamples?: number; seed?: number } = {},
): { mean: number; low: number; high: number; p: number | null } | null {
  const n = d.length;
  if (n < 2) return null;
  const mean = d.reduce((x, y) => x + y, 0) / n;
  const sd = Math.sqrt(d.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1));
  if (method === 't') {
    // all differences equal: no spread, the interval is the point itself
    if (sd === 0 || sd < 1e-12 * Math.max(1, Math.abs(mean))) return { mean, low: mean, high: mean, p: mean === 0 ? 1 : 0 };
    const se = sd / Math.sqrt(n);
    const q = jStat.studentt.inv(1 - (1 - confidence) / 2, n - 1);
    const t = mean / se;
    const p = 2 * (1 - jStat.studentt.cdf(Math.abs(t), n - 1));
    return { mean, low: mean - q * se, high: mean + q * se, p };
  }
  const rng = makeRng('compare-bootstrap', opts.seed ?? 0);
  const B = opts.resamples ?? 10000;
  const means = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[rng.int(n)];
    means[i] = s / n;
  }
  means.sort();
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => means[Math.min(B - 1, Math.max(0, Math.floor(q * B)))];
  return { mean, low: at(alpha), high: at(1 - alpha), p: null };
}

/** Resolve "strategy" or "strategy:branch" against the series the experiment has. */
function resolveSeries(rows: LevelRow[], key: string, experiment: string): string {
  const keys = seriesOf(rows).map((s) => s.key);
  if (keys.includes(key)) return key;
  if (!keys.length) throw new UserError(`experiment "${experiment}" has no finished levels yet — run \`lth run\` on its spec, or check \`lth status\``);
  throw new UserError(
    `experiment "${experiment}" has no strategy "${key}"${didYouMean(key, keys)} — choose from: ${keys.join(', ')} (a branch is written strategy:branch)`,
  );
}

/** Paired comparison of two series of an experiment, level by level, from `levels` rows. */
export function compareRows(rows: LevelRow[], experiment: string, a: string, b: string, opts: CompareOptions = {}): Comparison {
  const metric = metricDef(opts.metric ?? 'es-accuracy');
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new UserError(`--confidence must be between 0 and 1 (got ${confidence}), e.g. 0.95`);
  const method = opts.method ?? 't';
  if (method !== 't' && method !== 'bootstrap') throw new UserError(`unknown method "${method}" — choose t or bootstrap`);
  const ka = resolveSeries(rows, a, experiment);
  const kb = resolveSeries(rows, b, experiment);
  if (ka === kb) throw new UserError(`compare needs two different strategies (got "${a}" twice)`);
  const grouped = groupRows(rows);
  const levelsA = grouped.get(ka) ?? new Map<number, LevelRow[]>();
  const levelsB = grouped.get(kb) ?? new Map<number, LevelRow[]>();
  // levels both series reached (a branch has no level 0; an unfinished chain may stop early)
  const levelNumbers = [...levelsA.keys()].filter((l) => levelsB.has(l)).sort((x, y) => x - y);
  const pairKey = (trial: number, seed: number | null) => (seed === null ? `trial ${trial}` : `seed ${seed}`);
  const levels: LevelComparison[] = levelNumbers.map((level) => {
    const ra = levelsA.get(level) ?? [];
    const rb = levelsB.get(level) ?? [];
    const all = [...ra, ...rb];
    const meanPercent = (rs: typeof ra) => rs.reduce((s, r) => s + r.percent_remaining, 0) / Math.max(1, rs.length);
    const percentRemaining = meanPercent(all);
    const va = new Map([...perTrial(ra, metric)].map(([t, v]) => [pairKey(t, v.seed), v.value]));
    const vb = new Map([...perTrial(rb, metric)].map(([t, v]) => [pairKey(t, v.seed), v.value]));
    const pairs: Pair[] = [...va.keys()].filter((k) => vb.has(k)).map((k) => ({ a: va.get(k)!, b: vb.get(k)! }));
    const unpaired = va.size + vb.size - 2 * pairs.length;
    const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
    const ci = pairedInterval(
      pairs.map((p) => p.a - p.b),
      confidence,
      method,
      opts,
    );
    let verdict: Verdict = 'too few pairs';
    if (ci) {
      const significant = ci.low > 0 || ci.high < 0;
      const aHigher = ci.mean > 0;
      verdict = !significant ? 'no difference' : aHigher === metric.higherIsBetter ? 'better' : 'worse';
    }
    return {
      level,
      percentRemaining,
      percentA: meanPercent(ra),
      percentB: meanPercent(rb),
      n: pairs.length,
      unpaired,
      meanA: mean(pairs.map((p) => p.a)),
      meanB: mean(pairs.map((p) => p.b)),
      diff: ci ? ci.mean : pairs.length === 1 ? pairs[0].a - pairs[0].b : null,
      ciLow: ci?.low ?? null,
      ciHigh: ci?.high ?? null,
      p: ci?.p ?? null,
      verdict,
    };
  });
  return {
    experiment,
    a: ka,
    b: kb,
    metric,
    method,
    confidence,
    levels,
    better: levels.filter((l) => l.verdict === 'better').map((l) => l.level),
    worse: levels.filter((l) => l.verdict === 'worse').map((l) => l.level),
  };
}

/** `lth compare`: load an experiment and compare strategies A and B. */
export function compareStrategies(db: Db | string, experiment: string, a: string, b: string, opts: CompareOptions = {}): Comparison {
  return withDb(db, (h) => compareRows(loadLevels(h, experiment), experiment, a, b, opts));
}

function fmtP(p: number | null): string {
  if (p === null) return '';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function levelList(c: Comparison, levels: number[]): string {
  if (!levels.length) return 'none';
  return levels.map((l) => `${l} (${formatPercent(c.levels.find((x) => x.level === l)!.percentRemaining)}%)`).join(', ');
}

export function comparisonCaption(c: Comparison): string[] {
  const pct = Math.round(c.confidence * 1000) / 10;
  const how = c.method === 't' ? `paired t interval` : `percentile bootstrap of the paired differences`;
  const dir = c.metric.higherIsBetter ? 'higher is better' : 'lower is better';
  return [
    `Experiment ${c.experiment}: ${c.a} − ${c.b}, ${c.metric.label} (${dir}); trials paired by seed; ${pct}% ${how}; per level, not adjusted for multiple levels.`,
    ...(c.levels.every((l) => l.verdict === 'too few pairs')
      ? [`no level has two or more paired trials, so none can be tested: run the experiment with more trials (\`trials\` in the spec)`]
      : [`${c.a} significantly better at levels: ${levelList(c, c.better)}`, `${c.a} significantly worse at levels: ${levelList(c, c.worse)}`]),
  ];
}

/** The comparison as a table in display units (accuracy in %). */
export function comparisonTable(c: Comparison, machine = false): Tabular {
  const u = c.metric.unit;
  const pct = Math.round(c.confidence * 1000) / 10;
  const show = (v: number | null, signed = false) => {
    if (v === null) return machine ? null : '';
    const d = toDisplay(u, v);
    if (machine) return Number(d.toFixed(6));
    // differences of iterations keep one decimal: a mean of integer differences
    const s = u === 'iteration' ? d.toFixed(1) : formatValue(u, d);
    return signed && d > 0 ? `+${s}` : s;
  };
  const columns = machine
    ? ['level', 'percent_remaining', 'n_pairs', 'unpaired', `mean_${c.a}`, `mean_${c.b}`, 'diff', 'ci_low', 'ci_high', 'p', 'verdict']
    : ['Level', '% remaining', 'pairs', `${c.a}`, `${c.b}`, `${c.a} − ${c.b}`, `${pct}% CI`, 'p', `${c.a} is`];
  const rows = c.levels.map((l) =>
    machine
      ? [
          l.level,
          Number(l.percentRemaining.toFixed(4)),
          l.n,
          l.unpaired,
          show(l.meanA),
          show(l.meanB),
          show(l.diff),
          show(l.ciLow),
          show(l.ciHigh),
          l.p,
          l.verdict,
        ]
      : [
          l.level === 0 ? '0 (dense)' : String(l.level),
          // a level of each chain at its own sparsity: both, not their mean
          formatPercent(l.percentA) === formatPercent(l.percentB)
            ? formatPercent(l.percentRemaining)
            : `${formatPercent(l.percentA)} vs ${formatPercent(l.percentB)}`,
          l.unpaired ? `${l.n} (+${l.unpaired} unpaired)` : String(l.n),
          show(l.meanA),
          show(l.meanB),
          show(l.diff, true),
          l.ciLow === null ? '' : `[${show(l.ciLow, true)}, ${show(l.ciHigh, true)}]`,
          fmtP(l.p),
          l.verdict,
        ],
  );
  return { columns, rows, caption: comparisonCaption(c) };
}

export function renderComparison(c: Comparison, format: Format = 'table'): string {
  checkFormat(format);
  if (format === 'json') {
    const t = comparisonTable(c, true);
    return (
      JSON.stringify(
        {
          experiment: c.experiment,
          a: c.a,
          b: c.b,
          metric: c.metric.id,
          unit: c.metric.unit === 'accuracy' ? 'percent' : c.metric.unit,
          higher_is_better: c.metric.higherIsBetter,
          method: c.method,
          confidence: c.confidence,
          pairing: 'seed',
          better_levels: c.better,
          worse_levels: c.worse,
          levels: t.rows.map((r) => Object.fromEntries(t.columns.map((col, i) => [col, r[i]]))),
        },
        null,
        2,
      ) + '\n'
    );
  }
  if (format === 'csv') return renderTabular(comparisonTable(c, true), 'csv');
  const t = comparisonTable(c);
  if (format === 'table') {
    // summary lines after the table, where the eye lands
    const [head, ...rest] = t.caption ?? [];
    return renderTabular({ ...t, caption: [head] }, 'table') + rest.join('\n') + '\n';
  }
  return renderTabular(t, format);
}
