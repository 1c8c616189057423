import { tf } from '../util/tf.js';
import * as kernels from '../kernels/index.js';

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

/**
 * Whether the models use lth's own layer gradients and layout (column-layout dense layers,
 * the custom backward passes below, src/kernels). They were chosen for XNNPACK on wasm (and
 * are the reference on cpu); on webgpu and tensorflow, tfjs's own gradients and fused
 * matMul/conv2d are what those backends optimise, so the models use those there.
 */
export const usesLthGradients = (): boolean => {
  // engine().backendName, not tf.getBackend(): asking must not initialise a backend
  const b = (tf.engine() as unknown as { backendName: string | null }).backendName;
  return b !== 'webgpu' && b !== 'tensorflow';
};

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
  /** may hand extra tensors to `keep`: they follow the inputs in `saved` (or are all of it, without saveInputs) */
  forward: (keep: (ts: tf.Tensor[]) => void) => T,
  backward: (dy: T, saved: tf.Tensor[]) => Thunk[],
  /** false: the backward pass does not read the inputs, so the tape need not keep them alive */
  saveInputs = true,
): T {
  const engine = tf.engine() as unknown as Partial<EngineWithKernelFunc>;
  if (typeof engine.runKernelFunc === 'function') {
    const inputMap: Record<string, tf.Tensor> = {};
    inputs.forEach((t, i) => (inputMap[i] = t));
    return engine.runKernelFunc({
      forwardFunc: (_backend, save) => {
        let extra: tf.Tensor[] = [];
        const out = forward((ts) => (extra = ts));
        save(saveInputs ? [...inputs, ...extra] : extra);
        return out;
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
    let extra: tf.Tensor[] = [];
    const value = forward((ts) => (extra = ts));
    save(saveInputs ? [...(args.slice(0, -1) as tf.Tensor[]), ...extra] : extra);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => backward(dy as T, saved).map((g) => g()),
    };
  });
  return f(...inputs) as T;
}

/** Filter [3,3,in,out] → the filter whose forward 'same' convolution of dy gives dx:
 *  spatially flipped, in/out channels swapped. */
function flipFilter(f: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(kernels.transpose(f, [0, 1, 3, 2]), [0, 1]);
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,h,w} xpad[n,h+kh,w+kw,ci]·dy[n,h,w,co].
 *
 * With the wasm kernels: one GEMM [9·ci, n·h·w]·[n·h·w, co], whose first operand holds the
 * nine copies of x (laid out [ci, n, h, w]) shifted by each filter tap (kh−1, kw−1)
 * (src/kernels/layout.c im2col3x3); its rows are (kh, kw, ci), so the product is dW.
 * One GEMM rather than nine (one per tap): 4–7% faster at Conv-2's sizes, no stack of the
 * taps, and the same sums in the same order (docs/PERFORMANCE.md, "The conv step").
 * Elsewhere: one forward 'valid' convolution, input xpad laid out [ci, H+2, W+2, n] (n becomes
 * the reduced channel axis), filter dy laid out [H, W, n, co]; output [ci, 3, 3, co].
 */
function conv3x3FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  if (kernels.hasIm2col3x3()) {
    const cols = tf.reshape(kernels.im2col3x3(kernels.transpose(x, [3, 0, 1, 2])), [9 * ci, n * h * w]);
    return tf.reshape(tf.matMul(cols, tf.reshape(dy, [n * h * w, co])), [3, 3, ci, co]);
  }
  const xT = tf.pad(kernels.transpose(x, [3, 1, 2, 0]), [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]) as tf.Tensor4D;
  const dyT = kernels.transpose(dy, [1, 2, 0, 3]);
  return kernels.transpose(tf.conv2d(xT, dyT, 1, 'valid'), [1, 2, 0, 3]);
}

/**
 * act(conv(x, f) + b): 3×3 'same' convolution, stride 1, x [n, h, w, in] (NHWC), f [3, 3, in,
 * out], b [out] → [n, h, w, out]; act = ReLU when `relu`, else identity. The forward is one
 * fused convolution (bias and ReLU inside the GEMM's output pass); the backward applies the
 * ReLU gradient and sums the bias gradient in one pass (kernels.actGradCols; without ReLU, dz is
 * dy and the sum runs only if the bias gradient is asked for) and then runs the input and filter
 * gradients, each only if asked for. Throws for filters other than 3×3.
 */
