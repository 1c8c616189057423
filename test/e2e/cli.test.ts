import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { assertOneLineError, CLI, levelRows, lth, lthAsync, tinySpec, tmp } from '../helpers/common.js';
import { buildLenetDb } from '../helpers/fixture.js';

function specFile(dir: string, spec: object, name = 'spec.json'): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(spec));
  return f;
}

test('lth run end to end on synthetic data, then lth status', () => {
  const dir = tmp();
  const db = join(dir, 'r.db');
  const r = lth(['run', specFile(dir, tinySpec()), '--db', db, '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tiny: done; 5 level\(s\) trained .* on wasm/);
  const d = new Database(db, { readonly: true });
  const rows = d.prepare("SELECT strategy, level, backend, percent_remaining FROM levels WHERE experiment = 'tiny' ORDER BY strategy, level").all();
  d.close();
  assert.equal(rows.length, 6);
  const s = lth(['status', '--db', db]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /tiny .*complete/);
});

test('--set overrides the spec; --workers 2 gives the same rows as one process', async () => {
  const dir = tmp();
  const spec = specFile(dir, tinySpec({ trials: 2 }));
  const one = join(dir, 'one.db');
  const two = join(dir, 'two.db');
  const [o, r] = await Promise.all([
    lthAsync(['run', spec, '--db', one, '--backend', 'wasm', '--quiet', '--set', 'pruning.levels=1']),
    lthAsync(['run', spec, '--db', two, '--backend', 'wasm', '--quiet', '--workers', '2', '--set', 'pruning.levels=1']),
  ]);
  assert.equal(o.status, 0, o.stderr);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(levelRows(one).length, 2 * 2 * 2);
  assert.deepEqual(levelRows(two), levelRows(one));
});

const bad: [string, unknown, RegExp][] = [
  ['unknown field', { ...tinySpec(), trainig: {} }, /trainig: unknown field: did you mean training\?/],
  ['wrong type', { ...tinySpec(), trials: 'two' }, /trials: /],
  ['bad step', tinySpec({ training: { iterations: '10 epochs' } }), /training.iterations: step "10 epochs"/],
  // a bare number could be meant as iterations or as epochs: refused, naming both forms
  [
    'step without its unit',
    tinySpec({ training: { iterations: 20 } }),
    /training\.iterations: 20 has no unit: write "20it" \(iterations\) or "20ep" \(epochs\)$/m,
  ],
  ['unknown strategy', tinySpec({ strategies: ['rewind', 'rewnd'] }), /unknown strategy "rewnd"/],
  ['rewind point after the end', tinySpec({ strategies: ['rewind@999it'] }), /rewind point 999 must be before the end/],
  [
    'subset larger than the data',
    tinySpec({ data: { dataset: 'synthetic', validation: 200, trainSubset: 10000, synthetic: { train: 600 } } }),
    /trainSubset|subset/,
  ],
  ['duplicate strategy', tinySpec({ strategies: ['rewind', 'rewind'] }), /appears twice/],
  ['not an object', [1, 2], /must be a JSON object/],
];

// independent processes: these tests run side by side
describe('bad specs', { concurrency: true }, () => {
  for (const [what, spec, message] of bad) {
    it(`bad spec (${what}): one error line, exit 2, nothing written`, async () => {
      const dir = tmp();
      const db = join(dir, 'out', 'x.db');
      const r = await lthAsync(['run', specFile(dir, spec as object), '--db', db, '--backend', 'wasm']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^lth: error: /);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(existsSync(join(dir, 'out')), false, 'nothing written');
    });
  }
});

test('--set training.iterations=20 (no unit): one line naming the --set, the field and both forms, exit 2, no database', () => {
  const dir = tmp();
  const db = join(dir, 'x.db');
  const r = lth(['run', specFile(dir, tinySpec()), '--db', db, '--set', 'training.iterations=20']);
  assertOneLineError(r, /^lth: error: --set training\.iterations=20: training\.iterations: 20 has no unit: write "20it" \(iterations\) or "20ep" \(epochs\)$/);
  assert.deepEqual(readdirSync(dir), ['spec.json'], 'nothing written');
});

test('bad flags and files: one error line, exit 2', async () => {
  const dir = tmp();
  const cases: [string[], RegExp][] = [
    [['run', join(dir, 'missing.json')], /spec file .* not found/],
    [['run', specFile(dir, tinySpec()), '--workers', '0'], /--workers 0 must be/],
    [['run', specFile(dir, tinySpec()), '--backend', 'gpu'], /Invalid values/],
    [['rnu'], /unknown command "rnu": did you mean "lth run"\?/],
    // a misspelt spec: the file next to it, or the preset, it probably names
    [['run', join(dir, 'spce.json')], /spec file .*spce\.json not found: did you mean .*spec\.json\? \(presets: experiments\/\*\.json\)$/m],
    [['run', 'frankle-carbin-lenett'], /spec file frankle-carbin-lenett not found: did you mean experiments\/frankle-carbin-lenet\.json\?/],
    [['spec', 'quickstart'], /spec file quickstart not found: did you mean experiments\/quickstart\.json\?/],
    [['status', '--db', join(dir, 'none.db')], /database not found/],
  ];
  writeFileSync(join(dir, 'broken.json'), '{"name": "x",');
  cases.push([['run', join(dir, 'broken.json')], /broken\.json: invalid JSON at line 1, column 14: /]);
  const results = await Promise.all(cases.map(([args]) => lthAsync(args)));
  cases.forEach(([args, msg], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  });
  assert.deepEqual(readdirSync(dir).sort(), ['broken.json', 'spec.json']);
});

test('every command that takes an experiment name refuses a misspelt one alike: one line, the name meant, the names there are, exit 2', async () => {
  const dir = tmp();
  const db = join(dir, 'lth.db');
  buildLenetDb(db);
  const out = join(dir, 'out');
  const commands = [
    ['report', 'lenet_mnst'],
    ['plot', 'lenet_mnst', '--out', join(out, 'x.svg')],
    ['compare', 'lenet_mnst', 'rewind', 'random-reinit'],
    ['export', 'lenet_mnst', '--out', join(out, 'csv')],
    ['export-model', 'lenet_mnst', '--strategy', 'rewind', '--level', '1', '--out', out],
    ['analyze', 'noise', 'lenet_mnst'],
    ['rm', 'lenet_mnst', '--yes'],
  ];
  const results = await Promise.all(commands.map((c) => lthAsync([...c, '--db', db])));
  commands.forEach((c, i) => {
    assert.equal(
      results[i]!.stderr,
      `lth: error: no experiment "lenet_mnst" in ${db}: did you mean "lenet-mnist"? (experiments: lenet-mnist, small)\n`,
      c.join(' '),
    );
    assert.equal(results[i]!.status, 2, c.join(' '));
  });
  // no name near: the list, and what to do
  assertOneLineError(lth(['report', 'zzz', '--db', db]), /no experiment "zzz" in \S+ \(experiments: lenet-mnist, small\): run it first with `lth run SPEC`$/);
  // a misspelt strategy of an experiment that exists: the one meant too
  const strategies: [string[], RegExp][] = [
    [['compare', 'lenet-mnist', 'rewnd', 'fine-tune'], /has no strategy "rewnd": did you mean "rewind"\? — choose from: /],
    [
      ['plot', 'lenet-mnist', '--strategy', 'fine-tuen', '--out', join(out, 'x.svg')],
      /has no strategy "fine-tuen": did you mean "fine-tune"\? — choose from: /,
    ],
    [['plot', 'lenet-mnist', '--kind', 'masks', '--strategy', 'rewnd', '--out', join(out, 'x.svg')], /has no strategy "rewnd": did you mean "rewind"\?/],
  ];
  for (const [args, msg] of strategies) assertOneLineError(lth([...args, '--db', db]), msg);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('an unknown option is named once, as typed, with the command help to see', () => {
  const dir = tmp();
  const r = lth(['run', specFile(dir, tinySpec()), '--bogus-flag']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'lth: error: unknown option --bogus-flag (see lth run --help)\n');
  const s = lth(['status', '--db', join(dir, 'x.db'), '--bogusFlag=1', '-z']);
  assert.equal(s.stderr, 'lth: error: unknown options --bogusFlag, -z (see lth status --help)\n');
});

test('a mistyped command and an invalid choice: one line each, naming what was typed', () => {
  const r = lth(['runn', 'x.json']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'lth: error: unknown command "runn": did you mean "lth run"? (see lth --help)\n');
  const m = lth(['report', 'x', '--metric', 'nope']);
  assert.equal(m.status, 2);
  assert.match(m.stderr, /^lth: error: Invalid values: Argument: metric, Given: "nope", Choices: "es-accuracy", [^\n]+"reinit" \(see lth report --help\)\n$/);
  // a choice near one: the one it probably was
  const b = lth(['run', 'x.json', '--backend', 'wsam']);
  assert.equal(
    b.stderr,
    'lth: error: Invalid values: Argument: backend, Given: "wsam", Choices: "auto", "tensorflow", "webgpu", "native", "wasm", "cpu": did you mean "wasm"? (see lth run --help)\n',
  );
});

test('a repeated one-value option is refused on one line, before any work; repeatable ones still repeat', async () => {
  const dir = tmp();
  const a = join(dir, 'a.db');
  const b = join(dir, 'b.db');
  const cmds = [['status'], ['ui'], ['run', 'experiments/quickstart.json']];
  const [plot, ...twice] = await Promise.all([
    lthAsync(['plot', 'x', '-o', 'a.png', '--out=b.png']),
    ...cmds.map((cmd) => lthAsync([...cmd, '--db', a, '--db', b])),
  ]);
  cmds.forEach((cmd, i) => {
    assert.equal(twice[i]!.status, 2, cmd[0]);
    assert.equal(twice[i]!.stderr, `lth: error: --db given 2 times (${a}, ${b}): it takes one value; give it once\n`, cmd[0]);
  });
  assert.equal(plot!.stderr, 'lth: error: --out / -o given 2 times (a.png, b.png): it takes one value; give it once\n');
  assert.deepEqual(readdirSync(dir), []); // nothing created
  // --set is declared repeatable; a path option is still normalized
  const spec = join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify(tinySpec()));
  const ok = lth(['spec', spec, '--set', 'trials=2', '--set', 'seed=5']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /"trials": 2/);
  assert.match(ok.stdout, /"seed": 5/);
  assert.match(lth(['status', '--db', `${dir}//x/../none.db`]).stderr, new RegExp(`database not found: ${join(dir, 'none.db')} `));
});

test('an lth process loads no figure or dashboard library until it draws or serves (each cluster task is one such process)', () => {
  const dir = tmp();
  // a module hook that lists every module the process loads
  const list = join(dir, 'loaded.txt');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), CLI, 'status', '--db', join(dir, 'none.db')], { encoding: 'utf8' });
  assert.match(r.stderr, /database not found/);
  const loaded = readFileSync(list, 'utf8').split('\n');
  assert.ok(
    loaded.some((u) => u.includes('/node_modules/yargs/')),
    'the hook saw the modules loaded',
  );
  const heavy = loaded.filter((u) => /\/node_modules\/(vega[^/]*|d3-[^/]+|fastify|@resvg\/[^/]+)\//.test(u));
  assert.deepEqual(heavy, [], 'loaded only when a figure is drawn or the dashboard starts');
});

test('spec files: a trailing comma is named at the comma, an empty file is called empty, a byte-order mark is accepted', () => {
  const dir = tmp();
  const trailing = join(dir, 'trailing.json');
  writeFileSync(trailing, '{\n  "name": "x",\n}\n');
  assert.equal(lth(['run', trailing]).stderr, `lth: error: ${trailing}: invalid JSON at line 2, column 14: a trailing comma before '}': remove it\n`);
  const empty = join(dir, 'empty.json');
  writeFileSync(empty, ' \n');
  assert.equal(
    lth(['run', empty]).stderr,
    `lth: error: spec ${empty} is empty: a spec is a JSON object with at least a "name", e.g. experiments/quickstart.json\n`,
  );
  const bom = join(dir, 'bom.json');
  writeFileSync(bom, '\ufeff' + JSON.stringify({ ...tinySpec(), name: 'bom', trials: 0 }));
  const r = lth(['run', bom, '--db', join(dir, 'bom.db')]);
  assert.doesNotMatch(r.stderr, /invalid JSON/);
  assert.match(r.stderr, /trials/); // parsed, then validated: 0 trials is refused by the schema
});

test('malformed JSON spec: one line with the line and column of the error, whatever V8 says', () => {
  const dir = tmp();
  // on Node 20 an unexpected token (') comes without a position, a missing comma with one
  const cases: [string[], string, string][] = [
    [['{', '  "name": "x",', '  "trials": \'two\'', '}'], "'", "Unexpected token '''"],
    [['{', '  "name": "x"', '  "trials": 2', '}'], '"trials"', "Expected ',' or '}' after property value"],
  ];
  for (const [lines, at, reason] of cases) {
    const f = join(dir, 'bad.json');
    writeFileSync(f, lines.join('\n'));
    const line = lines.findIndex((l) => l.includes(at));
    const r = lth(['run', f]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `lth: error: ${f}: invalid JSON at line ${line + 1}, column ${lines[line]!.indexOf(at) + 1}: ${reason}\n`);
  }
});

/** Runs the CLI and SIGKILLs it when `when(line)` first matches a progress line. */
function runAndKill(args: string[], when: (line: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let killed = false;
    createInterface({ input: child.stderr! }).on('line', (l) => {
      if (!killed && when(l)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', () => resolve());
  });
}

/** The spec of the SIGKILL and SIGINT tests: 2 trials × 2 chains × 3 levels, 16 rows in the levels view. */
const STOP_SPEC = tinySpec({ trials: 2, pruning: { levels: 3 }, training: { iterations: '150it', evalEvery: '50it', batchSize: 30 } });
let uninterrupted: Promise<Record<string, unknown>[]> | undefined;
/** The levels of STOP_SPEC run without interruption: run once, in the background, for both tests. */
function reference(): Promise<Record<string, unknown>[]> {
  uninterrupted ??= (async () => {
    const dir = tmp();
    const ref = join(dir, 'ref.db');
    const r = await lthAsync(['run', specFile(dir, STOP_SPEC), '--db', ref, '--backend', 'wasm', '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    return levelRows(ref);
  })();
  return uninterrupted;
}

test('SIGKILL in the middle of a level, then re-run: same rows as an uninterrupted run, none duplicated', async () => {
  const dir = tmp();
  const spec = specFile(dir, STOP_SPEC);
  const ref = reference();
  const db = join(dir, 'killed.db');
  // Kill twice: once right after the dense level of trial 1 committed (its first chain level is in flight),
  // once after a later level; each time the next level is mid-training.
  await runAndKill(['run', spec, '--db', db, '--backend', 'wasm'], (l) => /dense t1 level 0/.test(l));
  const partial = levelRows(db).length;
  assert.ok(partial > 0 && partial < (await ref).length, `partial rows: ${partial}`);
  await runAndKill(['run', spec, '--db', db, '--backend', 'wasm'], (l) => /level 2:/.test(l));
  const r = lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(levelRows(db), await ref);
  const d = new Database(db, { readonly: true });
  const dup = d
    .prepare('SELECT count(*) n FROM (SELECT 1 FROM results GROUP BY experiment_id, strategy, branch, replicate, trial, level HAVING count(*) > 1)')
    .get() as { n: number };
  d.close();
  assert.equal(dup.n, 0);
});

test('Ctrl-C (SIGINT) stops cleanly with exit 130; the next run completes the experiment', async () => {
  const dir = tmp();
  const spec = specFile(dir, STOP_SPEC);
  const db = join(dir, 'int.db');
  let sent = false;
  const { status, stdout } = await lthAsync(['run', spec, '--db', db, '--backend', 'wasm'], {
    onLine: (l, child) => {
      if (!sent && /level 1:/.test(l)) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  assert.equal(status, 130);
  assert.match(stdout, /tiny: stopped; \d level\(s\) trained/);
  // trial 0's dense level (under both chains) and its first chain level at least; not trial 0 whole
  const stored = levelRows(db).length;
  assert.ok(stored >= 3 && stored < 8, `stored ${stored}`);
  assert.equal(lth(['run', spec, '--db', db, '--backend', 'wasm', '--quiet']).status, 0);
  assert.deepEqual(levelRows(db), await reference());
});
