import { tf } from '../util/tf.js';
import { fusedMaskedAdam, hasFusedAdam, sparseAdam } from '../kernels/index.js';
import type { TrainingSpec } from '../spec/index.js';

/**
 * Masked optimizers. The gradient is multiplied by the mask before it reaches the
 * optimizer state, and (SGD, or frozen pruned values) the weights by the mask after the
 * update, so a pruned weight is exactly zero at every step and its moment estimates never
 * move (a pitfall of unmasked Adam: stale momentum revives pruned weights). The weights must
 * start masked (train() does this); masked Adam then needs no re-mask (see step()).
 */
export interface MaskedOptimizer {
  step(grads: Record<string, tf.Tensor>, lr: number): void;
  /** Zeroes the state (Adam's m and v, SGD's momentum) of tensor `name` where `where` (held
   *  layout, 0/1) is 1; the step count t is kept. For mask updates during training (RigL). */
  resetState(name: string, where: tf.Tensor): void;
  /** resetState at a list of entries: `at` holds flat indices in held layout. The same state as
   *  resetState with a 0/1 tensor that is 1 there, touching only those entries in JS (a mask
   *  update of SET or RigL moves a few percent of a layer's entries). */
  resetStateAt(name: string, at: Int32Array): void;
  dispose(): void;
}

export interface OptimizerTarget {
  vars: Record<string, tf.Variable>;
  /** 1 = trainable, 0 = pruned; absent = dense (biases) */
  masks: Record<string, tf.Tensor>;
  /** what pruned weights hold, already multiplied by (1 − mask); absent = zero (the standard mask-0 action) */
  fixed?: Record<string, tf.Tensor>;
}

export function makeOptimizer(spec: TrainingSpec['optimizer'], target: OptimizerTarget): MaskedOptimizer {
  const names = Object.keys(target.vars);
  const zeros = () => Object.fromEntries(names.map((n) => [n, tf.tidy(() => tf.variable(tf.zerosLike(target.vars[n]), false))]));
  const state1 = zeros();
  const state2 = spec.name === 'adam' ? zeros() : null;
  let t = 0;
  // One fused pass per tensor where the backend has it (wasm); the same bits as the ops below.
  const fused = spec.name === 'adam' && hasFusedAdam();
  const apply = (n: string, update: (w: tf.Tensor) => tf.Tensor, remask = true) => {
    const w = target.vars[n];
    const m = target.masks[n];
    const next = update(w);
    const f = target.fixed?.[n];
    w.assign(m && (remask || f) ? (f ? tf.add(tf.mul(next, m), f) : tf.mul(next, m)) : next);
  };
  return {
    step(grads, lr) {
      t++;
      // Bias correction folded into the step size, as in Kingma & Ba §2.
      const a = spec.name === 'adam' ? (lr * Math.sqrt(1 - spec.beta2 ** t)) / (1 - spec.beta1 ** t) : 0;
      const attrs = fused ? { beta1: spec.beta1, beta2: spec.beta2, a, epsilon: spec.epsilon } : null;
      tf.tidy(() => {
        for (const n of names) {
          const raw = grads[n];
          if (!raw) continue;
          if (attrs) {
            const w = target.vars[n];
            const t = { w, g: raw, m: state1[n], v: state2![n], mask: target.masks[n], fixed: target.fixed?.[n] };
            // a sparse dense layer's kept entries only (src/kernels/sparse.ts); the same bits
            w.assign(sparseAdam(t, attrs) ?? fusedMaskedAdam(t, attrs));
            continue;
          }
          const g = target.masks[n] ? tf.mul(raw, target.masks[n]) : raw;
          if (spec.name === 'adam') {
            const m = state1[n];
            const v = state2![n];
            m.assign(tf.add(tf.mul(m, spec.beta1), tf.mul(g, 1 - spec.beta1)));
            v.assign(tf.add(tf.mul(v, spec.beta2), tf.mul(tf.square(g), 1 - spec.beta2)));
            // No re-mask needed (one 235k-element kernel less per LeNet step, same bits): a pruned
            // weight starts at ±0 (train() masks θ), its masked gradient keeps m = v = +0, so its
            // update is 0/(√0+ε) = +0 and w − 0 = w, exactly what w·0 would give. With frozen
            // values the re-mask stays (fixed holds ±0 at kept weights, which may flip a -0).
            apply(n, (w) => tf.sub(w, tf.div(tf.mul(m, a), tf.add(tf.sqrt(v), spec.epsilon))), false);
          } else {
            const buf = state1[n];
            const gd = spec.weightDecay > 0 ? tf.add(g, tf.mul(target.vars[n], spec.weightDecay)) : g;
            buf.assign(tf.add(tf.mul(buf, spec.momentum), gd));
            // PyTorch's SGD (OpenLTH): Nesterov steps along g + μ·buf instead of buf
            const dir = spec.nesterov ? tf.add(gd, tf.mul(buf, spec.momentum)) : buf;
            apply(n, (w) => tf.sub(w, tf.mul(dir, lr)));
          }
        }
      });
    },
    resetState(name, where) {
      if (!target.vars[name]) throw new Error(`no optimizer state for '${name}': name a trained tensor`);
      tf.tidy(() => {
        const hit = tf.cast(where, 'bool');
        for (const s of [state1, state2]) if (s) s[name].assign(tf.where(hit, tf.zerosLike(s[name]), s[name]));
      });
    },
    resetStateAt(name, at) {
      if (!target.vars[name]) throw new Error(`no optimizer state for '${name}': name a trained tensor`);
      for (const s of [state1, state2]) {
        if (!s) continue;
        const v = (s[name].dataSync() as Float32Array).slice();
        for (let j = 0; j < at.length; j++) v[at[j]] = 0;
        tf.tidy(() => s[name].assign(tf.tensor(v, s[name].shape, 'float32')));
      }
    },
    dispose() {
      for (const s of [state1, state2]) if (s) for (const v of Object.values(s)) v.dispose();
    },
  };
}
