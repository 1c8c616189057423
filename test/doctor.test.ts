import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { checkLibraries, CUDA_NEEDED, type DoctorReport } from '../src/backend/doctor.js';
import { lth } from './helpers/common.js';

const mesa = existsSync('/usr/lib/x86_64-linux-gnu/libEGL_mesa.so.0');

describe('lth doctor', () => {
  it('checks the CUDA/cuDNN sonames tfjs-node-gpu needs against the ones present', () => {
    const libs = new Map([
      ['libcudart.so.12', '/usr/local/cuda/lib64/libcudart.so.12'],
      ['libcudart.so', '/usr/local/cuda/lib64/libcudart.so'],
      ['libcudnn.so.8', '/usr/lib/libcudnn.so.8'],
      ['libcudnn_ops.so.8', '/usr/lib/libcudnn_ops.so.8'],
    ]);
    assert.deepEqual(checkLibraries(CUDA_NEEDED, libs), [
      { needed: 'libcudart.so.11.0', found: null, others: ['libcudart.so.12'] },
      { needed: 'libcudnn.so.8', found: '/usr/lib/libcudnn.so.8', others: [] },
    ]);
    assert.deepEqual(CUDA_NEEDED, ['libcudart.so.11.0', 'libcudnn.so.8']);
  });

  it('--json: every backend, whether it computes, its device, and the fix for each failure', () => {
    const r = lth(['doctor', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout.slice(r.stdout.indexOf('{\n'))) as DoctorReport;
    assert.deepEqual(rep.rows.map((x) => x.backend).sort(), ['cpu', 'tensorflow', 'wasm', 'webgpu']);
    const row = (b: string) => rep.rows.find((x) => x.backend === b)!;
    assert.equal(row('cpu').loads, true);
    assert.equal(row('wasm').loads, true);
    assert.match(row('wasm').device ?? '', /XNNPACK, \d+ threads?/);
    for (const x of rep.rows) if (!x.loads) assert.ok(x.problem && x.fix, `${x.backend}: a failure without reason and fix`);
    assert.deepEqual(
      row('tensorflow').libraries?.map((l) => l.needed),
      [...CUDA_NEEDED],
    );
    if (mesa) {
      assert.equal(row('webgpu').loads, true, row('webgpu').problem ?? '');
      assert.match(row('webgpu').device ?? '', /^webgpu:llvmpipe \(software\)/);
      assert.match(row('webgpu').problem ?? '', /software adapter/);
    }
    // a software adapter is never auto's choice
    assert.notEqual(rep.auto, 'webgpu');
    assert.ok(rep.auto === (row('tensorflow').loads ? 'tensorflow' : 'wasm'), `auto = ${rep.auto}`);
  });

  it('prints a table with the library check and auto’s choice', () => {
    const r = lth(['doctor']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /│ backend\s+│ loads/);
    assert.match(r.stdout, /libcudart\.so\.11\.0 → /);
    assert.match(r.stdout, /auto picks: (tensorflow|wasm)/);
  });
});
