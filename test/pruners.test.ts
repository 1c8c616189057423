import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { buildModel, initialize, isPrunable, type Masks } from '../src/models/index.js';
import { dynamicSparsity, levelTargets } from '../src/pruning/during.js';
import { CRITERIA, DURING_PRUNERS, UNIT_CRITERIA, fullMasks, erkCounts, erkDensities, prune, prunePools, remainingAfter } from '../src/pruning/index.js';
import { specSchema, validateSpec } from '../src/spec/index.js';
import { checkSpec } from '../src/spec/check.js';
import { runLoop, train, type StepCallback, type Trainee } from '../src/training/loop.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';
import { levelRows, lth, ROOT, tinySpec, tmp } from './helpers/common.js';

/**
 * The pruner registry (src/pruning/registry.ts, docs/DESIGN.md#pruners): ERK against a float64
 * hand computation, a test-only pruner added as one file plus one registry line, the level loop
 * naming no algorithm, early-bird's stop through the loop's control, and the spec errors and
 * caps that the registry's checks give before any work.
 */

before(async () => {
  await initBackend('wasm');
});

const ones = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

test('ERK densities (Evci et al. 2020): ∝ (Σ dims)/(Π dims), scaled to the target; a layer over 1 is kept dense', () => {
  // No cap: d_l = ε·r_l with ε = K / Σ r_l N_l.
  const shapes = [
    [16, 32],
    [32, 16],
    [3, 3, 4, 8],
  ];
  const r = shapes.map((s) => s.reduce((a, b) => a + b, 0) / size(s));
  const K = 200;
  const eps = K / shapes.reduce((a, s, i) => a + r[i] * size(s), 0);
  const d = erkDensities(shapes, K);
  r.forEach((ri, i) => assert.ok(Math.abs(d[i] - eps * ri) < 1e-12, `layer ${i}: ${d[i]} vs ${eps * ri}`));
  assert.ok(Math.abs(d.reduce((a, x, i) => a + x * size(shapes[i]), 0) - K) < 1e-9);
  // Cap: [2, 2] has r = 1, [100, 100] has r = 0.02; K = 5002 would give the small layer ε = 5002/204 > 1,
  // so it is dense (4 weights) and the large one keeps (5002 − 4)/10000.
  const capped = erkDensities(
    [
      [2, 2],
      [100, 100],
    ],
    5002,
  );
  assert.equal(capped[0], 1);
  assert.ok(Math.abs(capped[1] - 4998 / 10000) < 1e-12);
  assert.deepEqual(
    erkCounts(
      [
        [2, 2],
        [100, 100],
      ],
      5002,
    ),
    [4, 4998],
  );
  assert.throws(() => erkDensities([[2, 2]], 5), /outside \[0, 4\]/);
});

test('scope "erk": iterative and one-shot pruning reach each layer’s ERK count; during-training pools target the same counts', () => {
  const model = buildModel('mlp-small', [6], 3);
  const w = initialize(model, 'glorot-normal', 'theta0', 2);
  const spec = specSchema.parse({ name: 'x', pruning: { scope: 'erk', globalRate: 0.5 } }).pruning;
  const layers = model.params.filter(isPrunable);
  const total = layers.reduce((a, p) => a + size(p.shape), 0);
  // by hand: ε = K / Σ r_l N_l with K = what 2 rounds at 0.5 leave, no layer over 1 for these shapes
  const K = total - Math.round(0.5 * total) - Math.round(0.5 * (total - Math.round(0.5 * total)));
  assert.equal(K, remainingAfter(total, 0.5, 2));
  const r = layers.map((p) => p.shape.reduce((a, b) => a + b, 0) / size(p.shape));
  const eps = K / layers.reduce((a, p, i) => a + r[i] * size(p.shape), 0);
  assert.ok(
    r.every((x) => eps * x <= 1),
    'the hand computation assumes no cap here',
  );
  const expected = layers.map((p, i) => Math.round(eps * r[i] * size(p.shape)));
  const level1 = prune({ model, masks: fullMasks(model), init: w, final: w, spec, rng: makeRng(1), level: 1 });
  const level2 = prune({ model, masks: level1, init: w, final: w, spec, rng: makeRng(1), level: 2 });
  const oneShot = prune({ model, masks: fullMasks(model), init: w, final: w, spec, rng: makeRng(1), rounds: 2, level: 2 });
  assert.deepEqual(
    layers.map((p) => ones(level2[p.name])),
    expected,
  );
  assert.deepEqual(
    layers.map((p) => ones(oneShot[p.name])),
    expected,
  );
  assert.deepEqual(levelTargets(prunePools(model, spec), fullMasks(model), 2), expected);
  // ERK is not layerwise: the densities differ between layers
  assert.notEqual(expected[0] / size(layers[0].shape), expected[1] / size(layers[1].shape));
  assert.throws(() => prune({ model, masks: fullMasks(model), init: w, final: w, spec, rng: makeRng(1) }), /pass prune\(\) the level/);
});

