import { z } from 'zod';

/** A training length or point in training, as OpenLTH writes it: "2000it" or "40ep".
 *  parseStep reads a bare number as iterations (a strategy's @k: rewind@500); a spec's step
 *  fields refuse one (stepSchema). Epochs resolve to iterations once the data size is known. */
export interface Step {
  readonly value: number;
  readonly unit: 'it' | 'ep';
}

export const it = (value: number): Step => ({ value, unit: 'it' });

export function parseStep(v: string | number): Step {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new Error(`step ${v} must be a non-negative integer number of iterations`);
    return it(v);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(it|ep)?\s*$/.exec(v);
  if (!m) throw new Error(`step "${v}" is not of the form "2000it" or "40ep"`);
  const value = Number(m[1]);
  const unit = (m[2] ?? 'it') as Step['unit'];
  if (unit === 'it' && !Number.isInteger(value)) throw new Error(`step "${v}": iterations must be a whole number`);
  return { value, unit };
}

export function stepToIterations(s: Step, itersPerEpoch: number): number {
  return s.unit === 'it' ? s.value : Math.round(s.value * itersPerEpoch);
}

/**
 * A spec's step written without its unit (`20`, `"20"`): the one line that refuses it, naming
 * both forms, since 20 iterations and 20 epochs differ by the size of an epoch (undefined: it
 * has a unit, or is 0, the same in either).
 */
export function unitless(v: string | number): string | undefined {
  const m = typeof v === 'number' ? String(v) : /^\s*(\d+(?:\.\d+)?)\s*$/.exec(v)?.[1];
  if (m === undefined || Number(m) === 0) return undefined;
  const forms = Number.isInteger(Number(m)) ? `"${m}it" (iterations) or "${m}ep" (epochs)` : `"${m}ep" (epochs; iterations are whole)`;
  return `${JSON.stringify(v)} has no unit: write ${forms}`;
}

/** The spec's schema of a step: "2000it", "40ep", or {value, unit}; a number without its unit
 *  is refused (unitless), except 0. Here rather than in schema.ts so registries (e.g.
 *  src/pruning's during-training pruners) can declare step fields without importing the whole schema. */
export const stepSchema = z
  .union([z.string(), z.number().nonnegative(), z.strictObject({ value: z.number().nonnegative(), unit: z.enum(['it', 'ep']) })])
  .transform((v, ctx) => {
    const bare = typeof v === 'object' ? undefined : unitless(v);
    if (bare !== undefined) {
      ctx.addIssue({ code: 'custom', message: bare });
      return z.NEVER;
    }
    try {
      return typeof v === 'object' ? parseStep(`${v.value}${v.unit}`) : parseStep(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
