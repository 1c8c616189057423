export { backendFailure, backendLabel, enableWasmKernels, initBackend } from './init.js';
export { BACKENDS, type BackendChoice, type BackendName } from './names.js';
export { wasmThreadsInUse } from './wasm-threads.js';
export { checkWasmInternals, checkWasmThreads, type InternalsCheck } from './internals.js';
export { webgpuAdapter, type WebgpuAdapterInfo } from './webgpu.js';
export { formatDoctor, runDoctor } from './doctor.js';
