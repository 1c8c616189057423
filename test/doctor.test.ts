import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { checkLibraries, CUDA_NEEDED, type DoctorReport } from '../src/backend/doctor.js';
import { EGL_PACKAGES, noAdapterAdvice } from '../src/backend/webgpu.js';
import { CLI, lth } from './helpers/common.js';

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
    assert.deepEqual(rep.rows.map((x) => x.backend).sort(), ['cpu', 'native', 'tensorflow', 'wasm', 'webgpu']);
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
    // the native row: it loads with its instruction set, or says why not and how to fix it
    if (row('native').loads) assert.match(row('native').device ?? '', /^CPU \(avx2; OpenBLAS /);
    else assert.ok(row('native').problem && row('native').fix, 'a native row that does not load names its problem and fix');
    const expected = row('tensorflow').loads ? 'tensorflow' : row('native').loads ? 'native' : 'wasm';
    assert.ok(rep.auto === expected, `auto = ${rep.auto}`);
  });

  it('prints a table with the library check and auto’s choice', () => {
    const r = lth(['doctor']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /│ backend\s+│ loads/);
    assert.match(r.stdout, /libcudart\.so\.11\.0 → /);
    assert.match(r.stdout, /auto picks: (tensorflow|native|wasm)/);
  });

  it('no WebGPU adapter: the advice names the EGL/GLES packages missing, or those found and the EGL platform that failed', () => {
    const all = new Map(EGL_PACKAGES.map((p) => [p, '1.0-1']));
    const some = new Map([...all].filter(([p]) => p !== 'libgles2' && p !== 'libegl-mesa0'));
    assert.match(noAdapterAdvice(undefined, some), /without a GPU install libegl-mesa0 libgles2 \(llvmpipe\)$/);
    assert.match(
      noAdapterAdvice(undefined, null),
      /install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri \(llvmpipe\) \(no dpkg here to check which are installed\)$/,
    );
    const bogus = noAdapterAdvice('bogus', all);
    assert.match(bogus, /^the EGL\/GLES packages are installed \(libegl1 1\.0-1, libegl-mesa0 1\.0-1, libgles2 1\.0-1, libgl1-mesa-dri 1\.0-1\)/);
    assert.match(bogus, /EGL_PLATFORM=bogus from the environment failed: unset EGL_PLATFORM .* or set EGL_PLATFORM=surfaceless$/);
    assert.doesNotMatch(bogus, /install libegl/);
    assert.match(noAdapterAdvice(undefined, all), /found no device with EGL_PLATFORM=surfaceless/);
    assert.equal(noAdapterAdvice('surfaceless', all), noAdapterAdvice(undefined, all));
  });

  it(
    'EGL_PLATFORM bogus: the webgpu row names what it found and the value that failed; Dawn and EGL stay quiet unless --verbose',
    { skip: mesa ? false : 'needs Mesa EGL (bash scripts/setup --test)' },
    () => {
      const doctor = (...args: string[]) =>
        spawnSync(process.execPath, [CLI, 'doctor', '--json', ...args], { encoding: 'utf8', env: { ...process.env, EGL_PLATFORM: 'bogus' } });
      const r = doctor();
      assert.equal(r.status, 0, r.stderr);
      const row = (JSON.parse(r.stdout) as DoctorReport).rows.find((x) => x.backend === 'webgpu')!;
      assert.equal(row.loads, false);
      assert.match(row.problem ?? '', /^Dawn found no WebGPU adapter \(.*OpenGL ES \(compatibility, EGL_PLATFORM=bogus from the environment\): no adapter\)$/);
      assert.match(
        row.fix ?? '',
        /^the EGL\/GLES packages are installed \(libegl1 \S+, libegl-mesa0 \S+, libgles2 \S+, libgl1-mesa-dri \S+\), but EGL_PLATFORM=bogus/,
      );
      assert.equal(r.stderr, '', 'no Dawn or EGL warnings without --verbose');
      const v = doctor('--verbose');
      assert.equal(v.status, 0);
      assert.match(v.stderr, /EGL/, "--verbose passes Dawn's and EGL's messages through");
    },
  );
});
