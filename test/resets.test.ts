import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, initialize, initStd } from '../src/models/index.js';
import { fullMasks, prune } from '../src/pruning/index.js';
import { specSchema } from '../src/spec/index.js';
import { resolveReset } from '../src/resets/index.js';
import { resolveSchedule } from '../src/training/schedule.js';
import { makeRng } from '../src/util/rng.js';

const model = buildModel('lenet-300-100', [784], 10);
const spec = specSchema.parse({
  name: 'x',
  training: { iterations: '1000it', fineTuneIterations: '300it', schedule: { kind: 'step', milestones: ['500it'], gamma: 0.1 } },
});
const plan = resolveSchedule(spec.training, 55000);
const theta0 = initialize(model, 'glorot-normal', 'theta0', 1);
const thetaK = initialize(model, 'glorot-normal', 'thetaK', 1);
const thetaFinal = initialize(model, 'glorot-normal', 'final', 1);
const masks = prune({ model, masks: fullMasks(model), init: theta0, final: thetaFinal, spec: spec.pruning, rng: makeRng(3) });
const inputs = { model, init: 'glorot-normal' as const, theta0, thetaK, thetaFinal, masks, rng: makeRng('reset') };

/** Asserts out = source where kept and exactly 0 where pruned, bit for bit. */
function assertMaskedCopy(out: Record<string, Float32Array>, source: Record<string, Float32Array>) {
  for (const p of model.params) {
    const m = masks[p.name];
    const a = new Uint32Array(out[p.name].buffer, out[p.name].byteOffset, out[p.name].length);
    const b = new Uint32Array(source[p.name].buffer, source[p.name].byteOffset, source[p.name].length);
    for (let i = 0; i < a.length; i++) {
      if (!m || m[i]) assert.equal(a[i], b[i], `${p.name}[${i}] differs from the source`);
      else assert.equal(out[p.name][i], 0, `${p.name}[${i}] should be pruned to 0`);
    }
  }
}

test('rewind resets survivors to θ0 bit-exactly and replays the whole schedule', () => {
  const s = resolveReset('rewind', plan);
  assertMaskedCopy(s.reset(inputs), theta0);
  assert.deepEqual(s.schedule(plan), { kind: 'replay', from: 0 });
});

test('rewind@k resets to θ_k bit-exactly and resumes the schedule at k', () => {
  const s = resolveReset('rewind@200it', plan);
  assert.equal(s.needsThetaK, true);
  assertMaskedCopy(s.reset(inputs), thetaK);
  assert.deepEqual(s.schedule(plan), { kind: 'replay', from: 200 });
  // epochs resolve with the data size: 55000/60 = 916 iterations per epoch
  assert.equal(resolveReset('rewind@1ep', plan).k, 916);
});

test('sign-constant sets survivors to sign(θ0)·σ_layer', () => {
  const out = resolveReset('sign-constant', plan).reset(inputs);
  for (const p of model.params) {
    const m = masks[p.name];
    if (!m) continue;
    const sigma = Math.fround(Math.sqrt(2 / (p.fanIn + p.fanOut)));
    assert.equal(Math.fround(initStd(p, 'glorot-normal')), sigma);
    out[p.name].forEach((v, i) => assert.equal(v, m[i] ? Math.sign(theta0[p.name][i]) * sigma : 0));
  }
});

test('fine-tune keeps θ_final and trains fineTuneIterations at the final LR', () => {
  const s = resolveReset('fine-tune', plan);
  assertMaskedCopy(s.reset(inputs), thetaFinal);
  const sch = s.schedule(plan);
  assert.equal(sch.kind, 'constant');
  if (sch.kind === 'constant') {
    assert.equal(sch.steps, 300);
    assert.ok(Math.abs(sch.lr - 1.2e-4) < 1e-12, `final LR ${sch.lr}`);
  }
});

test('lr-rewind keeps θ_final and replays the schedule from 0', () => {
  const s = resolveReset('lr-rewind', plan);
  assertMaskedCopy(s.reset(inputs), thetaFinal);
  assert.deepEqual(s.schedule(plan), { kind: 'replay', from: 0 });
});

test('reshuffle permutes the surviving θ0 values within each layer', () => {
  const out = resolveReset('reshuffle', plan).reset(inputs);
  for (const p of model.params) {
    const m = masks[p.name];
    if (!m) continue;
    const kept = (a: Float32Array) => [...a.filter((_, i) => m[i] === 1)].sort((x, y) => x - y);
    assert.deepEqual(kept(out[p.name]), kept(theta0[p.name]), 'same multiset of values');
    out[p.name].forEach((v, i) => m[i] || assert.equal(v, 0));
  }
  assert.notDeepEqual(out['fc1/kernel'], resolveReset('rewind', plan).reset(inputs)['fc1/kernel']);
});

test('random-reinit draws fresh weights with the initializer σ, masked', () => {
  const out = resolveReset('random-reinit', plan).reset({ ...inputs, rng: makeRng('r', 1) });
  const w = out['fc1/kernel'];
  const m = masks['fc1/kernel'];
  let n = 0;
  let ss = 0;
  let same = 0;
  w.forEach((v, i) => {
    if (!m[i]) return assert.equal(v, 0);
    n++;
    ss += v * v;
    if (v === theta0['fc1/kernel'][i]) same++;
  });
  const sigma = Math.sqrt(2 / (784 + 300));
  assert.ok(Math.abs(Math.sqrt(ss / n) / sigma - 1) < 0.02, 'std close to the initializer σ');
  assert.equal(same, 0);
});

test('bad strategy names are rejected with the fix', () => {
  assert.throws(() => resolveReset('rewnd', plan), /unknown strategy "rewnd": use one of/);
  assert.throws(() => resolveReset('fine-tune@5', plan), /takes no rewind point/);
  assert.throws(() => resolveReset('rewind@5000it', plan), /before the end of training/);
});
