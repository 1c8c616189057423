/**
 * Edit distance: the fewest one-character insertions, deletions, substitutions and swaps of two
 * neighbours ("nmae" → "name" is one) from a to b (optimal string alignment).
 */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
}

/** A name as compared: lower case, letters and digits only ("Fashion_MNIST" and "fashion-mnist" are both "fashionmnist"). */
const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Whether the characters of `a` occur in `b` in order ("fmnist" in "fashionmnist"). */
function inOrder(a: string, b: string): boolean {
  let i = 0;
  for (const ch of b) if (ch === a[i]) i++;
  return i === a.length;
}

/**
 * The candidate a mistyped name most likely meant, for "did you mean …?"; undefined when none is
 * close. Names are compared squashed (case, hyphens, underscores and dots ignored), in this order,
 * the first rule that any candidate meets deciding:
 * 1. the same squashed ("fashion_mnist" → "fashion-mnist", "vgg19" → "vgg-19");
 * 2. (names of 3 or more characters) contained in a candidate ("lenet300" → "lenet-300-100",
 *    "lenet" → "lenet-300-100"); several: the least edit distance, the first on a tie;
 * 3. an abbreviation: the same first letter, the others in order, of one candidate only
 *    ("fmnist" → "fashion-mnist", not "mnist");
 * 4. starting with a candidate of 3 or more ("vgg16bn" → "vgg-16"; several: the longest);
 * 5. the one candidate at the least edit distance, when that is small: at most a third of the
 *    candidate's length (2 allowed) and under half the name's ("nope" is not "scope"):
 *    "lenet-30-100" → "lenet-300-100", "iteratons" → "iterations", "nmae" → "name"; none when
 *    two are as near ("vgg-18").
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const n = squash(name);
  if (!n) return undefined;
  const sq = candidates.map((c) => ({ c, s: squash(c) }));
  const nearest = (list: typeof sq) => list.reduce((a, b) => (editDistance(n, b.s) < editDistance(n, a.s) ? b : a)).c;
  const same = sq.filter((x) => x.s === n);
  if (same.length) return same[0].c;
  if (n.length >= 3) {
    const containing = sq.filter((x) => x.s.includes(n));
    if (containing.length) return nearest(containing);
    const abbreviated = sq.filter((x) => x.s[0] === n[0] && inOrder(n, x.s));
    if (abbreviated.length === 1) return abbreviated[0].c;
    const prefixes = sq.filter((x) => x.s.length >= 3 && n.startsWith(x.s));
    if (prefixes.length) return prefixes.reduce((a, b) => (b.s.length > a.s.length ? b : a)).c;
  }
  const near = sq.map((x) => ({ ...x, d: editDistance(n, x.s) })).filter((x) => x.d <= Math.max(2, Math.floor(x.s.length / 3)) && 2 * x.d < n.length);
  const least = Math.min(...near.map((x) => x.d));
  const best = near.filter((x) => x.d === least);
  // two as near ("vgg-18": vgg-11, vgg-16, vgg-19) is no answer
  return best.length === 1 ? best[0].c : undefined;
}

/** `: did you mean "x"?` for the closest candidate (see closest), or '' when none is close. */
export const didYouMean = (name: string, candidates: readonly string[]): string => {
  const c = closest(name, candidates);
  return c === undefined ? '' : `: did you mean "${c}"?`;
};
