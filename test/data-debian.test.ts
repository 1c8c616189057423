import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { listDatasets, loadDataset } from '../src/data/index.js';
import { dataSchema } from '../src/spec/schema.js';
import { tempDir } from './helpers/data-files.js';

const DEBIAN = '/usr/share/datasets/fashion-mnist';
const skip = existsSync(DEBIAN) ? false : `${DEBIAN} absent (apt-get install dataset-fashion-mnist)`;

describe('Fashion-MNIST from the Debian package', { skip }, () => {
  it('loads offline with an empty cache; its recompressed .gz files verify by content', async (t) => {
    const t0 = performance.now();
    const d = await loadDataset(dataSchema.parse({ dataset: 'fashion-mnist' }), 0, { offline: true, cacheDir: tempDir('cache') });
    const ms = performance.now() - t0;
    assert.deepEqual(d.inputShape, [28, 28, 1]); // image shape kept; MLPs flatten it themselves
    assert.deepEqual([d.train.n, d.val.n, d.test.n], [55000, 5000, 10000]);
    assert.equal(d.source, `${DEBIAN} (system folder)`);
    assert.deepEqual([...d.train.y.subarray(0, 6)], [9, 0, 0, 3, 0, 2]); // the published first labels
    let s = 0;
    let s2 = 0;
    for (const v of d.train.x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / d.train.x.length;
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(s2 / d.train.x.length - mean * mean) - 1) < 0.01);
    t.diagnostic(`full Fashion-MNIST load: ${ms.toFixed(0)} ms`);
  });

  it('listDatasets reports the Debian copies as verified', async () => {
    const f = (await listDatasets({ cacheDir: tempDir('cache') })).find((d) => d.name === 'fashion-mnist')!;
    assert.equal(f.ready, true);
    for (const file of f.files)
      assert.deepEqual(
        file.copies.map((c) => [c.origin, c.verified]),
        [['system', true]],
      );
  });
});
