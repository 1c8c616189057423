import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { slurmSplit, taskRuns } from '../../src/bench/cluster.js';
import { ensureSlurm, startLocalSlurm, type LocalSlurm } from '../../src/cluster/local.js';
import { levelRows, lth, lthAsync, tinySpec, tmp } from '../helpers/common.js';
import { dump } from '../helpers/dump.js';

/**
 * A real Slurm sweep (docs/CLUSTER.md): munged, slurmctld and slurmd on localhost (2 CPUs), a
 * plan of 2 trials × 2 strategies × 2 levels with one branch, submit.sh, one chain task
 * requeued by `scontrol requeue` mid-level, one stopped by SIGUSR1 to its batch shell (Slurm's
 * warning before a time limit: it requeues itself), one cancelled by a plain `scancel` (it stays
 * cancelled), status, merges, and the single-process run.
 * Skipped only where Slurm cannot be installed (not root, no apt-get); it installs it otherwise.
 */
const reason = ensureSlurm();
if (reason) process.stdout.write(`# slurm.test: skipped: ${reason}\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

async function waitFor(what: string, cond: () => boolean, timeoutS: number, diag: () => string): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutS} s for ${what}\n${diag()}`);
    await sleep(200);
  }
}

test(
  'a sweep through a real one-node Slurm: arrays, requeue mid-level, status, merge in any order = one lth run',
  { skip: reason ?? false, timeout: 900_000 },
  async () => {
    const dir = tmp('lth-slurm-test-');
    const spec = join(dir, 'spec.json');
    writeFileSync(
      spec,
      JSON.stringify(
        tinySpec({
          trials: 2,
          strategies: ['rewind', 'fine-tune'],
          pruning: { levels: 2 },
          branches: [{ kind: 'random-mask', levels: [1] }],
          training: { iterations: '200it', evalEvery: '50it', batchSize: 30 },
        }),
      ),
    );
    const out = join(dir, 'plan');
    // the single-process run to compare with, side by side with the sweep (which mostly waits on Slurm)
    const single = join(dir, 'single.db');
    const singleRun = lthAsync(['run', spec, '--db', single, '--backend', 'cpu', '--quiet']);

    let cluster: LocalSlurm | null = null;
    try {
      const started = startLocalSlurm({ cpus: 2 });
      const p = await lthAsync(['plan', spec, '--out', out, '--max-parallel', '2', '--backend', 'cpu']);
      cluster = await started;
      assert.equal(p.status, 0, p.stderr);
      const c = cluster;
      const pids = { ...c.pids };
      const logs = () =>
        readdirSync(join(out, 'logs'))
          .map((f) => `--- ${f}\n${read(join(out, 'logs', f))}`)
          .join('\n') +
        '\n' +
        c.logs();

      const sub = spawnSync('sh', [join(out, 'submit.sh')], { env: c.env, encoding: 'utf8' });
      assert.equal(sub.status, 0, sub.stderr);
      const dense = /^dense: (\d+)$/m.exec(sub.stdout)?.[1];
      const chains = /^chains: (\d+)$/m.exec(sub.stdout)?.[1];
      assert.ok(dense && chains, `submit.sh prints both job ids: ${sub.stdout}`);

      // chains:0 — requeued by Slurm while it trains a level
      const log0 = join(out, 'logs', 'chains-0.out');
      await waitFor('chains:0 to start a level', () => /rewind t0 level \d: started/.test(read(log0)), 300, logs);
      const level0 = Number(/rewind t0 level (\d): started/.exec(read(log0))![1]);
      c.cmd(['scontrol', 'requeue', `${chains}_0`]);
      // chains:1 — SIGUSR1 to the batch shell only, as slurmstepd sends it 120 s before the time
      // limit (--signal=B:USR1@120): the task must requeue itself. (Not `scancel --signal=USR1 --batch`:
      // scancel retries while the job is requeueing and then signals the restarted task too.)
      const log1 = join(out, 'logs', 'chains-1.out');
      await waitFor('chains:1 to start a level', () => /fine-tune t0 level \d: started/.test(read(log1)), 300, logs);
      const level1 = Number(/fine-tune t0 level (\d): started/.exec(read(log1))![1]);
      process.kill(Number(/shell pid (\d+)/.exec(read(log1))![1]), 'SIGUSR1');
      // chains:2 — a user's plain `scancel` while it trains: cancelled for good, not requeued
      const log2 = join(out, 'logs', 'chains-2.out');
      await waitFor('chains:2 to start a level', () => / t\d level \d: started/.test(read(log2)), 300, logs);
      c.cmd(['scancel', `${chains}_2`]);

      await c.waitEmpty([dense!, chains!], 600);
      const l2 = read(log2);
      assert.match(l2, /SIGTERM \(scancel, preemption or the limit\): lth stops too; not requeueing here/, l2);
      // one SIGTERM reached lth (from Slurm, not forwarded again): it dropped the level and said so
      assert.match(l2, /task chains:2: stopped before it finished[\s\S]*lth: task 2 ended \(exit 75\)/, l2);
      assert.doesNotMatch(l2, /requeueing job|restart 1,/, l2);
      const job2 = c.cmd(['scontrol', '-o', 'show', 'job', `${chains}_2`]);
      assert.match(job2, /JobState=CANCELLED /, job2);
      assert.match(job2, / Restarts=0 /, job2);
      const st2 = lth(['status', '--plan', out]);
      assert.match(st2.stdout, /chains:2\s*│?\s*(partial|missing)/, st2.stdout);
      // what `lth status` says to do for it; here by hand, outside Slurm
      const rerun = lth(['run', '--plan', out, '--task', 'chains:2', '--quiet']);
      assert.equal(rerun.status, 0, rerun.stderr);
      const l0 = read(log0);
      const l1 = read(log1);
      // both ran twice, and resumed at the level they were in: trained again, stored once
      assert.match(l0, /restart 0,[\s\S]*restart 1,/, l0);
      assert.match(l1, /time limit near \(SIGUSR1\)[\s\S]*requeueing job[\s\S]*restart 1,/, l1);
      const count = (text: string, re: RegExp) => text.match(new RegExp(re, 'g'))?.length ?? 0;
      assert.equal(count(l0, new RegExp(`rewind t0 level ${level0}: started`)), 2, l0);
      assert.equal(count(l0, new RegExp(`rewind t0 level ${level0}: [\\d.]+% remaining`)), 1, l0);
      assert.equal(count(l1, new RegExp(`fine-tune t0 level ${level1}: started`)), 2, l1);
      assert.equal(count(l1, new RegExp(`fine-tune t0 level ${level1}: [\\d.]+% remaining`)), 1, l1);

      // the batch logs time each run of a task and its start-up (lth bench --only cluster reads them)
      const runs1 = taskRuns(l1);
      assert.equal(runs1.length, 2, l1);
      for (const r of runs1) assert.ok(r.startup !== null && r.startup > 0 && r.seconds > r.startup, JSON.stringify(runs1));
      const split = slurmSplit([l0, l1, l2], 2, 1e4);
      assert.equal(split.runs, 5, 'chains:0 and chains:1 twice, chains:2 once');
      assert.ok(split.startupSeconds > 0 && split.startupSeconds < split.taskSeconds, JSON.stringify(split));

      const st = lth(['status', '--plan', out]);
      assert.equal(st.status, 0, st.stderr);
      assert.match(st.stdout, /6 done, 0 partial, 0 missing of 6 task\(s\)/, st.stdout + logs());

      const shards = readdirSync(join(out, 'shards'))
        .filter((f) => f.endsWith('.db'))
        .sort()
        .map((f) => join(out, 'shards', f));
      assert.equal(shards.length, 6);
      const m1 = join(dir, 'm1.db');
      const m2 = join(dir, 'm2.db');
      const reverse = lthAsync(['merge', ...[...shards].reverse(), '--into', m2]);
      assert.equal((await lthAsync(['merge', ...shards, '--into', m1])).status, 0);
      const first = dump(m1);
      const again = lth(['merge', ...shards, '--into', m1]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /0 row\(s\) added/);
      assert.deepEqual(dump(m1), first, 'merging twice changes nothing');
      assert.equal((await reverse).status, 0);
      assert.deepEqual(dump(m2), first, 'the reverse order gives the same database');

      const s = await singleRun;
      assert.equal(s.status, 0, s.stderr);
      const rows = levelRows(m1);
      // 2 trials × 2 strategies × (3 levels + the branch at level 1)
      assert.equal(rows.length, 2 * 2 * 4);
      assert.deepEqual(rows, levelRows(single), 'the merged levels view equals a single-process lth run, row for row (backend included)');

      await c.stop();
      cluster = null;
      for (const [name, pid] of Object.entries(pids)) assert.equal(alive(pid), false, `${name} (pid ${pid}) stopped`);
    } finally {
      await cluster?.stop();
    }
  },
);
