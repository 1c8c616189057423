import type { DataSource, FileTable } from './types.js';

/**
 * Every file lth reads, with the publisher's size and digests.
 *
 * - `md5` of the distributed files: the published values (Zalando's README, the CIFAR page,
 *   torchvision's resource lists). `sha256`: as recorded by TensorFlow Datasets and others.
 * - `raw` = digest of the gunzipped content. Local copies are accepted when either matches, because
 *   Debian's dataset-fashion-mnist recompressed the .gz files (different gzip bytes, identical
 *   content: its gunzipped sha256 equals the published content digest) and users may have gunzipped.
 * - CIFAR-10 members: md5 of the extracted .bin files, 30 730 000 bytes each (10 000 × 3073).
 */
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

const FASHION_FILES = [
  {
    name: 'train-images-idx3-ubyte.gz',
    size: 26421880,
    md5: '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    sha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
    raw: { size: 47040016, sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888' },
  },
  {
    name: 'train-labels-idx1-ubyte.gz',
    size: 29515,
    md5: '25c81989df183df01b3e8a0aad5dffbe',
    sha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
    raw: { size: 60008, sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9' },
  },
  {
    name: 't10k-images-idx3-ubyte.gz',
    size: 4422102,
    md5: 'bef4ecab320f06d8554ea6380940ec79',
    sha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
    raw: { size: 7840016, sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b' },
  },
  {
    name: 't10k-labels-idx1-ubyte.gz',
    size: 5148,
    md5: 'bb300cfdad3c16e7a12a480ee83cd310',
    sha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
    raw: { size: 10008, sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34' },
  },
];

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
 * Every data set lth knows, by the name a spec gives in `data.dataset`. The spec's enum, `lth run
 * --help` and the README table derive from this object; file-backed entries carry their files
 * (`source`) and usual statistics (`normalization`), and `shape` is the per-example shape lth
 * hands to models (images keep [h, w, c]; MLPs flatten it themselves).
 * Adding a file-backed data set = one entry here + its parser in load.ts.
 */
export interface DatasetDef {
  /** one line for --help and the README */
  readonly help: string;
  /** per example; absent = set by the spec (synthetic) */
  readonly shape?: readonly number[];
  readonly source?: DataSource;
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** the published sizes (absent = set by the spec); the loaders check the files against them */
  readonly size?: { readonly classes: number; readonly train: number; readonly test: number };
}

/*
 * Normalization: the usual per-channel statistics of the training images in [0, 1].
 * CIFAR-10's std is the per-pixel population std (0.2470, 0.2435, 0.2616), not the often copied
 * (0.2023, 0.1994, 0.2010), which is a mean of per-image stds. Fashion-MNIST's were checked
 * against the Debian files (0.28604, 0.35302).
 */
export const DATASETS = {
  mnist: {
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
  },
  'fashion-mnist': {
    help: 'Fashion-MNIST clothing images (Xiao et al. 2017), 28×28×1, 10 classes, 60k train / 10k test',
    shape: [28, 28, 1],
    size: { classes: 10, train: 60000, test: 10000 },
    source: {
      files: FASHION_FILES,
      mirrors: [
        'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
        'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
      ],
      systemDirs: ['/usr/share/datasets/fashion-mnist'],
      subdirs: ['fashion-mnist', 'FashionMNIST/raw'],
      installHint: 'apt-get install dataset-fashion-mnist',
    },
    normalization: { mean: [0.286], std: [0.353] },
  },
  cifar10: {
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
  },
  synthetic: {
    help: 'generated from the seed (data.synthetic): Gaussian classes in `features` dimensions, or images of `shape` [h, w, c]',
  },
} as const satisfies Record<string, DatasetDef>;

export type DatasetName = keyof typeof DATASETS;
export const DATASET_NAMES = Object.keys(DATASETS) as [DatasetName, ...DatasetName[]];
/** The data sets read from files (every one but synthetic). */
export type FileDataset = { [K in DatasetName]: (typeof DATASETS)[K] extends { source: DataSource } ? K : never }[DatasetName];

const fileEntries = (Object.entries(DATASETS) as [string, DatasetDef][]).filter(([, d]) => d.source) as [FileDataset, Required<DatasetDef>][];

export const FILE_TABLE = Object.fromEntries(fileEntries.map(([n, d]) => [n, d.source])) as FileTable;

export const FILE_DATASETS = fileEntries.map(([n]) => n);

export function sourceFor(name: FileDataset, override?: Partial<FileTable>): DataSource {
  return override?.[name] ?? FILE_TABLE[name];
}

/** The usual per-channel statistics of each file-backed data set (see DATASETS). */
export const NORMALIZATION = Object.fromEntries(fileEntries.map(([n, d]) => [n, d.normalization])) as Record<
  FileDataset,
  { readonly mean: readonly number[]; readonly std: readonly number[] }
>;

/**
 * The per-example shape a data spec yields, known before any file is read (for checking the
 * model against it early, see models/registry.ts checkInput): the registry's shape, or for
 * synthetic data `synthetic.shape` ?? [synthetic.features].
 */
export function inputShapeOf(spec: { dataset: DatasetName; synthetic: { features: number; shape?: readonly number[] } }): readonly number[] {
  const d: DatasetDef = DATASETS[spec.dataset];
  return d.shape ?? spec.synthetic.shape ?? [spec.synthetic.features];
}
