import { dataIdentity } from '../data/index.js';
import { canonicalJson, sha256 } from '../util/index.js';
import { specSchema, type Spec } from './schema.js';

/**
 * What a stored row means: an experiment's identity is its fully resolved spec (every field,
 * defaults included) plus COMPUTE_VERSION. Fields that only say how far to go (more levels,
 * a lower targetPercent, more trials, added strategies or branches) add rows without changing
 * stored ones, so they are left out of the hash and may grow on resume, as in OpenLTH
 * (docs/SCHEMA.md, "Identity").
 */

/**
 * Bumped whenever the same spec would give different numbers.
 *  1: lth 0.1.0 (trial seed = seed + trial; hash of the non-default values only).
 *  2: trial seed = hash of (seed, trial); random streams keyed by JSON-encoded tuples.
 */
export const COMPUTE_VERSION = 2;

/** How far an experiment goes: these may only grow on resume. */
export const EXTENDABLE = ['trials', 'pruning.levels', 'pruning.targetPercent', 'pruning.maxAccuracyDrop', 'strategies', 'branches'] as const;

/** Pruning fields added after compute version 2 was fixed, at the values that compute what lth did before them: left out of the hash there, so stored experiments keep their identity. */
const LATER_PRUNING_DEFAULTS: Record<string, unknown> = { granularity: 'weight', unitCriterion: 'l1_norm', sample: { size: 1000, seed: 0 } };

/** Branch fields that only add rows: more replicates, more levels, more chains. */
const BRANCH_EXTENDABLE = ['count', 'levels', 'chains'] as const;

export interface Identity {
  /** sha256 of canonical JSON of {compute, spec without name, description and EXTENDABLE} */
  readonly hash: string;
  readonly computeVersion: number;
  /** the hashed object */
  readonly fixed: Record<string, unknown>;
}

function fixedPart(spec: Spec): Record<string, unknown> {
  const s = structuredClone(spec) as Record<string, unknown> & { pruning: Record<string, unknown> };
  delete s.name;
  delete s.description;
  delete s.trials;
  delete s.strategies;
  delete s.branches;
  delete s.pruning.levels;
  delete s.pruning.targetPercent;
  delete s.pruning.maxAccuracyDrop;
  // the data set's part: all of `data`, or for user content its digest instead of its path
  s.data = dataIdentity(spec.data);
  for (const [k, v] of Object.entries(LATER_PRUNING_DEFAULTS)) if (canonicalJson(s.pruning[k]) === canonicalJson(v)) delete s.pruning[k];
  return s;
}

/** The identity of a resolved spec (see COMPUTE_VERSION). */
export function identityOf(spec: Spec): Identity {
  const fixed = fixedPart(spec);
  return { hash: sha256(canonicalJson({ compute: COMPUTE_VERSION, spec: fixed })), computeVersion: COMPUTE_VERSION, fixed };
}

/** The spec hash lth 0.1.0 stored (compute version 1): sha256 of the values differing from the defaults. */
export function legacyHashV1(spec: Spec): string {
  const LATER_CHAIN_DEFAULTS: Record<string, unknown> = { mask0: 'zero', during: null, unitCriterion: null };
  const strip = (s: Spec) => ({
    ...s,
    strategies: s.strategies.map((c) =>
      Object.fromEntries(Object.entries(c).filter(([k, v]) => !(k in LATER_CHAIN_DEFAULTS) || LATER_CHAIN_DEFAULTS[k] !== v)),
    ),
  });
  const defaults = specSchema.parse({ name: spec.name });
  const nonDefault = (diffValues(strip(spec), strip(defaults)) ?? {}) as Record<string, unknown>;
  delete nonDefault.name;
  delete nonDefault.description;
  return sha256(canonicalJson(nonDefault));
}