test('SET/RigL cap the weights moved per update at the pruned weights available for regrowth (docs/CONTROLS.md#dynamic-cap)', async () => {
  const spec = specSchema.parse(tinySpec({ training: { iterations: '30it', evalEvery: '10it', batchSize: 20 } }));
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('mlp-small', data.inputShape, data.numClasses);
  const plan = resolveSchedule(spec.training, data.train.n);
  const init = initialize(model, 'glorot-normal', 'theta0', 1);
  // 90% dense: α = 0.9 asks for round(f·kept) ≈ 0.9·kept moves, far more than the 10% pruned
  const start = prune({
    model,
    masks: fullMasks(model),
    init,
    final: init,
    spec: { ...spec.pruning, rates: { conv: 0.1, fc: 0.1, output: 0.1 } },
    criterion: 'random',
    rng: makeRng('r'),
  });
  const sched = dynamicSparsity({
    pools: prunePools(model, spec.pruning),
    masks: start,
    regrow: 'random',
    dropFraction: 0.9,
    end: 1000,
    every: 10,
    rng: makeRng('d'),
  });
  await train({ model, data, plan, schedule: { kind: 'replay', from: 0 }, init, masks: start, orderKey: ['cap'], stepCallbacks: [sched] });
  const first = sched.churn.filter((c) => c.step === 10);
  assert.equal(first.length, Object.keys(start).length);
  for (const c of first) {
    const kept = ones(start[c.layer]);
    const pruned = start[c.layer].length - kept;
    const asked = Math.round((0.9 / 2) * (1 + Math.cos((Math.PI * 10) / 1000)) * kept);
    assert.ok(asked > pruned, `${c.layer}: the cap would not bind (${asked} ≤ ${pruned})`);
    assert.equal(c.dropped, pruned, `${c.layer}: dropped`);
    assert.equal(c.regrown, pruned, `${c.layer}: regrown`);
    assert.equal(c.remaining, kept, `${c.layer}: count kept`);
  }
});

test('a callback stops training through the loop’s control (requestStop), not an exception', async () => {
  const ran: number[] = [];
  const trainee = { step: (s: number) => void ran.push(s) } as unknown as Trainee;
  const seen: number[] = [];
  const stopAt7: StepCallback = { at: () => true, run: (s, _t, loop) => (seen.push(s), s === 7 ? loop.requestStop() : undefined) };
  const after: StepCallback = { at: () => true, run: (s) => void seen.push(100 + s) };
  const end = await runLoop(trainee, { from: 2, to: 20 }, [stopAt7, after]);
  assert.equal(end, 7);
  assert.deepEqual(ran, [2, 3, 4, 5, 6], 'no update after the stop');
  // the other callbacks of the stopping step still run; nothing after it
  assert.deepEqual(seen.slice(-2), [7, 107]);
  assert.equal(Math.max(...seen.filter((s) => s < 100)), 7);
});

/** Every name a spec may use for a pruner: criteria, unit criteria, during kinds and their shorthands. */
const prunerNames = (): string[] => [
  ...Object.keys(CRITERIA),
  ...Object.keys(UNIT_CRITERIA),
  ...DURING_PRUNERS.flatMap((d) => [d.kind, ...d.shorthands.map((s) => s.form.split(/[@, ]/)[0])]),
];

