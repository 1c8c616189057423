/**
 * Checks for the private parts of @tensorflow/tfjs-backend-wasm that lth relies on (issue:
 * a caret range let a patch release move them; the versions are now pinned in package.json,
 * and this check is the guard for anyone who installs other versions):
 *  - the backend's wasm memory (`wasm.wasmMemory`, or `wasm.asm.memory` in older Emscripten
 *    builds) and its tensor map (`dataIdMap.get(dataId).memoryOffset`), `makeOutput` and
 *    `disposeData`: src/kernels runs its fused kernels directly on that heap;
 *  - the pthread pool size read from `os.cpus()` while the threaded module initialises
 *    (src/backend/wasm-threads.ts reports it doubled for that moment).
 */

export type InternalsCheck = { ok: true } | { ok: false; problem: string };

/**
 * Whether `backend` (a tfjs 'wasm' KernelBackend instance) exposes what src/kernels uses.
 * `problem` names the first missing piece, e.g. "tfjs-backend-wasm has no wasm.wasmMemory".
 */
export function checkWasmInternals(backend: unknown): InternalsCheck {
  const be = backend as {
    wasm?: { wasmMemory?: unknown; asm?: { memory?: unknown } };
    dataIdMap?: { get?: unknown };
    makeOutput?: unknown;
    disposeData?: unknown;
  } | null;
  const missing = (what: string): InternalsCheck => ({
    ok: false,
    problem: `the wasm backend object has no ${what} (a tfjs-backend-wasm version lth was not built for)`,
  });
  if (be == null || typeof be !== 'object') return missing('state at all');
  if (be.wasm == null) return missing('`wasm` module');
  const memory = be.wasm.wasmMemory ?? be.wasm.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return missing('WebAssembly.Memory at `wasm.wasmMemory` or `wasm.asm.memory`');
  if (be.dataIdMap == null || typeof be.dataIdMap.get !== 'function') return missing('`dataIdMap.get`');
  if (typeof be.makeOutput !== 'function') return missing('`makeOutput`');
  if (typeof be.disposeData !== 'function') return missing('`disposeData`');
  return { ok: true };
}

/**
 * The threaded loader asks for `requested` XNNPACK threads; the C++ side caps the pool at
 * os.cpus().length / 2, which wasm-threads.ts patches. Returns a warning when the pool came out
 * smaller than min(requested, cores), i.e. the patch no longer reaches the module; else null.
 */
export function checkWasmThreads(requested: number, cores: number, inUse: number): string | null {
  const expected = Math.min(requested, cores);
  if (inUse >= expected) return null;
  return `the wasm backend runs ${inUse} thread(s), not ${expected}: tfjs-backend-wasm no longer reads the patched os.cpus (a version lth was not built for). Fix: install the pinned @tensorflow/tfjs-backend-wasm (npm ci), or set LTH_WASM_THREADS=1`;
}
