/**
 * `lth ui` end to end: the server as a process (started and stopped by PID), its HTTP surface
 * (read-only, own assets only, 4xx on malformed input), and the pages in a real Chromium driven
 * by playwright-core. Expected numbers are computed here from the constructed data, not by
 * the reporting code.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { runQuery } from '../../src/reporting/query.js';
import { QUERY_ROW_LIMIT, queryPage } from '../../src/ui/data.js';
import { writeArrays } from '../../src/storage/weights.js';
import { UserError } from '../../src/util/errors.js';
import { CLI, lthAsync, ROOT, tinySpec } from '../helpers/common.js';
import { createDb, insertExperiment, lenetFixture, tempDir } from '../helpers/fixture.js';
import { decodePng } from '../helpers/png.js';
import { CHROMIUM, haveChromium, openPage, type UiProcess, startServer, statusOf, stopServer } from '../helpers/ui-server.js';

/** the server's --query-timeout here: long enough for the list request, short enough not to idle a core for 10 s */
const QUERY_SECONDS = 2;
const XSS = '<script>alert(1)</script>';

// ---------- the constructed data ----------

/** Per-trial A − B (percentage points) at level l ≥ 1 of experiment "cmp": 0.3·l + OFFSET[t]. */
const OFFSET = [0.1, -0.05, 0.2];
const CMP_LEVELS = 4;
/** t quantile for a 95% interval with 2 degrees of freedom (3 pairs), from a t table. */
const T_975_2 = 4.302652729911275;

/** LeNet-300-100 masks of experiment "anat": pixel i keeps its first k(i) of 300 first-layer connections. */
const HIDDEN = 300;
const ANAT_LEVELS = 3;
function kept(strategy: string, level: number, pixel: number): number {
  if (level === 0) return HIDDEN;
  const shift = strategy === 'rewind' ? 0 : 37;
  return (pixel * 7 + 11 * level + shift) % (HIDDEN - 40 * level);
}
function lenetMasks(strategy: string, level: number): Record<string, Uint8Array> {
  const fc1 = new Uint8Array(784 * HIDDEN);
  for (let i = 0; i < 784; i++) for (let j = 0; j < kept(strategy, level, i); j++) fc1[i * HIDDEN + j] = 1;
  return { 'fc1/kernel': fc1, 'fc2/kernel': new Uint8Array(HIDDEN * 100).fill(1), 'output/kernel': new Uint8Array(1000).fill(1) };
}

