import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { buildModel, initialize, type Masks, type Model, type Weights } from '../src/models/index.js';
import {
  atInitScores,
  fullMasks,
  obdScores,
  prune,
  sampleAt,
  saliencySample,
  shuffledMasks,
  type AtInitCriterion,
  type SaliencySample,
} from '../src/pruning/index.js';
import { specSchema } from '../src/spec/index.js';
import { makeRng } from '../src/util/rng.js';

/**
 * SNIP, GraSP and SynFlow (docs/PAPERS.md#when-to-prune), and OBD (docs/PAPERS.md#obd), against an independent float64
 * computation: a hand-written forward and backward pass of a ReLU MLP, the Hessian-vector
 * product by central differences of that gradient, and SynFlow's path norm by its closed form.
 */

// A tiny 3 → 2 → 2 network, kernels stored [in, out], written out by hand.
const W1 = [0.5, -0.3, 0.2, 0.8, -0.6, 0.4];
const W2 = [0.7, -0.2, -0.5, 0.9];
const tiny: Model = {
  name: 'tiny',
  inputShape: [3],
  numClasses: 2,
  params: [
    { name: 'fc1/kernel', shape: [3, 2], kind: 'fc', fanIn: 3, fanOut: 2 },
    { name: 'fc1/bias', shape: [2], kind: 'none', fanIn: 3, fanOut: 2 },
    { name: 'output/kernel', shape: [2, 2], kind: 'output', fanIn: 2, fanOut: 2 },
    { name: 'output/bias', shape: [2], kind: 'none', fanIn: 2, fanOut: 2 },
  ],
  graph: { inputShape: [3], nodes: [], params: [] },
  forward: () => {
    throw new Error('not used');
  },
  forwardTrain: () => {
    throw new Error('not used');
  },
  predict: (w, x) =>
    tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w['fc1/kernel'] as tf.Tensor2D), w['fc1/bias'])), w['output/kernel'] as tf.Tensor2D),
      w['output/bias'],
    ) as tf.Tensor2D,
};
const tinyWeights: Weights = {
  'fc1/kernel': Float32Array.from(W1),
  'fc1/bias': Float32Array.from([0.1, -0.05]),
  'output/kernel': Float32Array.from(W2),
  'output/bias': Float32Array.from([0.02, -0.01]),
};
const tinySample: SaliencySample = { x: Float32Array.from([1, 2, -1, 0.5, -1, 2, -2, 0.3, 1]), y: Uint8Array.from([0, 1, 1]), n: 3 };

/** Dense layers of an MLP: [kernel, bias] names and sizes, in order. */
function layersOf(model: Model): { k: string; b: string; nin: number; nout: number }[] {
  const out = [];
  for (let i = 0; i < model.params.length; i += 2)
    out.push({ k: model.params[i].name, b: model.params[i + 1].name, nin: model.params[i].shape[0], nout: model.params[i].shape[1] });
  return out;
}

type W64 = Record<string, number[]>;

/** Mean cross-entropy and its gradient, by hand, in float64. */
function lossAndGrad(model: Model, w: W64, s: SaliencySample): { loss: number; grad: W64 } {
  const L = layersOf(model);
  const dim = s.x.length / s.n;
  const grad: W64 = {};
  for (const l of L) {
    grad[l.k] = new Array(l.nin * l.nout).fill(0);
    grad[l.b] = new Array(l.nout).fill(0);
  }
  let loss = 0;
  for (let e = 0; e < s.n; e++) {
    const hs: number[][] = [Array.from(s.x.subarray(e * dim, (e + 1) * dim))];
    const zs: number[][] = [];
    L.forEach((l, li) => {
      const h = hs[hs.length - 1];
      const z = Array.from({ length: l.nout }, (_, o) => w[l.b][o] + h.reduce((a, v, i) => a + v * w[l.k][i * l.nout + o], 0));
      zs.push(z);
      hs.push(li < L.length - 1 ? z.map((v) => Math.max(0, v)) : z);
    });
    const z = zs[zs.length - 1];
    const mx = Math.max(...z);
    const ex = z.map((v) => Math.exp(v - mx));
    const sum = ex.reduce((a, b) => a + b, 0);
    loss += (-(z[s.y[e]] - mx) + Math.log(sum)) / s.n;
    let dz = ex.map((v, o) => (v / sum - (o === s.y[e] ? 1 : 0)) / s.n);
    for (let li = L.length - 1; li >= 0; li--) {
      const l = L[li];
      const h = hs[li];
      for (let i = 0; i < l.nin; i++) for (let o = 0; o < l.nout; o++) grad[l.k][i * l.nout + o] += h[i] * dz[o];
      for (let o = 0; o < l.nout; o++) grad[l.b][o] += dz[o];
      if (li > 0) {
        const dh = Array.from({ length: l.nin }, (_, i) => dz.reduce((a, d, o) => a + d * w[l.k][i * l.nout + o], 0));
        dz = dh.map((v, i) => (zs[li - 1][i] > 0 ? v : 0));
      }
    }
  }
  return { loss, grad };
}

