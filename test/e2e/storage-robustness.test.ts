import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync as fsWriteSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { validateSpec } from '../../src/spec/index.js';
import { planRun } from '../../src/orchestration/plan.js';
import { Store } from '../../src/storage/db.js';
import { writeArrays, type FileIo } from '../../src/storage/weights.js';
import { assertOneLineError, filesUnder, levelRows, lth, lthAsync, tinySpec, tmp } from '../helpers/common.js';
import { finishedTinyRun } from '../helpers/tiny-run.js';

function specFile(dir: string, spec: object, name = 'spec.json'): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

const count = (db: string, sql: string, ...args: unknown[]): number => {
  const d = new Database(db, { readonly: true });
  try {
    return (
      (d
        .prepare(sql)
        .pluck()
        .get(...args) as number) ?? 0
    );
  } finally {
    d.close();
  }
};

// ---------------------------------------------------------------- the run plan (#10 item 4)

test('plan: rows counted by hand for chains, branches with replicates, explicit levels and targetPercent', () => {
  const spec = validateSpec(
    tinySpec({
      trials: 2,
      pruning: { levels: 3 },
      branches: [
        { kind: 'random-reinit', count: 2 },
        { kind: 'random-mask', levels: [0, 2], chains: ['rewind'] },
      ],
    }),
    't',
  ).spec;
  const empty = planRun(spec, []);
  // per trial: dense 1; chains 2 × 3 levels; random-reinit 2 chains × 3 levels × 2 replicates; random-mask on rewind at 0 and 2
  const perTrial = 1 + 2 * 3 + 2 * 3 * 2 + 2;
  assert.equal(empty.total, 2 * perTrial);
  assert.equal(empty.done, 0);
  assert.equal(empty.level0.length, 2);
  assert.equal(empty.chains.length, 4);
  assert.deepEqual(
    empty.chains.map((c) => [c.job, c.levels.length, c.branches.length]),
    [
      ['rewind t0', 3, 8],
      ['fine-tune t0', 3, 6],
      ['rewind t1', 3, 8],
      ['fine-tune t1', 3, 6],
    ],
  );
  // targetPercent: a chain whose stored level 2 is at or below the target is complete at level 2
  const tp = validateSpec(tinySpec({ pruning: { levels: 10, targetPercent: 65 } }), 't').spec;
  const row = (strategy: string, level: number, p: number) => ({ strategy, branch: '', replicate: 0, trial: 0, level, percentRemaining: p });
  const stored = [row('', 0, 100), row('rewind', 1, 80), row('rewind', 2, 64), row('fine-tune', 1, 80)];
  const p = planRun(tp, stored);
  assert.deepEqual(
    p.chains.map((c) => [c.chain, c.levels.length, c.stoppedAt, c.done]),
    [
      ['rewind', 2, 2, true],
      ['fine-tune', 10, null, false],
    ],
  );
  assert.equal(p.total, 1 + 2 + 10);
  assert.equal(p.done, 4);
  assert.equal(p.complete, false);
  assert.equal(planRun(tp, [...stored, row('fine-tune', 2, 64)]).complete, true);
});

