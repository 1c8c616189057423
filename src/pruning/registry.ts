import { snip, grasp, synflow } from './at-init.js';
import { WEIGHT_CRITERIA } from './criteria.js';
import { dynamic } from './dynamic.js';
import { earlyBird } from './early-bird.js';
import { gradual } from './gradual.js';
import { obd } from './obd.js';
import type { CriterionDef, DuringPruner } from './pruner.js';
import { UNIT_CRITERION_DEFS } from './units.js';

/**
 * The registry of pruners (docs/DESIGN.md#pruners): adding one = its file plus one line here.
 * The spec's `pruning.criterion` enum, `strategies[].during` union and chain shorthands, the
 * checks before any work (src/spec/check.ts) and `lth run --help` (src/cli/catalog.ts) read it.
 */

/** Between-level criteria, by the name `pruning.criterion` takes (the order of `lth run --help`). */
export const CRITERIA = {
  ...WEIGHT_CRITERIA,
  snip,
  grasp,
  synflow,
  obd,
} satisfies Record<string, CriterionDef>;

export type CriterionName = keyof typeof CRITERIA;

/** Unit criteria (neuron and filter granularity), by the name `pruning.unitCriterion` takes. */
export const UNIT_CRITERIA = { ...UNIT_CRITERION_DEFS };

/** During-training pruners, by the kind `strategies[].during.kind` takes. */
export const DURING_PRUNERS: readonly DuringPruner[] = [gradual, dynamic, earlyBird];

/** The entry of a `during` object. @throws Error for a kind the registry lacks (the schema admits none) */
export function duringPruner(kind: string): DuringPruner {
  const p = DURING_PRUNERS.find((d) => d.kind === kind);
  if (!p) throw new Error(`no during-training pruner "${kind}" (kinds: ${DURING_PRUNERS.map((d) => d.kind).join(', ')})`);
  return p;
}

/** The `during` settings a shorthand chain string stands for ("rigl", "early-bird@0.05"), or null. */
export function duringShorthand(s: string): { kind: string } | null {
  for (const p of DURING_PRUNERS) {
    const d = p.parse(s);
    if (d) return d;
  }
  return null;
}
