import { existsSync } from 'node:fs';
import { datasetMeta } from '../data/index.js';
import { buildSpecModel, isPrunable, paramGroup, type Masks, type Model, type ModelSpec, type Weights } from '../models/index.js';
import type { DataSpec, TicketSpec } from '../spec/schema.js';
import { keys, noExperiment, Store } from '../storage/index.js';
import { UserError } from '../util/index.js';
import type { ChainStart, StartDef, StartEnv } from './start.js';

/**
 * Ticket transfer (Morcos, Yu, Paganini & Tian 2019, "One ticket to win them all"; docs/DESIGN.md#ticket-transfer):
 * a chain's level 1 trains another experiment's stored level — its mask m and its θ0 (θ_k with
 * rewind@k) — on this experiment's data. Every parameter must have the same shape in both
 * networks, except the output layer, which may differ in its classes (last dimension): it then
 * starts from this trial's θ0 (a fresh draw from this experiment's initializer) with an all-ones
 * mask, as Morcos et al. replace the output layer. Later levels prune on from there and rewind to
 * the transferred θ0 / θ_k.
 */
export const TICKET: StartDef<TicketSpec> = {
  open(t, env) {
    const path = t.db ?? env.runDb;
    const at = env.at;
    if (!existsSync(path))
      throw new UserError(
        `${at}.db: no database ${path}: give ${t.db === undefined ? `${at}.db, ` : ''}the database experiment "${t.experiment}" is stored in`,
      );
    const store = new Store(path, { readonly: true });
    try {
      const all = store.experiments();
      const exp = all.find((e) => e.name === t.experiment);
      if (!exp) {
        const names = all.map((e) => e.name);
        throw new UserError(`${at}.experiment: ${noExperiment(t.experiment, names, path, `run it first, or set ${at}.db to the database that holds it`)}`);
      }
      const maskHash = store.maskHashOf(exp.id, t.chain, t.trial, t.level);
      if (maskHash === null) {
        const levels = store.doneLevels(exp.id, t.chain, t.trial);
        const chains = [...new Set(store.storedRows(exp.id).map((r) => r.strategy))].filter((s) => s !== '');
        throw new UserError(
          levels.length
            ? `${at}.level: chain "${t.chain}" of experiment "${t.experiment}" has no stored level ${t.level} in trial ${t.trial} (stored: ${levels.join(', ')}): choose one of those, or run the source further`
            : `${at}.chain: experiment "${t.experiment}" has no stored level of chain "${t.chain}" in trial ${t.trial} (chains: ${chains.join(', ') || 'none'}): name one of its chains and trials`,
        );
      }
      if (t.maskHash !== undefined && t.maskHash !== maskHash)
        throw new UserError(
          `${at}.maskHash: level ${t.level} of "${t.chain}" in experiment "${t.experiment}" now has mask hash ${maskHash}, the spec pins ${t.maskHash}: restore the source, or remove ${at}.maskHash to take the new ticket under a new experiment name`,
        );
      const k = env.strategy.needsThetaK ? env.strategy.k : 0;
      if (k > 0 && !store.hasArtifact(exp.id, keys.thetaK(t.trial, k)))
        throw new UserError(
          `${at}: reset "${env.strategy.name}" rewinds to θ_k at ${k} iterations, which experiment "${t.experiment}" did not keep (it keeps θ_k at the rewind points of its own rewind@k chains): use reset "rewind", or a source with a rewind@${k}it chain`,
        );
      const fresh = freshParams(sourceModel(exp.specJson, at), env, t);
      const resolved: TicketSpec = { ...t, maskHash };
      const percent = store.percentRemaining(exp.id, t.chain, t.trial, t.level);
      const summary =
        `the ticket of ${t.experiment} chain ${t.chain} level ${t.level}${t.trial ? ` trial ${t.trial}` : ''} ` +
        `(${percent === null ? '' : `${percent.toFixed(1)}% remaining, `}db ${path}${fresh.size ? "; output layer from this trial's θ0: other classes" : ''})`;
      return { resolved, summary, load: (own) => load(path, resolved, k, fresh, env.model, own, at) };
    } finally {
      store.close();
    }
  },
};