const to64 = (w: Weights, masks: Masks): W64 =>
  Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.from(v, (x, i) => (masks[k] && !masks[k][i] ? 0 : x))]));

/** Hg by central differences of the hand-written gradient: (g(θ + εg) − g(θ − εg)) / 2ε. */
function hessianGrad(model: Model, w: W64, s: SaliencySample): W64 {
  const g = lossAndGrad(model, w, s).grad;
  const eps = 1e-5;
  const shift = (sign: number) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.map((x, i) => x + sign * eps * g[k][i])]));
  const gp = lossAndGrad(model, shift(1), s).grad;
  const gm = lossAndGrad(model, shift(-1), s).grad;
  return Object.fromEntries(Object.keys(w).map((k) => [k, w[k].map((_, i) => (gp[k][i] - gm[k][i]) / (2 * eps))]));
}

function expectedScores(model: Model, c: AtInitCriterion, w: Weights, masks: Masks, s: SaliencySample): W64 {
  const w64 = to64(w, masks);
  const out: W64 = {};
  if (c === 'synflow') {
    // R = 1ᵀ|W1||W2|…|Wn|1: with a_i = paths into unit i from the input, b_j = paths from unit j to the output, score = a_i |W_ij| b_j.
    const L = layersOf(model);
    const abs = L.map((l) => w64[l.k].map(Math.abs));
    L.forEach((l, li) => {
      let a = new Array(L[0].nin).fill(1);
      for (let q = 0; q < li; q++) a = Array.from({ length: L[q].nout }, (_, o) => a.reduce((acc, v, i) => acc + v * abs[q][i * L[q].nout + o], 0));
      let b = new Array(L[L.length - 1].nout).fill(1);
      for (let q = L.length - 1; q > li; q--) b = Array.from({ length: L[q].nin }, (_, i) => b.reduce((acc, v, o) => acc + abs[q][i * L[q].nout + o] * v, 0));
      out[l.k] = abs[li].map((v, idx) => a[Math.floor(idx / l.nout)] * v * b[idx % l.nout]);
    });
    return out;
  }
  const g = lossAndGrad(model, w64, s).grad;
  const hg = c === 'grasp' ? hessianGrad(model, w64, s) : null;
  for (const p of model.params)
    if (p.kind !== 'none') out[p.name] = w64[p.name].map((v, i) => (c === 'snip' ? Math.abs(v * g[p.name][i]) : v * hg![p.name][i]));
  return out;
}

function assertClose(actual: Weights, expected: W64, what: string) {
  for (const [k, e] of Object.entries(expected)) {
    const scale = Math.max(1e-6, ...e.map(Math.abs));
    e.forEach((v, i) => assert.ok(Math.abs(actual[k][i] - v) <= 2e-4 * scale, `${what} ${k}[${i}]: ${actual[k][i]} vs ${v}`));
  }
}

before(async () => {
  await initBackend('wasm');
});

