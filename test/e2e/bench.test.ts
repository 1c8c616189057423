import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { slurmSplit, taskRuns } from '../../src/bench/cluster.js';
import { lth, lthAsync, tmp } from '../helpers/common.js';

/** `lth bench --quick` runs end to end and its table and JSON are well formed. No timing assertions. */
test('lth bench --quick: table and JSON for step, eval, quickstart and memory', { timeout: 120_000 }, () => {
  const json = join(tmp('lth-bench-'), 'bench.json');
  const r = lth(['bench', '--quick', '--only', 'step,eval,quickstart,memory', '--models', 'lenet-300-100', '--backends', 'wasm,cpu', '--json', json]);
  assert.equal(r.status, 0, r.stderr);
  for (const head of ['training step, batch', 'median ms', 'examples/s', 'quickstart', 'live tensors', 'load average at start'])
    assert.ok(r.stdout.includes(head), `table lacks "${head}":\n${r.stdout}`);
  const rep = JSON.parse(readFileSync(json, 'utf8'));
  assert.deepEqual(Object.keys(rep).sort(), ['eval', 'info', 'memory', 'protocol', 'runs', 'speedup', 'step']);
  assert.equal(rep.info.quick, true);
  assert.equal(rep.info.loadavgStart.length, 3);
  const wasm = rep.step.find((s: { backend: string }) => s.backend.startsWith('wasm'));
  assert.ok(wasm && wasm.model === 'lenet-300-100' && wasm.ms > 0 && wasm.steps >= 1, JSON.stringify(rep.step));
  assert.ok(rep.step.some((s: { backend: string; ms: number }) => s.backend === 'cpu' && s.ms > 0));
  assert.ok(rep.eval.every((e: { examplesPerS: number }) => e.examplesPerS > 0));
  const [qs] = rep.runs;
  assert.equal(qs.what, 'quickstart');
  assert.equal(qs.levels, 3); // dense + 2 chains × 1 level
  assert.ok(qs.seconds > 0 && qs.mainRssMb > 0);
  assert.deepEqual(
    rep.memory.map((m: { level: number }) => m.level),
    [0, 1, 2, 3, 4, 5],
  );
  for (const m of rep.memory) assert.ok(Number.isInteger(m.numTensors) && m.rssMb > 0);
});

test('lth bench rejects unknown sections and models', async () => {
  const [a, b] = await Promise.all([lthAsync(['bench', '--only', 'steps']), lthAsync(['bench', '--only', 'step', '--models', 'resnet'])]);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /unknown section "steps"/);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /unknown model "resnet"/);
});

test('lth bench --only protocol --quick: one level at the evaluation cadence, level time over step time', { timeout: 120_000 }, () => {
  const json = join(tmp('lth-bench-'), 'bench.json');
  const r = lth(['bench', '--quick', '--only', 'protocol', '--models', 'lenet-300-100', '--backends', 'wasm', '--json', json]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes('level/steps'), r.stdout);
  const [row] = JSON.parse(readFileSync(json, 'utf8')).protocol;
  assert.equal(row.model, 'lenet-300-100');
  // quick: 20 iterations, evaluated at 0, 10 and 20 on 100 + 200 examples
  assert.deepEqual([row.iterations, row.evalEvery, row.evaluations, row.valExamples, row.testExamples], [20, 10, 3, 100, 200]);
  assert.ok(row.levelS > 0 && row.stepSumS > 0);
  assert.ok(Math.abs(row.ratio - row.levelS / row.stepSumS) < 1e-9);
});

/** The profile counts exactly the steps' kernels: one masked-Adam update per parameter tensor per step. */
test('lth bench --only profile: kernels per step are whole steps (one Adam kernel per parameter tensor)', { timeout: 120_000 }, () => {
  const r = lth(['bench', '--only', 'profile', '--models', 'lenet-300-100', '--backends', 'wasm', '--steps', '3']);
  assert.equal(r.status, 0, r.stderr);
  const head = r.stdout.match(/kernels ([\d.]+) ms\/step, of which GEMM ([\d.]+) \((\d+)%\); profiled step over its GEMM time ([\d.]+)× \(median of 3 steps\)/);
  assert.ok(head, r.stdout);
  assert.ok(Number(head[2]) > 0 && Number(head[2]) <= Number(head[1]) && Number(head[4]) >= 1, head[0]);
  // LeNet-300-100: three weight matrices and three bias vectors, each updated once per step
  const adam = r.stdout.match(/LthMaskedAdam\s*│\s*[\d.]+\s*│\s*([\d.]+)/);
  assert.ok(adam, r.stdout);
  assert.equal(Number(adam[1]), 6);
});

test('cluster split: task runs and start-ups read from a batch log, the rest of the slot-seconds idle', () => {
  const log = [
    'lth: task 0 of job 7 (job id 9, restart 0, shell pid 1) on vm at 2026-12-03T10:00:00.000Z',
    'lth: start-up 2.50 s',
    'rewind t0 level 1: started (200 steps)',
    'lth: time limit near (SIGUSR1): stopping after the level in flight is dropped, then requeueing',
    'lth: task 0 ended (exit 75) at 2026-12-03T10:00:10.000Z',
    'lth: task 0 of job 7 (job id 9, restart 1, shell pid 2) on vm at 2026-12-03T10:00:20.500Z',
    'lth: start-up 1.50 s',
    'lth: task 0 ended (exit 0) at 2026-12-03T10:00:25.000Z',
    'lth: task 1 of job 7 (job id 10, restart 0, shell pid 3) on vm at 2026-12-03T10:00:26.000Z', // still running: not counted
  ].join('\n');
  assert.deepEqual(taskRuns(log), [
    { seconds: 10, startup: 2.5 },
    { seconds: 4.5, startup: 1.5 },
  ]);
  assert.deepEqual(slurmSplit([log, 'lth: task 2 of job 7 (…) at 2026-12-03T10:00:00.000Z\nlth: task 2 ended (exit 0) at 2026-12-03T10:00:03.000Z'], 2, 20), {
    runs: 3,
    taskSeconds: 17.5,
    startupSeconds: 4,
    idleSlotSeconds: 22.5,
  });
});
