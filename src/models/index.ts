export type { LayerKind, Masks, Model, ParamSpec, Weights } from './types.js';
export { isPrunable } from './types.js';
export { buildModel } from './zoo.js';
export { MODELS, MODEL_NAMES, benchModels, checkInput, modelHelp, needsImage, type ModelDef, type ModelName } from './registry.js';
export { conv, convBlocks, dense, pool, type Layer } from './layers.js';
export { initialize, initStd, type InitName } from './init.js';
export { fromHeld, heldShape, toHeld } from './layout.js';
export { storedLayout } from './layout.js';
export { conv2d, denseT, maxPool, softmaxCrossEntropy } from './ops.js';
