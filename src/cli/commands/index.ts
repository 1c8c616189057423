import { run } from './run.js';
import { status } from './status.js';

/** Every CLI command, in the order `lth --help` lists them. */
export const commands = [run, status];