test('status: a run stopped in level 1 of 2 with branches is not complete; a finished targetPercent run is', async () => {
  const dir = tmp();
  // targetPercent (checked below), trained side by side with the run with branches
  const tdb = join(dir, 't.db');
  const tspec = specFile(dir, tinySpec({ name: 'target', pruning: { levels: 10, targetPercent: 70 } }), 't.json');
  const target = lthAsync(['run', tspec, '--db', tdb, '--backend', 'wasm', '--quiet']);
  const db = join(dir, 'p.db');
  const spec = specFile(dir, tinySpec({ branches: [{ kind: 'random-mask' }] }));
  assert.equal(lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']).status, 0);
  // Drop level 2 (chain and branch rows) as if the run had stopped after level 1.
  const d = new Database(db);
  for (const t of ['curve_points', 'layer_sparsity', 'compute', 'activation_sparsity', 'unit_counts'])
    d.prepare(`DELETE FROM ${t} WHERE result_id IN (SELECT id FROM results WHERE level = 2)`).run();
  const dropped = d.prepare('DELETE FROM results WHERE level = 2').run().changes;
  d.close();
  assert.equal(dropped, 4); // 2 chains + 2 random-mask rows
  // full plan: dense 1 + 2 chains × 2 levels + random-mask on 2 chains × 2 levels = 9; stored 9 − 4 = 5
  const s = lth(['status', '--db', db]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /tiny .* 5\/9 /);
  assert.doesNotMatch(s.stdout, /complete/);
  // run resumes exactly the planned missing rows and announces the same plan
  const again = lth(['run', spec, '--db', db, '--backend', 'wasm']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /tiny: 5\/9 levels stored/);
  assert.match(again.stdout, /4 level\(s\) trained/);

  // targetPercent: fc loses 20% and the output 10% per level, so the chain stops at the first level ≤ 70%
  assert.equal((await target).status, 0);
  const rows = levelRows(tdb).filter((r) => r.strategy === 'rewind');
  const stop = rows.find((r) => (r.percent_remaining as number) <= 70)!;
  assert.ok(stop && (stop.level as number) < 10, 'the target stops the chain before level 10');
  assert.equal(Math.max(...rows.map((r) => r.level as number)), stop.level);
  const ts = lth(['status', '--db', tdb]);
  assert.equal(ts.status, 0, ts.stderr);
  assert.match(ts.stdout, /target .*complete/);
});

// ---------------------------------------------------------------- bad databases (#10 item 6)

test('--db on a text file: run and status give one line, and the file is untouched', async () => {
  const dir = tmp();
  const db = join(dir, 'notes.txt');
  const text = 'these are my notes, not a database\n'.repeat(20);
  writeFileSync(db, text);
  const spec = specFile(dir, tinySpec());
  const [run, status] = await Promise.all([lthAsync(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']), lthAsync(['status', '--db', db])]);
  assertOneLineError(run, /notes\.txt is not an SQLite database/);
  assertOneLineError(status, /not an SQLite database/);
  assert.equal(readFileSync(db, 'utf8'), text);
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'spec.json']);
});

test("--db on another program's SQLite file: lth refuses it and writes nothing into it", async () => {
  const dir = tmp();
  const db = join(dir, 'other.sqlite');
  const o = new Database(db);
  o.exec("CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('ada')");
  o.close();
  const before = createHash('sha256').update(readFileSync(db)).digest('hex');
  const spec = specFile(dir, tinySpec());
  const [run, status] = await Promise.all([lthAsync(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']), lthAsync(['status', '--db', db])]);
  assertOneLineError(run, /another program's SQLite database \(tables: contacts\)/);
  assertOneLineError(status, /another program's SQLite database/);
  assert.equal(createHash('sha256').update(readFileSync(db)).digest('hex'), before);
  assert.equal(count(db, 'SELECT count(*) FROM sqlite_master'), 1);
  // an empty SQLite file is fine: lth makes it its own
  const empty = join(dir, 'empty.db');
  writeFileSync(empty, '');
  assert.equal(lth(['run', spec, '--db', empty, '--backend', 'wasm', '--quiet']).status, 0);
});

/** Makes a folder read-only for this process: a read-only bind mount as root (root ignores modes), chmod otherwise. */
function makeReadOnly(dir: string): (() => void) | null {
  if (process.getuid?.() === 0) {
    const r1 = spawnSync('mount', ['--bind', dir, dir]);
    if (r1.status !== 0) return null;
    const r2 = spawnSync('mount', ['-o', 'remount,bind,ro', dir]);
    if (r2.status !== 0) {
      spawnSync('umount', [dir]);
      return null;
    }
    return () => void spawnSync('umount', [dir]);
  }
  execFileSync('chmod', ['-R', 'a-w', dir]);
  return () => void execFileSync('chmod', ['-R', 'u+w', dir]);
}

test('a database in a read-only folder: status, report and query read it; run says so in one line', async (t) => {
  const dir = tmp();
  const data = join(dir, 'ro');
  mkdirSync(data);
  const { db, spec } = finishedTinyRun(data);
  const undo = makeReadOnly(data);
  if (!undo) return t.skip('cannot make a read-only folder here');
  try {
    // four readers of one database at once
    const [s, r, q, run] = await Promise.all([
      lthAsync(['status', '--db', db]),
      lthAsync(['report', 'tiny', '--db', db, '--format', 'csv']),
      lthAsync(['query', 'SELECT count(*) AS n FROM levels', '--db', db, '--format', 'csv']),
      lthAsync(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']),
    ]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /tiny .*complete/);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rewind/);
    assert.equal(q.status, 0, q.stderr);
    assert.match(q.stdout, /\b6\b/); // dense (under each of 2 chains) + 2 chains × 2 levels
    assertOneLineError(run, /cannot write the database .*r\.db.*writable/);
  } finally {
    undo();
  }
});

// ---------------------------------------------------------------- weight files (#10 item 6)

test('a weight write that hits a full disk throws one clear error and leaves no file; short writes are completed', () => {
  const dir = tmp();
  const file = join(dir, 'a', 'w.bin');
  const arrays = { x: Float32Array.from({ length: 1000 }, (_, i) => i / 7), m: Uint8Array.from({ length: 50 }, (_, i) => i % 2) };
  // A disk that takes 100 bytes, then is full.
  let room = 100;
  const full: FileIo = {
    writeSync: (fd, buf, off, len) => {
      if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(len, room);
      room -= n;
      return execWrite(fd, buf, off, n);
    },
    fsyncSync: () => {},
  };
  assert.throws(
    () => writeArrays(file, arrays, full),
    (e: Error) => e.name === 'UserError' && /w\.bin: the disk is full; free space/.test(e.message),
  );
  assert.deepEqual(readdirSync(join(dir, 'a')), [], 'neither the final file nor its temporary is left');
  // A writer that takes at most 33 bytes per call: every byte still lands, and the checksum is of the file.
  const short: FileIo = { writeSync: (fd, buf, off, len) => execWrite(fd, buf, off, Math.min(33, len)), fsyncSync: () => {} };
  const sha = writeArrays(file, arrays, short);
  const bytes = readFileSync(file);
  assert.equal(sha, createHash('sha256').update(bytes).digest('hex'));
  const floats = new Float32Array(bytes.buffer.slice(bytes.length - 50 - 4000, bytes.length - 50));
  assert.deepEqual(floats, arrays.x);
  assert.deepEqual(readdirSync(join(dir, 'a')), ['w.bin']);
});

const execWrite = (fd: number, buf: Uint8Array, off: number, len: number) => fsWriteSync(fd, buf, off, len);

test('a full weights folder (tmpfs): run fails in one line, leaves no truncated file, and resumes once there is space', (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root');
  const dir = tmp();
  const db = join(dir, 'full.db');
  const weights = join(dir, 'full.weights');
  mkdirSync(weights);
  // 12 KiB: the dense level's file (about 6 KB, two 4 KiB pages) fits, θ0's (about 5 KB) then does not.
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'tmpfs', weights]).status !== 0) return t.skip('cannot mount a tmpfs here');
  try {
    const spec = specFile(dir, tinySpec());
    const r = lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
    assertOneLineError(r, /cannot write weight file .*: the disk is full; free space/);
    // no temporaries, nothing truncated under a final name (the file that did not fit is absent), no row or checksum recorded
    const left = filesUnder(weights);
    assert.deepEqual(
      left.filter((f) => f.includes('.tmp-')),
      [],
    );
    assert.ok(!left.includes(join('tiny', 'trial-0', 'theta-0.bin')), left.join(', '));
    assert.equal(count(db, 'SELECT count(*) FROM results'), 0);
    assert.equal(count(db, 'SELECT count(*) FROM artifacts'), 0);
    assert.equal(spawnSync('mount', ['-o', 'remount,size=64m', weights]).status, 0);
    const again = lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(levelRows(db).length, 6);
  } finally {
    spawnSync('umount', [weights]);
  }
});

test('stale *.tmp-<pid> files of dead writers are removed at the start of a run; a live writer’s are kept', () => {
  const dir = tmp();
  const { db, spec } = finishedTinyRun(dir, 's.db');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid is gone
  const folder = join(dir, 's.weights', 'tiny', 'trial-0');
  const stale = [join(folder, `level-0.bin.tmp-${dead}`), join(folder, `theta-0.bin.tmp-${dead}@${hostname()}`)];
  const live = join(folder, `level-0.bin.tmp-${process.pid}@${hostname()}`);
  const elsewhere = join(folder, `level-0.bin.tmp-${dead}@some-other-host`);
  for (const f of [...stale, live, elsewhere]) writeFileSync(f, 'partial');
  const r = lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  for (const f of stale) assert.equal(existsSync(f), false, f);
  assert.equal(existsSync(live), true);
  assert.equal(existsSync(elsewhere), true, "another host's writer may still be alive");
});

// ---------------------------------------------------------------- concurrent runs (#10 item 6)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a job locked by a live process is left to it; its lock goes stale when that process dies, and the run completes', async () => {
  const dir = tmp();
  const db = join(dir, 'l.db');
  const raw = tinySpec({ trials: 2 });
  const spec = specFile(dir, raw);
  const loaded = validateSpec(raw, 't');
  // Register the experiment (no chains yet: the run adds them) and lock trial 0 for a live process.
  const store = new Store(db);
  const id = store.registerExperiment(loaded.spec.name, loaded.hash, loaded.json, 'test', []);
  store.close();
  const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const d = new Database(db);
    const ins = d.prepare('INSERT INTO locks(experiment_id, job, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?)');
    for (const job of ['dense t0', 'rewind t0', 'fine-tune t0']) ins.run(id, job, holder.pid, hostname(), new Date().toISOString());
    d.close();
    const run = lthAsync(['run', spec, '--db', db, '--backend', 'wasm']);
    // Trial 1 has no lock: it is trained while trial 0 waits for its holder.
    const trial1 = 1 + 2 * 2;
    for (let i = 0; i < 600 && count(db, 'SELECT count(*) FROM results WHERE trial = 1') < trial1; i++) await sleep(100);
    assert.equal(count(db, 'SELECT count(*) FROM results WHERE trial = 1'), trial1, 'trial 1 trained');
    assert.equal(count(db, 'SELECT count(*) FROM results WHERE trial = 0'), 0, 'nothing of the locked trial 0 trained');
    holder.kill('SIGKILL');
    const r = await run;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /10 level\(s\) trained/);
    assert.equal(count(db, 'SELECT count(*) FROM results'), 2 * trial1);
    assert.equal(count(db, 'SELECT count(*) FROM locks'), 0, 'locks are released');
  } finally {
    holder.kill('SIGKILL');
  }
});

