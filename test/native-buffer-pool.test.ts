import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../src/util/tf.js';
import { initBackend } from '../src/backend/index.js';
import { BufferPool } from '../src/backend/buffer-pool.js';
import { loadNativeAddon, type NativeBackend } from '../src/backend/native.js';
import { relu } from '../src/models/ops.js';
import { buildModel, initialize, type Masks } from '../src/models/index.js';
import { randomSplit } from '../src/bench/run.js';
import { trainingSchema } from '../src/spec/index.js';
import { resolveSchedule, train } from '../src/training/index.js';
import { makeRng } from '../src/util/index.js';
import { rand } from './helpers/numbers.js';

/**
 * The native backend's recycled output arrays (src/backend/buffer-pool.ts): which arrays are
 * handed out again and which never are (read out, shared by a view, still held), zeros where a
 * kernel asks for them, the size cap; and on the backend, that arrays read out or viewed keep
 * their values, and that training with every recycled "fully written" output poisoned with NaN
 * gives the bits of training without the pool.
 */

describe('BufferPool', () => {
  it('hands a released array out again only after its one data entry is gone', () => {
    const p = new BufferPool(1 << 20);
    const a = p.take(16, true);
    p.adopt(a);
    assert.notEqual(p.take(16, true), a, 'a live array is not handed out');
    p.release(a);
    assert.equal(p.bytes, 64);
    assert.equal(p.take(15, true).length, 15, 'another size: a new array');
    const b = p.take(16, false);
    assert.equal(b, a, 'the same size: the released array');
    assert.deepEqual(p.counts, { reused: 1, made: 3, escaped: 0, evicted: 0 });
  });

  it('never recycles an array read out, adopted twice, viewed, or not its own', () => {
    const p = new BufferPool(1 << 20);
    const read = p.take(8, true);
    p.adopt(read);
    p.escape(read); // readSync handed it to a caller
    p.release(read);
    const twice = p.take(8, true);
    p.adopt(twice);
    p.adopt(twice); // a second data entry on it (a view the size of the whole, Complex)
    p.release(twice);
    const viewed = p.take(8, true);
    p.adopt(viewed);
    p.adopt(viewed.subarray(2, 6)); // tfjs's slice: a view into it
    p.release(viewed);
    const foreign = new Float32Array(8); // a user's array written into a tensor
    p.adopt(foreign);
    p.release(foreign);
    const unadopted = p.take(8, true); // taken, but the kernel failed before storing it
    p.release(unadopted);
    assert.equal(p.bytes, 0);
    assert.equal(p.counts.escaped, 3);
    const fresh = p.take(8, true);
    for (const old of [read, twice, viewed, foreign, unadopted]) assert.notEqual(fresh, old);
  });

  it('zeroes a recycled array when asked, poisons one that need not be when told', () => {
    const p = new BufferPool(1 << 20);
    const a = p.take(4, false);
    a.set([1, 2, 3, 4]);
    p.adopt(a);
    p.release(a);
    const z = p.take(4, true);
    assert.equal(z, a);
    assert.deepEqual([...z], [0, 0, 0, 0]);
    p.adopt(z);
    p.release(z);
    p.poison = true;
    assert.ok(p.take(4, false).every(Number.isNaN));
    assert.ok(p.take(4, false).every(Number.isNaN), 'a new array too');
    assert.deepEqual([...p.take(4, true)], [0, 0, 0, 0]);
  });

  it('keeps at most cap bytes, dropping the least recently used size first; cap 0 keeps none', () => {
    const p = new BufferPool(3 * 400);
    const cycle = (n: number) => {
      const a = p.take(n, true);
      p.adopt(a);
      p.release(a);
      return a;
    };
    const a = cycle(100);
    const b = cycle(100); // the same array again
    assert.equal(a, b);
    const held = [100, 101, 102].map((n) => {
      const x = p.take(n, true);
      p.adopt(x);
      return x;
    });
    for (const x of held) p.release(x); // 400 + 404 + 408 bytes > 1200
    assert.ok(p.bytes <= 1200, `${p.bytes} bytes held`);
    assert.equal(p.counts.evicted, 1);
    assert.notEqual(p.take(100, true), a, 'size 100 was used least recently: evicted');
    assert.equal(p.take(102, true), held[2]);
    p.cap = 0;
    const c = p.take(7, true);
    p.adopt(c);
    p.release(c);
    assert.equal(p.bytes, 0);
    p.clear();
    assert.equal(p.bytes, 0);
  });
});

