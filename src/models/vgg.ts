import { batchNormalization, conv2d, globalAveragePooling2d, maxPooling2d, relu, type Node } from './layers/index.js';
import { CIFAR_RECIPE } from './recipes.js';
import type { ModelDef } from './registry.js';

/** OpenLTH's cifar_vgg plans in units of the first stage's width: a number = that many times W filters, 'M' = a 2×2 max-pool. */
const PLANS = {
  11: [1, 'M', 2, 'M', 4, 4, 'M', 8, 8, 'M', 8, 8],
  13: [1, 1, 'M', 2, 2, 'M', 4, 4, 'M', 8, 8, 'M', 8, 8],
  16: [1, 1, 'M', 2, 2, 'M', 4, 4, 4, 'M', 8, 8, 8, 'M', 8, 8, 8],
  19: [1, 1, 'M', 2, 2, 'M', 4, 4, 4, 4, 'M', 8, 8, 8, 8, 'M', 8, 8, 8, 8],
} as const satisfies Record<number, readonly (number | 'M')[]>;

/**
 * VGG-11/13/16/19 for CIFAR-10 with BatchNorm (Simonyan & Zisserman 2015's configurations A, B,
 * D, E without their FC layers, as OpenLTH's models/cifar_vgg.py `cifar_vgg_N`): every conv is
 * 3×3 'same' with bias, then BatchNorm, then ReLU; four 2×2 max-pools; W = 64 filters in the
 * first stage (`model.width`), 2W, 4W, 8W after; then average pooling and the output layer.
 * OpenLTH averages the 2×2 map a 32×32 image leaves with AvgPool2d(2); lth pools globally,
 * the same at 32×32, and so also takes 28×28 images (4 pools leave 1×1) and any size ≥ 16×16.
 * Layers are named conv1…, bn1…, relu1…, pool1…, gap.
 */
export function vgg(n: keyof typeof PLANS): ModelDef {
  return {
    help: `VGG-${n} with BatchNorm for CIFAR-10 (Simonyan & Zisserman 2015; OpenLTH cifar_vgg_${n}; width = filters of the first stage, default 64)`,
    width: 64,
    recipe: { ...CIFAR_RECIPE, pruning: { ...CIFAR_RECIPE.pruning, exclude: ['output'] } },
    layers: (w: number): Node[] => [
      ...PLANS[n].flatMap((x): Node[] => (x === 'M' ? [maxPooling2d()] : [conv2d(x * w), batchNormalization(), relu()])),
      globalAveragePooling2d({ name: 'gap' }),
    ],
    ...(n === 16 ? { bench: 'full' as const } : {}),
  };
}