// One pruned weight per layer: its score must come from θ ⊙ m, not θ.
const tinyMasks: Masks = { 'fc1/kernel': Uint8Array.from([1, 1, 1, 0, 1, 1]), 'output/kernel': Uint8Array.from([1, 1, 0, 1]) };

for (const c of ['snip', 'grasp', 'synflow'] as const) {
  test(`${c} on a tiny 3-2-2 network equals the hand computation (masked θ0)`, () => {
    const s = atInitScores(tiny, c, tinyWeights, tinyMasks, tinySample);
    assertClose(s, expectedScores(tiny, c, tinyWeights, tinyMasks, tinySample), c);
    assert.ok(
      Object.values(s).some((v) => v.some((x) => Math.abs(x) > 1e-3)),
      'all scores ~0: the check would be vacuous',
    );
  });

  test(`${c} on the zoo's mlp-small (the model's own predict) equals the hand computation`, () => {
    const model = buildModel('mlp-small', [5], 3);
    const w = initialize(model, 'glorot-normal', 'theta0', 3);
    for (const p of model.params) if (p.kind === 'none') w[p.name] = w[p.name].map((_, i) => 0.05 * Math.sin(i + 1));
    const rng = makeRng('x');
    const sample: SaliencySample = { x: Float32Array.from({ length: 8 * 5 }, () => rng.normal()), y: Uint8Array.from({ length: 8 }, (_, i) => i % 3), n: 8 };
    const masks = fullMasks(model);
    masks['fc1/kernel'][7] = 0;
    const before = tf.memory().numTensors;
    const s = atInitScores(model, c, w, masks, sample);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assertClose(s, expectedScores(model, c, w, masks, sample), c);
  });
}

test('GraSP keeps the highest θ ⊙ Hg, i.e. removes the highest −θ ⊙ Hg (Wang et al. 2020, Eq. 8)', () => {
  const spec = specSchema.parse({ name: 'x', pruning: { scope: 'global', globalRate: 0.5 } }).pruning;
  const exp = expectedScores(tiny, 'grasp', tinyWeights, fullMasks(tiny), tinySample);
  const all = [...exp['fc1/kernel'], ...exp['output/kernel']];
  const order = all.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]);
  const keep = new Set(order.slice(0, 5).map((x) => x[1]));
  const m = prune({
    model: tiny,
    masks: fullMasks(tiny),
    init: tinyWeights,
    final: tinyWeights,
    spec,
    criterion: 'grasp',
    rng: makeRng(1),
    saliency: (mm) => atInitScores(tiny, 'grasp', tinyWeights, mm, tinySample),
  });
  assert.deepEqual(
    [...m['fc1/kernel'], ...m['output/kernel']],
    all.map((_, i) => (keep.has(i) ? 1 : 0)),
  );
});

test('GraSP: the Hessian-gradient product runs over biases as well as kernels (a choice, docs/CONTROLS.md#grasp-biases)', () => {
  // Hg restricted to the kernels: perturb only the kernels, along the kernels' gradient.
  const w64 = to64(tinyWeights, tinyMasks);
  const g = lossAndGrad(tiny, w64, tinySample).grad;
  const eps = 1e-5;
  const kernels = (k: string) => k.endsWith('/kernel');
  const shift = (sign: number) => Object.fromEntries(Object.entries(w64).map(([k, v]) => [k, v.map((x, i) => x + (kernels(k) ? sign * eps * g[k][i] : 0))]));
  const gp = lossAndGrad(tiny, shift(1), tinySample).grad;
  const gm = lossAndGrad(tiny, shift(-1), tinySample).grad;
  const kernelOnly: W64 = Object.fromEntries(
    Object.keys(w64)
      .filter(kernels)
      .map((k) => [k, w64[k].map((v, i) => (v * (gp[k][i] - gm[k][i])) / (2 * eps))]),
  );
  const withBiases = expectedScores(tiny, 'grasp', tinyWeights, tinyMasks, tinySample);
  const s = atInitScores(tiny, 'grasp', tinyWeights, tinyMasks, tinySample);
  assertClose(s, withBiases, 'grasp (biases in Hg)');
  // The two differ by more than the tolerance somewhere, so the choice is observable.
  const gap = Math.max(...Object.keys(kernelOnly).flatMap((k) => kernelOnly[k].map((v, i) => Math.abs(v - withBiases[k][i]))));
  const scale = Math.max(...Object.values(withBiases).flatMap((v) => v.map(Math.abs)));
  assert.ok(gap > 1e-2 * scale, `kernel-only Hg is indistinguishable (gap ${gap}, scale ${scale})`);
});

