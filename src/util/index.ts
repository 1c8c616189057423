export { UserError, Interrupted, SpecError, fileErrorLine } from './errors.js';
export { closest, didYouMean } from './closest.js';
export { sha256, canonicalJson } from './hash.js';
export { makeRng, type Rng, deriveSeed, permutation } from './rng.js';
