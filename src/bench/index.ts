export { BENCH_MODELS, readReport, runBench, type BenchOptions, type BenchReport, type Section } from './run.js';
export { formatReport } from './format.js';
export { benchKernels, type KernelBenchArgs } from './kernels.js';
export { profileStep, type ProfileArgs } from './profile.js';