export function conv2d(x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D, opts: { relu: boolean } = { relu: false }): tf.Tensor4D {
  if (f.shape[0] !== 3 || f.shape[1] !== 3) {
    throw new Error(`conv2d: only 3×3 filters are supported, got ${f.shape[0]}×${f.shape[1]}`);
  }
  return lazyGradOp<tf.Tensor4D>(
    [x, f, b],
    (keep) => {
      // The FusedConv2D kernel itself: tf.fused.conv2d falls back to conv + add + relu while a
      // gradient is being recorded, which is exactly when this runs.
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: opts.relu ? 'relu' : 'linear' };
      const out = tf.engine().runKernel('FusedConv2D', { x, filter: f, bias: b }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      keep([out]);
      return out;
    },
    (dy, [sx, sf, , sa]) => {
      // Shared by the three gradients, so computed here, in the backward pass's scope: the
      // engine runs each thunk in its own tidy, which would dispose a value cached by the first.
      // without ReLU, dz is dy itself and the bias gradient is only summed if asked for (a ResNet's
      // convs have a constant zero bias: never)
      const [dz, db]: [tf.Tensor4D, () => tf.Tensor1D] = opts.relu
        ? ((g) => [g[0], () => g[1]])(kernels.actGradCols(dy, sa as tf.Tensor4D, true))
        : [dy, () => kernels.actGradCols(dy, sa as tf.Tensor4D, false)[1]];
      const native = kernels.nativeConv2dGrads(sx as tf.Tensor4D, sf as tf.Tensor4D, dz);
      if (native) return [...native, db];
      return [() => tf.conv2d(dz, flipFilter(sf as tf.Tensor4D), 1, 'same'), () => conv3x3FilterGrad(sx as tf.Tensor4D, dz), db];
    },
  );
}

/**
 * conv(x, f) (+ b): any square k×k convolution with stride s and 'same' or 'valid' padding, x
 * [n, h, w, in] (NHWC), f [k, k, in, out], b [out] or absent → [n, h', w', out]. For what the
 * 3×3 stride-1 kernel above does not cover (a ResNet's strided and 1×1 shortcut convolutions):
 * tfjs's own gradient needs Conv2DBackpropFilter, which wasm lacks. Here the input gradient is
 * tfjs's conv2dTranspose (Conv2DBackpropInput, on every backend) and the filter gradient one
 * forward convolution: dW[kh, kw, ci, co] = Σ_{n,y,x} xpad[n, y·s + kh, x·s + kw, ci]·dy[n, y, x, co],
 * i.e. xpad laid out [ci, H, W, n] convolved ('valid', dilation s) with dy laid out
 * [h', w', n, co], cropped to k×k. On native both gradients are the native Conv2DBackpropInput /
 * Conv2DBackpropFilter kernels (kernels.nativeConv2dGrads).
 */
export function conv2dStrided(x: tf.Tensor4D, f: tf.Tensor4D, b: tf.Tensor1D | undefined, strides: number, pad: 'same' | 'valid'): tf.Tensor4D {
  const k = f.shape[0];
  return lazyGradOp<tf.Tensor4D>(
    b ? [x, f, b] : [x, f],
    () => {
      const z = tf.conv2d(x, f, strides, pad);
      return b ? tf.add(z, b) : z;
    },
    (dy, [sx, sf]) => {
      const [, h, w, ci] = sx.shape;
      const [, oh, ow, co] = dy.shape;
      const padding = (size: number, out: number): [number, number] => {
        const total = pad === 'same' ? Math.max((out - 1) * strides + k - size, 0) : 0;
        return [Math.floor(total / 2), total - Math.floor(total / 2)];
      };
      const filterGrad = () => {
        const xpad = tf.pad(sx, [[0, 0], padding(h, oh), padding(w, ow), [0, 0]]);
        const xT = kernels.transpose(xpad as tf.Tensor4D, [3, 1, 2, 0]);
        const dyT = kernels.transpose(dy, [1, 2, 0, 3]);
        const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', strides);
        return kernels.transpose(tf.slice(full, [0, 0, 0, 0], [ci, k, k, co]), [1, 2, 0, 3]);
      };
      const biasGrad = () => tf.sum(dy, [0, 1, 2]);
      const native = kernels.nativeConv2dGrads(sx as tf.Tensor4D, sf as tf.Tensor4D, dy, strides, pad);
      if (native) return [...native, biasGrad];
      return [() => tf.conv2dTranspose(dy, sf as tf.Tensor4D, [sx.shape[0], h, w, ci], strides, pad), filterGrad, biasGrad];
    },
  );
}

