import { idxFiles } from '../idx.js';
import { publishedDataset } from '../published.js';

const MNIST_FILES = [
  {
    name: 'train-images-idx3-ubyte.gz',
    size: 9912422,
    md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    raw: { size: 47040016, sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db' },
  },
  {
    name: 'train-labels-idx1-ubyte.gz',
    size: 28881,
    md5: 'd53e105ee54ea40749a09fcbcd1e9432',
    sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    raw: { size: 60008, sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5' },
  },
  {
    name: 't10k-images-idx3-ubyte.gz',
    size: 1648877,
    md5: '9fb629c4189551a2d022fa330f9573f3',
    sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    raw: { size: 7840016, sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7' },
  },
  {
    name: 't10k-labels-idx1-ubyte.gz',
    size: 4542,
    md5: 'ec29112dd5afa0611ce80d1b7f02629c',
    sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
    raw: { size: 10008, sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2' },
  },
];

export const mnist = publishedDataset({
  name: 'mnist',
  help: 'MNIST handwritten digits (LeCun et al. 1998), 28×28×1, 10 classes, 60k train / 10k test',
  shape: [28, 28, 1],
  size: { classes: 10, train: 60000, test: 10000 },
  source: {
    files: MNIST_FILES,
    // yann.lecun.com often answers 403 nowadays; the PyTorch mirror serves the same bytes
    mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
    systemDirs: [],
    subdirs: ['mnist', 'MNIST/raw'],
  },
  normalization: { mean: [0.1307], std: [0.3081] },
  parse: idxFiles,
});
