import { tf } from '../util/tf.js';
import type * as BackendCpu from '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { registerNativeKernels, type NativeAddon } from '../kernels/native.js';
import { BufferPool } from './buffer-pool.js';

const require = createRequire(import.meta.url);
// required, not imported: see src/util/tf.ts (no export-name lexing of a 0.5 MB CommonJS file per process)
const { MathBackendCPU } = require('@tensorflow/tfjs-backend-cpu') as typeof BackendCpu;

/**
 * The 'native' backend: tfjs's cpu backend with lth's native kernels (src/kernels/native.ts)
 * from the optional N-API addon in native/ (built by node-gyp when `npm ci` installs the
 * `lth-native` optional dependency; needs libopenblas-dev, libdnnl-dev (oneDNN) and a C
 * compiler, which `bash scripts/setup` installs).
 *
 * Rows must not depend on the machine: the addon's own kernels are compiled for AVX2 + FMA
 * (it refuses to load on a CPU without them); OpenBLAS, which picks its kernels per CPU at
 * load time, is pinned to its Haswell (AVX2) kernels with OPENBLAS_CORETYPE before it loads;
 * oneDNN, which runs the convolutions, is pinned to AVX2 by the addon before its first
 * primitive and runs single-threaded on batch chunks fixed by the shape
 * (docs/PERFORMANCE.md, "oneDNN convolutions"). `levels.backend` records
 * "native:avx2+onednn-2.6.3".
 */

/** The addon binary: LTH_NATIVE_ADDON, else native/build/Release in this checkout. */
function addonPath(): string {
  const env = process.env.LTH_NATIVE_ADDON;
  if (env) return env;
  // dist/src/backend/native.js → the repository root is three folders up.
  return fileURLToPath(new URL('../../../native/build/Release/lth_native.node', import.meta.url));
}

/** The instruction set OpenBLAS is pinned to (OPENBLAS_CORETYPE) and the label's suffix. */
const BLAS_CORE = 'Haswell';

export type NativeLoad = { ok: true; addon: NativeAddon } | { ok: false; problem: string; fix: string };

/**
 * Loads the addon (without registering anything). `LTH_NATIVE=0` hides it, as on a machine
 * where it did not build. Failures come back as one-line reasons with their fix.
 */
export function loadNativeAddon(): NativeLoad {
  if (process.env.LTH_NATIVE === '0') return { ok: false, problem: 'LTH_NATIVE=0 hides it', fix: 'unset LTH_NATIVE' };
  if (process.arch !== 'x64') {
    return { ok: false, problem: `it is built for x86-64 with AVX2, not ${process.arch}`, fix: 'use --backend wasm' };
  }
  const path = addonPath();
  if (!existsSync(path)) {
    return {
      ok: false,
      problem: `the addon is not built (no ${path})`,
      fix: 'bash scripts/setup (installs libopenblas-dev and libdnnl-dev and builds native/ with node-gyp), or: apt-get install libopenblas-dev libdnnl-dev g++ make && (cd native && npm run install)',
    };
  }
  // Must be set before libopenblas is loaded (with the addon): it reads the variable once.
  if (process.env.OPENBLAS_CORETYPE == null) process.env.OPENBLAS_CORETYPE = BLAS_CORE;
  try {
    return { ok: true, addon: require(path) as NativeAddon };
  } catch (e) {
    return { ok: false, ...loadFailure(String(e instanceof Error ? e.message : e)) };
  }
}

/**
 * The one-line problem and fix for an error of loading the built addon: a missing OpenBLAS or
 * oneDNN shared library (e.g. "libdnnl.so.2: cannot open shared object file") names the
 * package to install; anything else asks for a rebuild.
 */
export function loadFailure(message: string): { problem: string; fix: string } {
  const msg = message.split('\n')[0];
  const fix = /libopenblas/.test(msg)
    ? 'apt-get install libopenblas0 (or bash scripts/setup)'
    : /libdnnl/.test(msg)
      ? 'apt-get install libdnnl2 (oneDNN; or bash scripts/setup)'
      : 'rebuild it: bash scripts/setup';
  return { problem: `the addon failed to load: ${msg}`, fix };
}

/** Threads of the native GEMMs: LTH_NATIVE_THREADS, else the number of cores. */
export function nativeThreads(): number {
  const n = Number(process.env.LTH_NATIVE_THREADS);
  return Number.isInteger(n) && n > 0 ? n : Math.max(1, os.availableParallelism());
}

/** The most bytes of disposed kernel outputs the native backend keeps for reuse: LTH_NATIVE_POOL_MB, else 1024 MB. */
export function nativePoolBytes(): number {
  const mb = Number(process.env.LTH_NATIVE_POOL_MB);
  return (Number.isFinite(mb) && mb >= 0 && process.env.LTH_NATIVE_POOL_MB !== '' ? mb : 1024) * 2 ** 20;
}

/**
 * The cpu backend, with the native kernels' outputs in recycled arrays (./buffer-pool.ts says
 * why and when an array is recycled): every new data entry is adopted by the pool, every array
 * read out escapes it, every deleted entry releases its array.
 */
type Values = Parameters<BackendCpu.MathBackendCPU['write']>[0];
type DataId = ReturnType<BackendCpu.MathBackendCPU['write']>;

export class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool(nativePoolBytes());

  override write(values: Values, shape: number[], dtype: tf.DataType): DataId {
    this.pool.adopt(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.pool.adopt(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): Values {
    const v = super.readSync(dataId);
    this.pool.escape(v);
    return v;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.get(dataId)?.values;
    const done = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values);
    return done;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

/** Registers the 'native' backend around a loaded addon (idempotent). */
export function registerNative(addon: NativeAddon): void {
  if (tf.findBackendFactory('native') == null) tf.registerBackend('native', () => new NativeBackend(), 0);
  registerNativeKernels('native', addon, nativeThreads());
}

/**
 * `levels.backend` for native: "native:", the instruction set its kernels run, and the oneDNN
 * that runs its convolutions, e.g. "native:avx2+onednn-2.6.3". A database resumed with other
 * kernels (the im2col convolutions before oneDNN were "native:avx2", another oneDNN version
 * may sum differently) shows another backend.
 */
export function nativeLabel(addon: NativeAddon): string {
  const i = addon.info();
  // oneDNN is pinned to avx2 (native/src/onednn.c); were it not, the label says what it ran
  const dnn = i.onednnIsa === i.isa ? `onednn-${i.onednn}` : `onednn-${i.onednn}-${i.onednnIsa}`;
  // a user's own OPENBLAS_CORETYPE overrides the pin: then the label says which kernels ran
  const blas = i.blasCore.toLowerCase() === BLAS_CORE.toLowerCase() ? '' : `+openblas-${i.blasCore.toLowerCase()}`;
  return `native:${i.isa}+${dnn}${blas}`;
}
