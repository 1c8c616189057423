import type { Masks, Model, Weights } from '../models/index.js';
import type { Reset } from './registry.js';
import { TICKET } from './ticket.js';

/**
 * Where a chain starts (docs/DESIGN.md#ticket-transfer): by default from its own trial's level 0
 * (θ0, θ_k, level 0's full mask, then pruned); a start source replaces that with weights and a
 * first mask from elsewhere, e.g. another experiment's ticket. One entry per chain field that
 * names a source (src/spec/schema.ts declares the field); the orchestrator only calls `openStart`.
 */

/** What a start source is checked against, before any work. */
export interface StartEnv {
  /** this run's database (a source that names no database of its own reads from it) */
  readonly runDb: string;
  /** this experiment's model */
  readonly model: Model;
  /** the chain's reset, resolved: its rewind point k says which θ_k the source must hold */
  readonly strategy: Reset;
  /** the field's path in the spec, for messages, e.g. "strategies.1.ticket" */
  readonly at: string;
}

/** What a chain starts from, as this experiment's model takes it. */
export interface ChainStart {
  /** the chain's θ0: what `rewind` resets its survivors to at every level */
  readonly theta0: Weights;
  /** θ_k when the chain's reset rewinds to k > 0, else null */
  readonly thetaK: Weights | null;
  /** the mask of the chain's level 1, instead of pruning level 0 */
  readonly masks: Masks;
}

/** A start source checked against this experiment. */
export interface OpenedStart {
  /** the chain field as resolved, with what pins the source filled in (e.g. its mask hash): it enters the stored spec */
  readonly resolved: unknown;
  /** what the chain starts from, for the progress line printed when it does, e.g. "the ticket of src chain rewind level 2 (26.2% remaining, db lth.db)" */
  readonly summary: string;
  /**
   * The start for a trial. `own` is this experiment's θ0 of the trial: a layer the source cannot
   * give (an output layer with other classes) starts from it.
   * @throws UserError when the source changed or went missing since it was opened
   */
  load(own: Weights): ChainStart;
}

export interface StartDef<S> {
  /**
   * Checks the source against this experiment (it exists, holds what the chain's reset needs,
   * and its shapes agree) before any work.
   * @throws UserError, one line naming the field and the fix
   */
  open(spec: S, env: StartEnv): OpenedStart;
}

/** The start sources, by the chain field that names one. */
const START_SOURCES: Record<string, StartDef<never>> = { ticket: TICKET };

/** The start source a chain names (its field and the opened source), or null for a chain that starts from its own level 0. `env.at`: the chain's path, e.g. "strategies.1". */
export function openStart(chain: object, env: StartEnv): { field: string; opened: OpenedStart } | null {
  for (const [field, def] of Object.entries(START_SOURCES)) {
    const spec = (chain as Record<string, unknown>)[field];
    if (spec !== undefined) return { field, opened: (def as StartDef<unknown>).open(spec, { ...env, at: `${env.at}.${field}` }) };
  }
  return null;
}

/** Whether a chain names a start source (cheap: no source is opened). */
export const hasStart = (chain: object): boolean => Object.keys(START_SOURCES).some((f) => (chain as Record<string, unknown>)[f] !== undefined);