function buildDb(file: string): void {
  const db = createDb(file);
  insertExperiment(db, lenetFixture('lenet-mnist', 8, 3));
  insertExperiment(db, {
    name: 'cmp',
    strategies: ['rewind', 'random-reinit'],
    trials: 3,
    levels: CMP_LEVELS,
    values(strategy, _branch, trial, level) {
      const base = 0.9 + 0.01 * trial - 0.002 * level;
      const esAcc = strategy === 'rewind' ? base + (0.3 * level + OFFSET[trial]) / 100 : base;
      return { esAcc, esIter: 1000 + 100 * level, finalAcc: esAcc - 0.001 };
    },
  });
  insertExperiment(db, {
    name: XSS,
    strategies: ['rewind', '<img src=x onerror=alert(2)>'],
    trials: 1,
    levels: 2,
    values: () => ({ esAcc: 0.9, esIter: 100, finalAcc: 0.9 }),
  });
  insertExperiment(db, {
    name: 'anat',
    strategies: ['rewind', 'random-reinit'],
    trials: 1,
    levels: ANAT_LEVELS,
    values: () => ({ esAcc: 0.9, esIter: 100, finalAcc: 0.9 }),
  });
  // the anatomy experiment: a LeNet spec, its stored masks and per-layer counts, as `lth run` leaves them
  const eid = db.prepare("SELECT id FROM experiments WHERE name = 'anat'").pluck().get() as number;
  db.prepare('UPDATE experiments SET spec_json = ? WHERE id = ?').run(
    JSON.stringify({
      name: 'anat',
      trials: 1,
      model: { name: 'lenet-300-100' },
      strategies: [{ name: 'rewind' }, { name: 'random-reinit' }],
      pruning: { levels: ANAT_LEVELS },
    }),
    eid,
  );
  const weights = file.replace(/\.db$/, '.weights');
  const art = db.prepare('INSERT INTO artifacts(experiment_id, key, file, sha256) VALUES (?, ?, ?, ?)');
  const ls = db.prepare('INSERT INTO layer_sparsity(result_id, layer, total, remaining) VALUES (?, ?, ?, ?)');
  for (const [strategy, level] of [['', 0], ...['rewind', 'random-reinit'].flatMap((s) => [1, 2, 3].map((l) => [s, l]))] as [string, number][]) {
    const key = level === 0 ? 'trial-0/level-0' : `trial-0/${strategy}/level-${level}`;
    const masks = lenetMasks(strategy, level);
    const rel = `anat/${key}.bin`;
    art.run(
      eid,
      key,
      rel,
      writeArrays(path.join(weights, rel), {
        ...Object.fromEntries(Object.keys(masks).map((k) => [`w/${k}`, new Float32Array(1)])),
        ...Object.fromEntries(Object.entries(masks).map(([k, v]) => [`m/${k}`, v])),
      }),
    );
    const rid = db.prepare('SELECT id FROM results WHERE experiment_id = ? AND strategy = ? AND level = ?').pluck().get(eid, strategy, level) as number;
    for (const [layer, m] of Object.entries(masks))
      ls.run(
        rid,
        layer,
        m.length,
        m.reduce((a, b) => a + b, 0),
      );
  }
  // a run stopped part-way: 2 trials × (dense + 2 chains × 2 of 3 levels + 2 branch replicates × 2 levels) stored
  insertExperiment(db, {
    name: 'partial',
    strategies: ['rewind', 'fine-tune'],
    trials: 2,
    levels: 2,
    branches: [{ strategy: 'rewind', branch: 'random-reinit', replicates: 2 }],
    values: () => ({ esAcc: 0.9, esIter: 100, finalAcc: 0.9 }),
  });
  db.prepare("UPDATE experiments SET spec_json = ? WHERE name = 'partial'").run(
    JSON.stringify({
      name: 'partial',
      trials: 2,
      model: { name: 'lenet-300-100' },
      data: { dataset: 'mnist' },
      strategies: [{ name: 'rewind' }, { name: 'fine-tune' }],
      pruning: { levels: 3 },
      branches: [{ kind: 'random-reinit', count: 2, levels: 'all', chains: ['rewind'] }],
    }),
  );
  db.close();
}

