import { normalize } from 'node:path';
import type { Options } from 'yargs';
import { DEFAULT_DB } from '../../storage/index.js';
import { FORMATS } from '../../reporting/index.js';
import { UserError } from '../../util/index.js';

/**
 * A path option, normalized ("a//b/../c" → "a/c"). Not yargs' own `normalize: true`: its
 * parser defines a non-configurable property per key and crashes on a repeated option
 * (`--db a --db b`); a repeated value stays an array here, which `refuseRepeated` names.
 */
export const pathOption = {
  type: 'string',
  // typed string as yargs declares it; a repeated option's array passes through untouched
  coerce: (v: string): string => (typeof v === 'string' ? normalize(v) : v),
} as const satisfies Options;

/** `--db PATH`, the same on every command (the core may also declare it globally: same default). */
export const dbOption = {
  ...pathOption,
  default: DEFAULT_DB as string,
  describe: 'the results database (SQLite)',
} as const satisfies Options;

export const formatOption: Options = {
  choices: FORMATS as unknown as string[],
  default: 'table',
  describe: 'output format',
};

/** "0,3,7" or ["0", "3,7"] → [0, 3, 7]; an integer list for --levels. */
export function parseIntList(v: unknown, flag: string): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const parts = (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((x) => x.trim())
    .filter(Boolean);
  const out = parts.map(Number);
  const bad = parts.filter((_, i) => !Number.isInteger(out[i]) || out[i] < 0);
  if (bad.length) throw new UserError(`${flag} takes level numbers like 0,3,7 (got ${bad.join(', ')})`);
  return out.length ? out : undefined;
}

/** "a,b" or ["a", "b,c"] → ["a", "b", "c"]. */
export function parseStringList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const out = (Array.isArray(v) ? v : [v])
    .flatMap((x) => String(x).split(','))
    .map((x) => x.trim())
    .filter(Boolean);
  return out.length ? out : undefined;
}
