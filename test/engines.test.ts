import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * README.md promises a Node version; package.json's `engines` states it; every package that
 * package-lock.json installs must admit it, or `npm ci` on that Node prints EBADENGINE (issue:
 * cookie@2 needed Node ≥ 22 under fastify, on a README that said Node ≥ 20).
 */
const root = join(import.meta.dirname, '..', '..');
const json = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>;

type Version = [number, number, number];

/** Whether version v lies in an npm range (the forms npm's `engines` use: ||, space-joined
 *  comparators, <, <=, >, >=, =, ^, ~, partial and x-ranges such as 20, 20.x, 10.*, and *). */
function satisfies(v: Version, range: string): boolean {
  const cmp = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  return range.split('||').some((set) => {
    const tokens = set
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    return tokens.every((t) => {
      const m = /^(>=|<=|>|<|=|\^|~)?v?(\*|x|\d+)(?:\.(\*|x|\d+))?(?:\.(\*|x|\d+))?$/.exec(t);
      if (!m) throw new Error(`unparsed engines range "${range}"`);
      const op = m[1] ?? '=';
      const parts = [m[2], m[3], m[4]];
      const given = parts.findIndex((p) => p === undefined || p === '*' || p === 'x');
      const n = given === -1 ? 3 : given; // how many parts are numbers
      const lo = parts.map((p, i) => (i < n ? Number(p) : 0));
      // the first version past the partial range: 20 → 21.0.0, 20.19 → 20.20.0; a full version bumps nothing
      const bump = (k: number) => lo.map((x, i) => (i < k ? x : i === k ? x + 1 : 0));
      const hi = n === 0 ? [Infinity, 0, 0] : n === 3 ? null : bump(n - 1);
      switch (op) {
        case '=':
          return hi ? cmp(v, lo) >= 0 && cmp(v, hi) < 0 : cmp(v, lo) === 0;
        case '>=':
          return cmp(v, lo) >= 0;
        case '>':
          return hi ? cmp(v, hi) >= 0 : cmp(v, lo) > 0;
        case '<':
          return cmp(v, lo) < 0;
        case '<=':
          return hi ? cmp(v, hi) < 0 : cmp(v, lo) <= 0;
        case '^': {
          const k = lo.findIndex((x, i) => x !== 0 || i === n - 1);
          return cmp(v, lo) >= 0 && cmp(v, bump(Math.min(k, Math.max(n - 1, 0)))) < 0;
        }
        default: // ~
          return cmp(v, lo) >= 0 && cmp(v, bump(Math.min(1, Math.max(n - 1, 0)))) < 0;
      }
    });
  });
}

test('satisfies: the range forms npm engines use', () => {
  const cases: [string, string, boolean][] = [
    ['^20.19.0 || >=22.12.0', '20.19.0', true],
    ['^20.19.0 || >=22.12.0', '20.18.9', false],
    ['^20.19.0 || >=22.12.0', '21.0.0', false],
    ['>=22', '20.19.0', false],
    ['>= 10.x', '20.19.0', true],
    ['6.* || 8.* || >= 10.*', '9.1.0', false],
    ['20.x || 22.x', '20.19.0', true],
    ['18 || 20 || >=22', '21.5.0', false],
    ['>=16 || 14 >=14.17', '14.16.0', false],
    ['>=16 || 14 >=14.17', '14.17.1', true],
    ['~20.19.0', '20.20.0', false],
    ['^0.4.1', '0.5.0', false],
    ['*', '20.19.0', true],
  ];
  for (const [range, version, expected] of cases)
    assert.equal(satisfies(version.split('.').map(Number) as Version, range), expected, `${version} in "${range}"`);
  assert.throws(() => satisfies([20, 19, 0], 'node 20'), /unparsed engines range "node 20"/);
});

test('every package in package-lock.json admits the Node version README.md and package.json promise', () => {
  const pkg = json('package.json') as { engines: { node: string } };
  const floor = /^>=(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(pkg.engines.node);
  assert.ok(floor, `package.json engines.node is ">=X[.Y[.Z]]" (got "${pkg.engines.node}")`);
  const min: Version = [Number(floor[1]), Number(floor[2] ?? 0), Number(floor[3] ?? 0)];
  const promise = `Node ≥ ${pkg.engines.node.slice(2)}`;
  assert.ok(readFileSync(join(root, 'README.md'), 'utf8').includes(promise), `README.md promises ${promise}, as package.json does`);
  const lock = json('package-lock.json') as { packages: Record<string, { version?: string; engines?: unknown }> };
  assert.equal((lock.packages[''] as { engines?: { node?: string } }).engines?.node, pkg.engines.node, 'the lock file is current');
  const refused: string[] = [];
  let checked = 0;
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || p.engines === undefined) continue;
    // npm's `engines` may also be a list of "node >=x" strings in old packages
    const list = Array.isArray(p.engines) ? p.engines.map(String) : [];
    const range = Array.isArray(p.engines) ? list.find((s) => s.startsWith('node'))?.replace(/^node\s*/, '') : (p.engines as { node?: string }).node;
    if (range === undefined) continue;
    checked++;
    if (!satisfies(min, range)) refused.push(`${path.replace(/^.*node_modules\//, '')}@${p.version}: node ${range}`);
  }
  assert.ok(checked > 100, `engines ranges were read (${checked})`);
  assert.deepEqual(refused, [], `packages that refuse Node ${min.join('.')}`);
});

test("package.json's allowScripts says true or false for exactly the locked packages that have install scripts", () => {
  const allow = (json('package.json') as { allowScripts: Record<string, unknown> }).allowScripts;
  const lock = json('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = new Set(
    Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      // a local package (`file:native`, the native addon) is named as npm's own `npm install-scripts approve` names it
      .map(([path]) => (path.includes('node_modules/') ? path.replace(/^.*node_modules\//, '') : `file:../${path}`)),
  );
  for (const [name, v] of Object.entries(allow)) assert.equal(typeof v, 'boolean', `allowScripts["${name}"] is true or false, not ${JSON.stringify(v)}`);
  assert.deepEqual(Object.keys(allow).sort(), [...withScripts].sort());
});
