import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { checkLibraries, CUDA_NEEDED, DOCTOR_WIDTH, formatDoctor, type DoctorReport } from '../src/backend/doctor.js';
import { toTerminal } from '../src/reporting/format.js';
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

  it('prints a table with the library check and auto’s choice, within 100 columns', () => {
    const r = lth(['doctor']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /│ backend\s+│ loads/);
    assert.match(r.stdout, /libcudart\.so\.11\.0 → /);
    assert.match(r.stdout, /auto picks: (tensorflow|native|wasm)/);
    for (const line of r.stdout.split('\n')) assert.ok(line.length <= DOCTOR_WIDTH, `${line.length} columns: ${line}`);
  });

  it('the text fits 100 columns and keeps every piece: device and package wrapped in the table, each problem and fix below it', () => {
    const long = (w: string, n: number) => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');
    const rep: DoctorReport = {
      rows: [
        {
          backend: 'tensorflow',
          package: '@tensorflow/tfjs-node-gpu / @tensorflow/tfjs-node (not installed)',
          loads: false,
          device: null,
          problem: long('problem', 30),
          fix: `online: npm install @tensorflow/tfjs-node-gpu@4.22.0 ${long('fix', 25)} ${'x'.repeat(130)}`,
          warning: null,
          libraries: [{ needed: 'libcudart.so.11.0', found: null, others: ['libcudart.so.12', 'libcudart.so.13'] }],
        },
        { backend: 'native', package: 'native/ (lth-native addon)', loads: true, device: long('device', 12), problem: null, fix: null, warning: null },
        {
          backend: 'webgpu',
          package: long('package', 10),
          loads: true,
          device: 'webgpu:llvmpipe (software)',
          problem: 'a software adapter',
          fix: null,
          warning: null,
        },
      ],
      auto: 'native',
      warnings: [long('warning', 30)],
    };
    const text = formatDoctor(rep, (c, rows) => toTerminal(c, rows));
    const lines = text.split('\n');
    for (const line of lines) assert.ok(line.length <= DOCTOR_WIDTH, `${line.length} columns: ${line}`);
    // the table's cells, each row's lines joined: the device and package as given
    const rows: string[][] = [];
    let cells: string[][] = [];
    for (const line of lines) {
      if (line.startsWith('│')) cells.push(line.split('│').slice(1, -1));
      else if (cells.length && /^[├└]/.test(line)) {
        rows.push(
          cells[0]!.map((_, i) =>
            cells
              .map((l) => l[i]!.trim())
              .filter(Boolean)
              .join(' '),
          ),
        );
        cells = [];
      }
    }
    assert.deepEqual(rows, [['backend', 'loads', 'device', 'package'], ...rep.rows.map((x) => [x.backend, x.loads ? 'yes' : 'NO', x.device ?? '', x.package])]);
    // below the table: each problem and its fix, whole once the wrapped lines are joined
    const below = text.slice(text.indexOf('problems → fixes:')).replace(/\s+/g, ' ');
    assert.ok(below.includes(`tensorflow: ${rep.rows[0]!.problem} → fix: ${rep.rows[0]!.fix!.replace('x'.repeat(130), '')}`), below);
    assert.ok(below.replace(/ /g, '').includes('x'.repeat(130)), 'a word longer than a line is cut, not dropped');
    assert.ok(below.includes('webgpu: a software adapter'));
    // the warning above everything and again at the end, where it is seen last
    assert.ok(text.replace(/\s+/g, ' ').startsWith(`!!! WARNING: ${rep.warnings[0]} ┌`));
    assert.match(text, /libcudart\.so\.11\.0 → not found \(present: libcudart\.so\.12, libcudart\.so\.13\)/);
    assert.ok(text.replace(/\s+/g, ' ').endsWith(`auto picks: native !!! WARNING: ${rep.warnings[0]} `));
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
