/**
 * Every table lth stores reaches the user: the analysis views (units alive per layer, mask
 * updates, early-bird's mask distances, compute, activation sparsity) through `lth report
 * --view`, `lth plot --kind` and the dashboard's Analyses page; the experiments list (what each
 * experiment is, sorting, filtering); the query page's reference; distinguishable lines where
 * layers share a rate. Expected numbers are computed here from the constructed rows. In
 * Chromium each view is opened and photographed (LTH_UI_SCREENSHOTS=DIR writes the PNGs there,
 * e.g. docs/; otherwise to a temporary folder).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { STORED_VIEWS, STORED_VIEW_IDS } from '../../src/reporting/analyses.js';
import { ANALYSIS_NAMES } from '../../src/analyses/registry.js';
import { SCHEMA_SQL } from '../../src/storage/schema.js';
import { QUERY_EXAMPLES } from '../../src/reporting/schema-info.js';
import { runQuery } from '../../src/reporting/query.js';
import { lthAsync as lth, ROOT } from '../helpers/common.js';
import { createDb, insertExperiment, lenetFixture, tempDir } from '../helpers/fixture.js';
import { decodePng } from '../helpers/png.js';
import { CHROMIUM, haveChromium, openPage, type UiProcess, startServer, statusOf, stopServer } from '../helpers/ui-server.js';

// ---------- the constructed rows ----------

const DYN_TRIALS = 2;
const DYN_LEVELS = 2;
const STEPS = [100, 200, 300];
const LAYERS = ['fc1', 'fc2'];
/** mask_updates of set / rigl at (trial, level, step, layer) */
function update(strategy: string, trial: number, level: number, step: number, layer: string) {
  const dropped = 10 * level + step / 100 + trial + (layer === 'fc2' ? 5 : 0) + (strategy === 'rigl' ? 20 : 0);
  return { dropped, regrown: dropped, remaining: 1000 - 100 * level + (layer === 'fc2' ? -500 : 0) };
}
const EB_ITERATIONS = [50, 100, 150, 200, 250, 300];
const ebDistance = (trial: number, level: number, i: number) => 0.5 / (1 + i) + 0.01 * trial + 0.05 * level;
/** the dense step early-bird took the mask at: one of EB_ITERATIONS */
const detection = (trial: number, level: number) => 100 + 50 * (trial + level);
const macs = (strategy: string, level: number) => 1e9 * (level + 1) * (strategy === 'rigl' ? 1.2 : 1);
const zeros = (level: number, layer: string) => 0.3 + 0.05 * level + (layer === 'fc2' ? 0.1 : 0);

const UNIT_LEVELS = 3;
/** units alive of a hidden layer at a level of the neuron-pruning experiment */
const alive = (total: number, level: number) => Math.round(total * 0.8 ** level);

/** instability curve of units-exp's rewind level L: ends at ERR0(L), a bump of BARRIER(L) in the middle */
const ERR0 = (level: number) => 0.1 + 0.01 * level;
const BARRIER = (level: number) => 0.06 / level;
const instabilityErrors = (level: number) => [0, 0.5, 1, 0.5, 0].map((f) => ERR0(level) + f * BARRIER(level));
/** noise_robustness and layer_reset accuracies of a units-exp chain level */
const NOISE: [string, number][] = [
  ['gaussian', 0.5],
  ['gaussian', 1],
  ['flip', 0.1],
];
const noiseAcc = (strategy: string, level: number, amount: number) => 0.85 - 0.2 * amount - 0.01 * level - (strategy === 'random-reinit' ? 0.04 * level : 0);
const RESET_LAYERS = ['fc1', 'fc2', 'output'];
const resetAcc = (strategy: string, level: number, layer: number, mode: string) =>
  0.3 + 0.1 * layer + (mode === 'reinit' ? 0.2 : 0) - 0.02 * level - (strategy === 'random-reinit' ? 0.05 * level : 0);