/** The source's network, rebuilt from the resolved spec stored with it (the shapes its weight files hold). */
function sourceModel(specJson: string, at: string): Model & { dataLabel: string } {
  const spec = JSON.parse(specJson) as { data: DataSpec; model: ModelSpec };
  try {
    const meta = datasetMeta(spec.data);
    return Object.assign(buildSpecModel(spec.model, meta.inputShape, meta.numClasses), { dataLabel: `${spec.data.dataset}, examples [${meta.inputShape}]` });
  } catch (e) {
    throw new UserError(`${at}: the source's network cannot be rebuilt from its stored spec: ${(e as Error).message}`);
  }
}

/**
 * The parameters that start fresh (from this trial's θ0): the output layer's when the source has
 * other classes, else none.
 * @throws UserError naming the first parameter whose shape disagrees (and the fix)
 */
function freshParams(source: Model & { dataLabel: string }, env: StartEnv, t: TicketSpec): ReadonlySet<string> {
  const target = env.model;
  const group = paramGroup(target.graph);
  const isOutput = (name: string) => group.get(name) === 'output';
  const src = new Map(source.params.map((p) => [p.name, p]));
  const here = `${target.name} on this data (examples [${target.inputShape}])`;
  const fix = `a ticket transfers between networks of one shape: use the source's model ${source.name} and data with its input shape`;
  const fresh = new Set<string>();
  for (const p of target.params) {
    const s = src.get(p.name);
    if (!s)
      throw new UserError(
        `${env.at}: parameter ${p.name} of ${here} is not in the source "${t.experiment}" (${source.name}: ${source.params.map((x) => x.name).join(', ')}): ${fix}`,
      );
    if (s.shape.join() === p.shape.join()) continue;
    // the output layer may differ in its classes only (its last dimension)
    if (isOutput(p.name) && s.shape.length === p.shape.length && s.shape.slice(0, -1).join() === p.shape.slice(0, -1).join()) {
      fresh.add(p.name);
      continue;
    }
    throw new UserError(
      `${env.at}: ${p.name} is [${s.shape}] in the source "${t.experiment}" (${source.name} on ${source.dataLabel}) and [${p.shape}] in ${here}: ${fix}`,
    );
  }
  const extra = source.params.find((s) => !target.params.some((p) => p.name === s.name));
  if (extra) throw new UserError(`${env.at}: the source "${t.experiment}" has parameter ${extra.name}, which ${here} lacks: ${fix}`);
  // the whole output layer is replaced (kernel and bias) when its classes differ
  if (fresh.size) for (const p of target.params) if (isOutput(p.name)) fresh.add(p.name);
  return fresh;
}

/** Reads the ticket (θ0, θ_k, the level's mask) and adapts it to this network: `fresh` parameters from `own`, unpruned. */
function load(path: string, t: TicketSpec, k: number, fresh: ReadonlySet<string>, model: Model, own: Weights, at: string): ChainStart {
  const store = new Store(path, { readonly: true });
  try {
    const exp = store.experiments().find((e) => e.name === t.experiment);
    const hash = exp ? store.maskHashOf(exp.id, t.chain, t.trial, t.level) : null;
    if (!exp || hash !== t.maskHash)
      throw new UserError(
        `${at}: level ${t.level} of "${t.chain}" in experiment "${t.experiment}" (${path}) changed or went missing while this run used it: run again`,
      );
    const weights = (key: string) => store.loadArtifact(exp.id, key) as Weights;
    const level = store.loadLevel(exp.id, keys.level(t.trial, t.chain, t.level));
    const adapt = (w: Weights): Weights =>
      Object.fromEntries(model.params.map((p) => [p.name, Float32Array.from(fresh.has(p.name) ? own[p.name] : w[p.name])]));
    const masks: Masks = {};
    for (const p of model.params)
      if (isPrunable(p)) masks[p.name] = fresh.has(p.name) ? new Uint8Array(own[p.name].length).fill(1) : Uint8Array.from(level.masks[p.name]);
    return { theta0: adapt(weights(keys.theta0(t.trial))), thetaK: k > 0 ? adapt(weights(keys.thetaK(t.trial, k))) : null, masks };
  } finally {
    store.close();
  }
}
