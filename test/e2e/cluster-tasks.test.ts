import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { resolveTask } from '../../src/cluster/task.js';
import { arrayRanges, tasksOf } from '../../src/cluster/tasks.js';
import { validateSpec } from '../../src/spec/index.js';
import { CLI, levelRows, lth, lthAsync, tinySpec, tmp } from '../helpers/common.js';

/** The spec of the cluster tests: 2 trials × 2 strategies × 2 levels, one branch at level 1. */
export function clusterSpec(over: Record<string, unknown> = {}) {
  return tinySpec({ trials: 2, strategies: ['rewind', 'fine-tune'], pruning: { levels: 2 }, branches: [{ kind: 'random-mask', levels: [1] }], ...over });
}

test('tasksOf: one dense task per trial; K (chain, trial) pairs per chains task, rows counted with their branches', () => {
  const spec = validateSpec(
    tinySpec({
      trials: 3,
      strategies: ['rewind', 'fine-tune'],
      pruning: { levels: 4 },
      branches: [
        { kind: 'random-mask', levels: [0, 2] },
        { kind: 'supermask', weights: ['init'], chains: ['rewind'], levels: [1] },
      ],
    }),
    't',
  ).spec;
  const t = tasksOf(spec, 4);
  assert.deepEqual(
    t.dense.map((d) => d.jobs),
    [[{ kind: 'level0', trial: 0 }], [{ kind: 'level0', trial: 1 }], [{ kind: 'level0', trial: 2 }]],
  );
  // 3 trials × 2 chains = 6 pairs → tasks of 4 and 2
  assert.deepEqual(
    t.chains.map((c) => c.jobs.length),
    [4, 2],
  );
  assert.deepEqual(t.chains[1].jobs, [
    { kind: 'chain', chain: 'rewind', trial: 2 },
    { kind: 'chain', chain: 'fine-tune', trial: 2 },
  ]);
  // rewind: 4 levels + random-mask at 0 and 2 + supermask at 1 = 7 rows; fine-tune: 4 + 2 = 6
  assert.deepEqual(
    t.chains.map((c) => c.rows),
    [7 + 6 + 7 + 6, 7 + 6],
  );
  assert.equal(arrayRanges([7, 0, 1, 2, 5, 8, 8]), '0-2,5,7-8');
});

test('resolveTask: --task auto reads the index from Slurm, Kubernetes or AWS Batch and the phase from LTH_PLAN_PHASE', () => {
  assert.deepEqual(resolveTask('auto', { SLURM_ARRAY_TASK_ID: '3', LTH_PLAN_PHASE: 'chains' }), { phase: 'chains', index: 3 });
  assert.deepEqual(resolveTask('auto', { JOB_COMPLETION_INDEX: '0', LTH_PLAN_PHASE: 'dense' }), { phase: 'dense', index: 0 });
  assert.deepEqual(resolveTask('auto', { AWS_BATCH_JOB_ARRAY_INDEX: '12', LTH_PLAN_PHASE: 'chains' }), { phase: 'chains', index: 12 });
  assert.deepEqual(resolveTask('dense:4', {}), { phase: 'dense', index: 4 });
  assert.throws(() => resolveTask('auto', { LTH_PLAN_PHASE: 'dense' }), /none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX is set/);
  assert.throws(() => resolveTask('auto', { SLURM_ARRAY_TASK_ID: '1' }), /LTH_PLAN_PHASE is ""/);
  assert.throws(() => resolveTask('chain:1', {}), /not auto, dense:I or chains:I/);
});

