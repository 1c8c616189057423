import { initializerOf, type Masks } from '../models/index.js';
import { stepToIterations } from '../spec/index.js';
import { alphaAt, errorBarrier, interpolate, SECOND_COPY, type BranchTask } from '../branches/index.js';
import { evaluateWeights, reestimateState, trainSupermask } from '../training/index.js';
import { Interrupted, makeRng } from '../util/index.js';
import type { ChainInputs } from './chain.js';
import { trialSeed, type Chain, type Context } from './context.js';
import { dataOrder, evalEvent, keys, packLevel, record, trainLevel, type Artifact } from './levels.js';
import { branchApplies } from './plan.js';
import { fixedMaskMacs, maskCost, plus } from './compute.js';

/**
 * Branch rows (docs/DESIGN.md#branches): controls hanging off a stored chain level. Each row is committed on
 * its own, keyed by (chain, trial, level, label, replicate), so a branch resumes and never
 * duplicates exactly like a chain level. Branches off level 0 (shared by every chain) draw their
 * randomness without the chain's name, so the same branch gives the same row under every chain.
 */

const NO_EXAMPLES = { x: new Float32Array(0), y: new Uint8Array(0), n: 0 };

export interface PendingBranch {
  readonly task: BranchTask;
  readonly level: number;
}

/** Branch rows still missing for the chain levels already stored (level 0 included). */
export function pendingBranches(ctx: Context, chain: Chain, trial: number): PendingBranch[] {
  if (!chain.branches.length) return [];
  const stored = [...(ctx.store.doneLevels(ctx.experimentId, '', trial).includes(0) ? [0] : []), ...ctx.store.doneLevels(ctx.experimentId, chain.name, trial)];
  const have = new Set(ctx.store.storedBranchRows(ctx.experimentId, chain.name, trial).map((r) => `${r.level}/${r.branch}/${r.replicate}`));
  const out: PendingBranch[] = [];
  for (const level of stored)
    for (const task of chain.branches)
      if (branchApplies(ctx.spec, task, level) && !have.has(`${level}/${task.label}/${task.replicate}`)) out.push({ task, level });
  return out;
}

/** Runs the chain's missing branch rows; `inputs`: the chain's θ0 and θ_k (chain.ts chainInputs). */
export async function runBranches(ctx: Context, chain: Chain, trial: number, inputs: ChainInputs): Promise<void> {
  const masksAt = new Map<number, Masks>();
  for (const { task, level } of pendingBranches(ctx, chain, trial)) {
    if (ctx.shouldStop()) throw new Interrupted();
    if (!masksAt.has(level)) masksAt.set(level, ctx.store.loadLevel(ctx.experimentId, keys.chainLevel(trial, chain.name, level)).masks);
    await runBranch(ctx, chain, trial, inputs, masksAt.get(level)!, task, level);
  }
}

