import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_METRICS, loadLevels, summarizeExperiment } from './aggregate.js';
import { compareRows, comparisonTable } from './compare.js';
import { type Db, withDb } from './db.js';
import { type Tabular, formatPercent, metricTable, reportCaption } from './format.js';
import { type ErrorBars, type VlSpec, figureSpec, renderSvg } from './plot.js';
import { UserError } from '../util/index.js';
import { STORED_VIEWS } from './analyses.js';

export interface HtmlOptions {
  metrics?: string[];
  errorBars?: ErrorBars;
  /** levels whose learning curves to draw */
  levels?: number[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function htmlTable(t: Tabular, cls = ''): string {
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map((r) => {
      const dense = String(r[0]).includes('dense');
      return `<tr${dense ? ' class="dense"' : ''}>${r.map((v) => `<td>${escapeHtml(v === null ? '' : String(v))}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table class="${cls}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { margin-bottom: .4rem; }
.meta { color: #555; font-size: .9rem; } .caption { color: #444; font-size: .9rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; font-size: .85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25rem .55rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.dense td { background: #fff8e1; font-weight: 600; }
figure { margin: 1rem 0 2rem; } .row { display: flex; flex-wrap: wrap; gap: 0 2rem; } .row figure { flex: 0 1 auto; max-width: 680px; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .9rem; margin-top: .3rem; }
details pre { background: #f7f7f7; padding: .8rem; overflow: auto; font-size: .8rem; }
`;

/** The figure as an <img> with the SVG inlined as a data URI: every figure keeps its own ids and styles. */
async function figure(spec: VlSpec, alt: string, captionText: string, id: string): Promise<string> {
  const svg = await renderSvg(spec);
  const data = Buffer.from(svg, 'utf8').toString('base64');
  return `<figure id="${id}"><img class="figure" alt="${escapeHtml(alt)}" src="data:image/svg+xml;base64,${data}"><figcaption>${escapeHtml(captionText)}</figcaption></figure>`;
}

/** `lth report --html`: one self-contained page (no scripts, no network) with the tables and the figures. */
export async function htmlReport(db: Db | string, experiment: string, opts: HtmlOptions = {}): Promise<string> {
  const work = withDb(db, (h) => {
    const s = summarizeExperiment(h, experiment, opts.metrics?.length ? opts.metrics : DEFAULT_METRICS);
    const meta = h.prepare('SELECT spec_hash, spec_json, code_version, created_at FROM experiments WHERE name = ?').get(experiment) as {
      spec_hash: string;
      spec_json: string;
      code_version: string;
      created_at: string;
    };
    const rows = loadLevels(h, experiment);
    const chains = s.series.filter((x) => x.branch === null);
    // each other series against the first chain strategy (usually the ticket, e.g. rewind)
    const comparisons =
      s.trials >= 2 && chains.length
        ? s.series.filter((x) => x.key !== chains[0].key).map((x) => compareRows(rows, experiment, chains[0].key, x.key, { metric: 'es-accuracy' }))
        : [];
    const specs = {
      accuracy: figureSpec(h, experiment, { kind: 'accuracy', errorBars: opts.errorBars }),
      earlyStop: figureSpec(h, experiment, { kind: 'early-stop', errorBars: opts.errorBars }),
      curves: figureSpec(h, experiment, { kind: 'curves', levels: opts.levels }),
    };
    // the analysis views this experiment stores rows for (src/reporting/analyses.ts)
    const analyses = STORED_VIEWS.flatMap((v) => {
      const r = v.build(h, experiment);
      return r ? [{ view: v, table: r.table, spec: figureSpec(h, experiment, { kind: v.id }) }] : [];
    });
    return { s, meta, comparisons, specs, analyses };
  });
  const { s, meta, comparisons, specs, analyses } = work;
  const bars = opts.errorBars === 'minmax' ? 'min–max over trials' : opts.errorBars === 'none' ? 'not shown' : '±1 sample standard deviation over trials';
  const figures = [
    await figure(
      specs.accuracy,
      'Test accuracy at early stop vs percent of weights remaining',
      `Figure 1. Test accuracy at early stop vs % of weights remaining (log scale, reversed, as in Frankle & Carbin 2019, Fig. 3). Points: mean over ${s.trials} trials; error bars: ${bars}.`,
      'fig-accuracy',
    ),
    await figure(
      specs.earlyStop,
      'Early-stop iteration vs percent of weights remaining',
      `Figure 2. Early-stop iteration (minimum validation loss) vs % of weights remaining. Points: mean over ${s.trials} trials; error bars: ${bars}.`,
      'fig-early-stop',
    ),
    await figure(
      specs.curves,
      'Learning curves: test accuracy vs training iteration',
      'Figure 3. Test accuracy during training, mean over trials at each evaluation, for selected levels (legend: % of weights remaining).',
      'fig-curves',
    ),
  ];
  const analysesHtml: string[] = [];
  for (const [i, a] of analyses.entries())
    analysesHtml.push(
      `<h3>${escapeHtml(a.view.title)}</h3>\n${await figure(a.spec, a.view.title, `Figure ${4 + i}. ${a.table.caption?.[0] ?? a.view.title} (lth report --view ${a.view.id}).`, `fig-${a.view.id}`)}\n<details><summary>Table (${a.table.rows.length} rows)</summary>${htmlTable(a.table, 'analysis')}</details>`,
    );
  const tables = s.metrics.map((m) => `<h3>${escapeHtml(m.label)}</h3>\n${htmlTable(metricTable(s, m), 'report')}`).join('\n');
  const compareHtml = comparisons.length
    ? `<h2>Paired comparisons</h2>
<p class="caption">${escapeHtml(comparisons[0].a)} against each other strategy on test accuracy at early stop: trials paired by seed, 95% paired t interval per level (not adjusted for multiple levels).</p>
${comparisons
  .map((c) => {
    const list = (ls: number[]) => (ls.length ? ls.map((l) => `${formatPercent(c.levels.find((x) => x.level === l)!.percentRemaining)}%`).join(', ') : 'none');
    return `<h3>${escapeHtml(c.a)} vs ${escapeHtml(c.b)}</h3>
<p class="caption">${escapeHtml(c.a)} significantly better at: ${escapeHtml(list(c.better))}; worse at: ${escapeHtml(list(c.worse))}.</p>
${htmlTable(comparisonTable(c), 'compare')}`;
  })
  .join('\n')}`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lth report — ${escapeHtml(experiment)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Lottery-ticket report: ${escapeHtml(experiment)}</h1>
<p class="meta">spec ${escapeHtml(meta.spec_hash)} · code ${escapeHtml(meta.code_version)} · created ${escapeHtml(meta.created_at)} · ${s.trials} trial${s.trials === 1 ? '' : 's'} · strategies: ${escapeHtml(s.series.map((x) => x.key).join(', '))}</p>
<h2>Figures</h2>
<div class="row">
${figures[0]}
${figures[1]}
</div>
${figures[2]}
<h2>Tables</h2>
<p class="caption">${reportCaption(s).map(escapeHtml).join('<br>')}</p>
${tables}
${compareHtml}
${analysesHtml.length ? `<h2>Stored tables</h2>\n${analysesHtml.join('\n')}` : ''}
<h2>Spec</h2>
<details><summary>The resolved spec stored with the experiment</summary><pre>${escapeHtml(prettyJson(meta.spec_json))}</pre></details>
</body>
</html>
`;
}

function prettyJson(s: string): string {
  try {
    return JSON.stringify(JSON.parse(s), null, 2);
  } catch {
    return s;
  }
}

export async function writeHtmlReport(db: Db | string, experiment: string, file: string, opts: HtmlOptions = {}): Promise<string> {
  // An .html name only: a slip of the argument (a CSV, a weights file) must not be overwritten.
  if (!/\.html?$/i.test(file)) throw new UserError(`--html ${file}: the page's file name must end in .html`);
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new UserError(`--html ${file} is a folder: give a file name ending in .html`);
  const html = await htmlReport(db, experiment, opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  // whole or not at all: written next to the target, then renamed over it
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return file;
}
