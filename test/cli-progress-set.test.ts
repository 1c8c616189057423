import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { progressReporter } from '../src/cli/progress.js';
import { runExperiment, type ProgressEvent } from '../src/orchestration/index.js';
import { validateSpec } from '../src/spec/index.js';
import { assertOneLineError, CLI, lth, tinySpec, tmp } from './helpers/common.js';

/** A stream that records what is written to it. */
const stream = (isTTY: boolean) => {
  const text: string[] = [];
  return { isTTY, text, write: (s: string) => text.push(s) > 0 };
};

const events: ProgressEvent[] = [
  { type: 'plan', experiment: 'tiny', backend: 'wasm', totalLevels: 2, doneLevels: 0 },
  { type: 'level-start', job: 'rewind t0', level: 1, steps: 60 },
  { type: 'step', job: 'rewind t0', done: 30, total: 60 },
  {
    type: 'level-done',
    job: 'rewind t0',
    level: 1,
    percentRemaining: 80.5,
    earlyStopIteration: 40,
    earlyStopTestAccuracy: 0.635,
    finalTestAccuracy: 0.62,
    seconds: 1.25,
  },
];

test('progress: plain lines, not bars, when stdout is not a terminal; on stdout when only stdout is redirected; none with --quiet', () => {
  // lth run SPEC > log.txt: stdout a file, stderr the terminal
  const out = stream(false);
  const err = stream(true);
  const p = progressReporter(false, { stdout: out, stderr: err });
  assert.equal(p.mode, 'lines');
  for (const e of events) p.onProgress(e);
  p.stop();
  assert.deepEqual(err.text, [], 'nothing animated on the terminal');
  p.onProgress({ type: 'eval', job: 'rewind t0', iteration: 30, trainLoss: 0.5, testLoss: 0.6, testAccuracy: 0.6 });
  assert.equal(out.text.length, 2, 'the plan and one line per finished level (no step, start or evaluation lines)');
  assert.equal(out.text[0], 'tiny: 0/2 levels stored; backend wasm\n');
  assert.match(out.text[1], /^rewind t0 level 1: 80\.5% remaining, early stop @40 test 63\.50%, final 62\.00% \(1\.3 s; 0:00:0\d elapsed\)\n$/);
  // CI, nohup, Slurm: both redirected; the lines go to stderr as before
  const out2 = stream(false);
  const err2 = stream(false);
  const p2 = progressReporter(false, { stdout: out2, stderr: err2 });
  for (const e of events) p2.onProgress(e);
  assert.equal(p2.mode, 'lines');
  assert.deepEqual(out2.text, []);
  assert.equal(err2.text.length, 2);
  // --quiet: nothing anywhere
  const out3 = stream(false);
  const err3 = stream(true);
  const p3 = progressReporter(true, { stdout: out3, stderr: err3 });
  for (const e of events) p3.onProgress(e);
  p3.write('x');
  assert.deepEqual([p3.mode, out3.text, err3.text], ['quiet', [], []]);
  // two terminals: the bars
  assert.equal(progressReporter(false, { stdout: stream(true), stderr: stream(true) }).mode, 'bars');
});

test('bars: a line written above them (stopping:, a warning) shows before they stop, every bar drawn again below it (no stale bar); a second stop draws nothing', async () => {
  const out = stream(true);
  const err = stream(true);
  const p = progressReporter(false, { stdout: out, stderr: err });
  assert.equal(p.mode, 'bars');
  for (const e of events.slice(0, 3)) p.onProgress(e);
  // the bars drawn once (cli-progress redraws every 100 ms)
  await new Promise((r) => setTimeout(r, 300));
  assert.match(err.text.join(''), / levels +\|/);
  p.write('stopping: the level in flight is discarded');
  p.stop();
  const drawn = err.text.join('');
  assert.deepEqual(out.text, []);
  const at = drawn.lastIndexOf('stopping: the level in flight is discarded');
  assert.ok(at >= 0, 'the line is written, though no redraw came between it and the stop');
  const below = drawn.slice(at);
  assert.match(below, / levels +\|/, 'the overall bar is drawn again below the line, not left where the line now is');
  assert.match(below, / rewind t0 L1 +\|.* 30\/60 it/);
  const n = err.text.length;
  p.stop();
  assert.equal(err.text.length, n, 'stopped once: a second stop (run.ts stops in finally too) draws no second copy of the bars');
});

