import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../orchestration/index.js';

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a');

/** Renders run progress: bars on a terminal, one line per finished level otherwise, nothing with --quiet. */
export function progressReporter(mode: 'bars' | 'lines' | 'quiet'): { onProgress: (e: ProgressEvent) => void; stop: () => void } {
  if (mode === 'quiet') return { onProgress: () => {}, stop: () => {} };
  const line = (e: ProgressEvent) => {
    if (e.type === 'plan') return `${e.experiment}: ${e.doneLevels}/${e.totalLevels} levels stored; backend ${e.backend}`;
    if (e.type === 'level-done')
      return `${e.job} level ${e.level}: ${e.percentRemaining.toFixed(1)}% remaining, early stop @${e.earlyStopIteration} test ${pct(e.earlyStopTestAccuracy)}, final ${pct(e.finalTestAccuracy)} (${e.seconds.toFixed(1)} s)`;
    if (e.type === 'level-copied') return `${e.job} level ${e.level}: copied from "${e.from}" (the same computation; not trained)`;
    if (e.type === 'log') return e.message;
    return null;
  };
  if (mode === 'lines') {
    return {
      onProgress: (e) => {
        const l = line(e);
        if (l) process.stderr.write(l + '\n');
      },
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { format: ' {label} |{bar}| {value}/{total} {unit} | {eta_formatted}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | null = null;
  const jobs = new Map<string, cliProgress.SingleBar>();
  return {
    onProgress(e) {
      if (e.type === 'plan') {
        multi.log(line(e)! + '\n');
        overall = multi.create(e.totalLevels, e.doneLevels, { label: 'levels'.padEnd(22), unit: 'levels' });
      } else if (e.type === 'level-start') {
        const label = `${e.job} L${e.level}`.padEnd(22).slice(0, 22);
        const bar = jobs.get(e.job);
        if (bar) {
          bar.setTotal(e.steps);
          bar.update(0, { label });
        } else jobs.set(e.job, multi.create(e.steps, 0, { label, unit: 'it' }));
      } else if (e.type === 'step') {
        jobs.get(e.job)?.update(e.done);
      } else if (e.type === 'level-done' || e.type === 'level-copied') {
        multi.log(line(e)! + '\n');
        overall?.increment();
      } else if (e.type === 'log') multi.log(e.message + '\n');
    },
    stop: () => multi.stop(),
  };
}
