import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTree, type ParseError } from 'jsonc-parser';
import { z } from 'zod';
import { withDigest } from '../data/index.js';
import { modelDigest, modelField, modelLabel } from '../models/index.js';
import { UserError, canonicalJson, closest, didYouMean } from '../util/index.js';
import { fieldsAt } from './describe.js';
import { identityOf } from './identity.js';
import { applyRecipe } from './recipe.js';
import { MODEL_FORMS, specSchema, type Spec } from './schema.js';

export interface LoadedSpec {
  spec: Spec;
  /** identity: sha256 of the resolved spec without name, description and the extendable fields, plus COMPUTE_VERSION (identity.ts) */
  hash: string;
  /** the resolved spec, every default filled in, as stored with the experiment */
  json: string;
  /** where it came from (a file path), for error messages */
  source?: string;
  /** the `--set path=value` overrides applied, so errors can name them */
  sets?: string[];
}

/**
 * Applies `--set a.b.c=value` overrides to the raw JSON (value parsed as JSON when it parses).
 * A number in the path indexes an array the spec holds (`strategies.1.reset=rewind`,
 * `branches.0.levels=[1,2]`); sections the path names that are absent are created.
 * @throws UserError naming the `--set`: not path=value, a path through a value that is not a
 *   section, an index beyond the array (with its length)
 */
export function applySets(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UserError(`--set "${s}" is not of the form path=value (e.g. --set training.iterations=2000it)`);
    const path = s.slice(0, eq).split('.');
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let node: Record<string, unknown> | unknown[] = out;
    path.forEach((key, i) => {
      const here = path.slice(0, i + 1).join('.');
      if (Array.isArray(node) && !(/^\d+$/.test(key) && Number(key) < node.length)) {
        const n = node.length;
        const array = path.slice(0, i).join('.');
        const whole = `set the whole array (--set ${array}=[…])`;
        throw new UserError(
          `--set ${s}: ${array} has ${n} element${n === 1 ? '' : 's'}, so "${key}" is not an index of it: ${n ? `give 0 to ${n - 1}, or ${whole}` : whole}`,
        );
      }
      const slot = node as Record<string, unknown>;
      if (i === path.length - 1) {
        slot[key] = value;
        return;
      }
      if (slot[key] === undefined) {
        // a section the spec leaves out is created; an array it leaves out has no element to index
        if (/^\d+$/.test(path[i + 1]))
          throw new UserError(`--set ${s}: the spec has no ${here}, so it has no element ${path[i + 1]}: set the whole array (--set ${here}=[…])`);
        slot[key] = {};
      }
      const next = slot[key];
      if (typeof next !== 'object' || next === null) {
        const rest = path.slice(i + 1).reduceRight<unknown>((v, k) => ({ [k]: v }), value);
        throw new UserError(`--set ${s}: ${here} is ${JSON.stringify(next)}, not a section: set it whole (e.g. --set '${here}=${JSON.stringify(rest)}')`);
      }
      node = next as Record<string, unknown> | unknown[];
    });
  }
  return out;
}

/**
 * The issue inside a union of differently typed forms (a chain: a string or an object) when the
 * value had the type of exactly one of them: that form's first issue, at its full path — so
 * `{"reset": "rewind", "during": {"kind": "dynamic", "dropFraction": 2}}` is reported at
 * strategies.0.during.dropFraction, not as "strategies.0: Invalid input".
 */
function throughUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || !issue.errors?.length) return issue;
  const wrongType = (errs: z.core.$ZodIssue[]) => errs.length === 1 && errs[0].code === 'invalid_type' && errs[0].path.length === 0;
  const matched = issue.errors.filter((errs) => !wrongType(errs));
  if (matched.length !== 1 || !matched[0].length) return issue;
  const inner = matched[0][0];
  return throughUnion({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

/**
 * A mistake in `model`, reported against the form its key chooses ({"file": …} is a file model
 * even when another field of it is wrong; zod's union would report the name form's unknown keys).
 */
function modelIssue(raw: unknown): z.core.$ZodIssue | undefined {
  const m = (raw as { model?: unknown } | null)?.model;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const form = (Object.keys(MODEL_FORMS) as (keyof typeof MODEL_FORMS)[]).find((k) => k in m);
  const r = form ? MODEL_FORMS[form].safeParse(m) : undefined;
  if (!r || r.success) return undefined;
  const i = r.error.issues[0];
  // (one unknown field at a time, as validateSpec names them)
  return { ...i, ...(i.code === 'unrecognized_keys' ? { keys: i.keys.slice(0, 1) } : {}), path: ['model', ...i.path] } as z.core.$ZodIssue;
}

/** The value at a zod issue's path in the raw spec; undefined where there is none. */
const valueAt = (raw: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((node, k) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[k] : undefined), raw);

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  // (one key per issue: validateSpec splits them)
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    const field = (k: string) => [...issue.path, k].join('.');
    const known = fieldsAt(issue.path, raw);
    const near = closest(key, known);
    if (near !== undefined) {
      const written = valueAt(raw, issue.path);
      const both = written !== null && typeof written === 'object' && near in written;
      return `${field(key)}: unknown field: did you mean ${field(near)}? (${both ? `the spec already sets ${field(near)}: remove ${field(key)}` : 'lth spec lists every field'})`;
    }
    const section = issue.path.length ? `${where}'s fields` : 'the fields of a spec';
    return `${field(key)}: unknown field (${known.length ? `${section}: ${known.join(', ')}; ` : ''}lth spec explains them)`;
  }
  // A section chosen by a name ("optimizer": {"name": "sgd", …}) needs that name whenever it is written at all.
  const u = issue as { discriminator?: unknown; options?: unknown[] };
  // (a schema may give its own message instead, e.g. strategies[].during: src/spec/schema.ts)
  if (issue.code === 'invalid_union' && u.discriminator !== undefined && Array.isArray(u.options) && issue.message.startsWith('Invalid discriminator')) {
    // (a variant chosen by default, as data's mnist, lists undefined among the options)
    const options = u.options.filter((o) => o !== undefined).map(String);
    const key = String(u.discriminator);
    const given = valueAt(raw, issue.path);
    if (given !== undefined)
      return `${where}: ${JSON.stringify(given)} is not one of ${options.map((o) => JSON.stringify(o)).join(', ')}${typeof given === 'string' ? didYouMean(given, options) : ''} (see lth run --help)`;
    return `${where} must be one of ${options.join(', ')} — a ${issue.path.slice(0, -1).join('.')} section needs its ${key} (add "${key}": "${options[0]}", or --set ${where}=${options[0]})`;
  }
  // a name that is not one of a list (model.name, data.dataset, …): the closest one, then the list
  if (issue.code === 'invalid_value' && issue.values.every((v) => typeof v === 'string')) {
    const given = valueAt(raw, issue.path);
    if (typeof given === 'string')
      return `${where}: ${JSON.stringify(given)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${didYouMean(given, issue.values as string[])}`;
  }
  return `${where}: ${issue.message}`;
}

/**
 * Validates a raw spec against the schema. `sets`: the `--set` overrides already applied to
 * `raw`; an error at a field one of them set names that `--set` instead of the file.
 * @throws UserError, one line naming the field (see 'lth spec' for every field)
 */
export function validateSpec(raw: unknown, source: string, sets: string[] = []): LoadedSpec {
  const r = specSchema.safeParse(applyRecipe(raw));
  if (!r.success) {
    // one issue per unknown field, so each is named by its path
    const issues = r.error.issues.flatMap((i): z.core.$ZodIssue[] => (i.code === 'unrecognized_keys' ? i.keys.map((k) => ({ ...i, keys: [k] })) : [i]));
    const first = (issues[0].path[0] === 'model' ? modelIssue(raw) : undefined) ?? throughUnion(issues[0]);
    // name the other problems too, so one fix-and-rerun does not reveal them one at a time
    const rest = issues.slice(1).map((i) => [...i.path, ...(i.code === 'unrecognized_keys' ? i.keys : [])].join('.') || '(top level)');
    const more = rest.length ? ` (also: ${rest.slice(0, 5).join('; ')}${rest.length > 5 ? `; ${rest.length - 5} more` : ''})` : '';
    const path = [...first.path, ...(first.code === 'unrecognized_keys' ? [first.keys[0]] : [])].join('.');
    // the --set that wrote this field, or else one that wrote into its section (it may have created it)
    const section = path.split('.').slice(0, -1).join('.');
    let from = sets.filter((s) => overlaps(setPath(s), path));
    if (!from.length && section) from = sets.filter((s) => s.startsWith(`${section}.`));
    throw new UserError(`${from.length ? from.map((s) => `--set ${s}`).join(', ') : `invalid spec ${source}`}: ${describeIssue(first, raw)}${more}`);
  }
  // data with user content and a model from a file or module: their digests enter the resolved spec, hence the identity (data/def.ts, src/models/source.ts)
  const spec = { ...r.data, data: withDigest(r.data.data), model: withModelDigest(r.data.model) };
  return { spec, hash: identityOf(spec).hash, json: canonicalJson(spec), source, sets };
}

