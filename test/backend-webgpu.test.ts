import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import { backendFailure, backendLabel, initBackend } from '../src/backend/index.js';
import { isSoftwareAdapter, webgpuLabel } from '../src/backend/webgpu.js';
import { buildModel, initialize, type Model } from '../src/models/index.js';
import { fromHeld } from '../src/models/layout.js';
import { softmaxCrossEntropy } from '../src/models/ops.js';
import { toTensors } from '../src/training/loop.js';
import { makeRng } from '../src/util/rng.js';
import { levelRows, lthAsync, tinySpec, tmp } from './helpers/common.js';

/**
 * The webgpu backend (Dawn through the npm package `webgpu`) on this CPU-only machine: Dawn's
 * OpenGL ES backend on Mesa's llvmpipe. Its training step (tfjs's own gradients, row layout)
 * is checked against the cpu backend (lth's custom gradients, column layout: a separate
 * computation of the same quantities) on identical weights and batches.
 */

/** Debian's libraries for Dawn's OpenGL ES adapter (scripts/setup --test installs them). */
const MESA = ['libEGL.so.1', 'libEGL_mesa.so.0', 'libGLESv2.so.2'];
const LIBDIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
const missingLibs = MESA.filter((l) => !LIBDIRS.some((d) => existsSync(join(d, l))));
const skip =
  missingLibs.length > 0
    ? `Mesa's EGL/GLES libraries are missing (${missingLibs.join(', ')}): apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri`
    : false;
if (skip) process.stdout.write(`# webgpu tests skipped: ${skip}\n`);

const TOL = 1e-5;

/** ‖a−b‖ / ‖b‖, in float64. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

interface Batch {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

function randomBatch(inputShape: readonly number[], n: number, key: string): Batch {
  const dim = inputShape.reduce((a, b) => a * b, 1);
  const rng = makeRng('webgpu-test', key);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return { x, y: Int32Array.from({ length: n }, () => rng.int(10)), n };
}

/**
 * Loss and every gradient (stored layout) of one training step on the current backend. The
 * model is built here, after the backend is chosen, as `lth run` does (the layout depends on it).
 */
async function stepOn(name: string, inputShape: readonly number[], b: Batch): Promise<{ model: Model; loss: number; grads: Record<string, Float32Array> }> {
  const model = buildModel(name, inputShape, 10);
  const w = toTensors(model, initialize(model, 'glorot-normal', 'webgpu-test', name));
  const vars = Object.fromEntries(Object.entries(w).map(([k, t]) => [k, tf.variable(t, true, `${name}-${k}-${tf.getBackend()}`)]));
  tf.dispose(Object.values(w));
  const x = tf.tensor(b.x, [b.n, ...inputShape]);
  const y = tf.tensor1d(b.y, 'int32');
  try {
    const { value, grads } = tf.variableGrads(() => softmaxCrossEntropy(model.forward(vars, x), y), Object.values(vars));
    const loss = (await value.data())[0];
    const out: Record<string, Float32Array> = {};
    for (const p of model.params) out[p.name] = await fromHeld(p, grads[vars[p.name].name]);
    tf.dispose([value, ...Object.values(grads)]);
    return { model, loss, grads: out };
  } finally {
    tf.dispose([x, y, ...Object.values(vars)]);
  }
}

