import { dataIdentity } from '../data/index.js';
import { canonicalJson, sha256 } from '../util/index.js';
import { z } from 'zod';
import { specSchema, type Growth, type Spec } from './schema.js';

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

/** A schema node's wrappers (default, prefault, nullable, optional), outermost first, down to the node itself. */
function* wrappers(schema: z.ZodType): Generator<z.ZodType> {
  let s: z.ZodType | undefined = schema;
  while (s) {
    yield s;
    s = (s.def as { innerType?: z.ZodType }).innerType;
  }
}

/** The Growth a field declares (schema.ts mayGrow), on any of its wrappers. */
function growthOf(schema: z.ZodType): Growth | undefined {
  for (const s of wrappers(schema)) {
    const g = (s.meta() as { growth?: Growth } | undefined)?.growth;
    if (g) return g;
  }
  return undefined;
}

/** The object shapes a schema can take (one for an object, one per option of a union of objects). */
function shapesOf(schema: z.ZodType): Record<string, z.ZodType>[] {
  const inner = [...wrappers(schema)].at(-1)!;
  if (inner instanceof z.ZodObject) return [inner.shape as Record<string, z.ZodType>];
  if (inner instanceof z.ZodUnion) return (inner.options as z.ZodType[]).flatMap(shapesOf);
  return [];
}

/** A spec field that only says how far the experiment goes (declared with mayGrow in schema.ts). */
interface GrowingField {
  readonly path: readonly string[];
  readonly growth: Growth;
  /** for a list (named, appended): the fields of its entries that may grow, by key */
  readonly entries: ReadonlyMap<string, Growth>;
}

function growingFields(schema: z.ZodType, path: string[] = []): GrowingField[] {
  return shapesOf(schema).flatMap((shape) =>
    Object.entries(shape).flatMap(([key, field]): GrowingField[] => {
      const growth = growthOf(field);
      if (!growth) return growingFields(field, [...path, key]);
      const list = [...wrappers(field)].at(-1)!;
      const element = list instanceof z.ZodArray ? (list.element as z.ZodType) : undefined;
      const entries = new Map<string, Growth>();
      for (const sh of element ? shapesOf(element) : []) for (const [k, f] of Object.entries(sh)) if (growthOf(f)) entries.set(k, growthOf(f)!);
      return [{ path: [...path, key], growth, entries }];
    }),
  );
}

/** The spec's fields that may grow on resume, from the schema's declarations. */
const GROWING: readonly GrowingField[] = growingFields(specSchema);

/** How far an experiment goes: the dotted paths of the fields that may only grow on resume. */
export const EXTENDABLE: readonly string[] = GROWING.map((f) => f.path.join('.'));

/** Labels, not computation: left out of the identity. */
const LABELS = ['name', 'description'] as const;

/** Pruning fields added after compute version 2 was fixed, at the values that compute what lth did before them: left out of the hash there, so stored experiments keep their identity. */
const LATER_PRUNING_DEFAULTS: Record<string, unknown> = { granularity: 'weight', unitCriterion: 'l1_norm', sample: { size: 1000, seed: 0 } };

export interface Identity {
  /** sha256 of canonical JSON of {compute, spec without name, description and EXTENDABLE} */
  readonly hash: string;
  readonly computeVersion: number;
  /** the hashed object */
  readonly fixed: Record<string, unknown>;
}

function fixedPart(spec: Spec): Record<string, unknown> {
  const s = structuredClone(spec) as Record<string, unknown> & { pruning: Record<string, unknown> };
  for (const k of LABELS) delete s[k];
  for (const { path } of GROWING) delete path.slice(0, -1).reduce((o, k) => o[k] as Record<string, unknown>, s as Record<string, unknown>)[path.at(-1)!];
  // the data set's part: all of `data`, or for user content its digest instead of its path
  s.data = dataIdentity(spec.data);
  // a model from a file or module: its content digest (in the resolved spec) instead of its path, so moving it is no change
  const model = s.model as Record<string, unknown>;
  delete model.file;
  delete model.module;
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

/** What a diff collects: changed and shrunk paths, and whether anything goes further. */
interface DiffState {
  changed: string[];
  shrunk: string[];
  extended: boolean;
}

const valueAt = (o: unknown, path: readonly string[]): unknown => path.reduce((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

/**
 * A chain entry without where its ticket is stored (`ticket.db`): a location, not content (the
 * ticket's maskHash pins what it holds), so moving the source database is no change, as moving a
 * model file is none.
 */
function withoutLocations(e: Record<string, unknown>): Record<string, unknown> {
  const ticket = e.ticket as Record<string, unknown> | undefined;
  if (!ticket) return e;
  const { db, ...rest } = ticket;
  void db;
  return { ...e, ticket: rest };
}

/** Compares one growing field's stored value `a` with the resumed `b` (see Growth). */
function compareGrowing(path: string, growth: Growth, entries: ReadonlyMap<string, Growth>, a: unknown, b: unknown, d: DiffState): void {
  const further = (cmp: number) => (cmp < 0 ? d.shrunk.push(path) : cmp > 0 && (d.extended = true));
  switch (growth.kind) {
    case 'larger':
    case 'smaller': {
      const na = (a as number | null | undefined) ?? growth.nullAs;
      const nb = (b as number | null | undefined) ?? growth.nullAs;
      further(growth.kind === 'larger' ? Math.sign(nb - na) : Math.sign(na - nb));
      return;
    }
    case 'superset': {
      const la = a as 'all' | unknown[];
      const lb = b as 'all' | unknown[];
      const covers = lb === 'all' || (la !== 'all' && la.every((x) => lb.includes(x)));
      further(!covers ? -1 : canonicalJson(la) !== canonicalJson(lb) ? 1 : 0);
      return;
    }
    case 'named':
    case 'appended': {
      const la = a as Record<string, unknown>[];
      const lb = b as Record<string, unknown>[];
      let matched = 0;
      la.forEach((ea, i) => {
        const eb = growth.kind === 'named' ? lb.find((e) => e.name === ea.name) : lb[i];
        const at = growth.kind === 'named' ? `${path}[${String(ea.name)}]` : `${path}.${i}`;
        if (!eb) return d.shrunk.push(at);
        matched++;
        const fixed = (e: Record<string, unknown>) => withoutLocations(Object.fromEntries(Object.entries(e).filter(([k]) => !entries.has(k))));
        differingPaths(fixed(ea), fixed(eb), at, d.changed);
        for (const [k, g] of entries) compareGrowing(`${at}.${k}`, g, new Map(), ea[k], eb[k], d);
      });
      if (lb.length > matched) d.extended = true;
    }
  }
}

/**
 * Compares a stored spec `a` with a spec `b` about to resume it: the identity's fixed part by
 * dotted path, and each field that may grow (schema.ts mayGrow) by its Growth. Chains are
 * matched by name, branches by position (new ones are appended). Paths are dotted, e.g.
 * `training.batchSize`, `strategies[rewind].mask0`, `branches.0.weights`.
 */
export function diffIdentity(a: Spec, b: Spec): IdentityDiff {
  const d: DiffState = { changed: [], shrunk: [], extended: false };
  differingPaths(identityOf(a).fixed, identityOf(b).fixed, '', d.changed);
  for (const f of GROWING) compareGrowing(f.path.join('.'), f.growth, f.entries, valueAt(a, f.path), valueAt(b, f.path), d);
  return d;
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