/** The model section with its content digest (file and module models). @throws UserError when a given digest no longer matches the content */
function withModelDigest(m: Spec['model']): Spec['model'] {
  const digest = modelDigest(m);
  if (digest === undefined || 'name' in m) return m;
  if (m.digest !== undefined && m.digest !== digest)
    throw new UserError(
      `${modelField(m)} ${modelLabel(m)} has changed: its content digest is ${digest}, the spec pins model.digest ${m.digest}; remove model.digest to accept the new content, or restore the file`,
    );
  return { ...m, digest };
}

/** Whether a value set at `setPath` contains or is contained in the field at `path` (dotted, array indices as numbers). */
export const overlaps = (setPath: string, path: string): boolean => setPath === path || path.startsWith(`${setPath}.`) || setPath.startsWith(`${path}.`);

/** The dotted path a `--set path=value` writes. */
export const setPath = (set: string): string => set.slice(0, set.indexOf('='));

/**
 * `FILE: invalid JSON at line L, column C: reason` (line and column from 1) for a JSON.parse error.
 * Node 20's V8 gives a character position for some errors and none for others ("Unexpected token 'x',
 * "<the text>" is not valid JSON"); then jsonc-parser's scanner locates the first error.
 */
function jsonError(path: string, text: string, message: string): string {
  const reason = message.replace(/^(Unexpected token '.'), .* is not valid JSON$/s, '$1').replace(/( in JSON)? at position \d+.*$/s, '');
  const v8 = /at position (\d+)/.exec(message);
  let pos = v8 ? Number(v8[1]) : undefined;
  if (pos === undefined) {
    const errors: ParseError[] = [];
    parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
    pos = errors[0]?.offset;
  }
  if (pos === undefined) return `${path}: invalid JSON: ${reason}`;
  // a comma right before a closing bracket: point at the comma and say so
  const trailing = /,\s*$/.exec(text.slice(0, pos));
  if (trailing && /^[}\]]/.test(text.slice(pos))) return jsonAt(path, text, trailing.index, `a trailing comma before '${text[pos]}': remove it`);
  return jsonAt(path, text, pos, reason);
}

function jsonAt(path: string, text: string, pos: number, reason: string): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  return `${path}: invalid JSON at line ${line}, column ${pos - before.lastIndexOf('\n')}: ${reason}`;
}

export function loadSpec(path: string, sets: string[] = []): LoadedSpec {
  let text: string;
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UserError(`${path} is a folder: give the path of a JSON spec in it, e.g. ${path.replace(/\/+$/, '')}/quickstart.json`);
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(specNotFound(path));
  }
  // A byte-order mark (some Windows editors write one) is not JSON, but it is not a mistake either.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new UserError(`spec ${path} is empty: a spec is a JSON object with at least a "name", e.g. experiments/quickstart.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(jsonError(path, text, (e as Error).message));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`spec ${path} must be a JSON object with at least a "name"`);
  return validateSpec(applySets(raw as Record<string, unknown>, sets), path, sets);
}

/** The presets shipped with lth (experiments/ of the package). */
const PRESETS_DIR = fileURLToPath(new URL('../../../experiments/', import.meta.url));

/** The names of the .json files in `dir` without the extension; none when it cannot be read. */
const jsonNames = (dir: string): string[] => {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
};

/**
 * The one line for a spec path that is no file: the spec probably meant (src/util/closest.ts),
 * first among the .json files next to where the path points, then among lth's presets
 * (`lth run quickstart`, `lth run experiments/frankle-carbin-lenett.json`), named by a path
 * that works from here.
 */
function specNotFound(path: string): string {
  const name = basename(path).replace(/\.json$/, '');
  // (relative when that is shorter: experiments/quickstart.json from the repository)
  const shown = (dir: string, n: string) => {
    const p = join(dir, `${n}.json`);
    const r = relative(process.cwd(), p);
    return r.startsWith('..') ? p : r;
  };
  let near: string | undefined;
  for (const dir of [dirname(path), PRESETS_DIR]) {
    const n = closest(name, jsonNames(dir));
    if (n !== undefined) {
      near = shown(dir, n);
      break;
    }
  }
  const presets = `presets: ${shown(PRESETS_DIR, '*')}`;
  return `spec file ${path} not found: ${near !== undefined ? `did you mean ${near}? (${presets})` : `give the path of a JSON spec (${presets})`}`;
}
