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

/** `0:02:13 elapsed, ETA 0:41:05` of a level `done` of `total` steps into it after `ms`: the ETA
 *  at the level's mean pace so far (none before its first step). */
function levelTime(ms: number, done: number, total: number): string {
  const spent = `${clock(ms / 1000)} elapsed`;
  return done > 0 ? `${spent}, ETA ${clock(((ms / 1000) * (total - done)) / done)}` : spent;
}

/**
 * Renders run progress: nothing with --quiet; animated bars on stderr when both stdout and stderr
 * are terminals — the levels done, and per job the level in flight: its step i/N, time elapsed
 * and ETA (from the level's mean pace so far, evaluations included), and the training loss and
 * test accuracy of its latest evaluation; otherwise one plain line per finished level (its level, % remaining, accuracy,
 * time and the time elapsed since the start), on stderr, or on stdout when only stdout is
 * redirected (`lth run SPEC > log.txt`: the log is where the progress is looked for, and it
 * ends with the summary line that goes to stdout).
 */
export function progressReporter(
  quiet: boolean,
  streams: Streams = process,
  /** the clock (ms) of elapsed and ETA (tests pass their own) */
  now: () => number = Date.now,
): { mode: 'bars' | 'lines' | 'quiet'; write: (line: string) => void; onProgress: (e: ProgressEvent) => void; stop: () => void } {
  const out = streams.stderr.isTTY && !streams.stdout.isTTY ? streams.stdout : streams.stderr;
  const write = (l: string) => void out.write(l + '\n');
  if (quiet) return { mode: 'quiet', write: () => {}, onProgress: () => {}, stop: () => {} };
  const started = now();
  const line = (e: ProgressEvent) => {
    if (e.type === 'plan') return `${e.experiment}: ${e.doneLevels}/${e.totalLevels} levels stored; backend ${e.backend}`;
    if (e.type === 'level-done')
      return `${e.job} level ${e.level}: ${e.percentRemaining.toFixed(1)}% remaining, early stop @${e.earlyStopIteration} test ${pct(e.earlyStopTestAccuracy)}, final ${pct(e.finalTestAccuracy)} (${e.seconds.toFixed(1)} s; ${clock((now() - started) / 1000)} elapsed)`;
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
      format: ' {label} |{bar}| {value}/{total} {unit}',
      barsize: 20,
      forceRedraw: true,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      stream: streams.stderr as NodeJS.WriteStream,
    },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | null = null;
  // per job two lines (each within 80 columns): its bar, then its level's time and latest evaluation
  const jobs = new Map<string, { bar: cliProgress.SingleBar; info: cliProgress.SingleBar; since: number; done: number; total: number; metrics: string }>();
  const showInfo = (job: { info: cliProgress.SingleBar; since: number; done: number; total: number; metrics: string }) =>
    job.info.update({ text: levelTime(now() - job.since, job.done, job.total) + job.metrics });
  let stopped = false;
  const elapsed = () => `${clock((now() - started) / 1000)} elapsed`;
  return {
    mode: 'bars',
    write: (l) => multi.log(l + '\n'),
    onProgress(e) {
      if (e.type === 'plan') {
        multi.log(line(e)! + '\n');
        overall = multi.create(
          e.totalLevels,
          e.doneLevels,
          { label: 'levels'.padEnd(22), unit: 'levels', time: elapsed() },
          { format: ' {label} |{bar}| {value}/{total} {unit} | {time}' },
        );
      } else if (e.type === 'level-start') {
        const label = `${e.job} L${e.level}`.padEnd(22).slice(0, 22);
        const job = jobs.get(e.job);
        if (job) {
          job.bar.update(0, { label });
          job.bar.setTotal(e.steps);
        }
        const next = {
          bar: job?.bar ?? multi.create(e.steps, 0, { label, unit: 'it' }),
          info: job?.info ?? multi.create(1, 0, { text: '' }, { format: '   {text}' }),
          since: now(),
          done: 0,
          total: e.steps,
          metrics: '',
        };
        jobs.set(e.job, next);
        showInfo(next);
      } else if (e.type === 'step') {
        const job = jobs.get(e.job);
        if (job) {
          Object.assign(job, { done: e.done, total: e.total });
          job.bar.update(e.done);
          showInfo(job);
        }
      } else if (e.type === 'eval') {
        const job = jobs.get(e.job);
        if (job) {
          // (before the first step there is no training loss yet: the test loss then)
          job.metrics = ` | ${e.trainLoss === null ? 'test ' : ''}loss ${(e.trainLoss ?? e.testLoss).toFixed(3)}, test ${pct(e.testAccuracy)} at it ${e.iteration}`;
          showInfo(job);
        }
      } else if (e.type === 'level-done' || e.type === 'level-copied') {
        multi.log(line(e)! + '\n');
        overall?.increment();
      } else if (e.type === 'log') multi.log(e.message + '\n');
      overall?.update({ time: elapsed() });
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
