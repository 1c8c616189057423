import * as tf from '@tensorflow/tfjs-core';
// tfjs-core ships no gradients in its Node bundle; the union package registers them all (into the shared global registry).
import '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { UserError } from '../util/errors.js';
import { registerWasmKernels } from '../kernels/index.js';
import { registerThreadedWasm } from './wasm-threads.js';

export { wasmThreadsInUse } from './wasm-threads.js';

import { BACKENDS, type BackendChoice, type BackendName } from './names.js';
export { BACKENDS, type BackendChoice, type BackendName } from './names.js';

const require = createRequire(import.meta.url);

/**
 * XNNPACK threads for the wasm backend (calling thread included), read at `initBackend`.
 * 1 = tfjs's stock single-threaded SIMD loader. Env `LTH_WASM_THREADS`, else the number of
 * cores. See src/backend/wasm-threads.ts for why Node needs our own loader.
 */
export function wasmThreadsSetting(): number {
  const env = process.env.LTH_WASM_THREADS;
  if (env != null && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new UserError(`LTH_WASM_THREADS must be a positive integer, got "${env}"`);
    }
    return n;
  }
  return Math.max(1, os.availableParallelism());
}

/** Registers a backend with tfjs. Returns false if its package is not installed or fails to load. */
async function tryRegister(name: BackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow') {
      // tfjs-node(-gpu) registers the 'tensorflow' backend on import. Both download
      // libtensorflow at install time, so they are optional dependencies.
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          require(pkg);
          break;
        } catch {
          /* try the next one */
        }
      }
      return tf.findBackendFactory('tensorflow') != null && (await tf.setBackend('tensorflow'));
    }
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      const threads = wasmThreadsSetting();
      if (threads > 1) await registerThreadedWasm(threads);
      if (!(await tf.setBackend('wasm'))) return false;
      registerWasmKernels();
      return true;
    }
    await import('@tensorflow/tfjs-backend-cpu');
    return await tf.setBackend('cpu');
  } catch {
    return false;
  }
}

/** Picks the backend: `auto` = tensorflow, then wasm, then cpu. Returns the one in use. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendName> {
  if (!BACKENDS.includes(choice)) {
    throw new UserError(`unknown backend "${choice}": use one of ${BACKENDS.join(', ')}`);
  }
  const order: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (await tryRegister(name)) {
      await tf.ready();
      return name;
    }
  }
  if (choice === 'tensorflow') {
    throw new UserError(
      'backend "tensorflow" is not available: install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node on a machine with internet, or use --backend wasm',
    );
  }
  throw new UserError(`backend "${choice}" failed to load; try --backend auto`);
}
