import { cifarFiles } from '../cifar.js';
import { publishedDataset } from '../published.js';

/* CIFAR-10 members: md5 of the extracted .bin files, 30 730 000 bytes each (10 000 × 3073). */
const CIFAR_BATCH = 30730000;
const CIFAR_FILES = [
  {
    name: 'cifar-10-binary.tar.gz',
    size: 170052171,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
    folder: 'cifar-10-batches-bin',
    members: {
      'data_batch_1.bin': { size: CIFAR_BATCH, md5: '5dd7e06a14cb22eb9f671a540d1b7c25' },
      'data_batch_2.bin': { size: CIFAR_BATCH, md5: '5ea93a67294ea407fff1d09f752e9692' },
      'data_batch_3.bin': { size: CIFAR_BATCH, md5: '942cd6a4bcdd0dd3c604fbe906cb4421' },
      'data_batch_4.bin': { size: CIFAR_BATCH, md5: 'ae636b3ba5c66a11e91e8cb52e771fcb' },
      'data_batch_5.bin': { size: CIFAR_BATCH, md5: '53f37980c15c3d472c316c40844f3f0d' },
      'test_batch.bin': { size: CIFAR_BATCH, md5: '803d5f7f4d78ea53de84dbe85f74fb6d' },
    },
  },
];

/**
 * Its std is the per-pixel population std (0.2470, 0.2435, 0.2616), not the often copied
 * (0.2023, 0.1994, 0.2010), which is a mean of per-image stds.
 */
export const cifar10 = publishedDataset({
  name: 'cifar10',
  help: 'CIFAR-10 colour images (Krizhevsky 2009), 32×32×3, 10 classes, 50k train / 10k test',
  shape: [32, 32, 3],
  size: { classes: 10, train: 50000, test: 10000 },
  source: {
    files: CIFAR_FILES,
    mirrors: ['https://www.cs.toronto.edu/~kriz/'],
    systemDirs: [],
    subdirs: ['cifar10', 'cifar-10'],
  },
  normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  parse: cifarFiles,
});
