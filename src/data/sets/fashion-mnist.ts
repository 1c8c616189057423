import { idxFiles } from '../idx.js';
import { publishedDataset } from '../published.js';

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

/** Its statistics were checked against the Debian files (0.28604, 0.35302). */
export const fashionMnist = publishedDataset({
  name: 'fashion-mnist',
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
  parse: idxFiles,
});
