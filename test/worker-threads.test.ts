import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerEnv } from '../src/orchestration/runner.js';

test('workers get cores/N wasm threads unless LTH_WASM_THREADS is set', () => {
  assert.equal(workerEnv(2, {}, 2).LTH_WASM_THREADS, '1');
  assert.equal(workerEnv(4, {}, 2).LTH_WASM_THREADS, '1');
  assert.equal(workerEnv(2, {}, 8).LTH_WASM_THREADS, '4');
  assert.equal(workerEnv(3, { PATH: '/bin' }, 8).LTH_WASM_THREADS, '2');
  assert.equal(workerEnv(3, { PATH: '/bin' }, 8).PATH, '/bin');
  assert.equal(workerEnv(2, { LTH_WASM_THREADS: '2' }, 2).LTH_WASM_THREADS, '2');
});

test('workers get cores/N native GEMM threads unless LTH_NATIVE_THREADS is set', () => {
  assert.equal(workerEnv(2, {}, 2).LTH_NATIVE_THREADS, '1');
  assert.equal(workerEnv(3, {}, 8).LTH_NATIVE_THREADS, '2');
  assert.equal(workerEnv(2, { LTH_NATIVE_THREADS: '2' }, 2).LTH_NATIVE_THREADS, '2');
  assert.equal(workerEnv(2, { LTH_NATIVE_THREADS: '2' }, 2).LTH_WASM_THREADS, '1');
});
