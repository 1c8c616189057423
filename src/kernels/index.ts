// The fused wasm kernels (src/kernels/wasm.ts). backend/ registers them; models/ops.ts and
// models/zoo.ts use the layer kernels; training/optimizer.ts uses the masked Adam. Each caller
// asks has*() first and otherwise runs plain tfjs ops, which the kernels reproduce bit for bit.
export { registerWasmKernels } from './wasm.js';
export { fusedMaskedAdam, hasFusedAdam } from './wasm.js';
export {
  actGradCols,
  biasAct,
  biasActGrad,
  columnSums,
  hasBiasAct,
  hasIm2col3x3,
  hasMaxPool2Grad,
  im2col3x3,
  hasSoftmaxCrossEntropy,
  matMul,
  maxPool2Grad,
  softmaxCrossEntropyFused,
  transpose,
} from './wasm.js';
// The native backend's kernels (src/kernels/native.ts); backend/native.ts registers them.
export { nativeConv2dGrads } from './native.js';
// Sparse kernels of pruned dense layers (src/kernels/sparse.ts, sparse.c; registered on native and wasm).
export { sampledMatMul, setSparseMask, sparseAdam, sparseLayoutOf, sparseMatMul, withAllWeightGradients } from './sparse.js';
// BatchNorm, ReLU and average-pooling kernels of the deep nets (src/kernels/deepnets.ts; registered on native).
export { batchMoments, batchNormGrad, globalAvgPool, globalAvgPoolGrad, hasBatchNormKernels, hasGlobalAvgPool, hasReluGrad, reluGrad } from './deepnets.js';