/**
 * BatchNorm in training mode over the last axis of x [..., c] (Ioffe & Szegedy 2015, Alg. 1):
 * y = (x − μ)·γ/√(σ² + ε) + β with μ, σ² the batch's mean and biased variance per channel; γ, β
 * [c]. Returns y and the moments (for the running statistics; they carry no gradient). The
 * gradient w.r.t. x counts μ and σ² as functions of x (kernels.batchNormGrad), as tfjs's
 * tf.moments + tf.batchNorm do. On native: one kernel each for the moments, the normalization
 * and the gradient; elsewhere tf.moments and tf.batchNorm with their tfjs gradients.
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (!kernels.hasBatchNormKernels()) {
    const { mean, variance } = tf.moments(
      x,
      x.shape.slice(0, -1).map((_, i) => i),
    );
    return { y: tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  // the moments stay off the op's inputs: the op's own gradient already counts them
  const [mean, variance] = kernels.batchMoments(x);
  const y = lazyGradOp(
    [x, gamma, beta],
    (keep) => {
      keep([mean, variance]);
      return tf.engine().runKernel('FusedBatchNorm', { x, mean, variance, scale: gamma, offset: beta }, {
        varianceEpsilon: epsilon,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    },
    (dy, [sx, sg, , sm, sv]) => {
      // one kernel gives all three, in the backward pass's scope (see conv2d)
      const [dx, dg, db] = kernels.batchNormGrad(dy, sx, sg as tf.Tensor1D, sm as tf.Tensor1D, sv as tf.Tensor1D, epsilon);
      return [() => dx, () => dg, () => db];
    },
  );
  return { y, mean, variance };
}

/** max(x, 0); on native its gradient is one pass (kernels.reluGrad), elsewhere tf.relu's own. */
export function relu<T extends tf.Tensor>(x: T): T {
  if (!kernels.hasReluGrad()) return tf.relu(x);
  return lazyGradOp<T>(
    [x],
    (keep) => {
      const y = tf.relu(x);
      keep([y]);
      return y;
    },
    (dy, [y]) => [() => kernels.reluGrad(dy, y as T)],
    // the gradient reads the output only: the input (a BatchNorm's or an add's output) can go
    false,
  );
}

/** The mean of x [n, h, w, c] over h and w → [n, c] (global average pooling); on native one kernel each way, elsewhere tf.mean. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  if (!kernels.hasGlobalAvgPool()) return tf.mean(x, [1, 2]);
  return lazyGradOp<tf.Tensor2D>(
    [x],
    () => kernels.globalAvgPool(x),
    (dy) => [() => kernels.globalAvgPoolGrad(dy, x.shape)],
  );
}

/** 2×2 max pooling, stride 2. On wasm its gradient is one fused pass (tfjs's MaxPoolGrad
 *  there is a naive loop: ~150 ms of a 1.5 s Conv-2 step); elsewhere tf.maxPool's own. */
export function maxPool(x: tf.Tensor4D): tf.Tensor4D {
  if (!kernels.hasMaxPool2Grad()) return tf.maxPool(x, 2, 2, 'valid');
  return lazyGradOp<tf.Tensor4D>(
    [x],
    () => tf.maxPool(x, 2, 2, 'valid'),
    (dy, [sx]) => [() => kernels.maxPool2Grad(sx as tf.Tensor4D, dy)],
  );
}

/**
 * Mean softmax cross-entropy of logits [n, classes] against integer labels [n] (what
 * tf.losses.softmaxCrossEntropy(oneHot(labels), logits) computes). On wasm the loss and its
 * gradient come from one fused kernel; elsewhere from tfjs's ops.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  if (!kernels.hasSoftmaxCrossEntropy()) {
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
  }
  return lazyGradOp<tf.Scalar>(
    [logits],
    (keep) => {
      const [loss, g] = kernels.softmaxCrossEntropyFused(logits, labels);
      keep([g]);
      return loss;
    },
    (dy, [, g]) => [() => tf.mul(g, dy)],
  );
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
export function denseT(xT: tf.Tensor2D, wT: tf.Tensor2D, b: tf.Tensor1D, opts: { relu?: boolean; x?: tf.Tensor2D } = {}): tf.Tensor2D {
  const relu = opts.relu ?? false;
  // Bias and ReLU in one pass each way and small products off XNNPACK (wasm kernels; the
  // same ops on tfjs elsewhere, see src/kernels).
  // Backward may only use what forward saved: tfjs disposes everything else a forward pass
  // created (a captured tensor could already be gone), hence x goes through `keep` too.
  // A pruned kernel with a sparse layout (kernels/sparse.ts): the kept entries only.
  const sparse = kernels.sparseLayoutOf(wT);
  return lazyGradOp<tf.Tensor2D>(
    [xT, wT, b],
    (keep) => {
      const a = kernels.biasAct(sparse ? kernels.sparseMatMul(wT, xT, sparse, false) : kernels.matMul(wT, xT), b, relu);
      keep(opts.x ? [a, opts.x] : [a]);
      return a;
    },
    (dy, [sx, sw, , a, x]) => {
      const [dz, db] = kernels.biasActGrad(dy, a as tf.Tensor2D, relu);
      if (sparse) {
        // dxᵀ = Wtᵀ·dzᵀ and dWt = dzᵀ·x at the kept entries only
        return [() => kernels.sparseMatMul(sw as tf.Tensor2D, dz, sparse, true), () => kernels.sampledMatMul(dz, sx as tf.Tensor2D, sparse), () => db];
      }
      return [
        // dxᵀ = Wtᵀ·dzᵀ
        () => kernels.matMul(kernels.transpose(sw as tf.Tensor2D), dz),
        // dWt = dzᵀ·x (the first layer hands over x in row layout: no transpose back)
        () => kernels.matMul(dz, (x as tf.Tensor2D | undefined) ?? kernels.transpose(sx as tf.Tensor2D)),
        () => db,
      ];
    },
  );
}
