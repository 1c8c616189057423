/** A training length or point in training, as OpenLTH writes it: "2000it" or "40ep".
 *  A bare number means iterations. Epochs resolve to iterations once the data size is known. */
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