test('two lth run of one spec on one database at once: every level is trained once', async () => {
  const dir = tmp();
  const db = join(dir, 'c.db');
  const spec = specFile(dir, tinySpec({ trials: 2, pruning: { levels: 3 }, training: { iterations: '150it', evalEvery: '50it', batchSize: 30 } }));
  const args = ['run', spec, '--db', db, '--backend', 'wasm', '--quiet'];
  const [a, b] = await Promise.all([lthAsync(args), lthAsync(args)]);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  const trained = [a, b].map((r) => Number(/(\d+) level\(s\) trained/.exec(r.stdout)![1]));
  const planned = 2 * (1 + 2 * 3);
  assert.equal(trained[0] + trained[1], planned, `trained ${trained.join(' + ')}`);
  assert.equal(count(db, 'SELECT count(*) FROM results'), planned);
});

// ---------------------------------------------------------------- SIGTERM (#10 item 6)

test('SIGTERM to the process group with --workers 2: exit 130, stored levels kept, the next run completes', async () => {
  const dir = tmp();
  const db = join(dir, 'term.db');
  const spec = specFile(dir, tinySpec({ trials: 2, pruning: { levels: 4 }, training: { iterations: '100it', evalEvery: '50it', batchSize: 30 } }));
  let sent = false;
  const r = await lthAsync(['run', spec, '--db', db, '--backend', 'wasm', '--workers', '2'], {
    detached: true,
    onLine: (l, child) => {
      if (!sent && / level \d+: /.test(l)) {
        sent = true;
        process.kill(-child.pid!, 'SIGTERM'); // as Slurm, systemd and Kubernetes do: the whole group
      }
    },
  });
  assert.ok(sent, 'a level finished before the signal');
  assert.equal(r.status, 130, r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|exited unexpectedly|at .*\.js:\d+/);
  const kept = count(db, 'SELECT count(*) FROM results');
  assert.ok(kept >= 1 && kept < 2 * (1 + 2 * 4), `kept ${kept}`);
  const again = lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(count(db, 'SELECT count(*) FROM results'), 2 * (1 + 2 * 4));
});

