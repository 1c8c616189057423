import { add, batchNormalization, conv2d, globalAveragePooling2d, relu, type Node } from './layers/index.js';
import { CIFAR_RECIPE } from './recipes.js';
import type { ModelDef } from './registry.js';

/**
 * He et al. (2016, §4.2)'s CIFAR-10 ResNets, as OpenLTH builds them (models/cifar_resnet.py,
 * `cifar_resnet_N[_W]`): depth N = 6n + 2 — a 3×3 conv of W filters (no bias) + BatchNorm +
 * ReLU, three stages of n basic blocks with W, 2W, 4W filters (W = 16 by default,
 * `model.width`), global average pooling and the output layer. A block is conv3×3 → BN → ReLU
 * → conv3×3 → BN, plus the shortcut, then ReLU. The first block of stages 2 and 3 halves the
 * image with stride 2 in its first conv, and its shortcut is OpenLTH's "projection": a 1×1
 * stride-2 conv (no bias) + BN (He et al.'s option B); every other shortcut is the identity.
 * Layer names: `stem`, `stem_bn`, `stem_relu`, then per block i (1 … 3n) `b{i}_conv1`,
 * `b{i}_bn1`, `b{i}_relu1`, `b{i}_conv2`, `b{i}_bn2`, `b{i}_down`, `b{i}_down_bn` (projection blocks),
 * `b{i}_add`, `b{i}_out`.
 * Padding is tfjs's 'same': a stride-2 3×3 conv pads one row/column at the bottom/right where
 * PyTorch pads one on each side (docs/DESIGN.md#deep-nets).
 * @param depth 6n + 2 (20, 32, 44, 56, 110)
 */
export function resnet(depth: number): ModelDef {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(n) || n < 1) throw new Error(`a CIFAR ResNet's depth is 6n + 2 (20, 32, 44, 56, 110), not ${depth}`);
  return {
    help: `ResNet-${depth} for CIFAR-10 (He et al. 2016; OpenLTH cifar_resnet_${depth}; width = filters of the first stage, default 16)`,
    width: 16,
    recipe: CIFAR_RECIPE,
    layers: (w: number): Node[] => {
      const out: Node[] = [conv2d(w, { name: 'stem', useBias: false }), batchNormalization({ name: 'stem_bn' }), relu({ name: 'stem_relu' })];
      let input = 'stem_relu';
      let i = 0;
      for (const [stage, filters] of [w, 2 * w, 4 * w].entries()) {
        for (let b = 0; b < n; b++) {
          const p = `b${++i}`;
          const down = stage > 0 && b === 0;
          out.push(
            conv2d(filters, { name: `${p}_conv1`, strides: down ? 2 : 1, useBias: false, inputs: [input] }),
            batchNormalization({ name: `${p}_bn1` }),
            relu({ name: `${p}_relu1` }),
            conv2d(filters, { name: `${p}_conv2`, useBias: false }),
            batchNormalization({ name: `${p}_bn2` }),
            ...(down
              ? [
                  conv2d(filters, { name: `${p}_down`, kernelSize: 1, strides: 2, useBias: false, inputs: [input] }),
                  batchNormalization({ name: `${p}_down_bn` }),
                ]
              : []),
            add([`${p}_bn2`, down ? `${p}_down_bn` : input], { name: `${p}_add` }),
            relu({ name: `${p}_out` }),
          );
          input = `${p}_out`;
        }
      }
      return [...out, globalAveragePooling2d({ name: 'gap' })];
    },
    ...(depth === 20 ? { bench: 'full' as const } : {}),
  };
}