const sha = (file: string) => (fs.existsSync(file) ? createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent');

describe('lth ui', () => {
  let dir = '';
  let db = '';
  let server: UiProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const dialogs: string[] = [];

  before(async () => {
    dir = tempDir('lth-ui-');
    db = path.join(dir, 'lth.db');
    buildDb(db);
    let opened: { browser: Browser; page: Page } | undefined;
    [server, opened] = await Promise.all([startServer(db, ['--query-timeout', String(QUERY_SECONDS)]), haveChromium ? openPage() : undefined]);
    ({ browser, page } = opened ?? {});
    page?.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  after(async () => {
    await browser?.close();
    await stopServer(server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, init?: RequestInit) => fetch(new URL(p, server!.url), init);
  const status = (p: string) => statusOf(new URL(p, server!.url));

  it('binds to 127.0.0.1 by default, and warns when told to bind elsewhere', async () => {
    assert.match(server!.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(server!.stderr().includes('warning'), false);
    const open = await startServer(db, ['--host', '0.0.0.0']);
    try {
      assert.match(open.stderr(), /warning: binding to 0\.0\.0\.0 .*--host 127\.0\.0\.1/);
    } finally {
      await stopServer(open);
    }
  });

  it('bad input: one error line naming the fix, exit 2, nothing served', async () => {
    const cases: [string[], RegExp][] = [
      [['--db', path.join(dir, 'missing.db')], /^lth: error: database not found: .*missing\.db — run `lth run SPEC` first, or pass --db PATH/],
      [['--db', db, '--port', '70000'], /^lth: error: --port must be a whole number from 0 to 65535 \(got 70000\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => lthAsync(['ui', ...args])));
    cases.forEach(([, pattern], i) => {
      const r = results[i]!;
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    });
  });

  it('serves only its own assets: traversal and unknown paths are 404, never a file', async () => {
    assert.equal(await status('/assets/app.js'), 200);
    const secret = fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8');
    for (const p of [
      '/assets/../../package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%5c..%5cpackage.json',
      '/../package.json',
      '/assets/index.html',
      '/assets/',
      '/dist/ui/app.js',
      '/package.json',
      '/%2e%2e/%2e%2e/etc/passwd',
    ]) {
      // fetch normalizes "..": send the raw path through a socket-level request instead
      const r = await rawGet(server!.url, p);
      assert.ok(r.status === 404 || r.status === 400, `${p} → ${r.status}`);
      assert.equal(r.body.includes('"name": "lth"') || r.body.includes(secret.slice(0, 40)) || r.body.includes('root:'), false, p);
    }
  });

  it('answers malformed requests with 4xx and keeps serving', async () => {
    const cases: [string, RequestInit | undefined, number][] = [
      ['/api/experiments/nope', undefined, 404],
      ['/api/experiments/cmp?errorBars=banana', undefined, 400],
      ['/api/experiments/cmp?extra=1', undefined, 400],
      ['/api/experiments/cmp/curves', undefined, 400],
      ['/api/experiments/cmp/curves?levels=1;DROP', undefined, 400],
      ['/api/experiments/cmp/compare?a=rewind', undefined, 400],
      ['/api/experiments/cmp/compare?a=rewind&b=rewind', undefined, 400],
      ['/api/experiments/cmp/compare?a=rewind&b=nope', undefined, 404],
      ['/api/experiments/cmp/compare?a=rewind&b=random-reinit&confidence=2', undefined, 400],
      ['/api/experiments/cmp/anatomy?trial=-1', undefined, 400],
      ['/api/experiments/anat/anatomy?level=99', undefined, 404],
      [`/api/experiments/${'x'.repeat(2000)}`, undefined, 414],
      ['/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' }, 400],
      ['/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 400],
      ['/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql": 3}' }, 400],
      ['/api/query', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'SELECT 1' }, 400],
      ['/api/query', { method: 'GET' }, 404],
      ['/api/nothing', undefined, 404],
    ];
    for (const [p, init, expected] of cases) {
      const r = await get(p, init);
      assert.equal(r.status, expected, `${init?.method ?? 'GET'} ${p.slice(0, 80)}`);
      const body = (await r.json()) as { error?: string };
      assert.equal(typeof body.error, 'string', p.slice(0, 80));
    }
    assert.equal(await status('/api/experiments'), 200);
  });

  it('curves of levels that do not exist: the error names the levels query parameter it got, not a CLI option', async () => {
    const r = await get('/api/experiments/cmp/curves?levels=98,99');
    assert.equal(r.status, 400);
    const { error } = (await r.json()) as { error: string };
    assert.match(error, /the levels query parameter \(got levels=98,99\)/);
    assert.match(error, new RegExp(`\\(0\\.\\.${CMP_LEVELS}\\)`));
    assert.doesNotMatch(error, /--levels/);
  });

  it('the experiments list: status, progress and ETA from the spec and the stored wall times', async () => {
    const { experiments } = (await (await get('/api/experiments')).json()) as {
      experiments: { name: string; stored: number; planned: number | null; status: string; etaSeconds: number | null; backend: string }[];
    };
    const partial = experiments.find((e) => e.name === 'partial')!;
    // per trial: dense 1 + 2 chains × 3 levels + 1 chain × 2 replicates × 3 levels = 13
    assert.equal(partial.planned, 2 * 13);
    assert.equal(partial.stored, 2 * (1 + 2 * 2 + 2 * 2));
    // every fixture row took 1.5 s; the last one was committed long ago
    assert.equal(partial.etaSeconds, (26 - 18) * 1.5);
    assert.equal(partial.status, 'stopped');
    assert.equal(partial.backend, 'cpu');
    const anat = experiments.find((e) => e.name === 'anat')!;
    assert.deepEqual([anat.planned, anat.stored, anat.status, anat.etaSeconds], [7, 7, 'complete', null]);
  });

  it('the query box has exactly the guard of lth query', async () => {
    for (const sql of [
      'DELETE FROM results',
      'WITH x AS (SELECT 1) INSERT INTO meta VALUES (1, 2)',
      'PRAGMA journal_mode = DELETE',
      'ATTACH DATABASE ":memory:" AS m',
      'SELECT 1; DELETE FROM results',
      '',
    ]) {
      let expected = '';
      try {
        runQuery(db, sql);
      } catch (e) {
        assert.ok(e instanceof UserError, sql);
        expected = e.message;
      }
      assert.ok(expected, `lth query refuses ${sql}`);
      const r = await get('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });
      assert.equal(r.status, 400, sql);
      assert.equal(((await r.json()) as { error: string }).error, expected, sql);
    }
    const sql = "SELECT strategy, level, early_stop_test_accuracy FROM levels WHERE experiment = 'cmp' ORDER BY strategy, level, trial";
    const r = (await (await get('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) })).json()) as {
      columns: string[];
      rows: unknown[][];
    };
    const ro = new Database(db, { readonly: true });
    const direct = ro.prepare(sql).raw(true).all();
    ro.close();
    assert.deepEqual(r.columns, ['strategy', 'level', 'early_stop_test_accuracy']);
    assert.deepEqual(r.rows, direct);
  });

  it('the query box reads at most 5,000 rows, and a statement that never ends is stopped while the server keeps answering', async () => {
    const post = (sql: string) => get('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql }) });
    const big = (await (await post('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT x FROM c')).json()) as {
      rows: number[][];
      truncated: boolean;
    };
    assert.equal(big.rows.length, QUERY_ROW_LIMIT);
    assert.equal(big.truncated, true);
    assert.deepEqual(big.rows[QUERY_ROW_LIMIT - 1], [QUERY_ROW_LIMIT]);
    const t0 = Date.now();
    const runaway = post('WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status('/api/experiments'), 200, 'the server answers while the runaway statement runs');
    assert.ok(Date.now() - t0 < 1000 * QUERY_SECONDS, 'the list was not held up by the statement');
    const r = await runaway;
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, new RegExp(`ran longer than ${QUERY_SECONDS} s and was stopped`));
    // the same function with a short limit, and its process is gone afterwards
    await assert.rejects(queryPage(db, 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', 500), /ran longer than 0.5 s/);
    const ok = await queryPage(db, "SELECT count(*) AS n FROM levels WHERE experiment = 'cmp'", 5000);
    const ro = new Database(db, { readonly: true });
    assert.deepEqual(ok.rows, ro.prepare("SELECT count(*) AS n FROM levels WHERE experiment = 'cmp'").raw(true).all());
    ro.close();
  });

  it('never writes the database', async () => {
    const files = [db, `${db}-wal`];
    const before = files.map(sha);
    for (const p of [
      '/api/experiments',
      '/api/experiments/cmp',
      '/api/experiments/cmp/compare?a=rewind&b=random-reinit',
      '/api/experiments/anat/anatomy',
      '/api/experiments/cmp/curves?levels=0,2',
    ])
      assert.equal(await status(p), 200, p);
    assert.deepEqual(files.map(sha), before);
  });

  it('the anatomy API: per-pixel counts and Jaccard overlaps of the constructed masks', async () => {
    const a = (await (await get('/api/experiments/anat/anatomy?strategy=rewind&level=2')).json()) as {
      matrices: { kind: string; labels: string[]; values: number[][] }[];
      figures: { pixels: { data: { values: { level: number; row: number; col: number; count: number }[] } } };
    };
    const cells = a.figures.pixels.data.values;
    assert.equal(cells.length, 784 * (ANAT_LEVELS + 1));
    for (const c of cells) assert.equal(c.count, kept('rewind', c.level, c.row * 28 + c.col));
    // both masks keep a prefix of each pixel's connections: overlap min(k), union max(k); other layers all kept
    const others = HIDDEN * 100 + 1000;
    let inter = others;
    let union = others;
    for (let i = 0; i < 784; i++) {
      inter += Math.min(kept('rewind', 2, i), kept('random-reinit', 2, i));
      union += Math.max(kept('rewind', 2, i), kept('random-reinit', 2, i));
    }
    const strategies = a.matrices.find((m) => m.kind === 'strategies')!;
    assert.deepEqual(strategies.labels, ['rewind', 'random-reinit']);
    assert.ok(Math.abs(strategies.values[0][1] - inter / union) < 1e-12);
    const levels = a.matrices.find((m) => m.kind === 'levels')!;
    let i01 = others;
    let u01 = others;
    for (let i = 0; i < 784; i++) {
      i01 += Math.min(kept('rewind', 0, i), kept('rewind', 1, i));
      u01 += Math.max(kept('rewind', 0, i), kept('rewind', 1, i));
    }
    assert.equal(levels.labels.length, ANAT_LEVELS + 1);
    assert.ok(Math.abs(levels.values[0][1] - i01 / u01) < 1e-12);
    assert.equal(levels.values[1][0], levels.values[0][1]);
  });

  it('lth plot --kind masks draws the anatomy offline', async () => {
    const out = path.join(dir, 'masks.png');
    const r = await lthAsync(['plot', 'anat', '--db', db, '--kind', 'masks', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const png = decodePng(fs.readFileSync(out));
    assert.ok(png.width > 600 && png.height > 600, `${png.width}×${png.height}`);
  });

  describe(
    'in Chromium',
    { skip: haveChromium ? false : `${CHROMIUM} is not installed (Debian: apt-get install -y chromium) — the pages were not opened in a browser` },
    () => {
      const ready = async () => page!.waitForFunction(() => document.body.dataset.state === 'ready');
      const marks = (fig: string, mark: string) => page!.$$eval(`${fig} g.mark-${mark}.role-mark > path`, (els) => els.length);

      it('lists the experiments and escapes what comes from the database', async () => {
        await page!.goto(server!.url);
        await page!.waitForSelector('#experiments');
        const names = await page!.$$eval('#experiments tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.experiment));
        assert.deepEqual([...names].sort(), ['anat', 'cmp', 'lenet-mnist', 'partial', XSS].sort());
        const shown = await page!.$eval(`#experiments tr[data-experiment="${XSS.replace(/"/g, '\\"')}"] td.name`, (td) => td.textContent);
        assert.equal(shown, XSS);
        await page!.click(`#experiments tr[data-experiment="${XSS}"] a`);
        await page!.waitForSelector('#fig-accuracy svg');
        assert.equal(await page!.$eval('h1', (e) => e.textContent), XSS);
        const labels = await page!.$$eval('#series-toggles label', (ls) => ls.map((l) => l.textContent));
        assert.ok(labels.includes('<img src=x onerror=alert(2)>'));
        assert.equal(await page!.$$eval('script', (s) => s.length), 1, 'only the app bundle is a script');
        assert.equal(await page!.$$eval('img', (s) => s.length), 0);
        assert.deepEqual(dialogs, []);
      });

      it('a malformed address shows an error, and the next link still navigates', async () => {
        await page!.goto(`${server!.url}#/e/%E0%A4%A`);
        await page!.waitForSelector('#page-error');
        assert.match(await page!.$eval('#page-error', (e) => e.textContent ?? ''), /malformed address/);
        await page!.evaluate(() => (location.hash = '#/'));
        await page!.waitForSelector('#experiments');
        await page!.evaluate(() => (location.hash = '#/e/cmp'));
        await page!.waitForFunction(() => document.querySelector('h1')?.textContent === 'cmp');
      });

      it('opens an experiment: one accuracy series per strategy, one point per level, toggles hide a series', async () => {
        await page!.goto(server!.url);
        await page!.click('#experiments tr[data-experiment="lenet-mnist"] a');
        await page!.waitForSelector('#fig-accuracy svg');
        await ready();
        // lenetFixture: 3 chains and one branch (rewind:random-mask) → 4 series; levels 0..8 on chains, 1..8 on the branch
        const series = await page!.$$eval('#series-toggles input[data-series]', (i) => i.map((x) => (x as HTMLInputElement).dataset.series));
        assert.deepEqual(series, ['rewind', 'rewind:random-mask', 'random-reinit', 'fine-tune']);
        assert.equal(await marks('#fig-accuracy', 'line'), 4);
        assert.equal(await marks('#fig-accuracy', 'symbol'), 3 * 9 + 8);
        assert.equal(await marks('#fig-early-stop', 'line'), 4);
        await page!.click('#series-toggles input[data-series="random-reinit"]');
        await page!.waitForFunction(() => document.querySelectorAll('#fig-accuracy g.mark-line.role-mark > path').length === 3);
        assert.equal(await marks('#fig-accuracy', 'symbol'), 2 * 9 + 8);
        assert.equal(await marks('#fig-early-stop', 'line'), 3);
        await page!.click('#series-toggles input[data-series="random-reinit"]');
        await page!.waitForFunction(() => document.querySelectorAll('#fig-accuracy g.mark-line.role-mark > path').length === 4);
        // learning curves of the default levels are drawn
        assert.ok((await marks('#fig-curves', 'line')) >= 3);
        // the report table: same rows as lth report's (levels 0..8)
        assert.equal(await page!.$$eval('#report-0 tbody tr', (r) => r.length), 9);
      });

      it('the compare page shows the constructed difference with its CI', async () => {
        await page!.goto(`${server!.url}#/e/cmp/compare?a=rewind&b=random-reinit`);
        await page!.waitForSelector('#compare-table');
        await ready();
        const rows = await page!.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
        const head = await page!.$$eval('#compare-table thead th', (ths) => ths.map((th) => th.textContent));
        const iDiff = head.indexOf('rewind − random-reinit');
        const iCi = head.indexOf('95% CI');
        assert.equal(rows.length, CMP_LEVELS + 1);
        const sign = (v: number) => `${v > 0 ? '+' : ''}${v.toFixed(2)}`;
        for (let l = 1; l <= CMP_LEVELS; l++) {
          const d = OFFSET.map((o) => 0.3 * l + o);
          const mean = d.reduce((a, b) => a + b, 0) / 3;
          const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
          const hw = (T_975_2 * sd) / Math.sqrt(3);
          assert.equal(rows[l][iDiff], sign(mean), `level ${l}`);
          assert.equal(rows[l][iCi], `[${sign(mean - hw)}, ${sign(mean + hw)}]`, `level ${l}`);
        }
        assert.equal(await marks('#fig-compare', 'symbol'), CMP_LEVELS + 1);
      });

      it('draws the LeNet input heat map as 28×28 cells per level', async () => {
        await page!.goto(`${server!.url}#/e/anat/anatomy`);
        await page!.waitForSelector('#fig-pixels svg');
        await ready();
        const perPanel = await page!.$$eval('#fig-pixels g.mark-rect.role-mark', (gs) => gs.map((g) => g.querySelectorAll(':scope > path').length));
        assert.deepEqual(perPanel, new Array(ANAT_LEVELS + 1).fill(28 * 28));
        assert.ok((await marks('#fig-profile', 'line')) >= 3);
        for (const k of ['strategies', 'trials', 'levels']) assert.ok(await page!.$(`#fig-matrix-${k} svg`), k);
      });

      it('a run started in the background appears and advances live, without a reload', async () => {
        await page!.goto(server!.url);
        await page!.waitForSelector('#experiments');
        await page!.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
        const spec = path.join(dir, 'live.json');
        fs.writeFileSync(
          spec,
          JSON.stringify(
            tinySpec({
              name: 'live',
              seed: 3,
              data: { dataset: 'synthetic', validation: 200, synthetic: { train: 600, test: 200, features: 784, classes: 3 } },
              model: { name: 'lenet-300-100' },
              pruning: { levels: 3 },
              strategies: ['rewind', 'random-reinit'],
            }),
          ),
        );
        const run = spawn(process.execPath, [CLI, 'run', spec, '--db', db, '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        let runErr = '';
        run.stderr!.on('data', (d) => (runErr += d));
        const runExit = new Promise<number | null>((r) => run.on('exit', r));
        try {
          await page!.waitForSelector('#experiments tr[data-experiment="live"]');
          await page!.click('#experiments tr[data-experiment="live"] a');
          await page!.waitForSelector('#fig-accuracy svg');
          const first = await marks('#fig-accuracy', 'symbol');
          // 7 rows planned (dense + 2 chains × 3 levels): at least one more must arrive while we watch
          await page!.waitForFunction((n) => document.querySelectorAll('#fig-accuracy g.mark-symbol.role-mark > path').length > n, first);
          await page!.waitForFunction(() => document.querySelectorAll('#fig-accuracy g.mark-symbol.role-mark > path').length === 8);
          assert.equal(await page!.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
          assert.equal(await runExit, 0, runErr);
          await page!.goto(server!.url);
          await page!.waitForSelector('#experiments tr[data-experiment="live"][data-status="complete"]');
        } finally {
          if (run.exitCode === null) process.kill(run.pid!, 'SIGTERM');
          await runExit;
        }
      });

      it('takes the README screenshot', async () => {
        await page!.goto(`${server!.url}#/e/lenet-mnist`);
        await page!.waitForSelector('#fig-curves svg');
        await ready();
        const file = process.env.LTH_UI_SCREENSHOT ?? path.join(dir, 'ui.png');
        await page!.screenshot({ path: file, clip: { x: 0, y: 0, width: 1400, height: 900 } });
        const png = decodePng(fs.readFileSync(file));
        assert.equal(png.width, 1400);
      });
    },
  );
});

/** GET with the path sent exactly as written (no URL normalization), over a plain socket. */
async function rawGet(base: string, p: string): Promise<{ status: number; body: string }> {
  const { default: net } = await import('node:net');
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`GET ${p} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n\r\n`));
    let data = '';
    sock.on('data', (d) => (data += d));
    sock.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), body: data.slice(data.indexOf('\r\n\r\n') + 4) }));
    sock.on('error', reject);
  });
}
