/**
 * The dashboard's front end: a few pages over the JSON API, figures through vega-embed.
 * Everything from the database enters the page as text nodes or Vega data (never as HTML),
 * so names such as `<script>` show as written.
 */
import embed, { type Result } from 'vega-embed';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API payloads, shaped (and typed) by src/ui/data.ts on the server
type Json = Record<string, any>;

// ---------- DOM helpers ----------

type Child = Node | string | number | null | undefined | false;
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

const main = () => document.getElementById('main')!;
const enc = encodeURIComponent;

async function api(path: string, init?: RequestInit): Promise<Json> {
  const r = await fetch(path, init);
  const body = (await r.json().catch(() => ({ error: `HTTP ${r.status}` }))) as Json;
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body;
}

function table(t: { columns: string[]; rows: unknown[][] }, id?: string): HTMLElement {
  return h(
    'div',
    { class: 'tablewrap' },
    h(
      'table',
      id ? { id } : {},
      h('thead', {}, h('tr', {}, ...t.columns.map((c) => h('th', {}, c)))),
      h('tbody', {}, ...t.rows.map((r) => h('tr', {}, ...r.map((v) => h('td', {}, v === null || v === undefined ? '' : String(v)))))),
    ),
  );
}

function fmtDuration(s: number | null): string {
  if (s === null) return '';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const pct = (p: number) => (p < 1 ? p.toFixed(2) : p.toFixed(1));

// ---------- figures ----------

const views = new Map<string, Result>();

/** Embed a Vega-Lite spec (SVG renderer, so figures are inspectable; tooltips from vega-embed). */
async function figure(key: string, el: HTMLElement, spec: Json | null): Promise<Result | null> {
  views.get(key)?.finalize();
  views.delete(key);
  el.replaceChildren();
  if (!spec) return null;
  const full = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif', title: { anchor: 'start', subtitleColor: '#555' } },
    ...spec,
  };
  const res = await embed(el, full as never, { renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } });
  views.set(key, res);
  return res;
}

function finalizeAll(): void {
  for (const v of views.values()) v.finalize();
  views.clear();
}

// ---------- pages ----------

/** The experiments list's columns: header, the text shown, and the key it sorts by. */
const EXPERIMENT_COLUMNS: { head: string; text: (e: Json) => string; key?: (e: Json) => string | number }[] = [
  { head: 'experiment', text: (e) => e.name },
  { head: 'status', text: (e) => e.status },
  { head: 'progress', text: (e) => (e.planned ? `${e.stored}/${e.planned}` : String(e.stored)), key: (e) => (e.planned ? e.stored / e.planned : 0) },
  { head: 'model', text: (e) => e.model ?? '' },
  { head: 'data', text: (e) => e.dataset ?? '' },
  { head: 'granularity', text: (e) => e.granularity ?? '' },
  { head: 'criterion', text: (e) => (e.criteria as string[]).join(', ') },
  { head: 'chains', text: (e) => (e.strategies as string[]).join(', ') },
  { head: 'during training', text: (e) => (e.during as string[]).join(', ') },
  { head: 'trials', text: (e) => String(e.trials ?? ''), key: (e) => e.trials ?? -1 },
  { head: 'backend', text: (e) => e.backend ?? '' },
  { head: 'ETA', text: (e) => (e.status === 'complete' ? '' : fmtDuration(e.etaSeconds)), key: (e) => (e.status === 'complete' ? -1 : (e.etaSeconds ?? -1)) },
  {
    head: 'last level',
    text: (e) =>
      e.last
        ? `${e.last.strategy}${e.last.branch ? `:${e.last.branch}` : ''} · trial ${e.last.trial} · level ${e.last.level} (${pct(e.last.percentRemaining)}%)${e.last.esAccuracy === null ? '' : ` · test acc at early stop ${(100 * e.last.esAccuracy).toFixed(2)}%`}`
        : '',
    key: (e) => e.last?.at ?? '',
  },
];

/** Columns of lists of names, wrapped so that the table fits the page. */
const WRAPPED = new Set(['chains', 'during training', 'criterion', 'last level']);