function buildDb(file: string): void {
  const db = createDb(file);
  insertExperiment(db, {
    name: 'dyn',
    strategies: ['set', 'rigl', 'early-bird'],
    trials: DYN_TRIALS,
    levels: DYN_LEVELS,
    values: (_s, _b, trial, level) => ({ esAcc: 0.9 - 0.01 * level + 0.001 * trial, esIter: 100, finalAcc: 0.89 - 0.01 * level }),
  });
  insertExperiment(db, {
    name: 'units-exp',
    strategies: ['rewind', 'random-reinit'],
    trials: 1,
    levels: UNIT_LEVELS,
    branches: [{ strategy: 'rewind', branch: 'instability', replicates: 1 }],
    values: (_s, _b, _t, level) => ({ esAcc: 0.88 - 0.005 * level, esIter: 100, finalAcc: 0.87 }),
  });
  insertExperiment(db, { ...lenetFixture('plain', 2, 1) });
  const spec = (name: string, extra: object) =>
    db.prepare('UPDATE experiments SET spec_json = ? WHERE name = ?').run(JSON.stringify({ name, trials: 1, ...extra }), name);
  spec('dyn', {
    trials: DYN_TRIALS,
    model: { name: 'lenet-300-100' },
    data: { dataset: 'fashion-mnist' },
    pruning: { levels: DYN_LEVELS, granularity: 'weight', criterion: 'large_final' },
    strategies: [
      { name: 'set', criterion: null, during: { kind: 'dynamic', regrow: 'random' } },
      { name: 'rigl', criterion: null, during: { kind: 'dynamic', regrow: 'gradient' } },
      { name: 'early-bird', criterion: null, during: { kind: 'early-bird' } },
    ],
  });
  spec('units-exp', {
    model: { name: 'lenet-300-100' },
    data: { dataset: 'mnist' },
    pruning: { levels: UNIT_LEVELS, granularity: 'neuron', criterion: 'large_final', unitCriterion: 'l1_norm' },
    strategies: [{ name: 'rewind' }, { name: 'random-reinit' }],
    branches: [{ kind: 'instability', levels: 'all', chains: ['rewind'] }],
  });
  spec('plain', {
    model: { name: 'conv-2' },
    data: { dataset: 'cifar10' },
    pruning: { levels: 2, criterion: 'large_final' },
    strategies: [{ name: 'rewind' }, { name: 'random-reinit' }, { name: 'fine-tune' }],
    branches: [{ kind: 'random-mask', count: 2, levels: 'all', chains: ['rewind'] }],
  });
  const results = (name: string) =>
    db
      .prepare('SELECT r.id, r.strategy, r.branch, r.trial, r.level FROM results r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ?')
      .all(name) as {
      id: number;
      strategy: string;
      branch: string;
      trial: number;
      level: number;
    }[];
  const upd = db.prepare('INSERT INTO mask_updates(result_id, step, layer, dropped, regrown, remaining) VALUES (?, ?, ?, ?, ?, ?)');
  const dist = db.prepare('INSERT INTO mask_distances(result_id, iteration, distance) VALUES (?, ?, ?)');
  const comp = db.prepare('INSERT INTO compute(result_id, total_iterations, total_multiply_adds, detection_iteration) VALUES (?, ?, ?, ?)');
  const act = db.prepare('INSERT INTO activation_sparsity(result_id, layer, zero_fraction) VALUES (?, ?, ?)');
  for (const r of results('dyn')) {
    comp.run(r.id, 1000 * (r.level + 1), macs(r.strategy, r.level), r.strategy === 'early-bird' && r.level > 0 ? detection(r.trial, r.level) : null);
    for (const layer of LAYERS) act.run(r.id, layer, zeros(r.level, layer));
    if ((r.strategy === 'set' || r.strategy === 'rigl') && r.level > 0)
      for (const step of STEPS)
        for (const layer of LAYERS) {
          const u = update(r.strategy, r.trial, r.level, step, layer);
          upd.run(r.id, step, layer, u.dropped, u.regrown, u.remaining);
        }
    if (r.strategy === 'early-bird' && r.level > 0) EB_ITERATIONS.forEach((it, i) => dist.run(r.id, it, ebDistance(r.trial, r.level, i)));
  }
  const uc = db.prepare('INSERT INTO unit_counts(result_id, layer, total, remaining) VALUES (?, ?, ?, ?)');
  const ls = db.prepare('INSERT INTO layer_sparsity(result_id, layer, total, remaining) VALUES (?, ?, ?, ?)');
  const inst = db.prepare('INSERT INTO instability(result_id, point, alpha, test_loss, test_error) VALUES (?, ?, ?, ?, ?)');
  const noise = db.prepare('INSERT INTO noise_robustness(result_id, noise, amount, test_loss, test_accuracy) VALUES (?, ?, ?, ?, ?)');
  const reset = db.prepare('INSERT INTO layer_reset(result_id, layer, mode, test_loss, test_accuracy) VALUES (?, ?, ?, ?, ?)');
  for (const r of results('units-exp')) {
    if (r.branch !== '') {
      instabilityErrors(r.level).forEach((e, i, all) => inst.run(r.id, i, i / (all.length - 1), 2 * e, e));
      continue;
    }
    for (const [kind, amount] of NOISE) noise.run(r.id, kind, amount, 1, noiseAcc(r.strategy, r.level, amount));
    RESET_LAYERS.forEach((layer, i) => ['reinit', 'rerandomize'].forEach((mode) => reset.run(r.id, layer, mode, 1, resetAcc(r.strategy, r.level, i, mode))));
    uc.run(r.id, 'fc1', 300, alive(300, r.level));
    uc.run(r.id, 'fc2', 100, alive(100, r.level));
    // fc1 and fc2 at the same rate: their per-layer sparsity lines coincide
    ls.run(r.id, 'fc1', 1000, Math.round(1000 * 0.8 ** r.level));
    ls.run(r.id, 'fc2', 500, Math.round(500 * 0.8 ** r.level));
    ls.run(r.id, 'output', 1000, Math.round(1000 * 0.9 ** r.level));
  }
  db.close();
}