async function runBranch(ctx: Context, chain: Chain, trial: number, inputs: ChainInputs, chainMasks: Masks, task: BranchTask, level: number): Promise<void> {
  const { theta0, thetaK } = inputs;
  const started = Date.now();
  const seed = trialSeed(ctx.spec, trial);
  const who = level === 0 ? '' : chain.name;
  const rng = makeRng('branch', seed, who, level, task.label, task.replicate);
  // (a model with a file's weights has no initializer; src/spec/check.ts refuses its branches before any work)
  const work = task.build({ model: ctx.model, init: initializerOf(ctx.spec.model)!, theta0, masks: chainMasks, rng });
  const job = `${chain.name} t${trial} ${task.label}#${task.replicate}`;
  const row = { strategy: chain.name, branch: task.label, replicate: task.replicate, trial, level };
  const file = keys.branch(trial, chain.name, level, task.label, task.replicate);
  switch (work.kind) {
    case 'train': {
      const res = await trainLevel(ctx, job, level, { init: work.init, masks: work.masks, schedule: { kind: 'replay', from: 0 }, trial });
      // Only a mask that differs from the chain's is worth a file (the rest is reproducible from the seed).
      const artifacts = work.masks === chainMasks ? {} : { [file]: packLevel({}, work.masks) };
      // A control costs what its chain spent on m_L, plus its own training.
      const compute = plus(maskCost(ctx, chain, trial, level), res.iterations, fixedMaskMacs(ctx, work.masks, res.iterations));
      return record(ctx, job, row, work.masks, res, started, artifacts, { compute }, res.weights);
    }
    case 'evaluate': {
      const p = await evaluateWeights(ctx.model, work.weights, ctx.data);
      return record(
        ctx,
        job,
        row,
        work.masks,
        { curve: [p], earlyStop: p, final: p, iterations: 0 },
        started,
        {},
        { compute: plus(maskCost(ctx, chain, trial, level), 0, 0) },
        work.weights,
      );
    }
    case 'learn-mask': {
      const steps = work.iterations ? stepToIterations(work.iterations, ctx.plan.itersPerEpoch) : ctx.plan.iterations;
      ctx.emit({ type: 'level-start', job, level, steps });
      const res = await trainSupermask({
        model: ctx.model,
        data: ctx.data,
        plan: ctx.plan,
        frozen: work.frozen,
        masks: work.masks,
        steps,
        lr: work.lr,
        scoreInit: work.scoreInit,
        orderKey: dataOrder(ctx, trial, level),
        sampleKey: ['supermask', seed, who, level, task.label, task.replicate],
        callbacks: {
          onStep: (done, total) => ctx.emit({ type: 'step', job, done, total }),
          onEval: (p) => ctx.emit(evalEvent(job, p)),
          shouldStop: ctx.shouldStop,
        },
      });
      const artifact: Artifact = packLevel({}, res.sampled);
      for (const [k, v] of Object.entries(res.scores)) artifact[`s/${k}`] = v;
      // Score training: forward and backward through the frozen masked network, counted as a step.
      const compute = plus(maskCost(ctx, chain, trial, level), res.iterations, fixedMaskMacs(ctx, work.masks, res.iterations));
      return record(ctx, job, row, res.sampled, res, started, { [file]: artifact }, { compute });
    }
    case 'instability': {
      // The chain's own start at this level (its reset of m_L with the chain's reset seed) and its schedule.
      const prevFinal = level === 0 ? theta0 : ctx.store.loadLevel(ctx.experimentId, keys.chainLevel(trial, chain.name, level - 1)).weights;
      const init = chain.strategy.reset({
        model: ctx.model,
        init: initializerOf(ctx.spec.model)!,
        theta0,
        thetaK,
        thetaFinal: prevFinal,
        masks: work.masks,
        rng: makeRng('reset', seed, chain.name, level),
      });
      const schedule = chain.strategy.schedule(ctx.plan);
      // Two copies, two seeded data orders of their own (SGD noise), so a re-run is identical.
      const copy = (c: 'a' | 'b') =>
        trainLevel(ctx, `${job} ${c}`, level, { init, masks: work.masks, schedule, trial, orderKey: ['instability', seed, who, level, task.label, c] });
      const a = await copy('a');
      const b = await copy('b');
      const curve: { alpha: number; testLoss: number; testError: number }[] = [];
      for (let i = 0; i < work.points; i++) {
        if (ctx.shouldStop()) throw new Interrupted();
        const alpha = alphaAt(i, work.points);
        const mixed = interpolate(a.weights, b.weights, alpha);
        // BatchNorm statistics: interpolated with the rest, or re-estimated on the same training batches at every α
        const w =
          work.statsBatches === null
            ? mixed
            : await reestimateState(ctx.model, mixed, ctx.data.train, ctx.plan, work.statsBatches, ['instability-state', seed, who, level, task.label]);
        // the test split only: an empty validation split is skipped (its numbers are NaN, unused here)
        const p = await evaluateWeights(ctx.model, w, { val: NO_EXAMPLES, test: ctx.data.test });
        curve.push({ alpha, testLoss: p.testLoss, testError: 1 - p.testAccuracy });
      }
      ctx.emit({ type: 'log', message: `${job}: error barrier ${(100 * errorBarrier(curve.map((p) => p.testError))).toFixed(2)}%` });
      const artifact: Artifact = packLevel(a.weights, work.masks);
      for (const [k, v] of Object.entries(b.weights)) artifact[SECOND_COPY + k] = v;
      const compute = plus(maskCost(ctx, chain, trial, level), a.iterations + b.iterations, fixedMaskMacs(ctx, work.masks, a.iterations + b.iterations));
      // The row's own numbers are copy a's; the curve and both end points are in its file and table.
      return record(ctx, job, row, work.masks, a, started, { [file]: artifact }, { compute, instability: curve }, a.weights);
    }
  }
}
