/**
 * Where a level's weight files live under the weights folder and how a level is packed into
 * one file. Only storage knows this layout; orchestration asks for a level by (trial, chain, level).
 * The keys are part of the on-disk format (docs/SCHEMA.md, table `artifacts`): changing one
 * orphans every stored file of that kind.
 */

/** Weights and masks as plain arrays, keyed by parameter name (structurally the models' Weights/Masks). */
export type StoredWeights = Record<string, Float32Array>;
export type StoredMasks = Record<string, Uint8Array>;
/** One weight file's content: named arrays. */
export type Artifact = Record<string, Float32Array | Uint8Array>;

const chainDir = (trial: number, chain: string) => `trial-${trial}/${encodeURIComponent(chain)}`;
/** θ0 and θ_k of a trial: the weights every later level of every chain starts from */
const thetaKey = (trial: number, point: string) => `trial-${trial}/theta-${point}`;

/** Artifact keys (the file is `<experiment>/<key>.bin` under the weights folder). */
export const keys = {
  theta0: (t: number) => thetaKey(t, '0'),
  thetaK: (t: number, k: number) => thetaKey(t, `k${k}`),
  level0: (t: number) => `trial-${t}/level-0`,
  level: (t: number, chain: string, level: number) => `${chainDir(t, chain)}/level-${level}`,
  /** a chain level's weights and mask; level 0 is the trial's, shared by its chains */
  chainLevel: (t: number, chain: string, level: number) => (level === 0 ? keys.level0(t) : keys.level(t, chain, level)),
  /** a chain level's (or level 0's) weights at its early-stop point, when the spec keeps them (training.keepEarlyStop) */
  earlyStop: (t: number, chain: string, level: number) => `${keys.chainLevel(t, chain, level)}-early-stop`,
  /** θ0 and θ_k of a chain that starts from another experiment's ticket (src/resets/ticket.ts), as this experiment's model takes them */
  chainTheta0: (t: number, chain: string) => `${chainDir(t, chain)}/theta-0`,
  chainThetaK: (t: number, chain: string, k: number) => `${chainDir(t, chain)}/theta-k${k}`,
  branch: (t: number, chain: string, level: number, label: string, replicate: number) =>
    `${chainDir(t, chain)}/level-${level}-${encodeURIComponent(label)}-${replicate}`,
};

/** Whether an artifact key is a trial's θ0 or θ_k, or a transferred chain's (Store.verifyInputs checks these when a run opens). */
export const isTrialInput = (key: string): boolean => /^trial-\d+\/([^/]+\/)?theta-(0|k\d+)$/.test(key);

/** Weights and mask share one file per level: weights under "w/", masks under "m/". */
export function packLevel(w: StoredWeights, m: StoredMasks): Artifact {
  const out: Artifact = {};
  for (const [k, v] of Object.entries(w)) out[`w/${k}`] = v;
  for (const [k, v] of Object.entries(m)) out[`m/${k}`] = v;
  return out;
}

/** The inverse of packLevel; other entries (e.g. supermask scores "s/") are ignored. */
export function unpackLevel(a: Artifact): { weights: StoredWeights; masks: StoredMasks } {
  const weights: StoredWeights = {};
  const masks: StoredMasks = {};
  for (const [k, v] of Object.entries(a)) {
    if (k.startsWith('w/')) weights[k.slice(2)] = v as Float32Array;
    else if (k.startsWith('m/')) masks[k.slice(2)] = v as Uint8Array;
  }
  return { weights, masks };
}
