import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/** A seeded random source. Every random choice in lth goes through one of these,
 *  keyed by a string that names its purpose, so results never depend on call order elsewhere. */
export interface Rng {
  /** uniform in [0, 1) */
  uniform(): number;
  /** the next n uniform() draws, in order (the same numbers; faster for large n) */
  uniforms(n: number): Float64Array;
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
  let prng = seedrandom(JSON.stringify(key), { state: true });
  let spare: number | null = null;
  const uniform = () => prng.double();
  return {
    uniform,
    uniforms(n) {
      const out = new Float64Array(n);
      if (n < 4096) {
        for (let k = 0; k < n; k++) out[k] = uniform();
        return out;
      }
      // seedrandom's ARC4 double() in one loop over a byte array (3–4× faster than a call per
      // draw), then the generator continues from the state this leaves.
      const st = prng.state();
      const end = arc4Doubles(st, out);
      prng = seedrandom('', { state: end });
      return out;
    },
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

/**
 * out.length draws of seedrandom's ARC4 `double()` (seedrandom 3.0.5, seedrandom.js: 6 bytes
 * as the numerator over 2^48, one more byte at a time until 52 significant bits, then shifted
 * down to 53 bits), the same operations on a copy of the generator state; returns the state after.
 */
function arc4Doubles(st: { i: number; j: number; S: number[] }, out: Float64Array): { i: number; j: number; S: number[] } {
  const s = Int32Array.from(st.S);
  let i = st.i;
  let j = st.j;
  // ARC4 output bytes inline (i, j locals: a closure would keep them in a context object)
  for (let k = 0; k < out.length; k++) {
    // g(6): six bytes, big-endian, in two exact 24-bit halves
    let hi = 0;
    let lo = 0;
    let t: number;
    let u: number;
    for (let c = 0; c < 6; c++) {
      i = (i + 1) & 255;
      t = s[i];
      j = (j + t) & 255;
      u = s[j];
      s[i] = u;
      s[j] = t;
      if (c < 3) hi = (hi << 8) | s[(u + t) & 255];
      else lo = (lo << 8) | s[(u + t) & 255];
    }
    let n = hi * 16777216 + lo;
    let d = 281474976710656; // 2^48
    let x = 0;
    while (n < 4503599627370496) {
      // 2^52: one more byte
      n = (n + x) * 256;
      d *= 256;
      i = (i + 1) & 255;
      t = s[i];
      j = (j + t) & 255;
      u = s[j];
      s[i] = u;
      s[j] = t;
      x = s[(u + t) & 255];
    }
    while (n >= 9007199254740992) {
      // 2^53
      n /= 2;
      d /= 2;
      x >>>= 1;
    }
    out[k] = (n + x) / d;
  }
  return { i, j, S: Array.from(s) };
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
