import { permutation, type Rng } from '../util/index.js';

/**
 * Selection of the lowest scores, the step every magnitude criterion and every mask update
 * (gradual pruning, SET, RigL) ends in. `sorted[k]` of an ascending sort is found by
 * selection (Floyd–Rivest, O(n) expected) instead of sorting all n scores: the same value,
 * so the same weights are removed (docs/PERFORMANCE.md, "SET, RigL and the quick preset").
 */

/**
 * The value at position k (0-based) of `values` sorted ascending as Float32Array.prototype.sort
 * sorts (numerically, NaN last), without sorting: Floyd–Rivest selection on a copy. ±0 may come
 * back as either zero (they compare equal, as every caller compares). With a NaN among the
 * values the copy is sorted instead (NaN orders last there, and selection cannot place it).
 */
export function kthSmallest(values: Float32Array, k: number): number {
  if (!(k >= 0 && k < values.length)) throw new RangeError(`kthSmallest: position ${k} of ${values.length} values`);
  const a = Float32Array.from(values);
  for (let i = 0; i < a.length; i++) if (a[i] !== a[i]) return a.sort()[k];
  select(a, k, 0, a.length - 1);
  return a[k];
}

/** Floyd & Rivest (1975) SELECT, in place: afterwards a[k] holds the value a sort would put
 *  there, smaller or equal ones before it, larger or equal after (no NaN in a[left … right]). */
function select(a: Float32Array, k: number, left: number, right: number): void {
  while (right > left) {
    if (right - left > 600) {
      // Narrow [left, right] to a sample's range around k first.
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      select(a, k, Math.max(left, Math.floor(k - (m * s) / n + sd)), Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)));
    }
    const t = a[k];
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right] > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i] < t) i++;
      while (a[j] > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(a: Float32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Marks the `count` lowest of `scores` (1 = among them; all 0 when count ≤ 0): every score below
 * the count-th smallest, and of those equal to it as many as are still needed, chosen by a
 * permutation of the tied positions (in index order) drawn from `rng` — so equal scores never
 * favour low indices. The rng is drawn from only when count > 0 (tied.length − 1 draws).
 * @param scores [n]
 * @returns [n] flags
 */
export function markLowest(scores: Float32Array, count: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(scores.length);
  if (count <= 0) return out;
  if (count > scores.length) throw new RangeError(`cannot remove ${count} of ${scores.length} scores`);
  const threshold = kthSmallest(scores, count - 1);
  let below = 0;
  const tied: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s < threshold) {
      out[i] = 1;
      below++;
    } else if (s === threshold) tied.push(i);
  }
  const perm = permutation(tied.length, rng);
  for (let j = 0; j < count - below; j++) out[tied[perm[j]]] = 1;
  return out;
}
