/** The reporting commands, for the core CLI (src/cli/main.ts) to register: `yargs.command(reportingCommands)`. */
import type { CommandModule } from 'yargs';
import { command as compare } from './compare.js';
import { command as exportCmd } from './export.js';
import { command as plot } from './plot.js';
import { command as query } from './query.js';
import { command as report } from './report.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module has its own argument type
export const reportingCommands: CommandModule<any, any>[] = [report, plot, compare, query, exportCmd];

export { report, plot, compare, query, exportCmd };
