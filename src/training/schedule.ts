import type { TrainingSpec } from '../spec/index.js';
import { stepToIterations } from '../spec/step.js';

/** Training settings with every step count resolved to iterations for one data set. */
export interface TrainingSchedule {
  readonly spec: TrainingSpec;
  readonly iterations: number;
  readonly evalEvery: number;
  readonly warmup: number;
  readonly fineTuneIterations: number;
  readonly milestones: readonly number[];
  readonly itersPerEpoch: number;
}

export function resolveSchedule(spec: TrainingSpec, trainSize: number): TrainingSchedule {
  const itersPerEpoch = Math.max(1, Math.floor(trainSize / spec.batchSize));
  const res = (s: Parameters<typeof stepToIterations>[0]) => stepToIterations(s, itersPerEpoch);
  return {
    spec,
    iterations: res(spec.iterations),
    evalEvery: Math.max(1, res(spec.evalEvery)),
    warmup: res(spec.warmup),
    fineTuneIterations: spec.fineTuneIterations ? res(spec.fineTuneIterations) : res(spec.iterations),
    milestones: spec.schedule.kind === 'step' ? spec.schedule.milestones.map(res) : [],
    itersPerEpoch,
  };
}

/** Learning rate at a step of the full schedule: base × warmup ramp × step decays. */
export function lrAt(plan: TrainingSchedule, step: number): number {
  let lr = plan.spec.optimizer.lr;
  if (plan.warmup > 0 && step < plan.warmup) lr *= (step + 1) / plan.warmup;
  if (plan.spec.schedule.kind === 'step') {
    const gamma = plan.spec.schedule.gamma;
    for (const m of plan.milestones) if (step >= m) lr *= gamma;
  }
  return lr;
}

/** The schedule's final learning rate (what fine-tuning trains at). */
export const finalLr = (plan: TrainingSchedule): number => lrAt(plan, plan.iterations - 1);
