import { tf } from '../util/tf.js';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Multithreaded tfjs wasm backend for Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded+SIMD binary (XNNPACK with a pthreadpool) but never
 * uses it in Node, for three separate reasons, each worked around here:
 *
 *  1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` returns false whenever `IS_NODE`
 *     (tfjs issue #3830), so `init()` picks the single-threaded SIMD binary.
 *  2. Even with the flag forced on, `init()` hands Emscripten a `blob:` URL for the pthread
 *     worker script and a `Blob` for the main script. Node's `worker_threads.Worker` cannot
 *     start from a blob URL, and the worker's `importScripts` shim reads files with
 *     `fs.readFileSync`, so both must be real files. We therefore call the Emscripten factory
 *     ourselves: the worker script (exported as a string by the package) is written to a temp
 *     file, and the main script is the package's own `wasm-out/...threaded-simd.js`.
 *  3. The C++ side sizes the pool as `min(requested, emscripten_num_logical_cores() / 2)`
 *     (it assumes hyper-threading), and in Node that reads `os.cpus().length`. On a 2-core
 *     machine that caps the pool at 1 thread. `os.cpus` is reported doubled while the module
 *     initialises (the only time it is read) and restored right after.
 *
 * The backend object is tfjs's own `BackendWasm`, so every registered wasm kernel applies.
 * Pool threads are `unref()`ed so that an idle pool never keeps the process alive.
 */

const require = createRequire(import.meta.url);

interface EmscriptenWorker {
  unref?: () => void;
}
interface ThreadedModule {
  cwrap: (name: string, ret: string | null, args: string[]) => unknown;
  PThread?: { runningWorkers?: EmscriptenWorker[]; unusedWorkers?: EmscriptenWorker[] };
  tfjs?: Record<string, unknown>;
}
type Factory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

interface WasmPkg {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount: (n: number) => void;
  getThreadsCount: () => number;
}

let workerFile: string | null = null;

function writeWorkerScript(outDir: string): string {
  if (workerFile != null && fs.existsSync(workerFile)) return workerFile;
  const { wasmWorkerContents } = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The package stores the script in a template literal, so its "\n" escapes became real
  // newlines inside string literals; tfjs re-escapes them the same way before making a Blob.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const file = path.join(os.tmpdir(), `lth-tfjs-wasm-worker-${process.pid}.cjs`);
  fs.writeFileSync(file, text);
  process.once('exit', () => {
    try {
      fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  });
  workerFile = file;
  return file;
}

/**
 * Replaces the registered 'wasm' backend factory with one that loads the threaded SIMD binary
 * with `threads` XNNPACK threads (including the calling thread). Call before `tf.setBackend('wasm')`.
 * Returns false (and leaves tfjs's own factory in place) if the files are not where expected.
 */
export async function registerThreadedWasm(threads: number): Promise<boolean> {
  const pkg = require('@tensorflow/tfjs-backend-wasm') as WasmPkg;
  const pkgDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const outDir = path.join(pkgDir, 'wasm-out');
  const mainScript = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const wasmBinary = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.wasm');
  if (!fs.existsSync(mainScript) || !fs.existsSync(wasmBinary)) return false;
  const factory = require(mainScript) as Factory;

  const stock = tf.findBackendFactory('wasm');
  if (tf.findBackend('wasm') != null || stock != null) tf.removeBackend('wasm');
  const threaded = async (): Promise<tf.KernelBackend> => {
    const worker = writeWorkerScript(outDir);
    const realCpus = os.cpus;
    // reason 3 above: make the C++ pool cap (logical cores / 2) equal the real core count
    os.cpus = () => {
      const c = realCpus();
      return [...c, ...c];
    };
    let module: ThreadedModule;
    try {
      module = await factory({
        locateFile: (p: string) => (p.endsWith('.worker.js') ? worker : p.endsWith('.wasm') ? wasmBinary : path.join(outDir, p)),
        mainScriptUrlOrBlob: mainScript,
        // Created here (as Emscripten would) so that src/kernels can import the same memory.
        wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }),
      });
    } finally {
      os.cpus = realCpus;
    }
    const cw = module.cwrap.bind(module);
    module.tfjs = {
      init: cw('init', null, []),
      initWithThreadsCount: cw('init_with_threads_count', null, ['number']),
      getThreadsCount: cw('get_threads_count', 'number', []),
      registerTensor: cw('register_tensor', null, ['number', 'number', 'number']),
      disposeData: cw('dispose_data', null, ['number']),
      dispose: cw('dispose', null, []),
    };
    pkg.setThreadsCount(threads);
    const backend = new pkg.BackendWasm(module);
    // pthreadpool threads block on a futex while idle; a running pthread's worker is ref()ed
    // by Emscripten, which would keep Node alive after main() returns.
    for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) {
      w.unref?.();
    }
    return backend;
  };
  tf.registerBackend(
    'wasm',
    async () => {
      try {
        return await threaded();
      } catch (e) {
        if (stock == null) throw e;
        process.emitWarning(`threaded wasm backend failed to load (${String(e)}); using the single-threaded one`);
        return await stock();
      }
    },
    2,
  );
  return true;
}

/** Threads the wasm backend's XNNPACK pool actually uses (1 for the stock loader). */
export async function wasmThreadsInUse(): Promise<number> {
  const pkg = require('@tensorflow/tfjs-backend-wasm') as WasmPkg;
  return pkg.getThreadsCount();
}