/** Sort column, direction and filter text of the list: kept across live refreshes. */
const listView = { sort: 0, descending: false, filter: '' };

async function experimentsPage(): Promise<HTMLElement> {
  const { experiments } = (await api('/api/experiments')) as { experiments: Json[] };
  const tbody = h('tbody', {});
  const count = h('span', { class: 'muted', id: 'experiments-count' });
  const heads = EXPERIMENT_COLUMNS.map((c, i) =>
    h(
      'th',
      {
        class: 'sortable',
        'data-column': c.head,
        onclick: () => {
          listView.descending = listView.sort === i ? !listView.descending : false;
          listView.sort = i;
          fill();
        },
      },
      c.head,
    ),
  );
  const fill = () => {
    const col = EXPERIMENT_COLUMNS[listView.sort];
    const key = col.key ?? col.text;
    const words = listView.filter.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = experiments
      .filter((e) => {
        const text = EXPERIMENT_COLUMNS.map((c) => c.text(e))
          .join(' ')
          .toLowerCase();
        return words.every((w) => text.includes(w));
      })
      .sort((a, b) => {
        const x = key(a);
        const y = key(b);
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return listView.descending ? -c : c;
      });
    heads.forEach((th, i) => th.setAttribute('aria-sort', i === listView.sort ? (listView.descending ? 'descending' : 'ascending') : 'none'));
    tbody.replaceChildren(
      ...shown.map((e) =>
        h(
          'tr',
          { 'data-experiment': e.name, 'data-stored': String(e.stored), 'data-status': e.status },
          ...EXPERIMENT_COLUMNS.map((c) => {
            if (c.head === 'experiment') return h('td', { class: 'name' }, h('a', { href: `#/e/${enc(e.name)}` }, e.name));
            if (c.head === 'status') return h('td', {}, h('span', { class: `status ${e.status}` }, e.status));
            if (c.head === 'progress')
              return h(
                'td',
                {},
                e.planned ? h('progress', { max: String(e.planned), value: String(Math.min(e.stored, e.planned)) }) : null,
                ' ',
                h('span', { class: 'stored' }, c.text(e)),
              );
            return h('td', WRAPPED.has(c.head) ? { class: 'wrap' } : {}, c.text(e));
          }),
        ),
      ),
    );
    count.textContent = words.length
      ? `${shown.length} of ${experiments.length} shown`
      : `${experiments.length} experiment${experiments.length === 1 ? '' : 's'}`;
  };
  const filter = h('input', {
    id: 'experiments-filter',
    type: 'search',
    placeholder: 'filter: words in any column, e.g. lenet neuron',
    oninput: (e: Event) => {
      listView.filter = (e.target as HTMLInputElement).value;
      fill();
    },
  });
  filter.value = listView.filter;
  fill();
  return h(
    'section',
    {},
    h('h1', {}, 'Experiments'),
    h(
      'p',
      { class: 'muted' },
      "Status and progress from each spec's plan; ETA assumes the remaining levels take the mean stored wall time, one at a time. Click a column to sort; the page follows the database live.",
    ),
    experiments.length
      ? h(
          'div',
          {},
          h('div', { class: 'controls' }, filter, ' ', count),
          h('div', { class: 'tablewrap' }, h('table', { id: 'experiments' }, h('thead', {}, h('tr', {}, ...heads)), tbody)),
        )
      : h('p', {}, 'No experiments yet: run one with ', h('code', {}, 'lth run experiments/quickstart.json'), '.'),
  );
}

function tabs(name: string, active: string): HTMLElement {
  const t = (label: string, href: string, key: string) => h('a', { href, class: key === active ? 'active' : '' }, label);
  return h(
    'p',
    { class: 'tabs' },
    t('Overview', `#/e/${enc(name)}`, 'overview'),
    t('Compare', `#/e/${enc(name)}/compare`, 'compare'),
    t('Ticket anatomy', `#/e/${enc(name)}/anatomy`, 'anatomy'),
    t('Analyses', `#/e/${enc(name)}/analyses`, 'analyses'),
  );
}

