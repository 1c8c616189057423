import assert from 'node:assert/strict';

/** Deterministic pseudo-random floats in [-1, 1) (a small LCG: no dependence on the code under test). */
export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Asserts |got − want| ≤ tol·(1 + |want|) everywhere. */
export function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= tol * (1 + Math.abs(want[i])))) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}