test('SynFlow in n rounds: exact final count, kept fraction shrinking geometrically, rescored each round', () => {
  const model = buildModel('mlp-small', [6], 3);
  const w = initialize(model, 'glorot-normal', 'theta0', 5);
  const spec = specSchema.parse({ name: 'x', pruning: { scope: 'global', globalRate: 0.2 } }).pruning;
  const total = 6 * 32 + 32 * 16 + 16 * 3;
  const seen: number[] = [];
  const saliency = (m: Masks) => {
    seen.push(Object.values(m).reduce((a, v) => a + v.reduce((x, y) => x + y, 0), 0));
    return atInitScores(model, 'synflow', w, m, null);
  };
  const m = prune({ model, masks: fullMasks(model), init: w, final: w, spec, criterion: 'synflow', rng: makeRng(1), rounds: 5, iterations: 4, saliency });
  let target = total;
  for (let r = 0; r < 5; r++) target -= Math.round(0.2 * target);
  const kept = Object.values(m).reduce((a, v) => a + v.reduce((x, y) => x + y, 0), 0);
  assert.equal(kept, target);
  // Rounds 1..4 saw the masks before each round: total, then round(total·(target/total)^(k/4)).
  assert.deepEqual(
    seen,
    [0, 1, 2, 3].map((k) => Math.round(total * (target / total) ** (k / 4))),
  );
  const once = prune({
    model,
    masks: fullMasks(model),
    init: w,
    final: w,
    spec,
    criterion: 'synflow',
    rng: makeRng(1),
    rounds: 5,
    saliency: (mm) => atInitScores(model, 'synflow', w, mm, null),
  });
  assert.notDeepEqual(
    Object.values(once).map((v) => v.join('')),
    Object.values(m).map((v) => v.join('')),
    'rescoring changed nothing',
  );
});

test('at-init criteria without a saliency function: one clear error', () => {
  const spec = specSchema.parse({ name: 'x' }).pruning;
  assert.throws(
    () => prune({ model: tiny, masks: fullMasks(tiny), init: tinyWeights, final: tinyWeights, spec, criterion: 'snip', rng: makeRng(1) }),
    /snip scores the network, not single weights/,
  );
});

test('the saliency sample is fixed by its seed, drawn without replacement, and checks its size', () => {
  const split = { x: Float32Array.from({ length: 50 * 2 }, (_, i) => i), y: Uint8Array.from({ length: 50 }, (_, i) => i % 10), n: 50 };
  const a = saliencySample(split, 10, makeRng('s', 1));
  assert.deepEqual(saliencySample(split, 10, makeRng('s', 1)), a);
  assert.notDeepEqual(saliencySample(split, 10, makeRng('s', 2)).x, a.x);
  const rows = new Set(Array.from({ length: 10 }, (_, i) => a.x[2 * i] / 2));
  assert.equal(rows.size, 10);
  for (let i = 0; i < 10; i++) assert.equal(a.y[i], (a.x[2 * i] / 2) % 10);
  assert.throws(() => saliencySample(split, 51, makeRng('s')), /at most 50/);
});

test('layer-shuffle keeps each layer’s count, moves positions, and is seeded', () => {
  const model = buildModel('mlp-small', [6], 3);
  const masks: Masks = {};
  const rng = makeRng('m');
  for (const p of model.params)
    if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape[0] * p.shape[1] }, () => (rng.uniform() < 0.3 ? 1 : 0));
  const s = shuffledMasks(model, masks, makeRng('shuffle', 1));
  for (const [k, m] of Object.entries(masks)) {
    assert.equal(
      s[k].reduce((a, b) => a + b, 0),
      m.reduce((a, b) => a + b, 0),
      k,
    );
    assert.notDeepEqual([...s[k]], [...m], k);
  }
  assert.deepEqual(shuffledMasks(model, masks, makeRng('shuffle', 1)), s);
});