/** Strategy toggles survive live refreshes; per experiment. */
const hidden = new Map<string, Set<string>>();
const chosenCurveLevels = new Map<string, number[]>();
let errorBars: 'std' | 'minmax' | 'none' = 'std';

async function experimentPage(name: string): Promise<HTMLElement> {
  const p = await api(`/api/experiments/${enc(name)}?errorBars=${errorBars}`);
  const off = hidden.get(name) ?? new Set<string>();
  hidden.set(name, off);
  const figAcc = h('div', { id: 'fig-accuracy', class: 'figure' });
  const figEs = h('div', { id: 'fig-early-stop', class: 'figure' });
  const figCurves = h('div', { id: 'fig-curves', class: 'figure' });
  const applyHidden = async () => {
    for (const key of ['accuracy', 'early-stop']) {
      const v = views.get(key)?.view;
      if (v) await v.signal('hidden', [...off]).runAsync();
    }
  };
  const toggles = h('div', { class: 'controls', id: 'series-toggles' }, h('strong', {}, 'Strategies:'));
  for (const s of p.series as string[]) {
    const box = h('input', {
      type: 'checkbox',
      'data-series': s,
      onchange: (e: Event) => {
        if ((e.target as HTMLInputElement).checked) off.delete(s);
        else off.add(s);
        void applyHidden();
      },
    });
    box.checked = !off.has(s);
    toggles.append(h('label', {}, box, h('span', { class: 'swatch', 'data-swatch': s }), s));
  }
  const barsSel = h(
    'select',
    {
      id: 'error-bars',
      onchange: (e: Event) => {
        errorBars = (e.target as HTMLSelectElement).value as typeof errorBars;
        void render();
      },
    },
    ...(['std', 'minmax', 'none'] as const).map((v) => {
      const o = h('option', { value: v }, v === 'std' ? '±1 std' : v === 'minmax' ? 'min–max' : 'none');
      o.selected = v === errorBars;
      return o;
    }),
  );
  toggles.append(h('label', {}, 'error bars: ', barsSel));

  const levelsChosen = (chosenCurveLevels.get(name) ?? (p.defaultCurveLevels as number[])).filter((l) => (p.levels as Json[]).some((x) => x.level === l));
  const levelBoxes = h('div', { class: 'controls', id: 'curve-levels' }, h('strong', {}, 'Levels:'));
  const drawCurves = async () => {
    const ls = [...levelBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => Number(i.value));
    chosenCurveLevels.set(name, ls);
    if (!ls.length) return void figCurves.replaceChildren(h('p', { class: 'muted' }, 'Pick levels to draw their learning curves.'));
    const { figure: spec } = await api(`/api/experiments/${enc(name)}/curves?levels=${ls.join(',')}`);
    await figure('curves', figCurves, spec);
  };
  for (const l of p.levels as Json[]) {
    const box = h('input', { type: 'checkbox', value: String(l.level), onchange: () => void drawCurves() });
    box.checked = levelsChosen.includes(l.level);
    levelBoxes.append(h('label', {}, box, `${l.level} (${pct(l.percentRemaining)}%)`));
  }

  const section = h(
    'section',
    {},
    h('h1', {}, name),
    tabs(name, 'overview'),
    h(
      'p',
      { class: 'muted' },
      `spec ${String(p.specHash).slice(0, 12)} · ${p.trials} trial${p.trials === 1 ? '' : 's'} · ${(p.levels as Json[]).length} levels stored`,
    ),
    h('h2', {}, 'Accuracy and early stopping'),
    toggles,
    h('div', { class: 'row' }, figAcc, figEs),
    h('h2', {}, 'Learning curves'),
    levelBoxes,
    figCurves,
    h('h2', {}, 'Report'),
    ...(p.caption as string[]).map((c) => h('p', { class: 'caption' }, c)),
    ...(p.tables as Json[]).map((t, i) => h('div', {}, h('h3', {}, t.caption?.[0] ?? ''), table(t as never, `report-${i}`))),
  );
  main().replaceChildren(section);
  const acc = await figure('accuracy', figAcc, p.figures.accuracy);
  await figure('early-stop', figEs, p.figures.earlyStop);
  await applyHidden();
  // colour the toggles like the lines
  const color = acc?.view.scale('color') as ((s: string) => string) | undefined;
  if (color) for (const sw of toggles.querySelectorAll<HTMLElement>('[data-swatch]')) sw.style.background = color(sw.dataset.swatch!);
  await drawCurves();
  return section;
}

