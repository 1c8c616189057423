export type { LayerKind, Masks, Model, ParamSpec, Weights } from './types.js';
export { isPrunable } from './types.js';
export { buildModel } from './zoo.js';
export { initialize, initStd, type InitName } from './init.js';
export { fromHeld, heldShape, toHeld } from './layout.js';
