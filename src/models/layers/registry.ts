import { addDef } from './add.js';
import { averagePooling2dDef } from './average-pooling2d.js';
import { batchNormalizationDef } from './batch-normalization.js';
import { conv2dDef } from './conv2d.js';
import { denseDef } from './dense.js';
import { flattenDef } from './flatten.js';
import { globalAveragePooling2dDef } from './global-average-pooling2d.js';
import { maxPooling2dDef } from './max-pooling2d.js';
import { reluDef } from './relu.js';
import type { LayerDef } from './types.js';

/**
 * Every layer kind a model graph may use, by the `kind` its nodes give (tfjs-layers' names).
 * Adding a kind = one file in this folder declaring its LayerDef + one line here
 * (docs/DESIGN.md#adding-a-layer).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry has its own config type; nodes are checked against it when resolved
export const LAYERS: Record<string, LayerDef<any>> = {
  dense: denseDef,
  conv2d: conv2dDef,
  maxPooling2d: maxPooling2dDef,
  averagePooling2d: averagePooling2dDef,
  globalAveragePooling2d: globalAveragePooling2dDef,
  flatten: flattenDef,
  relu: reluDef,
  batchNormalization: batchNormalizationDef,
  add: addDef,
};
