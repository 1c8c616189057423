import { createRequire } from 'node:module';
import type * as Core from '@tensorflow/tfjs-core';

/**
 * tfjs-core, loaded with `require`. An ESM `import` of a CommonJS package makes Node lex its
 * whole source for export names (cjs-module-lexer) in every process; for tfjs-core's 1.2 MB
 * that is about 0.1 s per `lth` process and per worker. `tf` is the same module object an
 * `import * as tf` would give (one instance: the backends `require` it too).
 */
export const tf = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof Core;

/** The tfjs-core types lth names as `tf.X` (a type-only namespace merged with the value above). */
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace tf {
  type Tensor<R extends Core.Rank = Core.Rank> = Core.Tensor<R>;
  type Variable<R extends Core.Rank = Core.Rank> = Core.Variable<R>;
  type Scalar = Core.Scalar;
  type Tensor1D = Core.Tensor1D;
  type Tensor2D = Core.Tensor2D;
  type Tensor3D = Core.Tensor3D;
  type Tensor4D = Core.Tensor4D;
  type Tensor5D = Core.Tensor5D;
  type Rank = Core.Rank;
  type DataType = Core.DataType;
  type TensorInfo = Core.TensorInfo;
  type NamedTensorMap = Core.NamedTensorMap;
  type NamedTensorInfoMap = Core.NamedTensorInfoMap;
  type NamedAttrMap = Core.NamedAttrMap;
  type GradSaveFunc = Core.GradSaveFunc;
  type KernelBackend = Core.KernelBackend;
  type KernelFunc = Core.KernelFunc;
  type Reduction = Core.Reduction;
  type BatchMatMulAttrs = Core.BatchMatMulAttrs;
  type Conv2DBackpropFilterAttrs = Core.Conv2DBackpropFilterAttrs;
  type Conv2DBackpropInputAttrs = Core.Conv2DBackpropInputAttrs;
  type FusedBatchNormAttrs = Core.FusedBatchNormAttrs;
  type FusedConv2DAttrs = Core.FusedConv2DAttrs;
  type MaxPoolAttrs = Core.MaxPoolAttrs;
  // eslint-disable-next-line @typescript-eslint/no-namespace -- types only, as tfjs-core's own
  namespace backend_util {
    type Conv2DInfo = Core.backend_util.Conv2DInfo;
  }
  // eslint-disable-next-line @typescript-eslint/no-namespace -- types only, as tfjs-core's own
  namespace io {
    type ModelArtifacts = Core.io.ModelArtifacts;
  }
}
