import { tf } from '../util/tf.js';
import { createRequire } from 'node:module';
import os from 'node:os';
import { UserError } from '../util/index.js';
import { registerWasmKernels } from '../kernels/index.js';
import { registerThreadedWasm } from './wasm-threads.js';
import { checkWasmInternals, checkWasmThreads } from './internals.js';
import { wasmThreadsInUse } from './wasm-threads.js';
import { registerWebgpu, webgpuAdapter, webgpuLabel } from './webgpu.js';
import { loadNativeAddon, nativeLabel, registerNative } from './native.js';
import { BACKENDS, type BackendChoice, type BackendName } from './names.js';

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

/**
 * Registers lth's fused wasm kernels (src/kernels) if `backend`, the wasm backend instance, has
 * the private internals they use (checkWasmInternals). Returns null, or the warning to show when
 * it does not: then the kernels stay unregistered and every op falls back to plain tfjs ops.
 */
export function enableWasmKernels(backend: unknown): string | null {
  const check = checkWasmInternals(backend);
  if (!check.ok) {
    return `lth's fused wasm kernels are off: ${check.problem}. Training uses plain tfjs ops (slower, same results). Fix: install the pinned @tensorflow/tfjs-backend-wasm 4.22.0 (npm ci)`;
  }
  registerWasmKernels();
  return null;
}

/** Why the last `tryRegister` of each backend failed (for error messages and `lth doctor`). */
const lastFailure = new Map<BackendName, string>();
export const backendFailure = (name: BackendName): string | undefined => lastFailure.get(name);

const firstLine = (e: unknown): string => String(e instanceof Error ? e.message : e).split('\n')[0];

/**
 * Registers a backend with tfjs and makes it current. Returns false if its package is not
 * installed or fails to load (the reason is kept for `backendFailure`). `hardwareOnly`: refuse
 * a software WebGPU adapter (llvmpipe), as `auto` must.
 */
async function tryRegister(name: BackendName, hardwareOnly = false): Promise<boolean> {
  lastFailure.delete(name);
  try {
    if (name === 'tensorflow') {
      // tfjs-node(-gpu) registers the 'tensorflow' backend on import. Both download
      // libtensorflow at install time, so they are optional dependencies.
      const errors: string[] = [];
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        try {
          require(pkg);
          break;
        } catch (e) {
          errors.push(`${pkg}: ${firstLine(e)}`);
        }
      }
      if (tf.findBackendFactory('tensorflow') == null) {
        lastFailure.set(name, errors.join('; '));
        return false;
      }
      return await tf.setBackend('tensorflow');
    }
    if (name === 'webgpu') {
      const info = await registerWebgpu(hardwareOnly);
      if (hardwareOnly && info.software) {
        lastFailure.set(name, `only a software adapter (${info.description}); auto never picks it, use --backend webgpu to run on it`);
        return false;
      }
      if (await tf.setBackend('webgpu')) return true;
      lastFailure.set(name, `tfjs could not initialise the webgpu backend on ${info.description}`);
      return false;
    }
    if (name === 'native') {
      const load = loadNativeAddon();
      if (!load.ok) {
        lastFailure.set(name, `${load.problem}; fix: ${load.fix}`);
        return false;
      }
      registerNative(load.addon);
      tf.env().set('PROD', true); // the cpu backend's "install our node backend" banner, as for cpu below
      return await tf.setBackend('native');
    }
    if (name === 'wasm') {
      require('@tensorflow/tfjs-backend-wasm');
      const threads = wasmThreadsSetting();
      if (threads > 1) await registerThreadedWasm(threads);
      if (!(await tf.setBackend('wasm'))) return false;
      // lth's fused kernels read tfjs-backend-wasm's private heap and tensor map (#10.7):
      // without them, plain tfjs ops on this backend, with a warning.
      const warning = enableWasmKernels(tf.backend());
      if (warning) process.emitWarning(warning);
      if (threads > 1) {
        const w = checkWasmThreads(threads, os.availableParallelism(), await wasmThreadsInUse());
        if (w) process.emitWarning(w);
      }
      return true;
    }
    require('@tensorflow/tfjs-backend-cpu');
    // The cpu backend's first write prints "install our node backend" to stderr; lth's way to
    // native TensorFlow is --backend tensorflow (lth doctor says what is missing), so the
    // banner only misleads. PROD silences tfjs's console warnings and nothing else.
    tf.env().set('PROD', true);
    return await tf.setBackend('cpu');
  } catch (e) {
    lastFailure.set(name, firstLine(e));
    return false;
  }
}