// ---------- helpers ----------

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The view's CSV as row objects. */
function csvRows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

describe('analysis views', () => {
  let dir = '';
  let db = '';
  let shots = '';
  let server: UiProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;

  before(async () => {
    dir = tempDir('lth-ui-analyses-');
    db = path.join(dir, 'lth.db');
    shots = process.env.LTH_UI_SCREENSHOTS ? path.resolve(process.env.LTH_UI_SCREENSHOTS) : dir;
    buildDb(db);
    let opened: { browser: Browser; page: Page } | undefined;
    [server, opened] = await Promise.all([startServer(db), haveChromium ? openPage() : undefined]);
    ({ browser, page } = opened ?? {});
  });
  after(async () => {
    await browser?.close();
    await stopServer(server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const api = async (p: string) => {
    const r = await fetch(new URL(p, server!.url));
    assert.equal(r.status, 200, p);
    return (await r.json()) as Record<string, unknown>;
  };

  it('lth report --view mask-updates: dropped and regrown per update, summed over layers, mean over trials', async () => {
    const r = await lth(['report', 'dyn', '--db', db, '--view', 'mask-updates', '--format', 'csv']);
    assert.equal(r.status, 0, r.stderr);
    const rows = csvRows(r.stdout);
    assert.equal(rows.length, 2 * DYN_LEVELS * STEPS.length);
    for (const s of ['set', 'rigl'])
      for (let level = 1; level <= DYN_LEVELS; level++)
        for (const step of STEPS) {
          const row = rows.find((x) => x.strategy === s && Number(x.level) === level && Number(x.step) === step)!;
          const perTrial = (k: 'dropped' | 'regrown' | 'remaining') =>
            mean([...Array(DYN_TRIALS).keys()].map((t) => LAYERS.reduce((a, l) => a + update(s, t, level, step, l)[k], 0)));
          assert.equal(Number(row.dropped), perTrial('dropped'), `${s} L${level} step ${step}`);
          assert.equal(Number(row.regrown), perTrial('regrown'));
          assert.equal(Number(row['kept after']), perTrial('remaining'));
        }
  });

  it('lth report --view units, early-bird, activations and compute give the constructed numbers', async () => {
    const [unitsCsv, ebCsv, actCsv, compCsv] = await Promise.all(
      [
        ['units-exp', 'units'],
        ['dyn', 'early-bird'],
        ['dyn', 'activations'],
        ['dyn', 'compute'],
      ].map(([exp, view]) => lth(['report', exp!, '--db', db, '--view', view!, '--format', 'csv'])),
    );
    const units = csvRows(unitsCsv!.stdout);
    // level 0 (shared) under both chains, then levels 1..3 of each, two layers each
    assert.equal(units.length, 2 * (UNIT_LEVELS + 1) * 2);
    for (const u of units) assert.equal(Number(u['units alive']), alive(Number(u.of), Number(u.level)), JSON.stringify(u));

    const eb = csvRows(ebCsv!.stdout);
    assert.equal(eb.length, DYN_TRIALS * DYN_LEVELS * EB_ITERATIONS.length);
    for (const e of eb) {
      const i = EB_ITERATIONS.indexOf(Number(e.iteration));
      assert.ok(Math.abs(Number(e['mask distance']) - ebDistance(Number(e.trial), Number(e.level), i)) < 1e-6);
      assert.equal(e.detection === 'mask taken here', Number(e.iteration) === detection(Number(e.trial), Number(e.level)), JSON.stringify(e));
    }

    const act = csvRows(actCsv!.stdout);
    for (const a of act) assert.equal(a['ReLU outputs exactly 0 (%)'], (100 * zeros(Number(a.level), a.layer)).toFixed(2));

    const comp = csvRows(compCsv!.stdout);
    const rigl2 = comp.find((c) => c.strategy === 'rigl' && c.level === '2')!;
    assert.equal(Number(rigl2['training multiply-adds']), macs('rigl', 2));
    assert.equal(Number(rigl2['test acc at early stop (%)']), Number((100 * mean([0.88, 0.881])).toFixed(2)));
  });

  it('a view an experiment does not store: one line naming what stores it, exit 2; --view with --html is refused', async () => {
    const [r, p, h] = await Promise.all([
      lth(['report', 'dyn', '--db', db, '--view', 'units']),
      lth(['plot', 'plain', '--db', db, '--kind', 'early-bird', '--out', path.join(dir, 'x.svg')]),
      lth(['report', 'dyn', '--db', db, '--view', 'compute', '--html', path.join(dir, 'x.html')]),
    ]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /experiment "dyn" stores no units alive per layer \(table unit_counts\) — runs with pruning.granularity neuron or filter/);
    assert.equal(p.status, 2);
    assert.match(p.stderr, /stores no early-bird mask distance/);
    assert.equal(h.status, 2);
    assert.match(h.stderr, /--view prints one stored table: leave out --html/);
  });

  it('lth plot draws every view offline, and --strategy keeps those series', async () => {
    const kinds = [
      ['units-exp', 'units'],
      ['dyn', 'mask-updates'],
      ['dyn', 'early-bird'],
      ['dyn', 'compute'],
      ['dyn', 'activations'],
    ];
    const svg = path.join(dir, 'rigl.svg');
    const [rigl, ...plots] = await Promise.all([
      lth(['plot', 'dyn', '--db', db, '--kind', 'mask-updates', '-s', 'rigl', '--out', svg]),
      ...kinds.map(([exp, kind]) => lth(['plot', exp!, '--db', db, '--kind', kind!, '--out', path.join(dir, `${kind}.png`)])),
    ]);
    kinds.forEach(([, kind], i) => {
      assert.equal(plots[i]!.status, 0, plots[i]!.stderr);
      const png = decodePng(fs.readFileSync(path.join(dir, `${kind}.png`)));
      assert.ok(png.width > 500 && png.height > 300, `${kind}: ${png.width}×${png.height}`);
    });
    assert.equal(rigl!.status, 0, rigl!.stderr);
    const text = fs.readFileSync(svg, 'utf8');
    assert.ok(text.includes('>rigl<') && !text.includes('>set<'), 'only the rigl panel');
  });

  it('lth report --html adds a figure and table for every view the experiment stores', async () => {
    const file = path.join(dir, 'dyn.html');
    const r = await lth(['report', 'dyn', '--db', db, '--html', file]);
    assert.equal(r.status, 0, r.stderr);
    const html = fs.readFileSync(file, 'utf8');
    const ids = [...html.matchAll(/<figure id="fig-([\w-]+)"><img class="figure"[^>]*src="data:image\/svg\+xml;base64,/g)].map((m) => m[1]);
    assert.deepEqual(ids, ['accuracy', 'early-stop', 'curves', 'mask-updates', 'early-bird', 'compute', 'activations']);
  });

  it('the Analyses API lists every view, with a figure where the experiment stores rows', async () => {
    const dyn = (await api('/api/experiments/dyn/analyses')) as { views: { id: string; figure: unknown; storedBy: string }[] };
    assert.deepEqual(
      dyn.views.map((v) => v.id),
      [...STORED_VIEW_IDS, 'instability', ...ANALYSIS_NAMES],
    );
    assert.deepEqual(
      dyn.views.filter((v) => v.figure).map((v) => v.id),
      ['mask-updates', 'early-bird', 'compute', 'activations'],
    );
    const plain = (await api('/api/experiments/plain/analyses')) as { views: { figure: unknown }[] };
    assert.equal(plain.views.filter((v) => v.figure).length, 0);
    assert.equal(await statusOf(new URL('/api/experiments/nope/analyses', server!.url)), 404);
  });

  it('the experiments list says what each experiment is', async () => {
    const { experiments } = (await api('/api/experiments')) as { experiments: Record<string, unknown>[] };
    const u = experiments.find((e) => e.name === 'units-exp')!;
    assert.deepEqual(
      [u.model, u.dataset, u.granularity, u.criteria, u.strategies],
      ['lenet-300-100', 'mnist', 'neuron', ['l1_norm'], ['rewind', 'random-reinit']],
    );
    const d = experiments.find((e) => e.name === 'dyn')!;
    assert.deepEqual([d.criteria, d.during], [['large_final'], ['dynamic (random regrowth)', 'dynamic (gradient regrowth)', 'early-bird']]);
  });

  it('the query reference: every view and table with the columns SQLite reports, and examples that run', async () => {
    const ref = (await api('/api/schema')) as { relations: { name: string; kind: string; columns: { name: string }[] }[]; examples: { sql: string }[] };
    const levels = ref.relations.find((r) => r.name === 'levels')!;
    assert.equal(levels.kind, 'view');
    assert.deepEqual(
      ref.relations
        .slice(0, 3)
        .map((r) => r.name)
        .sort(),
      ['curves', 'instability_barriers', 'levels'],
    );
    for (const col of ['early_stop_test_accuracy', 'final_test_accuracy', 'total_multiply_adds', 'detection_iteration', 'activation_sparsity'])
      assert.ok(
        levels.columns.some((c) => c.name === col),
        col,
      );
    for (const t of ['unit_counts', 'mask_updates', 'mask_distances', 'compute', 'activation_sparsity', 'layer_sparsity'])
      assert.ok(
        ref.relations.some((r) => r.name === t && r.kind === 'table'),
        t,
      );
    assert.equal(ref.examples.length, QUERY_EXAMPLES.length);
    // each example passes lth query's guard and returns rows on this database
    for (const x of QUERY_EXAMPLES) assert.ok(runQuery(db, x.sql).rows.length > 0, x.title);
  });

  it('docs/SCHEMA.md names, for every stored table, the report, plot and dashboard view that shows it', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'SCHEMA.md'), 'utf8');
    const start = doc.indexOf('| table | `lth report` | `lth plot` | dashboard |');
    assert.ok(start > 0, 'the table of views');
    const rows = doc.slice(start).split('\n\n')[0].split('\n').slice(2);
    const bookkeeping = ['meta', 'locks'];
    for (const [, name] of SCHEMA_SQL.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)) {
      if (bookkeeping.includes(name)) continue;
      const row = rows.find((r) => r.split('|')[1].includes(`\`${name}\``));
      assert.ok(row, `no row for table ${name}`);
      const cells = row
        .split('|')
        .slice(2, 5)
        .map((c) => c.trim());
      assert.ok(cells[1] !== '—' && cells[2] !== '—', `${name}: a figure and a dashboard view`);
    }
    for (const v of STORED_VIEWS) {
      const row = rows.find((r) => r.includes(`\`--view ${v.id}\``))!;
      assert.ok(row, `--view ${v.id}`);
      assert.ok(row.includes(`\`--kind ${v.id}\``), `--kind ${v.id}`);
      for (const t of v.tables)
        assert.ok(
          rows.some((r) => r.includes(`\`${t}\``)),
          t,
        );
    }
  });

  describe(
    'in Chromium',
    { skip: haveChromium ? false : `${CHROMIUM} is not installed (Debian: apt-get install -y chromium) — the pages were not opened in a browser` },
    () => {
      const ready = async () => page!.waitForFunction(() => document.body.dataset.state === 'ready');
      const paths = (sel: string) => page!.$$eval(sel, (els) => els.length);
      const shot = async (sel: string, name: string) => {
        const file = path.join(shots, name);
        await page!.locator(sel).screenshot({ path: file });
        const png = decodePng(fs.readFileSync(file));
        assert.ok(png.width > 300 && png.height > 150, `${name}: ${png.width}×${png.height}`);
      };

      it('the experiments list shows model, data, granularity, criterion and chains, sorts by a column and filters', async () => {
        await page!.goto(server!.url);
        await page!.waitForSelector('#experiments');
        await ready();
        const heads = await page!.$$eval('#experiments thead th', (ths) => ths.map((t) => t.textContent));
        for (const hd of ['model', 'data', 'granularity', 'criterion', 'chains']) assert.ok(heads.includes(hd), hd);
        const cell = async (name: string, col: string) =>
          page!.$eval(`#experiments tr[data-experiment="${name}"]`, (tr, i) => tr.querySelectorAll('td')[i].textContent, heads.indexOf(col));
        assert.equal(await cell('units-exp', 'granularity'), 'neuron');
        assert.equal(await cell('units-exp', 'criterion'), 'l1_norm');
        assert.equal(await cell('dyn', 'chains'), 'set, rigl, early-bird');
        assert.match((await cell('plain', 'last level')) ?? '', /test acc at early stop \d+\.\d\d%/);
        // the stored spec plans every row stored, branches included
        assert.equal(await cell('plain', 'progress'), ' 11/11');
        const order = () => page!.$$eval('#experiments tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.experiment));
        await page!.click('#experiments th[data-column="data"]');
        assert.deepEqual(await order(), ['plain', 'dyn', 'units-exp']); // cifar10 < fashion-mnist < mnist
        await page!.click('#experiments th[data-column="data"]');
        assert.deepEqual(await order(), ['units-exp', 'dyn', 'plain']);
        await page!.fill('#experiments-filter', 'lenet neuron');
        assert.deepEqual(await order(), ['units-exp']);
        assert.equal(await page!.$eval('#experiments-count', (e) => e.textContent), '1 of 3 shown');
        await page!.fill('#experiments-filter', '');
        assert.equal((await order()).length, 3);
        await shot('main', 'ui-experiments.png');
      });

      it('the Analyses page of a during-training run: mask updates, early-bird detection, compute, activations', async () => {
        await page!.goto(`${server!.url}#/e/dyn/analyses`);
        await page!.waitForSelector('#fig-analysis-activations svg');
        await ready();
        // mask updates: a row of panels per quantity × a column per chain; one line per level in each
        assert.equal(await paths('#fig-analysis-mask-updates g.mark-line.role-mark > path'), 3 * 2 * DYN_LEVELS);
        // early-bird: one line and one detection rule per (trial, level), the rules at the constructed steps
        assert.equal(await paths('#fig-analysis-early-bird g.mark-line.role-mark > path'), DYN_TRIALS * DYN_LEVELS);
        assert.equal(
          await paths('#fig-analysis-early-bird g.mark-rule.role-mark > line, #fig-analysis-early-bird g.mark-rule.role-mark > path'),
          DYN_TRIALS * DYN_LEVELS,
        );
        const detected = await page!.$$eval('#analysis-table-early-bird tbody tr', (trs) =>
          trs.filter((tr) => tr.textContent?.includes('mask taken here')).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
        );
        assert.deepEqual(
          detected.map((r) => [r[1], r[2], r[4]]).sort(),
          [...Array(DYN_TRIALS).keys()]
            .flatMap((t) => [...Array(DYN_LEVELS).keys()].map((i) => [String(t), String(i + 1), String(detection(t, i + 1))]))
            .sort(),
        );
        // compute: one line per chain, one point per level; activations: one panel per layer
        assert.equal(await paths('#fig-analysis-compute g.mark-line.role-mark > path'), 3);
        assert.equal(await paths('#fig-analysis-compute g.mark-symbol.role-mark > path'), 3 * (DYN_LEVELS + 1));
        assert.equal(await paths('#fig-analysis-activations g.mark-line.role-mark > path'), LAYERS.length * 3);
        assert.ok(await page!.$('#analyses-missing li[data-view="units"]'), 'units listed as not stored');
        await shot('#fig-analysis-mask-updates', 'ui-mask-updates.png');
        await shot('#fig-analysis-early-bird', 'ui-early-bird.png');
        await shot('#fig-analysis-compute', 'ui-compute.png');
        await shot('#fig-analysis-activations', 'ui-activations.png');
      });

      it('units alive per layer of a neuron-pruning run, and per-layer sparsity lines that share a rate both show', async () => {
        await page!.goto(`${server!.url}#/e/units-exp/analyses`);
        await page!.waitForSelector('#fig-analysis-units svg');
        await ready();
        assert.equal(await paths('#fig-analysis-units g.mark-line.role-mark > path'), 2 * 2);
        const table = await page!.$$eval('#analysis-table-units tbody tr', (trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
        );
        for (const r of table) assert.equal(Number(r[4]), alive(Number(r[5]), Number(r[1])));
        await shot('#fig-analysis-units', 'ui-units.png');

        await page!.goto(`${server!.url}#/e/units-exp/anatomy`);
        await page!.waitForSelector('#fig-profile svg');
        await ready();
        // fc1 and fc2 keep the same share: the subtitle says so, and their lines differ in dash pattern
        assert.match(await page!.$eval('#fig-profile svg', (s) => s.textContent ?? ''), /same values, lines on top of each other: fc1 = fc2/);
        const dashes = await page!.$$eval('#fig-profile g.mark-line.role-mark > path', (ps) => ps.map((p) => p.getAttribute('stroke-dasharray') ?? 'solid'));
        assert.equal(dashes.length, 2 * 3);
        assert.equal(new Set(dashes.slice(0, 3)).size, 3, `three layers, three dash patterns: ${dashes}`);
        await shot('#fig-profile', 'ui-layer-sparsity.png');
      });

      it('instability barriers and the robustness tables (noise, per-layer reset) of a run show as figures and tables', async () => {
        await page!.goto(`${server!.url}#/e/units-exp/analyses`);
        await page!.waitForSelector('#fig-analysis-reinit svg');
        await page!.waitForSelector('#fig-analysis-instability svg');
        await page!.waitForSelector('#fig-analysis-noise svg');
        await ready();
        const rows = (id: string) =>
          page!.$$eval(`#analysis-table-${id} tbody tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
        // one barrier per rewind level: the constructed bump, in percent
        const barriers = await rows('instability');
        assert.equal(barriers.length, UNIT_LEVELS);
        for (const r of barriers) assert.equal(Number(r[5]), Math.round(10000 * BARRIER(Number(r[3]))) / 100, r.join(' | '));
        // noise and per-layer reset: a row per level (level 0 once, as "(dense)"), a column per setting,
        // accuracies in percent
        const byRow = async (id: string) => {
          const out = new Map<string, number[]>();
          for (const r of await rows(id)) out.set(`${r[0]} ${r[1]}`, r.slice(3).map(Number));
          return out;
        };
        const near = (xs: number[] | undefined, v: number) => (xs ?? []).some((x) => Math.abs(x - 100 * v) < 0.006);
        const noise = await byRow('noise');
        const reinit = await byRow('reinit');
        assert.equal(noise.size, 1 + 2 * UNIT_LEVELS);
        for (const strategy of ['rewind', 'random-reinit'])
          for (let level = 0; level <= UNIT_LEVELS; level++) {
            const row = level === 0 ? '(dense) 0' : `${strategy} ${level}`;
            for (const [, amount] of NOISE) assert.ok(near(noise.get(row), noiseAcc(strategy, level, amount)), `noise ${amount}, ${row}: ${noise.get(row)}`);
            for (const mode of ['reinit', 'rerandomize'])
              RESET_LAYERS.forEach((_, i) =>
                assert.ok(near(reinit.get(row), resetAcc(strategy, level, i, mode)), `${mode} layer ${i}, ${row}: ${reinit.get(row)}`),
              );
          }
        await shot('#fig-analysis-instability', 'ui-instability.png');
        await shot('#fig-analysis-noise', 'ui-noise.png');
        await shot('#fig-analysis-reinit', 'ui-reinit.png');
      });

      it('the query page lists the views and their columns, and an example runs', async () => {
        await page!.goto(`${server!.url}#/query`);
        await page!.waitForSelector('#query-relations');
        const cols = await page!.$eval('#query-relations details[data-relation="levels"] .columns', (p) => p.textContent ?? '');
        for (const c of ['early_stop_test_accuracy', 'final_test_accuracy', 'total_multiply_adds']) assert.ok(cols.includes(c), c);
        const i = QUERY_EXAMPLES.findIndex((x) => x.sql.includes('mask_updates'));
        await page!.click(`#query-examples button[data-example="${i}"]`);
        await page!.waitForSelector('#query-table');
        // set and rigl: levels 1..2 × 3 steps × 2 trials
        assert.equal(await paths('#query-table tbody tr'), 2 * DYN_LEVELS * STEPS.length * DYN_TRIALS);
        assert.equal(await page!.$eval('#sql', (t) => (t as HTMLTextAreaElement).value), QUERY_EXAMPLES[i].sql);
        await page!.setViewportSize({ width: 1400, height: 1000 });
        await page!.screenshot({ path: path.join(shots, 'ui-query.png'), clip: { x: 0, y: 0, width: 1400, height: 900 } });
      });
    },
  );
});
