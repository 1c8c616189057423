import type { z } from 'zod';
import { specSchema } from './schema.js';

/** One field of the spec, as `lth spec` lists it. */
export interface FieldDoc {
  /** dotted path; `[]` marks an array element, `(kind=…)` a variant of a tagged union */
  readonly path: string;
  /** e.g. "number", "integer ≥ 0", "'iterative' | 'one-shot'", "step" */
  readonly type: string;
  /** the default as JSON, or '' when the field is required or has none */
  readonly default: string;
  readonly help: string;
}

// zod keeps a schema's structure in `_zod.def`; this walks it (zod 4).
interface Def {
  type: string;
  innerType?: Schema;
  defaultValue?: unknown;
  shape?: Record<string, Schema>;
  options?: Schema[];
  discriminator?: string;
  element?: Schema;
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: Schema;
  out?: Schema;
  checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[];
  format?: string;
}
type Schema = z.ZodType & { _zod: { def: Def }; description?: string };

const isStep = (s: Schema): boolean => {
  const d = s._zod.def;
  return d.type === 'pipe' && d.in?._zod.def.type === 'union' && (d.in._zod.def.options ?? []).some((o) => o._zod.def.type === 'number');
};

function typeName(s: Schema): string {
  const d = s._zod.def;
  if (isStep(s)) return 'step ("2000it" or "40ep"; a number needs its unit, but 0)';
  switch (d.type) {
    case 'default':
    case 'prefault':
    case 'optional':
      return typeName(d.innerType!);
    case 'nullable':
      return `${typeName(d.innerType!)} | null`;
    case 'pipe':
      return typeName(d.in!);
    case 'enum':
      return Object.values(d.entries!)
        .map((v) => JSON.stringify(v))
        .join(' | ');
    case 'literal':
      return d.values!.map((v) => JSON.stringify(v)).join(' | ');
    case 'array':
      return `list of ${typeName(d.element!)}`;
    case 'object':
      return 'object';
    case 'union':
      return d.options!.map(typeName).join(' | ');
    case 'number': {
      const parts: string[] = [];
      for (const c of d.checks ?? []) {
        const cd = c._zod.def;
        if (cd.check === 'number_format') parts.push('integer');
        else if (cd.check === 'greater_than') parts.push(`${cd.inclusive ? '≥' : '>'} ${cd.value}`);
        else if (cd.check === 'less_than') parts.push(`${cd.inclusive ? '≤' : '<'} ${cd.value}`);
      }
      if (!parts.includes('integer')) parts.unshift('number');
      return parts.join(' ');
    }
    default:
      return d.type;
  }
}

