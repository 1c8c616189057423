import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/** A seeded random source. Every random choice in lth goes through one of these,
 *  keyed by a string that names its purpose, so results never depend on call order elsewhere. */
export interface Rng {
  /** uniform in [0, 1) */
  uniform(): number;
  /** standard normal (Box–Muller) */
  normal(): number;
  /** integer in [0, n) */
  int(n: number): number;
}

/**
 * A 32-bit seed derived from a tagged tuple: the first 4 bytes of sha256(JSON of [tag, ...parts]),
 * big-endian, in [0, 2^32). Distinct tuples give unrelated seeds, so unlike `seed + trial`,
 * (seed 5, trial 1) and (seed 6, trial 0) never share randomness (docs/SCHEMA.md, "Seeds").
 */
export function deriveSeed(tag: string, ...parts: (string | number)[]): number {
  return createHash('sha256')
    .update(JSON.stringify([tag, ...parts]))
    .digest()
    .readUInt32BE(0);
}

export function makeRng(...key: (string | number)[]): Rng {
  // The key is JSON-encoded, not joined: ['a:1', 2] and ['a', '1:2'] are different streams.
  const prng = seedrandom(JSON.stringify(key));
  let spare: number | null = null;
  const uniform = () => prng.double();
  return {
    uniform,
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(uniform() * n);
    },
  };
}

/** Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
