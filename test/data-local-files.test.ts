import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listDatasets, loadDataset, type DataOptions, type DataSource } from '../src/data/index.js';
import { dataSchema } from '../src/spec/schema.js';
import { UserError } from '../src/util/errors.js';
import { CIFAR_MEMBERS, cifarPixel, gz, mnistLike, pixel, tempDir, writeCifarLike, writeMnistLike } from './helpers/data-files.js';

const none = (dataset: string, extra: object = {}) => dataSchema.parse({ dataset, normalize: 'none', validation: 2, ...extra });
const bytes = (x: Float32Array) => Array.from(x, (v) => Math.round(v * 255));
/** options that never reach the real cache, the Debian folder or the network */
const isolated = (files: Partial<Record<'mnist' | 'fashion-mnist' | 'cifar10', DataSource>>, o: DataOptions = {}): DataOptions => ({
  cacheDir: tempDir('cache'),
  offline: true,
  files,
  ...o,
});

describe('IDX data sets from --data-dir', () => {
  it('loads gzipped files, checks them, keeps the image shape [h, w, 1]', async () => {
    const dir = tempDir('idx');
    const { source } = writeMnistLike(dir, mnistLike(12, 5));
    const d = await loadDataset(none('mnist'), 0, isolated({ mnist: source }, { dataDir: dir }));
    assert.deepEqual(d.inputShape, [4, 4, 1]);
    assert.deepEqual([d.train.n, d.val.n, d.test.n], [10, 2, 5]);
    assert.deepEqual(
      bytes(d.train.x.subarray(16, 32)),
      Array.from({ length: 16 }, (_, i) => pixel(1, i)),
    );
    assert.deepEqual(
      bytes(d.val.x.subarray(0, 16)),
      Array.from({ length: 16 }, (_, i) => pixel(10, i)),
    );
    assert.deepEqual([...d.test.y], [0, 1, 2, 3, 4]);
    assert.match(d.source, new RegExp(`${dir} \\(--data-dir\\)`));
  });

  it('accepts already gunzipped and recompressed copies (content digest), and the torchvision layout', async () => {
    const files = mnistLike(12, 5);
    const { source } = writeMnistLike(tempDir('ref'), files);
    const dir = tempDir('idx');
    const raw = join(dir, 'MNIST', 'raw');
    mkdirSync(raw, { recursive: true });
    writeFileSync(join(raw, 'train-images-idx3-ubyte'), files['train-images-idx3-ubyte']);
    writeFileSync(join(raw, 'train-labels-idx1-ubyte.gz'), gz(files['train-labels-idx1-ubyte'], 1));
    writeFileSync(join(raw, 't10k-images-idx3-ubyte.gz'), gz(files['t10k-images-idx3-ubyte'], 1));
    writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), files['t10k-labels-idx1-ubyte']);
    const d = await loadDataset(none('mnist'), 0, isolated({ mnist: { ...source, subdirs: ['MNIST/raw'] } }, { dataDir: dir }));
    assert.equal(d.test.n, 5);
  });

  it('a corrupt or truncated local file is a UserError naming it', async () => {
    const dir = tempDir('idx');
    const { source, gzipped } = writeMnistLike(dir, mnistLike(12, 5));
    const bad = join(dir, 't10k-images-idx3-ubyte.gz');
    const flipped = gz(mnistLike(12, 5)['t10k-images-idx3-ubyte'].map((b, i) => (i === 40 ? b ^ 1 : b)));
    writeFileSync(bad, flipped);
    const opts = isolated({ mnist: source }, { dataDir: dir });
    await assert.rejects(
      loadDataset(none('mnist'), 0, opts),
      (e: Error) => e instanceof UserError && e.message.includes(bad) && /sha256 differs/.test(e.message) && !e.message.includes('\n'),
    );
    writeFileSync(bad, gzipped['t10k-images-idx3-ubyte.gz'].subarray(0, 30));
    await assert.rejects(loadDataset(none('mnist'), 0, opts), (e: Error) => e instanceof UserError && e.message.includes(bad));
    // with no digests to check against, the IDX parser still catches truncation
    writeFileSync(bad, gz(mnistLike(12, 5)['t10k-images-idx3-ubyte'].subarray(0, 50)));
    const unchecked = { ...source, files: source.files.map((f) => ({ name: f.name })) };
    await assert.rejects(
      loadDataset(none('mnist'), 0, isolated({ mnist: unchecked }, { dataDir: dir })),
      (e: Error) => e instanceof UserError && e.message.includes(bad) && /truncated/.test(e.message),
    );
  });
  it('a --data-dir that does not exist is an error, not a silent download', async () => {
    await assert.rejects(
      loadDataset(none('mnist'), 0, { dataDir: '/nonexistent/lth-data', cacheDir: tempDir('cache') }),
      /--data-dir \/nonexistent\/lth-data does not exist/,
    );
  });
});