describe('webgpu backend (Dawn on llvmpipe)', { skip }, () => {
  before(async () => {
    await initBackend('webgpu');
  });

  it('loads on a software adapter and records it in levels.backend form', async () => {
    await initBackend('webgpu');
    assert.equal(tf.getBackend(), 'webgpu');
    assert.equal(backendLabel(), 'webgpu:llvmpipe (software)');
  });

  it('is never chosen by auto on a software adapter', async () => {
    const got = await initBackend('auto');
    assert.notEqual(got, 'webgpu');
    // without a Vulkan loader auto does not probe Dawn at all; with one, it finds only llvmpipe
    assert.match(backendFailure('webgpu') ?? '', /software adapter|no hardware adapter/);
  });

  // conv-2 on 12×12×3 images, not CIFAR's 32×32: the same layers at a seventh of the cost; fc1's inner
  // size (6·6·64 = 2304) stays above tfjs-webgpu's split-K threshold (2000), so its product runs the same program
  for (const [name, inputShape, n] of [
    ['lenet-300-100', [784], 32],
    ['conv-2', [12, 12, 3], 4],
  ] as const) {
    it(`${name}: one training step's loss and every gradient match the cpu backend within 1e-5`, async () => {
      const batch = randomBatch(inputShape, n, name);
      await initBackend('cpu');
      const ref = await stepOn(name, inputShape, batch);
      await initBackend('webgpu');
      const got = await stepOn(name, inputShape, batch);
      // the two backends really ran different code: column layout on cpu, row layout on webgpu
      assert.equal(ref.model.params.find((p) => p.name === 'fc1/kernel')?.layout, 'transposed');
      assert.equal(got.model.params.find((p) => p.name === 'fc1/kernel')?.layout, undefined);
      assert.ok(Number.isFinite(ref.loss) && ref.loss > 1, `loss ${ref.loss}`);
      assert.ok(Math.abs(got.loss - ref.loss) / ref.loss <= TOL, `loss ${got.loss} vs cpu ${ref.loss}`);
      for (const p of ref.model.params) {
        const e = relErr(got.grads[p.name], ref.grads[p.name]);
        assert.ok(e <= TOL, `${p.name}: relative error ${e.toExponential(2)} > ${TOL}`);
        assert.ok(
          ref.grads[p.name].some((v) => v !== 0),
          `${p.name}: gradient all zero`,
        );
      }
    });
  }

  it('a short synthetic experiment gives the wasm run’s levels rows (accuracies within 1 pp)', async () => {
    const dir = tmp();
    const spec = join(dir, 'tiny.json');
    writeFileSync(spec, JSON.stringify(tinySpec({ name: 'gpu-vs-wasm' })));
    const rows: Record<string, Record<string, unknown>[]> = {};
    // the two runs side by side: llvmpipe's threads and wasm's share the cores, neither waits for the other
    await Promise.all(
      ['wasm', 'webgpu'].map(async (be) => {
        const db = join(dir, `${be}.db`);
        const r = await lthAsync(['run', spec, '--db', db, '--backend', be]);
        assert.equal(r.status, 0, r.stderr);
        rows[be] = levelRows(db);
      }),
    );
    assert.equal(rows.webgpu.length, rows.wasm.length);
    assert.ok(rows.wasm.length >= 6, `only ${rows.wasm.length} rows`);
    for (const [i, w] of rows.wasm.entries()) {
      const g = rows.webgpu[i];
      assert.equal(w.backend, 'wasm');
      assert.equal(g.backend, 'webgpu:llvmpipe (software)');
      for (const k of ['strategy', 'trial', 'level', 'branch', 'percent_remaining']) assert.equal(g[k], w[k], `${k} of row ${i}`);
      for (const k of Object.keys(w).filter((c) => /accuracy/.test(c))) {
        if (w[k] == null) continue;
        assert.ok(Math.abs((g[k] as number) - (w[k] as number)) <= 0.01, `row ${i} ${k}: webgpu ${g[k]} vs wasm ${w[k]}`);
      }
    }
  });
});

describe('webgpu adapter naming', () => {
  it('tells software adapters from hardware ones and labels them', () => {
    const gl = { description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6', device: 'llvmpipe-llvm-15-0-6-256-bits-' };
    assert.equal(isSoftwareAdapter(gl), true);
    assert.equal(isSoftwareAdapter({ description: 'NVIDIA H200', device: '' }), false);
    assert.equal(isSoftwareAdapter({ description: 'lavapipe', device: '' }), true);
    assert.equal(isSoftwareAdapter({ description: 'AMD Radeon', isFallbackAdapter: true }), true);
    const base = { vendor: 'nvidia', architecture: '', dawnBackend: 'vulkan', featureLevel: 'core' as const };
    assert.equal(webgpuLabel({ ...base, ...gl, software: true }), 'webgpu:llvmpipe (software)');
    assert.equal(webgpuLabel({ ...base, description: 'NVIDIA H200', device: '', software: false }), 'webgpu:NVIDIA H200');
  });
});
