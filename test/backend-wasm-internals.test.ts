import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tf } from '../src/util/tf.js';
import { checkWasmInternals, checkWasmThreads, enableWasmKernels, initBackend } from '../src/backend/index.js';
import { hasFusedAdam } from '../src/kernels/index.js';
import { ROOT } from './helpers/common.js';

const require = createRequire(import.meta.url);

/** What src/kernels reads from tfjs-backend-wasm's backend object (all present). */
function fakeBackend(): Record<string, unknown> {
  return {
    wasm: { wasmMemory: new WebAssembly.Memory({ initial: 1 }) },
    dataIdMap: { get: () => undefined },
    makeOutput: () => undefined,
    disposeData: () => true,
  };
}

describe('private internals of @tensorflow/tfjs-backend-wasm', () => {
  it('every @tensorflow/* dependency is pinned to an exact version, and that version is installed', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    const tfDeps = Object.entries({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter(([n]) => n.startsWith('@tensorflow/'));
    assert.ok(tfDeps.length >= 5, `only ${tfDeps.length} @tensorflow packages`);
    for (const [name, range] of tfDeps) {
      assert.match(range, /^\d+\.\d+\.\d+$/, `${name}: "${range}" is a range, not an exact version`);
      let installed: string;
      try {
        installed = (require(`${name}/package.json`) as { version: string }).version;
      } catch {
        continue; // an optional dependency that did not install (tfjs-node without internet)
      }
      assert.equal(installed, range, `${name}: installed ${installed}, package.json pins ${range}`);
    }
  });

  it('the check names the first missing piece, for each piece', () => {
    assert.deepEqual(checkWasmInternals(fakeBackend()), { ok: true });
    const cases: [string, (b: Record<string, unknown>) => void, RegExp][] = [
      ['no wasm module', (b) => delete b.wasm, /`wasm` module/],
      ['memory not a WebAssembly.Memory', (b) => (b.wasm = { wasmMemory: new ArrayBuffer(8) }), /WebAssembly\.Memory/],
      ['no dataIdMap', (b) => delete b.dataIdMap, /dataIdMap/],
      ['dataIdMap without get', (b) => (b.dataIdMap = new Map().entries()), /dataIdMap\.get/],
      ['no makeOutput', (b) => delete b.makeOutput, /makeOutput/],
      ['no disposeData', (b) => delete b.disposeData, /disposeData/],
    ];
    for (const [what, spoil, re] of cases) {
      const b = fakeBackend();
      spoil(b);
      const r = checkWasmInternals(b);
      assert.equal(r.ok, false, what);
      assert.match((r as { problem: string }).problem, re, what);
    }
    // older Emscripten builds keep the memory at wasm.asm.memory
    const old = fakeBackend();
    old.wasm = { asm: { memory: new WebAssembly.Memory({ initial: 1 }) } };
    assert.deepEqual(checkWasmInternals(old), { ok: true });
    assert.equal(checkWasmInternals(null).ok, false);
  });

  it('a backend lacking the internals leaves the fused kernels off (plain tfjs ops) with a warning naming the fix', async () => {
    await initBackend('cpu');
    const b = fakeBackend();
    delete b.dataIdMap;
    const warning = enableWasmKernels(b);
    assert.match(warning ?? '', /fused wasm kernels are off.*dataIdMap.*npm ci/);
    assert.equal(tf.getKernel('LthMaskedAdam', 'wasm'), undefined, 'kernels registered despite the failed check');
  });

  it('the real wasm backend passes the check and gets the fused kernels', async () => {
    assert.equal(await initBackend('wasm'), 'wasm');
    assert.deepEqual(checkWasmInternals(tf.backend()), { ok: true });
    assert.equal(hasFusedAdam(), true);
  });

  it('the thread check warns when the pool is smaller than the patched os.cpus allows', () => {
    assert.equal(checkWasmThreads(2, 2, 2), null);
    assert.equal(checkWasmThreads(8, 2, 2), null); // capped by the cores: as expected
    assert.match(checkWasmThreads(2, 2, 1) ?? '', /runs 1 thread\(s\), not 2.*os\.cpus.*LTH_WASM_THREADS=1/);
  });
});
