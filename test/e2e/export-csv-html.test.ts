import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import Database from 'better-sqlite3';
import { exportExperiment, htmlReport, writeHtmlReport } from '../../src/reporting/index.js';
import { UserError } from '../../src/util/errors.js';
import { createDb, insertExperiment, lenetDbSuite } from '../helpers/fixture.js';
import { lth, lthAsync } from '../helpers/common.js';
import { countColor, decodePng } from '../helpers/png.js';

/** Split CSV text into rows of fields (RFC 4180 quoting). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function findChromium(): string | null {
  for (const c of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

describe('lth export and the HTML report', () => {
  const fx = lenetDbSuite();

  it('exports the levels view, the learning curves and the summary as CSV', () => {
    const out = path.join(fx.dir, 'csv');
    const files = exportExperiment(fx.db, 'lenet-mnist', out);
    assert.deepEqual(
      files.map((f) => path.basename(f.file)),
      ['levels.csv', 'curves.csv', 'summary.csv'],
    );
    const db = new Database(fx.db, { readonly: true });
    const nLevels = db.prepare("SELECT count(*) FROM levels WHERE experiment = 'lenet-mnist'").pluck().get();
    const nCurves = db.prepare("SELECT count(*) FROM curves WHERE experiment = 'lenet-mnist'").pluck().get();
    const viewColumns = db
      .prepare('SELECT * FROM levels LIMIT 1')
      .columns()
      .map((c) => c.name);
    const some = db
      .prepare(
        "SELECT * FROM levels WHERE experiment = 'lenet-mnist' AND strategy = 'rewind' AND branch = 'random-mask' AND trial = 1 AND level = 5 AND replicate = 1",
      )
      .get() as Record<string, unknown>;
    db.close();
    const levels = parseCsv(fs.readFileSync(path.join(out, 'levels.csv'), 'utf8'));
    assert.deepEqual(levels[0], viewColumns);
    assert.equal(levels.length - 1, nLevels);
    assert.equal(files[0].rows, nLevels);
    const row = levels.find((r) => r[levels[0].indexOf('result_id')] === String(some.result_id))!;
    for (const [k, v] of Object.entries(some)) assert.equal(row[levels[0].indexOf(k)], v === null ? '' : String(v), k);
    const curves = parseCsv(fs.readFileSync(path.join(out, 'curves.csv'), 'utf8'));
    assert.equal(curves.length - 1, nCurves);
    assert.ok(curves[0].includes('iteration') && curves[0].includes('test_accuracy'));
    const summary = parseCsv(fs.readFileSync(path.join(out, 'summary.csv'), 'utf8'));
    assert.equal(summary.length - 1, 19);
    assert.throws(() => exportExperiment(fx.db, 'nope', out), UserError);
  });

  it('lth export refuses to overwrite CSV files unless --force, and writes nothing when it refuses', () => {
    const out = path.join(fx.dir, 'csv-again');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'curves.csv'), 'mine\n');
    const r = lth(['export', 'lenet-mnist', '--db', fx.db, '--out', out]);
    assert.equal(r.status, 2);
    const existing = path.join(out, 'curves.csv');
    assert.equal(r.stderr, `lth: error: ${out} already has curves.csv: add --force to overwrite, or give another --out folder\n`);
    assert.deepEqual(fs.readdirSync(out), ['curves.csv']);
    assert.equal(fs.readFileSync(existing, 'utf8'), 'mine\n');
    const f = lth(['export', 'lenet-mnist', '--db', fx.db, '--out', out, '--force']);
    assert.equal(f.status, 0, f.stderr);
    assert.deepEqual(fs.readdirSync(out).sort(), ['curves.csv', 'levels.csv', 'summary.csv']);
    assert.match(fs.readFileSync(existing, 'utf8'), /^[^\n]*iteration/);
  });

  it('an output path of the wrong type, or a page name that is not .html: one line, no stack, nothing written', async () => {
    const file = path.join(fx.dir, 'a-file.csv');
    fs.writeFileSync(file, 'mine\n');
    const folder = path.join(fx.dir, 'a-folder.png');
    fs.mkdirSync(folder);
    const cases: [string[], RegExp][] = [
      [['export', 'lenet-mnist', '--db', fx.db, '--out', file], /a-file\.csv (already exists and is not a folder|: a part of this path is a file)/],
      [['plot', 'lenet-mnist', '--db', fx.db, '--out', folder], /a-folder\.png is a folder/],
      [['report', 'lenet-mnist', '--db', fx.db, '--html', folder], /a-folder\.png: the page's file name must end in \.html/],
      [['report', 'lenet-mnist', '--db', fx.db, '--html', file], /a-file\.csv: the page's file name must end in \.html/],
    ];
    const page = path.join(fx.dir, 'a-folder.html');
    fs.mkdirSync(page);
    // independent refusals: side by side
    const [r, ...results] = await Promise.all([lthAsync(['report', 'lenet-mnist', '--db', fx.db, '--html', page]), ...cases.map(([args]) => lthAsync(args))]);
    cases.forEach(([args, want], i) => {
      const c = results[i]!;
      assert.equal(c.status, 2, `${args.join(' ')}: ${c.stderr}`);
      assert.match(c.stderr, /^lth: error: [^\n]+\n$/, `${args.join(' ')}: one line, got ${c.stderr}`);
      assert.match(c.stderr, want);
    });
    assert.equal(fs.readFileSync(file, 'utf8'), 'mine\n');
    assert.deepEqual(fs.readdirSync(folder), []);
    assert.equal(r!.stderr, `lth: error: --html ${page} is a folder: give a file name ending in .html\n`);
  });

  it('lth export of an experiment with no finished levels says to run it and writes nothing', () => {
    const db = path.join(fx.dir, 'not-run.db');
    const h = createDb(db);
    insertExperiment(h, { name: 'not-run', strategies: ['A'], trials: 0, levels: 2, values: () => ({ esAcc: 0.9, esIter: 1, finalAcc: 0.9 }) });
    h.close();
    const out = path.join(fx.dir, 'not-run-csv');
    const r = lth(['export', 'not-run', '--db', db, '--out', out]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'lth: error: experiment "not-run" has no finished levels yet — run `lth run` on its spec, or check `lth status`\n');
    assert.equal(fs.existsSync(out), false);
  });

  it('the page holds the tables and three figures, self-contained', async () => {
    const html = await htmlReport(fx.db, 'lenet-mnist');
    assert.equal((html.match(/<img class="figure"[^>]*src="data:image\/svg\+xml;base64,/g) ?? []).length, 3);
    assert.equal((html.match(/<table class="report">/g) ?? []).length, 3);
    assert.ok(html.includes('<tr class="dense">'));
    assert.ok(!/<script|https?:\/\/(?!vega\.github\.io)/.test(html.replace(/base64,[A-Za-z0-9+/=]+/g, '')), 'no scripts, no network');
    assert.ok(html.includes('rewind vs random-reinit'), 'paired comparisons against the first strategy');
  });

  it('renders in headless Chromium: every figure decodes and paints', async (t) => {
    const bin = findChromium();
    if (!bin) {
      t.skip('chromium is not installed (Debian: apt-get install -y chromium) — the HTML report was not loaded in a browser');
      return;
    }
    const page = path.join(fx.dir, 'report.html');
    await writeHtmlReport(fx.db, 'lenet-mnist', page);
    // one browser: what it made of each figure, then the pixels of the page
    const browser = await chromium.launch({ executablePath: bin, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const shot = path.join(fx.dir, 'shot.png');
    let res: { figs: { complete: boolean; w: number; h: number; shown: number }[]; tables: number; title: string };
    try {
      const tab = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
      await tab.goto(`file://${page}`, { waitUntil: 'load' });
      res = await tab.evaluate(() => ({
        figs: [...document.querySelectorAll('img.figure')].map((i) => {
          const img = i as HTMLImageElement;
          return { complete: img.complete, w: img.naturalWidth, h: img.naturalHeight, shown: img.getBoundingClientRect().width };
        }),
        tables: document.querySelectorAll('table').length,
        title: document.title,
      }));
      await tab.screenshot({ path: shot });
    } finally {
      await browser.close();
    }
    assert.equal(res.figs.length, 3);
    for (const f of res.figs) {
      assert.ok(f.complete && f.w > 300 && f.h > 200, `figure decoded by the browser: ${JSON.stringify(f)}`);
      assert.ok(f.shown > 300, 'figure laid out on the page');
    }
    assert.ok(res.tables >= 3);
    assert.equal(res.title, 'lth report — lenet-mnist');
    // and the pixels: the first series' colour is painted in a screenshot of the page
    const img = decodePng(fs.readFileSync(shot));
    assert.ok(countColor(img, [0x4c, 0x78, 0xa8], 20) > 300, 'figure lines visible in the screenshot');
  });
});
