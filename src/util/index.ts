export { UserError, Interrupted, SpecError } from './errors.js';
export { sha256, canonicalJson } from './hash.js';
export { makeRng, type Rng, deriveSeed, permutation } from './rng.js';