// ---------------------------------------------------------------- lth rm (#10 item 3)

test('lth rm: asks for --yes without a terminal; deletes one experiment’s rows and only its weight files', async () => {
  const dir = tmp();
  const db = join(dir, 'rm.db');
  const a = specFile(dir, tinySpec({ name: 'a' }), 'a.json');
  const b = specFile(dir, tinySpec({ name: 'b', seed: 8 }), 'b.json');
  for (const s of [a, b]) assert.equal(lth(['run', s, '--db', db, '--backend', 'wasm', '--quiet']).status, 0);
  const weights = join(dir, 'rm.weights');
  const bFiles = filesUnder(join(weights, 'b'));
  assert.ok(filesUnder(join(weights, 'a')).length > 0 && bFiles.length > 0);
  const bRows = levelRows(db).filter((r) => r.experiment === 'b');

  const [noYes, nope] = await Promise.all([lthAsync(['rm', 'a', '--db', db]), lthAsync(['rm', 'nope', '--db', db, '--yes'])]);
  assertOneLineError(noYes, /pass --yes to confirm/);
  assert.equal(count(db, "SELECT count(*) FROM experiments WHERE name = 'a'"), 1, 'nothing deleted without --yes');
  assertOneLineError(nope, /no experiment "nope" .*experiments: a, b/);

  const r = lth(['rm', 'a', '--db', db, '--yes']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /a: removed 5 row\(s\)/);
  const ids = count(db, "SELECT count(*) FROM experiments WHERE name = 'a'");
  assert.equal(ids, 0);
  for (const t of ['results', 'chains', 'artifacts'])
    assert.equal(count(db, `SELECT count(*) FROM ${t} WHERE experiment_id NOT IN (SELECT id FROM experiments)`), 0, t);
  assert.equal(count(db, 'SELECT count(*) FROM curve_points WHERE result_id NOT IN (SELECT id FROM results)'), 0);
  assert.equal(existsSync(join(weights, 'a')), false);
  assert.deepEqual(filesUnder(join(weights, 'b')), bFiles);
  assert.deepEqual(levelRows(db), bRows);
  // b still resumes (nothing to do) and a runs again from scratch
  const [againB, againA] = await Promise.all([b, a].map((s) => lthAsync(['run', s, '--db', db, '--backend', 'wasm', '--quiet'])));
  assert.match(againB.stdout, /b: done; 0 level\(s\) trained/);
  assert.match(againA.stdout, /a: done; 5 level\(s\) trained/);
  assert.ok(statSync(join(weights, 'a')).isDirectory());
});