function select(id: string, options: { value: string; label: string }[], value: string, onchange: () => void): HTMLSelectElement {
  const s = h('select', { id, onchange }, ...options.map((o) => h('option', { value: o.value }, o.label)));
  s.value = value;
  return s;
}

async function comparePageView(name: string, params: URLSearchParams): Promise<HTMLElement> {
  const [p, meta] = await Promise.all([api(`/api/experiments/${enc(name)}`), api('/api/experiments')]);
  const series = p.series as string[];
  const a = params.get('a') ?? series[0];
  const b = params.get('b') ?? series.find((s) => s !== a) ?? series[0];
  const metric = params.get('metric') ?? 'es-accuracy';
  const confidence = params.get('confidence') ?? '0.95';
  const go = () => {
    const q = new URLSearchParams({ a: selA.value, b: selB.value, metric: selM.value, confidence: selC.value });
    location.hash = `#/e/${enc(name)}/compare?${q}`;
  };
  const opts = series.map((s) => ({ value: s, label: s }));
  const selA = select('compare-a', opts, a, go);
  const selB = select('compare-b', opts, b, go);
  const selM = select(
    'compare-metric',
    (meta.metrics as Json[]).map((m) => ({ value: m.id, label: m.label })),
    metric,
    go,
  );
  const selC = select(
    'compare-confidence',
    ['0.9', '0.95', '0.99'].map((c) => ({ value: c, label: `${Number(c) * 100}%` })),
    confidence,
    go,
  );
  const out = h('div', { id: 'compare-result' });
  const fig = h('div', { id: 'fig-compare', class: 'figure' });
  const section = h(
    'section',
    {},
    h('h1', {}, name),
    tabs(name, 'compare'),
    h('div', { class: 'controls' }, h('label', {}, 'A ', selA), h('label', {}, 'B ', selB), h('label', {}, 'metric ', selM), h('label', {}, 'CI ', selC)),
    fig,
    out,
  );
  main().replaceChildren(section);
  try {
    const c = await api(`/api/experiments/${enc(name)}/compare?${new URLSearchParams({ a, b, metric, confidence })}`);
    out.replaceChildren(...((c.table.caption ?? []) as string[]).map((l) => h('p', { class: 'caption' }, l)), table(c.table, 'compare-table'));
    await figure('compare', fig, c.figure);
  } catch (e) {
    out.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
  }
  return section;
}

async function anatomyPageView(name: string, params: URLSearchParams): Promise<HTMLElement> {
  const q = new URLSearchParams();
  for (const k of ['strategy', 'trial', 'level']) if (params.get(k) !== null) q.set(k, params.get(k)!);
  const p = await api(`/api/experiments/${enc(name)}/anatomy?${q}`);
  const go = () => {
    location.hash = `#/e/${enc(name)}/anatomy?${new URLSearchParams({ strategy: selS.value, trial: selT.value, level: selL.value })}`;
  };
  const selS = select(
    'anatomy-strategy',
    (p.strategies as string[]).map((s) => ({ value: s, label: s })),
    p.strategy,
    go,
  );
  const selT = select(
    'anatomy-trial',
    (p.trials as number[]).map((t) => ({ value: String(t), label: String(t) })),
    String(p.trial),
    go,
  );
  const selL = select(
    'anatomy-level',
    (p.levels as number[]).map((l) => ({ value: String(l), label: String(l) })),
    String(p.level),
    go,
  );
  const figProfile = h('div', { id: 'fig-profile', class: 'figure' });
  const figPixels = h('div', { id: 'fig-pixels', class: 'figure' });
  const figMatrices = (p.figures.matrices as Json[]).map((_, i) => h('div', { id: `fig-matrix-${p.matrices[i].kind}`, class: 'figure' }));
  const section = h(
    'section',
    {},
    h('h1', {}, name),
    tabs(name, 'anatomy'),
    h(
      'div',
      { class: 'controls' },
      h('label', {}, 'strategy ', selS),
      h('label', {}, 'trial ', selT),
      h('label', {}, 'level (overlap between strategies / trials) ', selL),
    ),
    h('h2', {}, 'Per-layer sparsity'),
    p.figures.profile ? figProfile : h('p', { class: 'muted' }, 'No per-layer counts stored for this experiment.'),
    h('h2', {}, 'Input connectivity'),
    p.figures.pixels
      ? figPixels
      : h('p', { class: 'muted' }, `Heat maps of input pixels are drawn for LeNet-300-100 on square images (this model: ${p.model}).`),
    h('h2', {}, 'Mask overlap (Jaccard)'),
    h('div', { class: 'row' }, ...figMatrices),
  );
  main().replaceChildren(section);
  await figure('profile', figProfile, p.figures.profile);
  await figure('pixels', figPixels, p.figures.pixels);
  for (let i = 0; i < figMatrices.length; i++) await figure(`matrix-${i}`, figMatrices[i], p.figures.matrices[i]);
  return section;
}