test('one-shot at-init chains: masks come from θ0 alone (same masks whatever the dense training), deterministic; layer-shuffle rows keep the counts', async () => {
  const { runExperiment } = await import('../src/orchestration/index.js');
  const { validateSpec } = await import('../src/spec/index.js');
  const { levelRows, tinySpec, tmp } = await import('./helpers/common.js');
  const { join } = await import('node:path');
  const chains = [
    { reset: 'rewind', criterion: 'snip' as const },
    { reset: 'rewind', criterion: 'grasp' as const },
    { reset: 'rewind', criterion: 'synflow' as const },
    'rewind',
  ];
  const run = async (iterations: string) => {
    const db = join(tmp(), 'a.db');
    const spec = validateSpec(
      tinySpec({
        training: { iterations, evalEvery: '10it', batchSize: 30 },
        pruning: { levels: 2, schedule: 'one-shot', atInit: { sample: 50, synflowIterations: 5 } },
        strategies: chains,
        branches: [{ kind: 'layer-shuffle', chains: ['rewind/snip'] }],
      }),
      't',
    );
    await runExperiment(spec, { db, backend: 'wasm' });
    return levelRows(db);
  };
  const a = await run('20it');
  const b = await run('40it');
  const again = await run('20it');
  const hash = (rows: typeof a, strategy: string, level: number, branch: string | null = null) =>
    rows.find((r) => r.strategy === strategy && r.level === level && r.branch === branch)!.mask_hash;
  for (const s of ['rewind/snip', 'rewind/grasp', 'rewind/synflow'])
    for (const level of [1, 2]) {
      assert.equal(hash(a, s, level), hash(b, s, level), `${s} level ${level} depends on the dense training`);
      assert.equal(hash(a, s, level), hash(again, s, level), `${s} level ${level} not deterministic`);
    }
  assert.notEqual(hash(a, 'rewind', 2), hash(b, 'rewind', 2), 'magnitude pruning after training should depend on the training');
  assert.notEqual(hash(a, 'rewind/snip', 2), hash(a, 'rewind/synflow', 2));
  for (const level of [1, 2]) {
    const chain = a.find((r) => r.strategy === 'rewind/snip' && r.level === level && r.branch === null)!;
    const sh = a.find((r) => r.strategy === 'rewind/snip' && r.level === level && r.branch === 'layer-shuffle')!;
    assert.equal(sh.percent_remaining, chain.percent_remaining);
    assert.notEqual(sh.mask_hash, chain.mask_hash);
  }
});

/** OBD by hand: ½·F_ii·w_i², F the mean of the squared per-example gradients (empirical Fisher), float64. */
function expectedObd(model: Model, w: Weights, masks: Masks, s: SaliencySample): W64 {
  const w64 = to64(w, masks);
  const dim = s.x.length / s.n;
  const fisher: W64 = Object.fromEntries(Object.entries(w64).map(([k, v]) => [k, v.map(() => 0)]));
  for (let e = 0; e < s.n; e++) {
    const one: SaliencySample = { x: s.x.slice(e * dim, (e + 1) * dim), y: s.y.slice(e, e + 1), n: 1 };
    const g = lossAndGrad(model, w64, one).grad;
    for (const k of Object.keys(fisher)) fisher[k] = fisher[k].map((f, i) => f + g[k][i] ** 2 / s.n);
  }
  const out: W64 = {};
  for (const p of model.params) if (p.kind !== 'none') out[p.name] = w64[p.name].map((v, i) => 0.5 * fisher[p.name][i] * v * v);
  return out;
}