test("bars within a level: step i/N, elapsed and ETA at the level's pace, the latest evaluation's loss and accuracy; a new level starts its clock again", async () => {
  const err = stream(true);
  let t = 0;
  const p = progressReporter(false, { stdout: stream(true), stderr: err }, () => t);
  /** the last drawn copy of the line of the bar labelled `label`, once cli-progress has redrawn (every 100 ms) */
  const screenLines = () => err.text.join('').split(new RegExp(`\\r|\\n|${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`));
  const drawn = async (label: RegExp) => {
    await new Promise((r) => setTimeout(r, 250));
    const lines = screenLines().filter((l) => label.test(l));
    return lines[lines.length - 1] ?? '';
  };
  p.onProgress(events[0]!);
  p.onProgress({ type: 'level-start', job: 'rewind t0', level: 1, steps: 600 });
  // the evaluation before the first step: no training loss yet, so the test loss
  p.onProgress({ type: 'eval', job: 'rewind t0', iteration: 0, trainLoss: null, testLoss: 2.30258, testAccuracy: 0.1 });
  assert.match(await drawn(/rewind t0 L1/), /\| 0\/600 it$/);
  assert.equal(await drawn(/^ {3}\d/), '   0:00:00 elapsed | test loss 2.303, test 10.00% at it 0');
  t = 90_000;
  p.onProgress({ type: 'step', job: 'rewind t0', done: 150, total: 600 });
  p.onProgress({ type: 'eval', job: 'rewind t0', iteration: 150, trainLoss: 0.41234, testLoss: 0.5, testAccuracy: 0.9125 });
  assert.match(await drawn(/rewind t0 L1/), /\| 150\/600 it$/);
  assert.equal(await drawn(/^ {3}\d/), '   0:01:30 elapsed, ETA 0:04:30 | loss 0.412, test 91.25% at it 150');
  assert.match(await drawn(/ levels /), /\| 0\/2 levels \| 0:01:30 elapsed$/);
  t = 400_000;
  p.onProgress({ ...(events[3] as ProgressEvent & { type: 'level-done' }) });
  p.onProgress({ type: 'level-start', job: 'rewind t0', level: 2, steps: 600 });
  assert.match(await drawn(/rewind t0 L2/), /\| 0\/600 it$/);
  assert.equal(await drawn(/^ {3}\d/), '   0:00:00 elapsed', "the level's own clock, and no loss of the level before");
  t = 430_000;
  p.onProgress({ type: 'step', job: 'rewind t0', done: 60, total: 600 });
  p.stop();
  assert.match(await drawn(/rewind t0 L2/), /\| 60\/600 it$/);
  assert.equal(await drawn(/^ {3}\d/), '   0:00:30 elapsed, ETA 0:04:30');
  assert.match(await drawn(/ levels /), /\| 1\/2 levels \| 0:07:10 elapsed$/);
  // each line of the bars (they start with a space; lines logged above them do not) within an 80-column terminal
  for (const l of screenLines().filter((x) => x.startsWith(' '))) assert.ok(l.length <= 80, `${l.length} columns: ${l}`);
});

test('a run reports each evaluation of a level as it happens, between its level-start and level-done: the stored curve', async () => {
  const dir = tmp();
  const seen: ProgressEvent[] = [];
  await runExperiment(
    validateSpec(tinySpec({ training: { iterations: '20it', evalEvery: '10it', batchSize: 30 }, pruning: { levels: 1 }, strategies: ['rewind'] }), 's.json'),
    { db: join(dir, 'x.db'), backend: 'wasm', onProgress: (e) => seen.push(e) },
  );
  for (const job of ['dense t0', 'rewind t0']) {
    const mine = seen.filter((e) => 'job' in e && e.job === job).map((e) => e.type);
    assert.equal(mine[0], 'level-start', job);
    assert.equal(mine[mine.length - 1], 'level-done', job);
    const evals = seen.filter((e): e is ProgressEvent & { type: 'eval' } => e.type === 'eval' && e.job === job);
    assert.deepEqual(
      evals.map((e) => e.iteration),
      [0, 10, 20],
      `${job}: every evalEvery, before its level is done`,
    );
    assert.equal(evals[0]!.trainLoss, null, 'no training loss before the first step');
    assert.ok(evals.slice(1).every((e) => Number.isFinite(e.trainLoss)));
    const done = seen.find((e): e is ProgressEvent & { type: 'level-done' } => e.type === 'level-done' && e.job === job)!;
    assert.equal(evals[2]!.testAccuracy, done.finalTestAccuracy, `${job}: the last evaluation is the level's final accuracy`);
  }
});

// `script` (util-linux) runs the command on a pseudo-terminal: stderr is a terminal, stdout the log file
const noScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0 ? false : 'no `script` (util-linux) to give lth a terminal';

test('lth run SPEC > log.txt on a terminal: the log has a line per finished level as it goes, and the summary', { skip: noScript }, () => {
  const dir = tmp();
  const spec = join(dir, 'tiny.json');
  writeFileSync(
    spec,
    JSON.stringify(tinySpec({ training: { iterations: '20it', evalEvery: '10it', batchSize: 30 }, pruning: { levels: 1 }, strategies: ['rewind'] })),
  );
  const log = join(dir, 'log.txt');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${q(process.execPath)} ${q(CLI)} run ${q(spec)} --db ${q(join(dir, 'x.db'))} --backend wasm > ${q(log)}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, LTH_CACHE: join(dir, 'cache') } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.match(lines[0], /^tiny: 0\/2 levels stored; backend wasm$/);
  assert.match(lines[1], /^dense t0 level 0: 100\.0% remaining, early stop @\d+ test \d+\.\d\d%, final \d+\.\d\d% \([\d.]+ s; \d:\d\d:\d\d elapsed\)$/);
  assert.match(lines[2], /^rewind t0 level 1: \d+\.\d% remaining, .* elapsed\)$/);
  assert.match(lines[3], /^tiny: done; 2 level\(s\) trained/);
  assert.doesNotMatch(r.stdout, /remaining|\|/, 'no bars and no lines on the terminal');
});

test("lth spec --set with an index beyond an array: one line naming the --set and the array's length, exit 2", () => {
  const dir = tmp();
  const spec = join(dir, 's.json');
  writeFileSync(spec, JSON.stringify(tinySpec({ branches: [{ kind: 'supermask', levels: [1] }] })));
  assertOneLineError(
    lth(['spec', spec, '--set', 'branches.1.levels=[1]']),
    /--set branches\.1\.levels=\[1\]: branches has 1 element, so "1" is not an index of it: give 0 to 0/,
  );
});
