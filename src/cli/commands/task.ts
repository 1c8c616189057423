import { progressReporter } from '../progress.js';

/**
 * `lth run --plan DIR --task …`: one task of a cluster plan. SIGTERM (preemption, time limit,
 * scancel; forwarded by the batch script) drops the level in flight; the exit code is then
 * REQUEUE_EXIT, on which the batch script requeues the task (docs/CLUSTER.md).
 */
export async function runPlanTask(dir: string, task: string, quiet: boolean): Promise<void> {
  const { runTask } = await import('../../cluster/task.js');
  const { REQUEUE_EXIT } = await import('../../cluster/scripts.js');
  const progress = progressReporter(quiet);
  let stop = false;
  let started = false;
  const onSignal = (sig: string) => () => {
    if (stop) process.exit(REQUEUE_EXIT);
    stop = true;
    process.stderr.write(`\n${sig}: stopping; the level in flight is dropped, stored levels are kept\n`);
  };
  const onTerm = onSignal('SIGTERM');
  const onInt = onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    const r = await runTask(dir, task, {
      onProgress: (e) => {
        // in a batch log, say when a level starts: a requeue mid-level is then visible
        if (e.type === 'level-start' && progress.mode === 'lines') {
          // the process's start-up (node, tfjs, the data, the shard, a chains task's dense import), once
          if (!started) progress.write(`lth: start-up ${process.uptime().toFixed(2)} s`);
          started = true;
          progress.write(`${e.job} level ${e.level}: started (${e.steps} steps)`);
        }
        progress.onProgress(e);
      },
      shouldStop: () => stop,
    });
    progress.stop();
    const what = r.interrupted ? 'stopped before it finished (rerun it to resume)' : 'done';
    process.stdout.write(`task ${r.phase}:${r.index}: ${what}; ${r.levelsTrained} level(s) trained on ${r.backend}; shard ${r.shard}\n`);
    if (r.interrupted) process.exitCode = REQUEUE_EXIT;
  } finally {
    progress.stop();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