test('src/orchestration names no pruner: no registered name as a string or in an identifier', () => {
  const dir = join(ROOT, 'src', 'orchestration');
  const names = [...new Set(prunerNames())];
  assert.ok(names.includes('rigl') && names.includes('snip') && names.includes('l1_norm'), 'the registry lists the pruners');
  // words of an identifier: EarlyBirdFound → early, bird, found; l1_norm → l1, norm
  const words = (id: string) => id.split(/_|(?<=[a-z0-9])(?=[A-Z])/).map((x) => x.toLowerCase());
  // identifiers the JS runtime itself defines (Set, Map.prototype.set, …) are not ours
  const builtins = new Set([
    ...Object.getOwnPropertyNames(globalThis),
    ...Object.getOwnPropertyNames(Map.prototype),
    ...Object.getOwnPropertyNames(Array.prototype),
  ]);
  const found: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const code = readFileSync(join(dir, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const m of code.matchAll(/(['"`])([^'"`\n]*?)\1/g)) if (names.includes(m[2])) found.push(`${f}: string ${m[0]}`);
    for (const id of new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? [])) {
      if (builtins.has(id)) continue;
      const w = words(id).join(' ');
      for (const n of names) if (` ${w} `.includes(` ${n.split(/[-_]/).join(' ')} `)) found.push(`${f}: identifier ${id} (${n})`);
    }
  }
  assert.deepEqual(found, []);
});

test('a pruner added as one file plus one registry line is accepted by the spec, runs, and is listed in --help', () => {
  // A copy of the built tree (under dist/, so packages resolve from the repository), so the test
  // edits no source: the entry file and its registry line.
  const root = mkdtempSync(join(ROOT, 'dist', '.tmp-pruner-'));
  try {
    cpSync(join(ROOT, 'dist', 'src'), join(root, 'dist', 'src'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    writeFileSync(
      join(root, 'dist', 'src', 'pruning', 'hold-random.js'),
      `import { z } from 'zod';
import { levelPools, maskedCopy } from './during.js';
import { prune } from './masker.js';
import { during } from './pruner.js';
/** Test-only: a random mask at the level's counts, held for the whole schedule. */
export const holdRandom = during({
  kind: 'hold-random',
  schema: z.strictObject({ kind: z.literal('hold-random'), every: z.number().int().positive().default(1) }).describe('test-only: a random mask at the level counts, held throughout'),
  shorthands: [{ form: 'hold-random' }],
  parse: (s) => (s === 'hold-random' ? { kind: 'hold-random', every: 1 } : null),
  name: () => 'hold-random',
  check: (d, plan) => (d.every > plan.iterations ? { field: 'every', message: 'beyond training: make it smaller' } : null),
  async run(d, x) {
    const { dense } = levelPools(x);
    const masks = prune({ model: x.model, masks: dense, init: x.theta0, final: x.theta0, spec: x.pruning, criterion: 'random', rng: x.rng, rounds: x.level, level: x.level });
    const res = await x.trainFrom({ init: maskedCopy(x.model, x.theta0, masks), masks });
    return { masks, res, compute: { totalIterations: res.iterations, totalMultiplyAdds: 0 } };
  },
});
`,
    );
    // and a between-level criterion: keep the largest |w_f − 2·w_i|
    writeFileSync(
      join(root, 'dist', 'src', 'pruning', 'far-from-double.js'),
      `import { criterion } from './pruner.js';
export const farFromDouble = criterion('test-only: keep the largest |w_f - 2 w_i|', (x) => x.final.map((wf, i) => Math.abs(wf - 2 * x.init[i])));
`,
    );
    const reg = join(root, 'dist', 'src', 'pruning', 'registry.js');
    const src = readFileSync(reg, 'utf8');
    const edited = [
      `import { holdRandom } from './hold-random.js';`,
      `import { farFromDouble } from './far-from-double.js';`,
      src.replace(/(DURING_PRUNERS = \[[^\]]*)\]/, '$1, holdRandom]').replace(/(CRITERIA = \{)/, '$1 far_from_double: farFromDouble,'),
    ].join('\n');
    assert.match(edited, /, holdRandom\]/, 'the DURING_PRUNERS line was not found');
    assert.match(edited, /\{ far_from_double: farFromDouble,/, 'the CRITERIA line was not found');
    writeFileSync(reg, edited);
    const cli = join(root, 'dist', 'src', 'cli', 'main.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
    const help = run(['run', '--help']).stdout;
    assert.match(help, /\n {2}hold-random — test-only/);
    assert.match(help, /\n {2}far_from_double — test-only/);
    const spec = join(root, 's.json');
    const db = join(root, 'r.db');
    writeFileSync(
      spec,
      JSON.stringify(
        tinySpec({
          name: 'reg',
          strategies: [
            'rewind',
            'hold-random',
            { reset: 'rewind', name: 'hr2', during: { kind: 'hold-random', every: 2 } },
            { reset: 'rewind', criterion: 'far_from_double' as never },
          ],
        }),
      ),
    );
    const r = run(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const rows = levelRows(db);
    const pct = (s: string) => rows.filter((x) => x.strategy === s).map((x) => [x.level, x.percent_remaining]);
    assert.deepEqual(pct('hold-random'), pct('rewind'), 'the entry reaches the level counts');
    assert.equal(pct('hr2').length, 3);
    assert.deepEqual(pct('rewind/far_from_double'), pct('rewind'), 'the criterion prunes at the level counts');
    const masks = (s: string) => rows.filter((x) => x.strategy === s && x.level === 2).map((x) => x.mask_hash);
    assert.notDeepEqual(masks('rewind/far_from_double'), masks('rewind'), 'the criterion chose its own mask');
    // its check runs before any work
    writeFileSync(spec, JSON.stringify(tinySpec({ name: 'reg2', strategies: [{ reset: 'rewind', during: { kind: 'hold-random', every: 1000 } }] })));
    const bad = run(['run', spec, '--db', join(root, 'r2.db'), '--backend', 'wasm', '--quiet']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /strategies\.0\.during\.every: beyond training: make it smaller/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('during objects: an error names the field, the problem and the fix (issue: "strategies.0: Invalid input")', () => {
  const err = (during: unknown) => {
    try {
      validateSpec(tinySpec({ strategies: [{ reset: 'rewind', during } as never] }), 's.json');
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.match(err({ kind: 'rigl', updateEvery: -5 }), /strategies\.0\.during\.kind: must be one of gradual, dynamic, early-bird .*"strategies": \["set"\]/);
  assert.match(err({ kind: 'set' }), /strategies\.0\.during\.kind: must be one of/);
  assert.match(err({ kind: 'early-bird', epsilon: -1 }), /strategies\.0\.during\.epsilon: Too small: expected number to be >0/);
  assert.match(err({ kind: 'dynamic', regrow: 'gradient', dropFraction: 2 }), /strategies\.0\.during\.dropFraction: Too big: expected number to be <1/);
  assert.match(err('rigl'), /strategies\.0\.during: write an object such as \{"kind": "gradual"\}.*shorthand for the whole chain/);
  assert.match(err({ kind: 'dynamic', regrow: 'gradient', every: 0 }), /accepted/, 'range checks that need the plan come from checkSpec');
  assert.throws(
    () => checkSpec(validateSpec(tinySpec({ strategies: [{ reset: 'rewind', during: { kind: 'dynamic', regrow: 'gradient', every: 0 } }] }), 's.json')),
    /strategies\.0\.during\.every: must be at least 1 step/,
  );
});

test('samples larger than the training split: pruning.atInit.sample and pruning.sample.size are capped alike and said so before any work', () => {
  const warn = (pruning: object, strategies: unknown[]) =>
    checkSpec(
      validateSpec(
        tinySpec({ data: { ...tinySpec().data!, trainSubset: 300 }, pruning: { levels: 1, ...pruning }, strategies: strategies as never }),
        's.json',
      ),
    ).warnings;
  assert.deepEqual(warn({ criterion: 'grasp', atInit: { sample: 100000 } }, ['rewind']), [
    'pruning.atInit.sample is 100000 but the training split has 300 examples: all 300 are used (set pruning.atInit.sample to at most 300 to say so)',
  ]);
  assert.deepEqual(warn({ criterion: 'obd', sample: { size: 5000 } }, ['rewind']), [
    'pruning.sample.size is 5000 but the training split has 300 examples: all 300 are used (set pruning.sample.size to at most 300 to say so)',
  ]);
  assert.deepEqual(warn({ granularity: 'neuron', unitCriterion: 'taylor', sample: { size: 5000 } }, ['rewind']).length, 1);
  // not read, not reported: a magnitude chain, or a data-free criterion
  assert.deepEqual(warn({ atInit: { sample: 100000 }, sample: { size: 5000 } }, ['rewind']), []);
  assert.deepEqual(warn({ granularity: 'neuron', unitCriterion: 'l1_norm', sample: { size: 5000 } }, ['rewind']), []);
  assert.deepEqual(warn({ criterion: 'synflow', atInit: { sample: 100000 } }, ['rewind']), []);
});

test('the issue’s reproduction: grasp with pruning.atInit.sample beyond a 400-example split warns first and runs every level', () => {
  const dir = tmp();
  try {
    const spec = join(dir, 's.json');
    writeFileSync(
      spec,
      JSON.stringify(
        tinySpec({
          name: 'big-sample',
          data: { ...tinySpec().data!, trainSubset: 400 },
          pruning: { levels: 1, criterion: 'grasp', atInit: { sample: 100000 } },
          strategies: ['rewind'],
        }),
      ),
    );
    const r = lth(['run', spec, '--db', join(dir, 'r.db'), '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /pruning\.atInit\.sample is 100000 but the training split has 400 examples: all 400 are used/);
    assert.deepEqual(
      levelRows(join(dir, 'r.db')).map((x) => x.level),
      [0, 1],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SET/RigL under ERK start from a random mask at the ERK per-layer counts of the level', () => {
  const model = buildModel('mlp-small', [6], 3);
  const spec = specSchema.parse({ name: 'x', pruning: { scope: 'erk', globalRate: 0.3 } }).pruning;
  const targets = levelTargets(prunePools(model, spec), fullMasks(model), 3);
  const w = initialize(model, 'glorot-normal', 'theta0', 4);
  const m: Masks = prune({ model, masks: fullMasks(model), init: w, final: w, spec, criterion: 'random', rng: makeRng(3), rounds: 3, level: 3 });
  assert.deepEqual(Object.values(m).map(ones), targets);
});
