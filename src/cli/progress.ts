import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../orchestration/index.js';

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'n/a');

/** The streams progress may go to (process.stdout and process.stderr; others in tests). */
interface Streams {
  readonly stdout: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;
  readonly stderr: Pick<NodeJS.WriteStream, 'write' | 'isTTY'>;
}

/** `h:mm:ss` of a duration in seconds. */
const clock = (s: number): string => {
  const t = Math.floor(s);
  return `${Math.floor(t / 3600)}:${String(Math.floor(t / 60) % 60).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
};

/**
 * Renders run progress: nothing with --quiet; animated bars on stderr when both stdout and stderr
 * are terminals; otherwise one plain line per finished level (its level, % remaining, accuracy,
 * time and the time elapsed since the start), on stderr, or on stdout when only stdout is
 * redirected (`lth run SPEC > log.txt`: the log is where the progress is looked for, and it
 * ends with the summary line that goes to stdout).
 */
export function progressReporter(
  quiet: boolean,
  streams: Streams = process,
): { mode: 'bars' | 'lines' | 'quiet'; write: (line: string) => void; onProgress: (e: ProgressEvent) => void; stop: () => void } {
  const out = streams.stderr.isTTY && !streams.stdout.isTTY ? streams.stdout : streams.stderr;
  const write = (l: string) => void out.write(l + '\n');
  if (quiet) return { mode: 'quiet', write: () => {}, onProgress: () => {}, stop: () => {} };
  const started = Date.now();
  const line = (e: ProgressEvent) => {
    if (e.type === 'plan') return `${e.experiment}: ${e.doneLevels}/${e.totalLevels} levels stored; backend ${e.backend}`;
    if (e.type === 'level-done')
      return `${e.job} level ${e.level}: ${e.percentRemaining.toFixed(1)}% remaining, early stop @${e.earlyStopIteration} test ${pct(e.earlyStopTestAccuracy)}, final ${pct(e.finalTestAccuracy)} (${e.seconds.toFixed(1)} s; ${clock((Date.now() - started) / 1000)} elapsed)`;
    if (e.type === 'level-copied') return `${e.job} level ${e.level}: copied from "${e.from}" (the same computation; not trained)`;
    if (e.type === 'log') return e.message;
    return null;
  };
  if (!(streams.stdout.isTTY && streams.stderr.isTTY)) {
    return {
      mode: 'lines',
      write,
      onProgress: (e) => {
        const l = line(e);
        if (l) write(l);
      },
      stop: () => {},
    };
  }
  // forceRedraw: a line logged above the bars moves them down a line, and a bar left undrawn because
  // its text is unchanged would leave the line there as it was (a stale bar under "stopping:")
  const multi = new cliProgress.MultiBar(
    {
      format: ' {label} |{bar}| {value}/{total} {unit} | {eta_formatted}',
      forceRedraw: true,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 50,
      stream: streams.stderr as NodeJS.WriteStream,
    },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | null = null;
  const jobs = new Map<string, cliProgress.SingleBar>();
  let stopped = false;
  return {
    mode: 'bars',
    write: (l) => multi.log(l + '\n'),
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
    // (once: a second stop redraws the bars below the summary; the update first writes lines logged since the last redraw)
    stop: () => {
      if (stopped) return;
      stopped = true;
      multi.update();
      multi.stop();
    },
  };
}