/** The stored tables beyond the levels summary (src/reporting/analyses.ts): one section per view the server lists. */
async function analysesPageView(name: string): Promise<HTMLElement> {
  const p = await api(`/api/experiments/${enc(name)}/analyses`);
  const views = p.views as Json[];
  const stored = views.filter((v) => v.figure);
  const missing = views.filter((v) => !v.figure);
  const figs = stored.map((v) => h('div', { id: `fig-analysis-${v.id}`, class: 'figure' }));
  const section = h(
    'section',
    {},
    h('h1', {}, name),
    tabs(name, 'analyses'),
    h(
      'p',
      { class: 'muted' },
      'Every table the experiment stores beyond the per-level summary, as ',
      h('code', {}, 'lth plot NAME --kind VIEW'),
      ' draws it and ',
      h('code', {}, 'lth report NAME --view VIEW'),
      ' prints it.',
    ),
    ...stored.flatMap((v, i) => [
      h('h2', { id: `analysis-${v.id}` }, v.title),
      figs[i],
      h(
        'details',
        {},
        h('summary', {}, `Table (${v.table.rows.length} rows; ${(v.tables as string[]).join(', ')}) — lth report ${name} --view ${v.id}`),
        ...((v.table.caption ?? []) as string[]).map((c) => h('p', { class: 'caption' }, c)),
        table(v.table, `analysis-table-${v.id}`),
      ),
    ]),
    missing.length
      ? h(
          'div',
          { id: 'analyses-missing' },
          h('h2', {}, 'Not stored for this experiment'),
          h(
            'ul',
            {},
            ...missing.map((v) => h('li', { 'data-view': v.id }, h('strong', {}, v.title), ` (table ${(v.tables as string[]).join(', ')}): ${v.storedBy}.`)),
          ),
        )
      : null,
  );
  main().replaceChildren(section);
  for (let i = 0; i < stored.length; i++) await figure(`analysis-${stored[i].id}`, figs[i], stored[i].figure);
  return section;
}

let lastSql =
  'SELECT experiment, strategy, level, round(percent_remaining, 1) AS pct,\n       round(100 * early_stop_test_accuracy, 2) AS es_acc\n  FROM levels ORDER BY experiment, strategy, level LIMIT 50';