function walk(s: Schema, path: string, out: FieldDoc[], help = '', dflt = ''): void {
  const d = s._zod.def;
  help = help || s.description || '';
  if (d.type === 'default' || d.type === 'prefault') {
    const v = typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue;
    const shown =
      isObj(v) && 'unit' in v
        ? JSON.stringify(`${v.value}${v.unit}`)
        : d.type === 'prefault' && isObj(v) && Object.keys(v).length === 0
          ? ''
          : JSON.stringify(v);
    return walk(d.innerType!, path, out, help, dflt || shown);
  }
  if (d.type === 'optional') return walk(d.innerType!, path, out, help, dflt);
  if (d.type === 'object') {
    if (path) out.push({ path, type: 'object', default: '', help });
    for (const [k, v] of Object.entries(d.shape!)) walk(v, path ? `${path}.${k}` : k, out);
    return;
  }
  // tagged unions of objects (optimizer, schedule, branches): one block per variant
  const variants = d.type === 'union' ? d.options!.filter((o) => o._zod.def.type === 'object') : [];
  // (data: a default variant; fields several variants share are listed once, under the union's own path)
  if (d.type === 'union' && d.discriminator && variants.length) {
    const key = d.discriminator;
    const tagOf = (v: Schema) => JSON.parse(typeName(v._zod.def.shape![key])) as string;
    out.push({ path, type: `object, one of ${variants.map((v) => `${key}=${tagOf(v)}`).join(' | ')}`, default: dflt, help });
    const byDefault = variants.find((v) => v._zod.def.shape![key]._zod.def.type === 'default');
    if (byDefault) {
      const types = variants.map((v) => JSON.stringify(tagOf(v))).join(' | ');
      out.push({ path: `${path}.${key}`, type: types, default: JSON.stringify(tagOf(byDefault)), help: `which variant (${path}(${key}=…) below)` });
    }
    const uses = new Map<Schema, number>();
    for (const v of variants) for (const f of Object.values(v._zod.def.shape!)) uses.set(f, (uses.get(f) ?? 0) + 1);
    const listed = new Set<Schema>();
    for (const v of variants)
      for (const [k, f] of Object.entries(v._zod.def.shape!))
        if (k !== key && uses.get(f)! > 1 && !listed.has(f)) {
          listed.add(f);
          walk(f, `${path}.${k}`, out);
        }
    for (const v of variants) {
      const tag = `${path}(${key}=${tagOf(v)})`;
      if (v.description) out.push({ path: tag, type: 'object', default: '', help: v.description });
      for (const [k, f] of Object.entries(v._zod.def.shape!)) if (k !== key && uses.get(f) === 1) walk(f, `${tag}.${k}`, out);
    }
    return;
  }
  // untagged unions of objects told apart by their fields (model: name | file | module): each field once
  if (d.type === 'union' && !d.discriminator && variants.length > 1 && variants.length === d.options!.length) {
    out.push({ path, type: `object, one of ${variants.map((v) => `{${Object.keys(v._zod.def.shape!)[0]}, …}`).join(' | ')}`, default: dflt, help });
    // a field several forms share is listed once; a form's own version of it as path(form).field
    const seen = new Map<string, Schema>();
    for (const v of variants)
      for (const [k, f] of Object.entries(v._zod.def.shape!)) {
        if (seen.get(k) === f) continue;
        walk(f, seen.has(k) ? `${path}(${Object.keys(v._zod.def.shape!)[0]}).${k}` : `${path}.${k}`, out);
        if (!seen.has(k)) seen.set(k, f);
      }
    return;
  }
  if (d.type === 'array' && unwrap(d.element!)._zod.def.type !== 'enum' && !isPlain(d.element!)) {
    out.push({ path, type: 'list', default: dflt, help });
    return walk(d.element!, `${path}[]`, out);
  }
  // a string or an object (strategies): list the object's fields
  if (d.type === 'union' && variants.length === 0 && d.options!.some((o) => unwrap(o)._zod.def.type === 'object')) {
    out.push({ path, type: d.options!.map((o) => (unwrap(o)._zod.def.type === 'object' ? 'object' : typeName(o))).join(' | '), default: dflt, help });
    const obj = unwrap(d.options!.find((o) => unwrap(o)._zod.def.type === 'object')!);
    for (const [k, f] of Object.entries(obj._zod.def.shape!)) walk(f, `${path}.${k}`, out);
    return;
  }
  out.push({ path, type: typeName(s), default: dflt, help });
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Strips default/optional/nullable/transform wrappers. */
function unwrap(s: Schema): Schema {
  const d = s._zod.def;
  if (['default', 'prefault', 'optional', 'nullable'].includes(d.type)) return unwrap(d.innerType!);
  if (d.type === 'pipe' && !isStep(s)) return unwrap(d.in!);
  return s;
}

const isPlain = (s: Schema): boolean => !['object', 'union'].includes(unwrap(s)._zod.def.type) || isStep(s);

/** Every field of the spec with its type, default and help text, generated from the zod schema (schema.ts). */
export function describeSpec(): FieldDoc[] {
  const out: FieldDoc[] = [];
  walk(specSchema as unknown as Schema, '', out);
  return out;
}

/**
 * The fields the spec allows in the object at `path` (zod issue path: keys and array indices),
 * given `value`, the object written there: a union's variant is the one its discriminator's
 * value chooses (data.dataset, optimizer.name, …), or, untagged (model, a chain), the one that
 * knows the most of the fields written. Empty when `path` leads to no object.
 */
export function fieldsAt(path: readonly PropertyKey[], value: unknown): string[] {
  const at = (o: unknown, k: PropertyKey): unknown => (isObj(o) || Array.isArray(o) ? (o as Record<PropertyKey, unknown>)[k] : undefined);
  // the input at each depth, so a union deeper down is told by what was written there
  const values = [value];
  for (const k of path) values.push(at(values[values.length - 1], k));
  const objectOf = (s: Schema, depth: number): Schema | undefined => {
    const d = s._zod.def;
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'nonoptional', 'catch'].includes(d.type)) return objectOf(d.innerType!, depth);
    if (d.type === 'pipe') return objectOf(d.in!, depth);
    if (d.type === 'union') {
      const here = values[depth];
      const forms = d.options!.map((o) => objectOf(o, depth)).filter((o): o is Schema => o !== undefined);
      const known = (o: Schema) => (isObj(here) ? Object.keys(here).filter((k) => k in o._zod.def.shape!).length : 0);
      const chosen = d.discriminator
        ? forms.find((o) => o._zod.def.shape![d.discriminator!]?.safeParse(at(here, d.discriminator!)).success)
        : forms.reduce<Schema | undefined>((a, b) => (a === undefined || known(b) > known(a) ? b : a), undefined);
      return chosen && objectOf(chosen, depth);
    }
    if (d.type === 'object' || d.type === 'array') return s;
    return undefined;
  };
  let s: Schema | undefined = specSchema as unknown as Schema;
  for (let depth = 0; s; depth++) {
    s = objectOf(s, depth);
    if (!s) return [];
    const d = s._zod.def;
    if (depth === path.length) return d.type === 'object' ? Object.keys(d.shape!) : [];
    s = d.type === 'object' ? d.shape![String(path[depth])] : d.element;
  }
  return [];
}
