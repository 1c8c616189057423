import { UserError } from '../util/index.js';
import type { LayerKind, ParamSpec } from './types.js';

/**
 * A model declared once, as a list of layers; src/models/zoo.ts derives from it both the
 * training forward pass (column layout, see ops.denseT) and the inference pass (row layout).
 * Pure data and shape arithmetic, no tensors: the spec checks an input shape against a model
 * without loading tfjs.
 *
 * - `conv`: 3×3 'same' convolution, stride 1, then ReLU (Frankle & Carbin 2019, Fig. 2).
 * - `pool`: 2×2 max-pool, stride 2 (floor: an odd size loses its last row/column).
 * - `dense`: a hidden fully connected layer, then ReLU. The input is flattened (row-major NHWC)
 *   before the first dense layer, so an MLP accepts [784] and [28, 28, 1] alike.
 * The output layer (numClasses units, no activation) is appended to every model.
 */
export type Layer = { readonly kind: 'conv'; readonly filters: number } | { readonly kind: 'pool' } | { readonly kind: 'dense'; readonly units: number };

export const conv = (filters: number): Layer => ({ kind: 'conv', filters });
export const pool = (): Layer => ({ kind: 'pool' });
export const dense = (units: number): Layer => ({ kind: 'dense', units });
/** VGG-style blocks (Frankle & Carbin's Conv-2/4/6): per entry, two 3×3 convs of that width, then a 2×2 max-pool. */
export const convBlocks = (...filters: number[]): Layer[] => filters.flatMap((f) => [conv(f), conv(f), pool()]);

/** One step of the image part of a model, with its parameter names resolved. */
export type FeatureStep = { readonly kind: 'conv'; readonly kernel: string; readonly bias: string } | { readonly kind: 'pool' };

/** A layer list resolved against an input shape: everything a builder needs besides tensors. */
export interface Plan {
  readonly params: ParamSpec[];
  /** [h, w, c] when the model starts with convolutions, else null */
  readonly image: readonly [number, number, number] | null;
  readonly features: readonly FeatureStep[];
  /** values per example entering the first dense layer */
  readonly flat: number;
  /** kernel/bias pairs of the dense stack, the output layer last */
  readonly dense: readonly ParamSpec[];
}

function denseParams(name: string, fanIn: number, fanOut: number, kind: LayerKind): ParamSpec[] {
  return [
    { name: `${name}/kernel`, shape: [fanIn, fanOut], kind, fanIn, fanOut, layout: 'transposed' },
    { name: `${name}/bias`, shape: [fanOut], kind: 'none', fanIn, fanOut },
  ];
}

function convParams(name: string, cin: number, cout: number): ParamSpec[] {
  // Glorot fans for a 3×3 kernel count the receptive field.
  const fanIn = 9 * cin;
  const fanOut = 9 * cout;
  return [
    { name: `${name}/kernel`, shape: [3, 3, cin, cout], kind: 'conv', fanIn, fanOut },
    { name: `${name}/bias`, shape: [cout], kind: 'none', fanIn, fanOut },
  ];
}

/**
 * Walks the layers over `inputShape` (per example, e.g. [784] or [28, 28, 1]) and names the
 * parameters conv1…, fc1…, output (the keys of every stored weight file).
 * @throws UserError when the input cannot feed the layers: convolutions need [h, w, c], and each
 *   2×2 pool needs at least 2×2 (p pools need h, w ≥ 2^p; Conv-6 on 28×28 pools to 3×3).
 */
export function plan(model: string, layers: readonly Layer[], inputShape: readonly number[], numClasses: number): Plan {
  const firstDense = layers.findIndex((l) => l.kind === 'dense');
  const imagePart = firstDense < 0 ? layers : layers.slice(0, firstDense);
  const densePart = firstDense < 0 ? [] : (layers.slice(firstDense) as Layer[]);
  if (densePart.some((l) => l.kind !== 'dense')) throw new Error(`model ${model}: conv and pool layers must come before the dense layers`);
  const params: ParamSpec[] = [];
  const features: FeatureStep[] = [];
  let image: [number, number, number] | null = null;
  let flat = inputShape.reduce((a, b) => a * b, 1);
  if (imagePart.length > 0) {
    const pools = imagePart.filter((l) => l.kind === 'pool').length;
    const min = 2 ** pools;
    const sizes = `images of at least ${min}×${min} (${pools} 2×2 max-pool${pools === 1 ? '' : 's'})`;
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new UserError(
        `model ${model} needs image input [h, w, c], ${sizes}; this data set has shape [${inputShape.join(', ')}]: use an image data set or an MLP such as lenet-300-100`,
      );
    }
    let [h, w, c] = inputShape;
    image = [h, w, c];
    if (h < min || w < min) {
      throw new UserError(
        `model ${model} needs ${sizes}; this data set's images are ${h}×${w}, which its pools reduce to nothing: use larger images or a model with fewer pools`,
      );
    }
    let k = 0;
    for (const l of imagePart) {
      if (l.kind === 'conv') {
        const name = `conv${++k}`;
        params.push(...convParams(name, c, l.filters));
        features.push({ kind: 'conv', kernel: `${name}/kernel`, bias: `${name}/bias` });
        c = l.filters;
      } else {
        features.push({ kind: 'pool' });
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
      }
    }
    flat = h * w * c;
  }
  const sizes = [flat, ...densePart.map((l) => (l as { units: number }).units), numClasses];
  const denseSpecs: ParamSpec[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const last = i === sizes.length - 2;
    denseSpecs.push(...denseParams(last ? 'output' : `fc${i + 1}`, sizes[i], sizes[i + 1], last ? 'output' : 'fc'));
  }
  params.push(...denseSpecs);
  return { params, image, features, flat, dense: denseSpecs };
}

/** "conv 64, conv 64, pool, fc 256, fc 256, output": a layer list in words, for help texts. */
export function describeLayers(layers: readonly Layer[]): string {
  return [...layers.map((l) => (l.kind === 'conv' ? `conv3×3 ${l.filters}` : l.kind === 'pool' ? 'maxpool2×2' : `fc ${l.units}`)), 'output'].join(', ');
}