/** The order `auto` tries: tensorflow, then webgpu on a hardware adapter, then native, wasm, cpu. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];

/**
 * Picks the backend: `auto` = tensorflow, then webgpu on a hardware adapter, then native, wasm,
 * cpu. Returns the one in use. When `auto` passes over native (the addon did not build or
 * load), one warning line says why and how to fix it.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendName> {
  if (!BACKENDS.includes(choice)) {
    throw new UserError(`unknown backend "${choice}": use one of ${BACKENDS.join(', ')}`);
  }
  // tfjs-core ships no gradients in its Node bundle; the union package registers them all (into
  // the shared global registry). Loaded here, not at import, so that commands which never
  // compute (status, report, query, a refused spec) do not pay for its ~5 MB of JavaScript.
  require('@tensorflow/tfjs');
  const order: readonly BackendName[] = choice === 'auto' ? AUTO_ORDER : [choice];
  for (const name of order) {
    if (await tryRegister(name, choice === 'auto')) {
      await tf.ready();
      const skipped = lastFailure.get('native');
      if (choice === 'auto' && skipped && AUTO_ORDER.indexOf(name) > AUTO_ORDER.indexOf('native')) {
        process.emitWarning(`the native backend is unavailable (${skipped}); using ${name}`);
      }
      return name;
    }
  }
  if (choice === 'tensorflow') {
    throw new UserError(
      'backend "tensorflow" is not available: install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node on a machine with internet, or use --backend wasm',
    );
  }
  if (choice === 'native') {
    throw new UserError(`backend "native" is not available: ${lastFailure.get('native') ?? 'it failed to load'}`);
  }
  if (choice === 'webgpu') {
    throw new UserError(`backend "webgpu" is not available: ${lastFailure.get('webgpu') ?? 'it failed to load'}; see lth doctor`);
  }
  throw new UserError(
    `backend "${choice}" failed to load${lastFailure.has(choice as BackendName) ? ` (${lastFailure.get(choice as BackendName)})` : ''}; try --backend auto, and see lth doctor`,
  );
}

/**
 * The backend in use as `levels.backend` records it: the backend's name, and for webgpu the
 * device, e.g. "webgpu:NVIDIA H200" or "webgpu:llvmpipe (software)", for native the
 * instruction set its kernels run and its oneDNN, e.g. "native:avx2+onednn-2.6.3".
 */
export function backendLabel(): string {
  return baseLabel() + kernelSwitches();
}

function baseLabel(): string {
  const name = tf.getBackend();
  if (name === 'native') {
    const load = loadNativeAddon();
    return load.ok ? nativeLabel(load.addon) : name;
  }
  const a = webgpuAdapter();
  return name === 'webgpu' && a ? webgpuLabel(a) : name;
}

/** The kernel switches that change a row's bits (`LTH_FUSED=0`: tfjs ops instead of lth's
 *  kernels; `LTH_SPARSE=0`: pruned dense layers on dense kernels), so that `levels.backend`
 *  tells such rows apart: "+fused-off", "+sparse-off"; empty by default. */
function kernelSwitches(): string {
  if (process.env.LTH_FUSED === '0') return '+fused-off';
  return process.env.LTH_SPARSE === '0' ? '+sparse-off' : '';
}
