import type { CommandModule } from 'yargs';
import { command as compare } from './compare.js';
import { command as exportCmd } from './export.js';
import { exportModelCmd } from './export-model.js';
import { command as plot } from './plot.js';
import { command as query } from './query.js';
import { command as report } from './report.js';
import { bench } from './bench.js';
import { run } from './run.js';
import { spec } from './spec.js';
import { status } from './status.js';
import { rm } from './rm.js';
import { datasets } from './datasets.js';
import { doctor } from './doctor.js';
import { ui } from './ui.js';
import { plan } from './plan.js';
import { merge } from './merge.js';
import { analyze } from './analyze.js';

/** Every CLI command, in the order `lth --help` lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module has its own argument type
export const commands: CommandModule<any, any>[] = [
  run,
  spec,
  status,
  report,
  plot,
  compare,
  analyze,
  query,
  exportCmd,
  exportModelCmd,
  ui,
  plan,
  merge,
  datasets,
  bench,
  doctor,
  rm,
];
