export { BENCH_MODELS, readReport, runBench } from './run.js';
export { formatReport } from './format.js';
export { benchKernels } from './kernels.js';
export { profileStep } from './profile.js';
