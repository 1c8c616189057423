/**
 * Writes Fashion-MNIST, as installed by Debian's dataset-fashion-mnist (or any folder of its four
 * IDX .gz files), in the two file layouts lth reads, for trying "Your own data" offline
 * (README.md) and for checking that the three sources give the same rows:
 *
 *   OUT/npy/x_train.npy, y_train.npy, x_test.npy, y_test.npy   (uint8 [n, 28, 28], uint8 [n])
 *   OUT/images/{train,test}/<k>-<class>/<index>.png           (grey 28×28; folders sort in label order,
 *                                                               file names in the published order)
 *
 *   npx tsc -p . && node dist/scripts/fmnist-to-files.js OUT [FROM=/usr/share/datasets/fashion-mnist]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { npyUint8 } from '../src/data/index.js';

const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const [out, from = '/usr/share/datasets/fashion-mnist'] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node dist/scripts/fmnist-to-files.js OUT [FROM]\n');
  process.exit(2);
}

/** The data bytes of an IDX file (gzipped or not), after its header of 4 + 4·dims bytes. */
function idx(name: string): Uint8Array {
  let b: Buffer;
  try {
    b = readFileSync(join(from, `${name}.gz`));
  } catch {
    process.stderr.write(`${join(from, `${name}.gz`)} not found: apt-get install dataset-fashion-mnist, or give the folder holding it\n`);
    process.exit(2);
  }
  const raw = b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
  return new Uint8Array(raw.subarray(4 + 4 * raw[3]));
}

for (const [split, prefix] of [
  ['train', 'train'],
  ['test', 't10k'],
] as const) {
  const x = idx(`${prefix}-images-idx3-ubyte`);
  const y = idx(`${prefix}-labels-idx1-ubyte`);
  const n = y.length;
  mkdirSync(join(out, 'npy'), { recursive: true });
  writeFileSync(join(out, 'npy', `x_${split}.npy`), npyUint8(x, [n, 28, 28]));
  writeFileSync(join(out, 'npy', `y_${split}.npy`), npyUint8(y, [n]));
  CLASSES.forEach((c, k) => mkdirSync(join(out, 'images', split, `${k}-${c}`), { recursive: true }));
  for (let i = 0; i < n; i++) {
    const png = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    png.data = Buffer.from(x.subarray(i * 784, (i + 1) * 784));
    writeFileSync(
      join(out, 'images', split, `${y[i]}-${CLASSES[y[i]]}`, `${String(i).padStart(5, '0')}.png`),
      PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }),
    );
  }
  process.stdout.write(`${split}: ${n} examples written to ${join(out, 'npy')} and ${join(out, 'images', split)}\n`);
}
