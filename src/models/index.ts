export type { LayerKind, Masks, Model, ParamSpec, Weights } from './types.js';
export { isPrunable, isTrained, PARAM_GROUPS, type ParamGroup } from './types.js';
export { buildGraphModel, buildModel, buildSpecModel } from './zoo.js';
export { initializerOf, isPretrained, modelDigest, modelField, modelLabel, readModel, readModelWeights, resolveModel, type ModelSpec } from './source.js';
export { KERAS_LAYERS } from './keras.js';
export { MODELS, MODEL_NAMES, benchModels, checkInput, modelHelp, needsImage, type ModelDef, type ModelName } from './registry.js';
export {
  macsPerWeight,
  paramGroup,
  MODES,
  resolveGraph,
  runGraph,
  toLayersModel,
  unitCouplings,
  unitsLeftOut,
  type Graph,
  type GraphNode,
  type LayerKinds,
  type UnitCoupling,
  type UnitLeftOut,
} from './graph.js';
export * as layers from './layers/index.js';
export { initialize, initStd, type InitName } from './init.js';
export { fromHeld, heldIndices, heldShape, toHeld, transposeValues } from './layout.js';
export { storedLayout } from './layout.js';
export { conv2d, denseT, maxPool, softmaxCrossEntropy } from './ops.js';