test('obd on a tiny 3-2-2 network equals ½·F_ii·w² by hand (empirical Fisher of per-example gradients, masked θ)', () => {
  const s = obdScores(tiny, tinyWeights, tinyMasks, tinySample);
  assertClose(s, expectedObd(tiny, tinyWeights, tinyMasks, tinySample), 'obd');
  assert.equal(s['fc1/kernel'][3], 0, 'a pruned weight scores 0');
  assert.ok(
    Object.values(s).some((v) => v.some((x) => x > 1e-4)),
    'all scores ~0: the check would be vacuous',
  );
  // Not the same ranking as magnitude: otherwise the criterion would add nothing.
  const byObd = [...s['fc1/kernel'].keys()].sort((a, b) => s['fc1/kernel'][b] - s['fc1/kernel'][a]);
  const byMag = [...tinyWeights['fc1/kernel'].keys()].sort((a, b) => Math.abs(tinyWeights['fc1/kernel'][b]) - Math.abs(tinyWeights['fc1/kernel'][a]));
  assert.notDeepEqual(byObd, byMag);
});

test('obd on the zoo mlp-small: equals the hand computation, no tensors leak, and prune keeps the highest saliencies', () => {
  const model = buildModel('mlp-small', [5], 3);
  const w = initialize(model, 'glorot-normal', 'theta0', 4);
  const rng = makeRng('obd');
  const split = { x: Float32Array.from({ length: 40 * 5 }, () => rng.normal()), y: Uint8Array.from({ length: 40 }, (_, i) => i % 3), n: 40 };
  const sample = sampleAt(split, [3, 7, 11, 20, 31, 39]);
  assert.deepEqual([...sample.y], [0, 1, 2, 2, 1, 0]);
  const before = tf.memory().numTensors;
  const s = obdScores(model, w, fullMasks(model), sample);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  const exp = expectedObd(model, w, fullMasks(model), sample);
  assertClose(s, exp, 'obd');
  const spec = specSchema.parse({ name: 'x', pruning: { scope: 'layerwise', rates: { fc: 0.5, output: 0.5 } } }).pruning;
  const m = prune({
    model,
    masks: fullMasks(model),
    init: w,
    final: w,
    spec,
    criterion: 'obd',
    rng: makeRng(1),
    saliency: (mm) => obdScores(model, w, mm, sample),
  });
  for (const [k, e] of Object.entries(exp)) {
    const keep = Math.round(e.length / 2);
    const top = new Set(
      e
        .map((v, i) => [v, i])
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, keep)
        .map((x) => x[1]),
    );
    assert.deepEqual(
      [...m[k]],
      e.map((_, i) => (top.has(i) ? 1 : 0)),
      k,
    );
  }
});

test('an obd chain runs end to end, is deterministic, and differs from magnitude pruning', async () => {
  const { runExperiment } = await import('../src/orchestration/index.js');
  const { validateSpec } = await import('../src/spec/index.js');
  const { levelRows, tinySpec, tmp } = await import('./helpers/common.js');
  const { join } = await import('node:path');
  const run = async () => {
    const db = join(tmp(), 'o.db');
    const spec = validateSpec(
      tinySpec({
        training: { iterations: '20it', evalEvery: '10it', batchSize: 30 },
        pruning: { levels: 2, sample: { size: 40, seed: 3 } },
        strategies: ['rewind', { reset: 'rewind', criterion: 'obd' as const }],
      }),
      't',
    );
    await runExperiment(spec, { db, backend: 'wasm' });
    return levelRows(db);
  };
  const a = await run();
  const b = await run();
  const hash = (rows: typeof a, strategy: string, level: number) => rows.find((r) => r.strategy === strategy && r.level === level)!.mask_hash;
  for (const level of [1, 2]) {
    assert.equal(hash(a, 'rewind/obd', level), hash(b, 'rewind/obd', level), `level ${level} not deterministic`);
    assert.notEqual(hash(a, 'rewind/obd', level), hash(a, 'rewind', level), `level ${level}: obd gave magnitude's mask`);
    const pr = (s: string) => a.find((r) => r.strategy === s && r.level === level)!.percent_remaining;
    assert.equal(pr('rewind/obd'), pr('rewind'), 'same rates, same % remaining');
  }
});
