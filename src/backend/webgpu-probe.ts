// `lth doctor` runs this in a child process: it loads the webgpu backend and prints what that
// gave as JSON, while Dawn's and Mesa's own warnings go to this process's stderr, which the
// doctor shows only with --verbose (src/backend/doctor.ts, probeInChild).
import { probeWebgpu } from './doctor.js';

process.stdout.write(JSON.stringify(await probeWebgpu()));
