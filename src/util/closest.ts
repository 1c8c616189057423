/** Levenshtein distance: the fewest one-character insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate a mistyped name most likely meant, for "did you mean …?": among those that contain
 * the name ("lenet" → "lenet-300-100"), or else among all, the one at the least edit distance
 * (case ignored) — from all, only when that distance is small for its length (at most a third,
 * and at least 2 allowed); undefined when none is close.
 */
function closest(name: string, candidates: readonly string[]): string | undefined {
  const n = name.toLowerCase();
  const containing = n.length >= 3 ? candidates.filter((c) => c.toLowerCase().includes(n)) : [];
  let best: { c: string; d: number } | undefined;
  for (const c of containing.length ? containing : candidates) {
    const d = editDistance(n, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && (containing.length || best.d <= Math.max(2, Math.floor(best.c.length / 3))) ? best.c : undefined;
}

/** `: did you mean "x"?` for the closest candidate, or '' when none is close. */
export const didYouMean = (name: string, candidates: readonly string[]): string => {
  const c = closest(name, candidates);
  return c === undefined ? '' : `: did you mean "${c}"?`;
};