async function queryPageView(): Promise<HTMLElement> {
  const box = h('textarea', { id: 'sql', spellcheck: 'false' });
  box.value = lastSql;
  const out = h('div', { id: 'query-result' });
  const run = async () => {
    lastSql = box.value;
    try {
      const r = await api('/api/query', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql: box.value }) });
      out.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          r.truncated ? `more than ${r.total} rows: the first ${r.total} shown (add a LIMIT or a WHERE)` : `${r.total} row${r.total === 1 ? '' : 's'}`,
        ),
        table(r as never, 'query-table'),
      );
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', id: 'query-error' }, (e as Error).message));
    }
  };
  const ref = await api('/api/schema');
  const examples = h(
    'ul',
    { id: 'query-examples' },
    ...(ref.examples as Json[]).map((x, i) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            class: 'linklike',
            'data-example': String(i),
            onclick: () => {
              box.value = x.sql;
              void run();
            },
          },
          x.title,
        ),
      ),
    ),
  );
  const relations = h(
    'div',
    { id: 'query-relations' },
    ...(ref.relations as Json[]).map((r) =>
      h(
        'details',
        { 'data-relation': r.name, open: r.kind === 'view' },
        h('summary', {}, h('code', {}, r.name), ` ${r.kind === 'view' ? 'view (stable)' : 'table'} · ${r.columns.length} columns`),
        h('p', { class: 'columns' }, ...(r.columns as Json[]).flatMap((c, i) => [i ? ', ' : '', h('code', { title: c.type }, c.name)])),
      ),
    ),
  );
  const section = h(
    'section',
    {},
    h('h1', {}, 'Query'),
    h(
      'p',
      { class: 'muted' },
      'One read-only statement, exactly as ',
      h('code', {}, 'lth query'),
      ' runs it. The views levels and curves are the stable interface; every column is explained in docs/SCHEMA.md.',
    ),
    h(
      'div',
      { class: 'row query' },
      h('div', { class: 'query-main' }, box, h('p', {}, h('button', { id: 'run-query', onclick: () => void run() }, 'Run')), out),
      h('aside', { class: 'query-ref' }, h('h2', {}, 'Examples'), examples, h('h2', {}, 'Views and tables'), relations),
    ),
  );
  main().replaceChildren(section);
  return section;
}

// ---------- routing and live updates ----------

let rendering: Promise<void> | null = null;
let renderedHash = '';
let again = false;

async function renderNow(): Promise<void> {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [pathPart, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  // a malformed escape (#/e/%E0%A4%A) is shown as an error page, never thrown out of the render
  let parts: string[] = [];
  let badAddress = '';
  try {
    parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    badAddress = `malformed address #${hash} — go back to the experiments list`;
  }
  // a live refresh of the same page keeps the reader's place
  const keepScroll = hash === renderedHash ? window.scrollY : 0;
  document.body.dataset.state = 'loading';
  try {
    if (badAddress) throw new Error(badAddress);
    if (parts[0] === 'e' && parts[1] !== undefined) {
      document.title = `${parts[1]} · lth ui`;
      if (parts[2] === 'compare') await comparePageView(parts[1], params);
      else if (parts[2] === 'anatomy') await anatomyPageView(parts[1], params);
      else if (parts[2] === 'analyses') await analysesPageView(parts[1]);
      else await experimentPage(parts[1]);
    } else if (parts[0] === 'query') {
      document.title = 'Query · lth ui';
      finalizeAll();
      if (!document.getElementById('sql')) await queryPageView();
    } else {
      document.title = 'lth ui';
      finalizeAll();
      main().replaceChildren(await experimentsPage());
    }
  } catch (e) {
    main().replaceChildren(h('p', { class: 'error', id: 'page-error' }, (e as Error).message));
  }
  if (keepScroll) window.scrollTo(0, keepScroll);
  renderedHash = hash;
  document.body.dataset.state = 'ready';
}

/** One render at a time; a request during a render runs once more after it. */
function render(): Promise<void> {
  if (rendering) {
    again = true;
    return rendering;
  }
  rendering = (async () => {
    try {
      do {
        again = false;
        await renderNow();
      } while (again);
    } finally {
      rendering = null; // whatever a render throws, the next navigation renders again
    }
  })();
  return rendering;
}

function live(): void {
  const dot = document.getElementById('live')!;
  const es = new EventSource('/api/events');
  es.addEventListener('hello', () => dot.classList.add('on'));
  es.addEventListener('change', (e) => {
    document.body.dataset.version = JSON.parse((e as MessageEvent).data).version;
    // the query page keeps what the user typed and ran; every other page follows the database
    if (!location.hash.startsWith('#/query')) void render();
  });
  es.onerror = () => dot.classList.remove('on');
}

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/query')) document.getElementById('sql')?.remove();
  void render();
});
window.addEventListener('DOMContentLoaded', () => {
  live();
  void render();
});