describe('CIFAR-10 binary', () => {
  const check = (d: Awaited<ReturnType<typeof loadDataset>>, perBatch: number) => {
    assert.deepEqual(d.inputShape, [32, 32, 3]);
    assert.equal(d.train.n + d.val.n, 5 * perBatch);
    assert.equal(d.test.n, perBatch);
    // NHWC: value at (k, p, c) = channel c's plane at pixel p of record k, exactly
    const k = 3;
    const img = bytes(d.train.x.subarray(k * 3072, (k + 1) * 3072));
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) assert.equal(img[p * 3 + c], cifarPixel(k, c, p), `pixel ${p} channel ${c}`);
    assert.deepEqual([...d.train.y], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual([...d.val.y], [8, 9]);
    assert.deepEqual(
      bytes(d.test.x.subarray(3072, 3075)),
      [0, 1, 2].map((c) => cifarPixel(1001, c, 0)),
    );
  };

  it('reads the tar.gz (node-tar) and reorders CHW records to NHWC', async () => {
    const root = tempDir('cifar');
    const { source } = await writeCifarLike(root);
    rmSync(join(root, 'cifar-10-batches-bin'), { recursive: true });
    const d = await loadDataset(none('cifar10'), 0, isolated({ cifar10: source }, { dataDir: root }));
    check(d, 2);
    assert.match(d.source, /cifar-10-binary\.tar\.gz/);
  });

  it('reads the extracted cifar-10-batches-bin/ folder, checking each batch', async () => {
    const root = tempDir('cifar');
    const { source } = await writeCifarLike(root);
    rmSync(join(root, 'cifar-10-binary.tar.gz'));
    check(await loadDataset(none('cifar10'), 0, isolated({ cifar10: source }, { dataDir: root })), 2);
    const batch = join(root, 'cifar-10-batches-bin', 'data_batch_2.bin');
    writeFileSync(batch, new Uint8Array(3073));
    await assert.rejects(
      loadDataset(none('cifar10'), 0, isolated({ cifar10: source }, { dataDir: root })),
      (e: Error) => e instanceof UserError && e.message.includes(batch),
    );
  });

  it("'dataset' normalization uses CIFAR-10's per-channel statistics", async () => {
    const root = tempDir('cifar');
    const { source } = await writeCifarLike(root);
    const d = await loadDataset(dataSchema.parse({ dataset: 'cifar10', validation: 2 }), 0, isolated({ cifar10: source }, { dataDir: root }));
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.2435, 0.2616];
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(d.train.x[c] - (cifarPixel(0, c, 0) / 255 - mean[c]) / std[c]) < 1e-5);
  });
});

describe('listDatasets', () => {
  it('reports each copy, where it is and whether it verifies', async () => {
    const dir = tempDir('list');
    const cache = tempDir('cache');
    const { source } = writeMnistLike(dir, mnistLike(12, 5));
    mkdirSync(join(cache, 'mnist'));
    copyFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), join(cache, 'mnist', 'train-labels-idx1-ubyte.gz'));
    writeFileSync(join(cache, 'mnist', 't10k-labels-idx1-ubyte.gz'), gz(Uint8Array.of(1, 2, 3)));
    const root = tempDir('cifar');
    const cifar = await writeCifarLike(root);
    const empty: DataSource = { files: [], mirrors: [], systemDirs: [], subdirs: [] };
    const all = await listDatasets({
      dataDir: dir,
      cacheDir: cache,
      files: { mnist: source, 'fashion-mnist': { ...source, subdirs: ['nothing-here'] }, cifar10: cifar.source },
    });
    const mnist = all.find((d) => d.name === 'mnist')!;
    assert.equal(mnist.ready, true);
    assert.equal(mnist.cacheDir, join(cache, 'mnist'));
    const labels = mnist.files.find((f) => f.name === 'train-labels-idx1-ubyte.gz')!;
    assert.deepEqual(
      labels.copies.map((c) => [c.origin, c.verified]),
      [
        ['data-dir', true],
        ['cache', true],
      ],
    );
    const bad = mnist.files.find((f) => f.name === 't10k-labels-idx1-ubyte.gz')!.copies[1];
    assert.equal(bad.verified, false);
    assert.match(bad.problem!, /corrupt data file .*t10k-labels/);
    const c = (await listDatasets({ dataDir: root, cacheDir: cache, files: { mnist: empty, 'fashion-mnist': empty, cifar10: cifar.source } })).find(
      (d) => d.name === 'cifar10',
    )!;
    assert.equal(c.ready, true);
    // the extracted folder is found before the archive beside it (it is read without unpacking)
    assert.deepEqual(
      c.files[0].copies.map((x) => [x.kind, x.verified]),
      [['folder', true]],
    );
    rmSync(join(root, 'cifar-10-batches-bin', CIFAR_MEMBERS[0]));
    const c2 = (
      await listDatasets({ dataDir: root, cacheDir: cache, verify: false, files: { mnist: empty, 'fashion-mnist': empty, cifar10: cifar.source } })
    ).find((d) => d.name === 'cifar10')!;
    assert.deepEqual(
      c2.files[0].copies.map((x) => [x.kind, x.verified]),
      [['file', null]],
    );
    assert.ok(readdirSync(root).includes('cifar-10-binary.tar.gz'));
  });
});