const load = loadNativeAddon();
const skip = load.ok ? false : `the native addon is not available: ${load.problem} (${load.fix})`;

describe('native backend with recycled outputs', { skip }, () => {
  let pool: NativeBackend['pool'];
  before(async () => {
    assert.equal(await initBackend('native'), 'native');
    pool = (tf.backend() as NativeBackend).pool;
    assert.ok(pool, 'the native backend has a pool');
  });
  after(() => {
    pool.poison = false;
  });

  it('an array read out with dataSync keeps its values after its tensor is disposed and its size is allocated again', () => {
    const x = tf.tensor(rand(4096, 1), [64, 64]);
    const y = relu(x);
    const got = y.dataSync();
    const want = Float32Array.from(got);
    y.dispose();
    const more = [0, 1, 2].map(() => relu(tf.neg(x)));
    assert.deepEqual(got, want);
    tf.dispose([x, ...more]);
  });

  it("a slice (tfjs's cpu kernel returns a view into its input's array) keeps its values after its input is disposed", () => {
    const x = tf.tensor(rand(4096, 2), [64, 64]);
    const y = relu(x);
    const s = tf.slice(y, [8, 0], [8, 64]); // rows 8…15: contiguous, a subarray of y's array
    const want = Float32Array.from(rand(4096, 2).subarray(512, 1024), (v) => Math.max(v, 0));
    y.dispose();
    const more = [0, 1, 2].map(() => relu(tf.neg(x)));
    assert.deepEqual(s.dataSync(), want);
    tf.dispose([x, s, ...more]);
  });

  /** Final weights after 2 Adam steps of `modelName` from a fixed start (as native.test.ts's trainOn). */
  async function trainTwo(modelName: string, shape: number[], width: number | null) {
    const batch = 8;
    const model = buildModel(modelName, shape, 10, width);
    const split = randomSplit(shape, batch * 2, 'train');
    const data = {
      name: 'r',
      inputShape: shape,
      numClasses: 10,
      train: split,
      val: randomSplit(shape, batch, 'v'),
      test: randomSplit(shape, batch, 'v'),
      source: 'r',
    };
    const rng = makeRng('pool-test');
    const masks: Masks = {};
    for (const p of model.params)
      if (p.kind !== 'none') masks[p.name] = Uint8Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() < 0.7 ? 1 : 0));
    const res = await train({
      model,
      data,
      plan: resolveSchedule(trainingSchema.parse({ batchSize: batch, iterations: '2it', evalEvery: '3it' }), split.n),
      schedule: { kind: 'replay', from: 0 },
      init: initialize(model, 'glorot-normal', 'p'),
      masks,
      orderKey: ['p'],
    });
    return model.params.map((p) => [p.name, res.weights[p.name]] as const);
  }

  for (const [modelName, shape, width] of [
    ['mlp-small', [28, 28, 1], null],
    // conv + max pool + dense
    ['conv-tiny', [12, 12, 3], null],
    // BatchNorm, strided and 1×1 convs (oneDNN at 16 channels), residual adds, average pooling
    ['resnet-20', [8, 8, 3], null],
  ] as const) {
    it(`training ${modelName} with NaN in every recycled output a kernel says it fully writes gives the bits of training without the pool`, async () => {
      const cap = pool.cap;
      try {
        pool.cap = 0; // nothing kept: every output a new, zeroed array
        pool.clear();
        pool.poison = false;
        const want = await trainTwo(modelName, [...shape], width);
        pool.cap = 1 << 30;
        pool.poison = true;
        const reused = pool.counts.reused;
        const got = await trainTwo(modelName, [...shape], width);
        assert.ok(pool.counts.reused > reused + 20, `${pool.counts.reused - reused} arrays reused`);
        for (const [i, [name, w]] of want.entries()) {
          assert.equal(got[i][0], name);
          assert.ok(w.every(Number.isFinite), `${name}: finite`);
          assert.deepEqual(got[i][1], w, `${modelName} ${name}: other bits with recycled outputs`);
        }
      } finally {
        pool.cap = cap;
        pool.poison = false;
      }
    });
  }

  it('the pool holds arrays between steps and tensors do not leak', async () => {
    const before = tf.memory().numTensors;
    await trainTwo('conv-tiny', [12, 12, 3], null);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(pool.bytes > 0 && pool.bytes <= pool.cap);
  });
});
