import type { Rng } from '../util/index.js';

/** Training-time augmentations `training.augment` names (the schema's enum reads this list). */
export const AUGMENTATIONS = ['none', 'crop-flip'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** Zero padding of the random crop, in pixels per side (He et al. 2016 §4.2; OpenLTH's CIFAR-10 RandomCrop(32, 4)). */
export const CROP_PADDING = 4;

/**
 * Random crop with CROP_PADDING-pixel zero padding and a horizontal flip with probability ½
 * (He et al. 2016 §4.2, OpenLTH's CIFAR-10 training transform), applied in place to `n`
 * examples of shape [h, w, c] (row-major NHWC, already normalized) in `x`. Per example the
 * draw is: the shift dy, then dx, uniform in −4 … 4, then the flip; output pixel (i, j) is input
 * pixel (i + dy, j' + dx), j' = w − 1 − j when flipped, else j; 0 outside the image. The pad is
 * 0 in normalized units (the data set's mean), where torchvision pads raw black before normalizing.
 * `scratch`: at least h·w·c floats.
 */
export function cropFlip(x: Float32Array, n: number, [h, w, c]: readonly number[], rng: Rng, scratch: Float32Array): void {
  const size = h * w * c;
  const shift = () => Math.floor(rng.uniform() * (2 * CROP_PADDING + 1)) - CROP_PADDING;
  for (let e = 0; e < n; e++) {
    const img = x.subarray(e * size, (e + 1) * size);
    scratch.set(img);
    const dy = shift();
    const dx = shift();
    const flip = rng.uniform() < 0.5;
    for (let i = 0; i < h; i++) {
      const si = i + dy;
      for (let j = 0; j < w; j++) {
        const sj = (flip ? w - 1 - j : j) + dx;
        const o = (i * w + j) * c;
        if (si < 0 || si >= h || sj < 0 || sj >= w) img.fill(0, o, o + c);
        else img.set(scratch.subarray((si * w + sj) * c, (si * w + sj + 1) * c), o);
      }
    }
  }
}
