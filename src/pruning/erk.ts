/**
 * The Erdős–Rényi-Kernel distribution of densities over layers (Evci et al. 2020, "Rigging the
 * Lottery: Making All Tickets Winners", §3, after Mocanu et al. 2018's Erdős–Rényi; jaxpruner's
 * `erk`): layer l keeps a fraction d_l = ε · (Σ_i n_i^l) / (Π_i n_i^l) of its weights, n^l its
 * kernel's dimensions (h, w, in, out for a conv; in, out for a dense layer), with ε chosen so
 * that Σ_l d_l · N_l equals the target count. A layer whose d_l would exceed 1 is kept dense
 * and ε is solved again over the others, until none exceeds 1.
 */

/**
 * ERK densities in [0, 1], one per layer.
 * @param shapes kernel shapes, one per layer (each dimension ≥ 1)
 * @param kept the target number of kept weights over all layers, 0 ≤ kept ≤ Σ N_l
 * @throws Error for a kept count outside [0, Σ N_l]
 */
export function erkDensities(shapes: readonly (readonly number[])[], kept: number): number[] {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!(kept >= 0 && kept <= total)) throw new Error(`ERK: ${kept} kept weights is outside [0, ${total}]`);
  const raw = shapes.map((s, i) => s.reduce((a, b) => a + b, 0) / sizes[i]);
  const dense = new Set<number>();
  for (;;) {
    const free = sizes.map((_, i) => i).filter((i) => !dense.has(i));
    const budget = kept - [...dense].reduce((a, i) => a + sizes[i], 0);
    const divisor = free.reduce((a, i) => a + raw[i] * sizes[i], 0);
    const eps = divisor > 0 ? budget / divisor : 0;
    const over = free.filter((i) => eps * raw[i] > 1);
    if (over.length === 0) return sizes.map((_, i) => (dense.has(i) ? 1 : eps * raw[i]));
    // the layers of the largest raw density become dense first (jaxpruner's order)
    const max = Math.max(...over.map((i) => raw[i]));
    for (const i of over) if (raw[i] === max) dense.add(i);
  }
}

/** ERK kept counts: round(d_l · N_l) per layer (so the total is the target up to rounding). */
export function erkCounts(shapes: readonly (readonly number[])[], kept: number): number[] {
  return erkDensities(shapes, kept).map((d, i) => Math.round(d * shapes[i].reduce((a, b) => a * b, 1)));
}
