import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compareStrategies, pairedInterval, renderComparison } from '../src/reporting/index.js';
import { UserError } from '../src/util/errors.js';
import { makeRng } from '../src/util/rng.js';
import { createDb, insertExperiment, tempDir } from './helpers/fixture.js';

const SEEDS = [11, 22, 33, 44, 55];

describe('lth compare', () => {
  let dir: string;
  let dbFile: string;
  before(() => {
    dir = tempDir();
    dbFile = path.join(dir, 'lth.db');
    const db = createDb(dbFile);
    // A is B + 1 percentage point at every pruned level. Trials differ a lot from each other
    // (±1.5 pp), so only pairing by seed reveals the difference; noise within a pair is 0.1 pp.
    const trialOffset = (seed: number) => 0.015 * makeRng('offset', seed).normal();
    insertExperiment(db, {
      name: 'known-diff',
      strategies: ['A', 'B'],
      trials: 5,
      levels: 6,
      // B's chains list the same seeds in another order: pairing must go by seed, not trial number
      seed: (t, strategy) => (strategy === 'B' ? SEEDS[(t + 2) % 5] : SEEDS[t]),
      values(strategy, _b, _trial, level, _r, seed) {
        const rng = makeRng('known', strategy, seed, level);
        const acc = 0.95 + trialOffset(seed) + (strategy === 'A' ? 0.01 : 0) + 0.001 * rng.normal();
        return { esAcc: acc, esIter: 2000 + (strategy === 'A' ? -300 : 0) + Math.round(30 * rng.normal()), finalAcc: acc };
      },
    });
    insertExperiment(db, {
      name: 'identical',
      strategies: ['A', 'B'],
      trials: 4,
      levels: 6,
      values(_s, _b, trial, level) {
        const rng = makeRng('identical', trial, level);
        return { esAcc: 0.9 + 0.02 * rng.normal(), esIter: 1000 + Math.round(100 * rng.normal()), finalAcc: 0.9 };
      },
    });
    db.close();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('paired t interval matches a hand computation', () => {
    // d = 1..5: mean 3, sd 1.5811, se 0.7071, t(0.975, 4) = 2.7764
    const r = pairedInterval([1, 2, 3, 4, 5], 0.95, 't')!;
    assert.ok(Math.abs(r.mean - 3) < 1e-12);
    assert.ok(Math.abs(r.low - (3 - 2.776445 * 0.707107)) < 1e-4);
    assert.ok(Math.abs(r.high - (3 + 2.776445 * 0.707107)) < 1e-4);
    assert.ok(r.p! > 0.01 && r.p! < 0.02, `p = ${r.p}`); // t = 4.243, df 4 → p ≈ 0.0132
    assert.equal(pairedInterval([1], 0.95, 't'), null);
  });

  it('finds a known difference at every pruned level, pairing trials by seed', () => {
    const c = compareStrategies(dbFile, 'known-diff', 'A', 'B');
    assert.deepEqual(c.better, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(c.worse, []);
    for (const l of c.levels.filter((x) => x.level > 0)) {
      assert.equal(l.n, 5);
      assert.ok(l.ciLow! < 0.01 && l.ciHigh! > 0.01, `the CI covers the true +1 pp at level ${l.level}`);
      assert.ok(Math.abs(l.diff! - 0.01) < 0.002);
    }
    const rev = compareStrategies(dbFile, 'known-diff', 'B', 'A');
    assert.deepEqual(rev.worse, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(rev.better, []);
  });

  it('uses the metric direction: an earlier stop is better', () => {
    const c = compareStrategies(dbFile, 'known-diff', 'A', 'B', { metric: 'es-iteration' });
    assert.deepEqual(c.better, [1, 2, 3, 4, 5, 6]);
  });

  it('the bootstrap finds the same difference and is reproducible', () => {
    const a = compareStrategies(dbFile, 'known-diff', 'A', 'B', { method: 'bootstrap', resamples: 2000, seed: 7 });
    const b = compareStrategies(dbFile, 'known-diff', 'A', 'B', { method: 'bootstrap', resamples: 2000, seed: 7 });
    assert.deepEqual(a.better, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.levels, b.levels);
  });

  it('finds no difference on identical data', () => {
    for (const method of ['t', 'bootstrap'] as const) {
      const c = compareStrategies(dbFile, 'identical', 'A', 'B', { method });
      assert.deepEqual(c.better, []);
      assert.deepEqual(c.worse, []);
      assert.ok(c.levels.every((l) => l.verdict === 'no difference' && l.diff === 0));
    }
  });

  it('renders every format, and names the strategies that exist on a typo', () => {
    const c = compareStrategies(dbFile, 'known-diff', 'A', 'B');
    const table = renderComparison(c, 'table');
    assert.match(table, /A significantly better at levels: 1 \(80\.0%\), 2 \(64\.1%\)/);
    assert.match(table, /95% CI/);
    const j = JSON.parse(renderComparison(c, 'json'));
    assert.deepEqual(j.better_levels, [1, 2, 3, 4, 5, 6]);
    assert.equal(j.levels[1].verdict, 'better');
    assert.ok(Math.abs(j.levels[1].diff - 1) < 0.2, 'json difference in percentage points');
    assert.equal(renderComparison(c, 'csv').trim().split('\n').length, 1 + 7);
    assert.match(renderComparison(c, 'markdown'), /\| 1 \| 80\.0 \| 5 \|/);
    assert.throws(
      () => compareStrategies(dbFile, 'known-diff', 'A', 'C'),
      (e: Error) => e instanceof UserError && /choose from: A, B/.test(e.message),
    );
    assert.throws(() => compareStrategies(dbFile, 'known-diff', 'A', 'A'), UserError);
  });

  it('one trial: says no level can be tested, instead of "significantly better at levels: none"', () => {
    const db = createDb(dbFile);
    insertExperiment(db, {
      name: 'one-trial',
      strategies: ['A', 'B'],
      trials: 1,
      levels: 2,
      values: (s) => ({ esAcc: s === 'A' ? 0.9 : 0.8, esIter: 1, finalAcc: 0.9 }),
    });
    db.close();
    const out = renderComparison(compareStrategies(dbFile, 'one-trial', 'A', 'B'), 'table');
    assert.match(out, /no level has two or more paired trials, so none can be tested/);
    assert.doesNotMatch(out, /significantly better at levels/);
  });

  it('an experiment with no finished levels: says to run it, not an empty "choose from"', () => {
    const db = createDb(dbFile);
    insertExperiment(db, { name: 'not-run', strategies: ['A', 'B'], trials: 0, levels: 3, values: () => ({ esAcc: 0.9, esIter: 1, finalAcc: 0.9 }) });
    db.close();
    assert.throws(
      () => compareStrategies(dbFile, 'not-run', 'A', 'B'),
      (e: Error) => e instanceof UserError && /"not-run" has no finished levels yet — run `lth run`/.test(e.message) && !/choose from/.test(e.message),
    );
  });
});