function diffValues(a: unknown, b: unknown): unknown {
  if (isObject(a) && isObject(b)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(a)) {
      const d = diffValues(a[k], b[k]);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return canonicalJson(a) === canonicalJson(b) ? undefined : a;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Dotted paths at which `a` and `b` differ (objects and arrays recursively). */
function differingPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if ((isObject(a) && isObject(b)) || (Array.isArray(a) && Array.isArray(b))) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    for (const k of [...new Set([...ka, ...kb])].sort())
      differingPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (canonicalJson(a) !== canonicalJson(b)) out.push(path || '(spec)');
}

export interface IdentityDiff {
  /** dotted paths whose change would alter stored rows (empty = the same computation) */
  readonly changed: string[];
  /** dotted paths of extendable fields that go less far than stored (refused: stored rows would be orphaned) */
  readonly shrunk: string[];
  /** true when `b` goes further than `a` (more levels, trials, chains, branches…) */
  readonly extended: boolean;
}

const levelsCover = (n: 'all' | number[], o: 'all' | number[]) => n === 'all' || (o !== 'all' && o.every((l) => n.includes(l)));
const chainsCover = (n: 'all' | string[], o: 'all' | string[]) => n === 'all' || (o !== 'all' && o.every((c) => n.includes(c)));

/**
 * Compares a stored spec `a` with a spec `b` about to resume it. Strategies are matched by
 * chain name; branches by position (new ones are appended). Paths are dotted, e.g.
 * `training.batchSize`, `strategies[rewind].mask0`, `branches.0.weights`.
 */
export function diffIdentity(a: Spec, b: Spec): IdentityDiff {
  const changed: string[] = [];
  differingPaths(identityOf(a).fixed, identityOf(b).fixed, '', changed);
  const shrunk: string[] = [];
  let extended = false;
  if (b.trials < a.trials) shrunk.push('trials');
  else if (b.trials > a.trials) extended = true;
  if (b.pruning.levels < a.pruning.levels) shrunk.push('pruning.levels');
  else if (b.pruning.levels > a.pruning.levels) extended = true;
  const ta = a.pruning.targetPercent ?? 0;
  const tb = b.pruning.targetPercent ?? 0;
  if (tb > ta) shrunk.push('pruning.targetPercent');
  else if (tb < ta) extended = true;
  const da = a.pruning.maxAccuracyDrop ?? Infinity;
  const db = b.pruning.maxAccuracyDrop ?? Infinity;
  if (db < da) shrunk.push('pruning.maxAccuracyDrop');
  else if (db > da) extended = true;
  for (const ca of a.strategies) {
    const cb = b.strategies.find((c) => c.name === ca.name);
    if (!cb) shrunk.push(`strategies[${ca.name}]`);
    else differingPaths(ca, cb, `strategies[${ca.name}]`, changed);
  }
  if (b.strategies.length > a.strategies.filter((ca) => b.strategies.some((c) => c.name === ca.name)).length) extended = true;
  a.branches.forEach((ba, i) => {
    const bb = b.branches[i];
    if (!bb) return shrunk.push(`branches.${i}`);
    const strip = (x: Record<string, unknown>) => Object.fromEntries(Object.entries(x).filter(([k]) => !(BRANCH_EXTENDABLE as readonly string[]).includes(k)));
    differingPaths(strip(ba), strip(bb), `branches.${i}`, changed);
    const oa = ba as { count?: number; levels: 'all' | number[]; chains: 'all' | string[] };
    const ob = bb as { count?: number; levels: 'all' | number[]; chains: 'all' | string[] };
    if ((ob.count ?? 1) < (oa.count ?? 1)) shrunk.push(`branches.${i}.count`);
    else if ((ob.count ?? 1) > (oa.count ?? 1)) extended = true;
    if (!levelsCover(ob.levels, oa.levels)) shrunk.push(`branches.${i}.levels`);
    else if (canonicalJson(ob.levels) !== canonicalJson(oa.levels)) extended = true;
    if (!chainsCover(ob.chains, oa.chains)) shrunk.push(`branches.${i}.chains`);
    else if (canonicalJson(ob.chains) !== canonicalJson(oa.chains)) extended = true;
  });
  if (b.branches.length > a.branches.length) extended = true;
  return { changed, shrunk, extended };
}

/** What resuming a stored experiment with a spec means. */
export type ResumeCheck = { ok: true; extended: boolean } | { ok: false; reason: string };

/**
 * Decides whether `specJson` (a resolved spec) may resume the experiment stored as (storedHash, storedJson).
 * Refused: a different compute version (e.g. a database of lth 0.1.0), any changed field
 * (named by dotted path), or an extendable field that goes less far than stored.
 * The reason is one line naming the fields and the fix.
 */
export function checkResume(name: string, storedHash: string, storedJson: string, specJson: string): ResumeCheck {
  const spec = specSchema.parse(JSON.parse(specJson));
  const fix = `give the spec a new "name", or use another --db (the stored rows still read: lth report ${name})`;
  let stored: Spec;
  try {
    stored = specSchema.parse(JSON.parse(storedJson));
  } catch {
    return { ok: false, reason: `experiment "${name}" was stored by a different lth whose spec this one cannot read: ${fix}` };
  }
  if (storedHash !== identityOf(stored).hash) {
    const version = storedHash === legacyHashV1(stored) ? 1 : 'unknown';
    return {
      ok: false,
      reason: `experiment "${name}" was computed by an older lth (compute version ${version}; this lth computes version ${COMPUTE_VERSION}, whose seeds differ), so new rows would not match the stored ones: ${fix}`,
    };
  }
  const d = diffIdentity(stored, spec);
  if (d.changed.length)
    return {
      ok: false,
      reason: `experiment "${name}" already exists with a different spec: ${d.changed.join(', ')} ${d.changed.length === 1 ? 'differs' : 'differ'}; only how far it goes (${EXTENDABLE.join(', ')}) may change on resume: ${fix}`,
    };
  if (d.shrunk.length)
    return {
      ok: false,
      reason: `experiment "${name}" already goes further than this spec: ${d.shrunk.join(', ')} may only grow on resume; restore the stored values, or ${fix}`,
    };
  return { ok: true, extended: d.extended };
}
