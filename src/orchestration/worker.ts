// Entry point of a `--workers` child process (forked by runner.ts).
import { workerMain } from './runner.js';

workerMain(process.argv[2]).catch((e: Error) => {
  process.send?.({ type: 'error', message: e.message, user: e.name === 'UserError' });
  process.exitCode = 1;
  process.disconnect?.();
});
