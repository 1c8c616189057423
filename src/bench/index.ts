export { BENCH_MODELS, runBench } from './run.js';
export { formatReport } from './format.js';
export { benchKernels } from './kernels.js';
export { profileStep } from './profile.js';
export { formatSpeed, measureSpeed, speedChains, type ChainRef, type SpeedOptions, type SpeedResult, type SpeedRow } from './sparsity.js';
