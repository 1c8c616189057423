import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { plotExperiment, plotSvg, summarizeExperiment } from '../src/reporting/index.js';
import { pointData } from '../src/reporting/plot.js';
import { UserError } from '../src/util/errors.js';
import { createDb, insertExperiment, lenetDbSuite, tempDir } from './helpers/fixture.js';
import { countColor, countDark, decodePng } from './helpers/png.js';

/** The series drawn in a Vega SVG: one `line mark` path per series, its vertex count, and the points per series. */
function seriesInSvg(svg: string) {
  const lines = new Map<string, number>();
  for (const m of svg.matchAll(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="line mark" d="([^"]*)"/g)) {
    const series = /Strategy: ([^;"]+)$/.exec(m[1])?.[1] ?? m[1];
    assert.ok(!lines.has(series), `one line per series (${series} twice)`);
    lines.set(series, m[2].split('L').length);
  }
  const points = new Map<string, { x: number; percent: number }[]>();
  for (const m of svg.matchAll(
    /<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="point" transform="translate\(([-\d.]+),([-\d.]+)\)"/g,
  )) {
    const series = /Strategy: ([^;]+);/.exec(m[1])![1];
    const percent = Number(/Percent of weights remaining: ([\d.]+)/.exec(m[1])![1]);
    const list = points.get(series) ?? [];
    list.push({ x: Number(m[2]), percent });
    points.set(series, list);
  }
  return { lines, points };
}

describe('lth plot', () => {
  const fx = lenetDbSuite();

  it('accuracy figure: one series per strategy with one point per level, on a reversed log axis', async () => {
    const svg = await plotSvg(fx.db, 'lenet-mnist', { kind: 'accuracy' });
    const { lines, points } = seriesInSvg(svg);
    assert.deepEqual([...lines.keys()], ['rewind', 'rewind:random-mask', 'random-reinit', 'fine-tune']);
    // 19 levels (0..18) per chain; a branch has no dense level
    assert.deepEqual([...lines.values()], [19, 18, 19, 19]);
    assert.deepEqual(
      [...points].map(([k, v]) => [k, v.length]),
      [
        ['rewind', 19],
        ['rewind:random-mask', 18],
        ['random-reinit', 19],
        ['fine-tune', 19],
      ],
    );
    // reversed: x grows as % remaining shrinks
    const rw = points.get('rewind')!.sort((a, b) => b.percent - a.percent);
    for (let i = 1; i < rw.length; i++) assert.ok(rw[i].x > rw[i - 1].x);
    // log: 100 → 10 spans the same width as 10 → 1 (approximately, by the points' positions)
    const xAt = (p: number) => rw.reduce((best, q) => (Math.abs(Math.log(q.percent / p)) < Math.abs(Math.log(best.percent / p)) ? q : best)).x;
    const w1 = xAt(10.9) - xAt(100);
    const w2 = xAt(1.9) - xAt(10.9);
    assert.ok(Math.abs(w1 / Math.log(100 / 10.9) - w2 / Math.log(10.9 / 1.9)) < 0.05 * (w1 / Math.log(100 / 10.9)), 'x is logarithmic');
    for (const tick of ['100', '51.3', '21.1', '7.0', '3.6', '1.9']) assert.ok(svg.includes(`>${tick}</text>`), `tick ${tick}`);
    assert.ok(svg.includes('Percent of weights remaining</text>'));
    assert.ok(svg.includes('Test accuracy at early stop (%)</text>'));
    assert.ok(svg.includes('error bars ±1 std over trials'));
    assert.equal((svg.match(/aria-roledescription="errorbar"/g) ?? []).length, 19 * 3 + 18);
  });

  it('--strategy filters series; min–max error bars say so', async () => {
    const svg = await plotSvg(fx.db, 'lenet-mnist', { kind: 'early-stop', series: ['rewind', 'random-reinit'], errorBars: 'minmax' });
    const { lines } = seriesInSvg(svg);
    assert.deepEqual([...lines.keys()], ['rewind', 'random-reinit']);
    assert.ok(svg.includes('Early-stop iteration</text>'));
    assert.ok(svg.includes('error bars min–max over trials'));
    await assert.rejects(
      plotSvg(fx.db, 'lenet-mnist', { series: ['nope'] }),
      (e: Error) => e instanceof UserError && /rewind, rewind:random-mask/.test(e.message),
    );
  });

  it('learning curves: one line per chosen level per strategy', async () => {
    const svg = await plotSvg(fx.db, 'lenet-mnist', { kind: 'curves', levels: [0, 3, 7] });
    const lines = [...svg.matchAll(/aria-roledescription="line mark" d="([^"]*)"/g)];
    assert.equal(lines.length, 3 * 3, '3 levels × 3 chain strategies');
    for (const l of lines) assert.equal(l[1].split('L').length, 11, '5000 iterations evaluated every 500');
    assert.ok(svg.includes('Training iteration</text>') && svg.includes('Test accuracy (%)</text>'));
    assert.ok(svg.includes('>21.1%</text>'));
  });

  it('PNG decodes with the requested width, and has coloured lines and dark text', async () => {
    const out = path.join(fx.dir, 'fig.png');
    const r = await plotExperiment(fx.db, 'lenet-mnist', out, { kind: 'accuracy', width: 900 });
    const img = decodePng(fs.readFileSync(out));
    assert.equal(img.width, 900);
    assert.equal(r.width, 900);
    assert.equal(img.height, r.height);
    assert.ok(img.height > 400 && img.height < 600, `aspect ratio kept (${img.height})`);
    assert.ok(countColor(img, [0x4c, 0x78, 0xa8]) > 200, 'the first series (Vega blue) is drawn');
    // text: the x-axis title band at the bottom has dark glyph pixels (fonts were found)
    assert.ok(countDark(img, 80, { x0: 0, y0: img.height - 40, x1: img.width, y1: img.height }) > 200, 'axis title text rendered');
  });

  it('kind all renders the three figures together; SVG output and a bad extension', async () => {
    const out = path.join(fx.dir, 'all.svg');
    const r = await plotExperiment(fx.db, 'small', out, { kind: 'all' });
    const svg = fs.readFileSync(out, 'utf8');
    assert.equal(r.format, 'svg');
    assert.ok(svg.startsWith('<svg') && svg.includes('Early-stop iteration</text>') && svg.includes('Training iteration</text>'));
    await assert.rejects(plotExperiment(fx.db, 'small', path.join(fx.dir, 'x.pdf')), (e: Error) => e instanceof UserError && /\.svg or \.png/.test(e.message));
  });

  it('early-stop iteration: error bars drawn within [0, the end of training], the stored numbers unchanged', () => {
    const file = path.join(tempDir(), 'es.db');
    const db = createDb(file);
    // 3 trials, 1000 steps evaluated every 100: level 1 stops at 1000, 1000, 100 (mean + std > 1000);
    // level 2 at 0, 0, 900 (mean − std < 0)
    const es = [
      [0, 0, 0],
      [1000, 1000, 100],
      [0, 0, 900],
    ];
    insertExperiment(db, {
      name: 'es',
      strategies: ['rewind'],
      trials: 3,
      levels: 2,
      iterations: 1000,
      evalEvery: 100,
      values: (_s, _b, trial, level) => ({ esAcc: 0.9, esIter: es[level][trial], finalAcc: 0.9 }),
    });
    const s = summarizeExperiment(db, 'es', ['es-iteration']);
    const points = pointData(s, 'es-iteration', 'std').filter((p) => p.series === 'rewind');
    db.close();
    const meanStd = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1))];
    };
    const [m1, sd1] = meanStd(es[1]);
    const [m2, sd2] = meanStd(es[2]);
    assert.ok(m1 + sd1 > 1000 && m2 - sd2 < 0, 'the fixture reaches past both ends');
    const at = (level: number) => points.find((p) => p.level === level)!;
    assert.deepEqual([at(1).mean, at(1).high], [m1, 1000]);
    assert.ok(Math.abs(at(1).low - (m1 - sd1)) < 1e-9);
    assert.deepEqual([at(2).mean, at(2).low], [m2, 0]);
    assert.ok(Math.abs(at(2).high - (m2 + sd2)) < 1e-9);
    // the summary (what report and export show) keeps the unclamped std
    const st = s.levels.find((l) => l.level === 1)!.cells.rewind['es-iteration'];
    assert.ok(Math.abs(st.std! - sd1) < 1e-9);
  });
});
