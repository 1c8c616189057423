export { atSteps, everySteps, evaluation, interruption, progress, snapshots, EarlyStopTracker, standardCallbacks } from './callbacks.js';
export { evaluateWeights } from './evaluate.js';
export {
  evaluate,
  toTensors,
  train,
  runLoop,
  type TrainResult,
  type CurvePoint,
  type LevelSchedule,
  type StepCallback,
  type Trainee,
  type TrainControl,
  type MaskMove,
} from './loop.js';
export { resolveSchedule, type TrainingSchedule } from './schedule.js';
export { trainSupermask } from './supermask.js';
export { reestimateState } from './state.js';
