import { conv2d, dense, flatten, maxPooling2d, relu } from './layers/index.js';
import type { ModelDef } from './registry.js';

/**
 * A one-block conv net small enough for tests and smoke runs on small images (≥ 2×2): one
 * 3×3 conv of 8 filters, a 2×2 max-pool, FC 32, output. Also the worked example of adding a
 * model: this file plus its line in registry.ts is all it takes.
 */
export const convTiny: ModelDef = {
  help: 'a one-block conv net for tests and smoke runs',
  layers: [conv2d(8), relu(), maxPooling2d(), flatten(), dense(32), relu()],
};
