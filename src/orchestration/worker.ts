// Entry point of a `--workers` child process (forked by runner.ts). Signals are caught from the
// first line: loading tfjs takes a while, and a SIGTERM to the process group in that window
// must stop the worker cleanly, not kill it (the parent would then fail the run).
let signalled = false;
const onSignal = () => {
  signalled = true;
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

const { workerMain } = await import('./runner.js');
workerMain(process.argv[2], () => signalled).catch((e: Error) => {
  process.send?.({ type: 'error', message: e.message, user: e.name === 'UserError' });
  process.exitCode = 1;
  process.disconnect?.();
});
