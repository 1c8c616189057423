import * as tf from '@tensorflow/tfjs-core';

/**
 * The layer primitives every model is built from. They are kept in one place because
 * their gradients are what training speed depends on (see docs/PERFORMANCE.md): a
 * backend-specific fast path belongs here, behind the same signature.
 *
 * Why custom gradients: on the wasm backend only a plain `matMul(a, b)` (no transpose flags,
 * batch 1) runs on XNNPACK; `transposeA`/`transposeB` fall to a naive triple loop that is
 * 10-20x slower, and tfjs's own MatMul gradient uses exactly those flags. wasm also has no
 * `Conv2DBackpropFilter` kernel at all. The backward passes below therefore use only
 * plain matMul, explicit transposes, and forward convolutions, which exist and are fast on
 * wasm, cpu and tensorflow alike. Gradients are returned as thunks, so a gradient nobody
 * asked for (e.g. w.r.t. the network input) is never computed.
 */

type Thunk = () => tf.Tensor;

interface EngineWithKernelFunc {
  runKernelFunc(params: {
    forwardFunc: (backend: tf.KernelBackend, save: (ts: tf.Tensor[]) => void) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, Thunk>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor;
}

/**
 * Like `tf.customGrad`, but `backward` returns one lazy thunk per input. `tf.customGrad`
 * evaluates every input's gradient eagerly, even when the tape pruned that input (the data
 * tensor of a first layer), which for the first conv layer is a whole extra convolution.
 * Uses the engine's (untyped-private, stable since tfjs 2.x) `runKernelFunc`, which is what
 * `tf.customGrad` itself calls; falls back to eager `tf.customGrad` if it is ever missing.
 */
function lazyGradOp<T extends tf.Tensor>(
  inputs: tf.Tensor[],
  forward: () => T,
  backward: (dy: T, saved: tf.Tensor[]) => Thunk[],
): T {
  const engine = tf.engine() as unknown as Partial<EngineWithKernelFunc>;
  if (typeof engine.runKernelFunc === 'function') {
    const inputMap: Record<string, tf.Tensor> = {};
    inputs.forEach((t, i) => (inputMap[i] = t));
    return engine.runKernelFunc({
      forwardFunc: (_backend, save) => {
        save(inputs);
        return forward();
      },
      backwardsFunc: (dy, saved) => {
        const thunks = backward(dy as T, saved);
        const out: Record<string, Thunk> = {};
        thunks.forEach((f, i) => (out[i] = f));
        return out;
      },
      inputs: inputMap,
    }) as T;
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    save(args.slice(0, -1) as tf.Tensor[]);
    return {
      value: forward(),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        backward(dy as T, saved).map((g) => g()),
    };
  });
  return f(...inputs) as T;
}

/** Column sums of a 2-D [rows, cols] tensor as [cols], via ones[1,rows]·m: one XNNPACK GEMM
 *  on wasm (tf.sum over a leading axis transposes the whole tensor there first). */
function columnSums(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]);
}

/** x·W + b for x [n, in], W [in, out], b [out]. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return lazyGradOp<tf.Tensor2D>(
    [x, w, b],
    () => tf.add(tf.matMul(x, w), b),
    (dy, [sx, sw]) => [
      // dx = dy·Wᵀ: explicit transpose; matMul(dy, W, false, true) is the slow path on wasm
      () => tf.matMul(dy, tf.transpose(sw as tf.Tensor2D)),
      // dW = xᵀ·dy: explicit transpose; transposeA is the slow path on wasm (15 ms vs 1.3 ms)
      () => tf.matMul(tf.transpose(sx as tf.Tensor2D), dy),
      () => columnSums(dy),
    ],
  );
}

/** Filter [3,3,in,out] → the filter whose forward 'same' convolution of dy gives dx:
 *  spatially flipped, in/out channels swapped. */
function flipFilter(f: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(tf.transpose(f, [0, 1, 3, 2]), [0, 1]);
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,h,w} xpad[n,h+kh,w+kw,ci]·dy[n,h,w,co], computed as one forward
 * 'valid' convolution: input xpad laid out [ci, H+2, W+2, n] (n becomes the reduced channel
 * axis), filter dy laid out [H, W, n, co]; output [ci, 3, 3, co].
 */
function conv3x3FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const xT = tf.pad(tf.transpose(x, [3, 1, 2, 0]), [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]) as tf.Tensor4D;
  const dyT = tf.transpose(dy, [1, 2, 0, 3]);
  return tf.transpose(tf.conv2d(xT, dyT, 1, 'valid'), [1, 2, 0, 3]);
}

/** 3×3 'same' convolution, NHWC input, filter [h, w, in, out], stride 1. */
export function conv2d(x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  if (f.shape[0] !== 3 || f.shape[1] !== 3) {
    throw new Error(`conv2d: only 3×3 filters are supported, got ${f.shape[0]}×${f.shape[1]}`);
  }
  return lazyGradOp<tf.Tensor4D>(
    [x, f, b],
    () => tf.add(tf.conv2d(x, f, 1, 'same'), b),
    (dy, [sx, sf]) => [
      () => tf.conv2d(dy, flipFilter(sf as tf.Tensor4D), 1, 'same'),
      () => conv3x3FilterGrad(sx as tf.Tensor4D, dy),
      () => {
        const [n, h, w, c] = dy.shape;
        return columnSums(tf.reshape(dy, [n * h * w, c]));
      },
    ],
  );
}

/** 2×2 max pooling, stride 2. */
export function maxPool(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

/** [n, h, w, c] → [n, h·w·c] (row-major, the order a dense layer after the conv stack sees). */
export function flatten(x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(x, [n, h * w * c]);
}

/**
 * A dense layer in column layout: zᵀ = Wt·xᵀ + b for xT [in, n], Wt [out, in] (the kernel held
 * transposed), b [out]; returns zT [out, n].
 *
 * Why: on wasm, XNNPACK packs the *second* matMul operand into its own layout and caches that
 * by tensor id. In the row layout (x·W) the second operand is the weight matrix, which Adam
 * replaces every step, so every step re-packs it (the largest single cost of a LeNet step:
 * 784×300 floats, ~2.5 ms). In column layout the weights are the first operand, read in
 * place, and only the activations (n = batch columns) are packed.
 */
export function denseT(xT: tf.Tensor2D, wT: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  return lazyGradOp<tf.Tensor2D>(
    [xT, wT, b],
    () => tf.add(tf.matMul(wT, xT), tf.reshape(b, [b.shape[0], 1])),
    (dzT, [sx, sw]) => [
      // dxᵀ = Wtᵀ·dzᵀ
      () => tf.matMul(tf.transpose(sw as tf.Tensor2D), dzT),
      // dWt = dzᵀ·x
      () => tf.matMul(dzT, tf.transpose(sx as tf.Tensor2D)),
      // db = dzᵀ·1
      () => tf.reshape(tf.matMul(dzT, tf.ones([dzT.shape[1], 1])), [dzT.shape[0]]),
    ],
  );
}
