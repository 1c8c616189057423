import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDataset, type DataOptions, type DataSource } from '../src/data/index.js';
import { dataSchema } from '../src/spec/schema.js';
import { UserError } from '../src/util/errors.js';
import { mnistLike, tempDir, writeMnistLike } from './helpers/data-files.js';

/**
 * A local server with two "mirrors": /good/ serves the fixture files, /bad/ serves them with one
 * byte flipped, /empty/ answers 404. Every request is recorded.
 */
const files = mnistLike(12, 5);
const { source, gzipped } = writeMnistLike(tempDir('published'), files);
let server: Server;
let base = '';
const requests: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const [, mirror, name] = (req.url ?? '').split('/');
    const body = gzipped[name];
    if (!body || mirror === 'empty') return void res.writeHead(404).end('not found');
    const out = Buffer.from(body);
    if (mirror === 'bad') out[out.length - 10] ^= 0xff;
    res.writeHead(200, { 'content-length': out.length }).end(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const spec = dataSchema.parse({ dataset: 'mnist', validation: 2, normalize: 'none' });
const opts = (mirrors: string[], o: DataOptions = {}): DataOptions & { cacheDir: string } => ({
  cacheDir: tempDir('cache'),
  files: { mnist: { ...source, mirrors: [] } satisfies DataSource },
  mirrors: mirrors.map((m) => `${base}/${m}/`),
  ...o,
});

describe('downloads', () => {
  it('fetches every file, verifies it and stores it in the cache; the next load needs no network', async () => {
    const log: string[] = [];
    const o = opts(['good'], { log: (m) => log.push(m) });
    const d = await loadDataset(spec, 0, o);
    assert.equal(d.test.n, 5);
    const cached = readdirSync(join(o.cacheDir, 'mnist')).sort();
    assert.deepEqual(cached, Object.keys(gzipped).sort(), 'only the files, no temp files left');
    assert.deepEqual(new Uint8Array(readFileSync(join(o.cacheDir, 'mnist', 't10k-images-idx3-ubyte.gz'))), gzipped['t10k-images-idx3-ubyte.gz']);
    assert.ok(
      log.some((m) => /downloaded train-images-idx3-ubyte\.gz .*checksum verified/.test(m)),
      log.join('\n'),
    );
    const again = await loadDataset(spec, 0, { ...o, offline: true });
    assert.deepEqual(again.train.x, d.train.x);
    assert.match(again.source, /\(cache\)/);
  });

  it('a corrupted download is rejected, deleted, and reported', async () => {
    const o = opts(['bad']);
    await assert.rejects(loadDataset(spec, 0, o), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /mnist: missing train-images-idx3-ubyte\.gz.*download failed: .*\/bad\/train-images-idx3-ubyte\.gz: corrupt download \(sha256 mismatch\), deleted/,
      );
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    const dir = join(o.cacheDir, 'mnist');
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], 'nothing left in the cache');
  });

  it('falls back to the next mirror after a 404 or a corrupt copy', async () => {
    requests.length = 0;
    const o = opts(['empty', 'bad', 'good']);
    const d = await loadDataset(spec, 0, o);
    assert.equal(d.train.n, 10);
    assert.deepEqual(requests.slice(0, 3), ['/empty/train-images-idx3-ubyte.gz', '/bad/train-images-idx3-ubyte.gz', '/good/train-images-idx3-ubyte.gz']);
    assert.equal(readdirSync(join(o.cacheDir, 'mnist')).length, 4);
  });

  it('an unreachable mirror is reported, with the missing files and where to put them', async () => {
    // a port nothing listens on: bind one, then close it
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const o = opts([]);
    o.mirrors = [`http://127.0.0.1:${port}/`];
    await assert.rejects(
      loadDataset(spec, 0, o),
      new RegExp(
        `mnist: missing train-images-idx3-ubyte\\.gz, train-labels-idx1-ubyte\\.gz, t10k-images-idx3-ubyte\\.gz, t10k-labels-idx1-ubyte\\.gz ` +
          `\\(download failed: http://127\\.0\\.0\\.1:${port}/train-images-idx3-ubyte\\.gz: ECONNREFUSED\\); put the files in a folder given with --data-dir or in `,
      ),
    );
  });

  it('offline: one error line naming the missing files, --data-dir and the cache path; no request made', async () => {
    requests.length = 0;
    const o = opts(['good'], { offline: true });
    await assert.rejects(loadDataset(spec, 0, o), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.equal(
        e.message,
        `mnist: missing train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (offline); put the files in a folder given with --data-dir or in ${join(o.cacheDir, 'mnist')}`,
      );
      return true;
    });
    assert.equal(requests.length, 0);
  });

  it('offline Fashion-MNIST also suggests the Debian package', async () => {
    const o = opts([], {
      offline: true,
      files: { 'fashion-mnist': { ...source, systemDirs: [tempDir('no-debian')], installHint: 'apt-get install dataset-fashion-mnist' } },
    });
    await assert.rejects(
      loadDataset(dataSchema.parse({ ...spec, dataset: 'fashion-mnist' }), 0, o),
      /fashion-mnist: missing .*t10k-labels-idx1-ubyte\.gz \(offline\); put the files in .*, or run: apt-get install dataset-fashion-mnist$/,
    );
  });

  it('the real table: offline CIFAR-10 names the archive and its extracted folder', async () => {
    await assert.rejects(
      loadDataset(dataSchema.parse({ dataset: 'cifar10' }), 0, { cacheDir: tempDir('cache'), offline: true }),
      /cifar10: missing cifar-10-binary\.tar\.gz \(or its extracted folder cifar-10-batches-bin\/\) \(offline\)/,
    );
  });
});