test('lth plan writes plan.json, two job arrays and submit.sh; bad input writes nothing; another spec in the folder is refused', async () => {
  const dir = tmp('lth-plan-');
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(clusterSpec()));
  const out = join(dir, 'plan');
  const bad = lth(['plan', spec, '--out', out, '--time', '4h']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--time "4h" is not HH:MM:SS/);
  assert.equal(existsSync(out), false, 'nothing written on bad input');
  const times = [
    ['25:99:00', 'minutes must be below 60 \\(got 99\\)'],
    ['0:61:00', 'minutes must be below 60 \\(got 61\\)'],
    ['01:00:60', 'seconds must be below 60 \\(got 60\\)'],
    ['2-24:00:00', 'hours after a day count must be below 24 \\(got 24\\)'],
  ];
  const refused = await Promise.all(times.map(([time]) => lthAsync(['plan', spec, '--out', out, '--time', time!])));
  times.forEach(([time, what], i) => {
    const r = refused[i]!;
    assert.equal(r.status, 2, time);
    assert.match(r.stderr, new RegExp(`^lth: error: --time "${time}": ${what}, e\\.g\\. --time 04:30:00 or 1-02:00:00\\n$`));
  });
  assert.equal(existsSync(out), false, 'nothing written for any bad --time');

  const r = lth([
    'plan',
    spec,
    '--out',
    out,
    '--max-parallel',
    '3',
    '--partition',
    'gpu',
    '--time',
    '02:00:00',
    '--cpus-per-task',
    '4',
    '--gpus-per-task',
    '1',
    '--chains-per-task',
    '3',
    '--backend',
    'cpu',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
  assert.equal(plan.tasks.dense.length, 2);
  assert.equal(plan.tasks.chains.length, 2, '4 (chain, trial) pairs, 3 per task');
  assert.equal(plan.specHash, validateSpec(clusterSpec(), 'x').hash);
  const chains = readFileSync(join(out, 'chains.sbatch'), 'utf8');
  for (const line of [
    '#SBATCH --array=0-1%3',
    '#SBATCH --requeue',
    '#SBATCH --signal=B:USR1@120',
    '#SBATCH --partition=gpu',
    '#SBATCH --time=02:00:00',
    '#SBATCH --cpus-per-task=4',
    '#SBATCH --gpus-per-task=1',
    'export LTH_PLAN_PHASE=chains',
  ])
    assert.ok(chains.includes(line + '\n'), `chains.sbatch has ${line}`);
  assert.ok(chains.includes(`${process.execPath} ${CLI} run --plan ${out} --task auto &`), 'the same node and CLI, absolute paths');
  assert.match(readFileSync(join(out, 'dense.sbatch'), 'utf8'), /#SBATCH --array=0-1%3\n/);
  assert.match(readFileSync(join(out, 'submit.sh'), 'utf8'), /sbatch --parsable --dependency=afterok:"\$dense" chains\.sbatch/);

  writeFileSync(spec, JSON.stringify(clusterSpec({ seed: 99 })));
  const k8s = join(dir, 'k8s');
  const [other, rk] = await Promise.all([
    lthAsync(['plan', spec, '--out', out]),
    lthAsync(['plan', spec, '--out', k8s, '--emit', 'k8s', '--max-parallel', '2', '--lth', 'lth']),
  ]);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /already holds a plan for another spec/);

  assert.equal(rk.status, 0, rk.stderr);
  const job = JSON.parse(readFileSync(join(k8s, 'chains.job.json'), 'utf8'));
  assert.equal(job.spec.completionMode, 'Indexed');
  assert.equal(job.spec.completions, 4);
  assert.equal(job.spec.parallelism, 2);
  assert.deepEqual(job.spec.template.spec.containers[0].env[0], { name: 'LTH_PLAN_PHASE', value: 'chains' });
  assert.equal(job.spec.template.spec.containers[0].command[2], `lth run --plan ${k8s} --task auto`);
  assert.deepEqual(job.spec.podFailurePolicy.rules[0].onExitCodes.values, [75]);
});

test('tasks by hand: SIGTERM drops the level in flight and exits 75; a rerun resumes; status and merge; the same rows as one lth run', async () => {
  const dir = tmp('lth-tasks-');
  const spec = join(dir, 'spec.json');
  // one trial, levels long enough that SIGTERM lands inside level 2
  const original = JSON.stringify(clusterSpec({ trials: 1, training: { iterations: '200it', evalEvery: '50it', batchSize: 30 } }));
  writeFileSync(spec, original);
  // the single-process run of the original spec to compare with, side by side with the tasks
  const single = join(dir, 'single.db');
  const singleSpec = join(dir, 'single.json');
  writeFileSync(singleSpec, original);
  const singleRun = lthAsync(['run', singleSpec, '--db', single, '--backend', 'cpu', '--quiet']);
  const out = join(dir, 'plan');
  assert.equal(lth(['plan', spec, '--out', out, '--backend', 'cpu']).status, 0);
  // plan.json holds a snapshot of the resolved spec: editing the file afterwards changes nothing
  // the tasks do (the rows below equal a plain run of the original)
  writeFileSync(spec, JSON.stringify(clusterSpec({ trials: 2, training: { iterations: '20it', evalEvery: '10it', batchSize: 30 } })));

  const early = lth(['run', '--plan', out, '--task', 'chains:0']);
  assert.equal(early.status, 2);
  assert.match(early.stderr, /needs trial 0's level 0.*run task dense:0 first/);

  assert.equal(lth(['run', '--plan', out, '--task', 'dense:0']).status, 0);
  let signalled = false;
  const stopped = await lthAsync(['run', '--plan', out, '--task', 'chains:0'], {
    onLine: (line, child) => {
      if (!signalled && /rewind t0 level 2: started/.test(line)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    },
  });
  assert.equal(stopped.status, 75, stopped.stderr);
  assert.match(stopped.stdout, /task chains:0: stopped before it finished/);
  const st = lth(['status', '--plan', out]);
  assert.equal(st.status, 0, st.stderr);
  // level 1 and its branch are stored, level 2 was dropped
  assert.match(st.stdout, /chains:0\s*│?\s*partial\s*│?\s*2\/3/);
  assert.match(st.stdout, /chains:1\s*│?\s*missing/);
  assert.ok(st.stdout.includes(`sbatch --array=0-1 ${join(out, 'chains.sbatch')}`), st.stdout);

  // the two chain tasks side by side, as a job array runs them
  for (const r of await Promise.all(['chains:0', 'chains:1'].map((task) => lthAsync(['run', '--plan', out, '--task', task]))))
    assert.equal(r.status, 0, r.stderr);
  assert.match(lth(['status', '--plan', out]).stdout, /3 done, 0 partial, 0 missing/);

  const merged = join(dir, 'merged.db');
  const shards = ['dense-0', 'chains-0', 'chains-1'].map((s) => join(out, 'shards', `${s}.db`));
  const m = lth(['merge', ...shards, '--into', merged]);
  assert.equal(m.status, 0, m.stderr);
  const s = await singleRun;
  assert.equal(s.status, 0, s.stderr);
  const rows = levelRows(merged);
  assert.equal(rows.length, 2 * 3 + 2, '2 strategies × 3 levels, and the branch under each');
  assert.deepEqual(rows, levelRows(single));
  // the interrupted level was trained once more, not stored twice
  const db = new Database(merged, { readonly: true });
  assert.equal((db.prepare("SELECT count(*) n FROM results WHERE strategy = 'rewind' AND level = 2").get() as { n: number }).n, 1);
  db.close();
});
