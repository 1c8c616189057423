import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tf } from '../../src/util/tf.js';
import { initBackend } from '../../src/backend/index.js';
import { loadDataset } from '../../src/data/index.js';
import { buildModel, type Graph, type Weights } from '../../src/models/index.js';
import { specSchema } from '../../src/spec/index.js';
import { unpackLevel } from '../../src/storage/levels.js';
import { decode } from '../../src/storage/weights.js';
import { CLI, levelRows, lth, lthAsync, tmp } from '../helpers/common.js';

/**
 * `lth run` on a tiny resnet-20 (width 4, synthetic 8×8×3 images, crop-flip on by the model's
 * recipe, SGD with Nesterov and weight decay, rewind@2it): the stored network's test accuracy
 * and logits recomputed in float64 from the stored weights and BatchNorm statistics; the same
 * rows with 1 or 2 workers and after SIGKILL + resume (issue #23, "Done when").
 */

before(async () => {
  await initBackend('cpu');
});

const SPEC = {
  name: 'dn',
  trials: 2,
  seed: 3,
  data: { dataset: 'synthetic', validation: 20, synthetic: { train: 60, test: 40, shape: [8, 8, 3], classes: 3 } },
  model: { name: 'resnet-20', width: 4 },
  training: { iterations: '6it', evalEvery: '3it', batchSize: 10, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true } },
  pruning: { levels: 1, scope: 'global', globalRate: 0.3 },
  strategies: ['rewind@2it'],
};

/** Runs the CLI and SIGKILLs it when a progress line first matches `when`. */
function runAndKill(args: string[], when: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let killed = false;
    createInterface({ input: child.stderr! }).on('line', (l) => {
      if (!killed && when.test(l)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', () => resolve());
  });
}

/** Float64 forward pass of one example (NHWC, row-major) through the graph: tfjs 'same' padding, BatchNorm in inference mode. */
function forward64(g: Graph, w: Weights, x: Float64Array): Float64Array {
  const vals = new Map<string, { d: Float64Array; s: number[] }>([['input', { d: x, s: [...g.inputShape] }]]);
  for (const n of g.nodes) {
    const ins = n.inputs.map((i) => vals.get(i)!);
    const cfg = n.cfg as Record<string, number | string | boolean | undefined>;
    const p = (s: string) => w[`${n.name}/${s}`];
    const [h, wd, c] = ins[0].s;
    let out: { d: Float64Array; s: number[] };
    if (n.kind === 'conv2d') {
      const k = (cfg.kernelSize as number) ?? 3;
      const st = (cfg.strides as number) ?? 1;
      const f = cfg.filters as number;
      const [oh, ow] = [Math.ceil(h / st), Math.ceil(wd / st)];
      const [pt, pl] = [Math.floor(Math.max((oh - 1) * st + k - h, 0) / 2), Math.floor(Math.max((ow - 1) * st + k - wd, 0) / 2)];
      const ker = p('kernel');
      const bias = p('bias');
      const d = new Float64Array(oh * ow * f);
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let o = 0; o < f; o++) {
            let acc = bias ? bias[o] : 0;
            for (let a = 0; a < k; a++)
              for (let b = 0; b < k; b++) {
                const [yi, xj] = [i * st + a - pt, j * st + b - pl];
                if (yi < 0 || yi >= h || xj < 0 || xj >= wd) continue;
                for (let q = 0; q < c; q++) acc += ins[0].d[(yi * wd + xj) * c + q] * ker[((a * k + b) * c + q) * f + o];
              }
            d[(i * ow + j) * f + o] = acc;
          }
      out = { d, s: [oh, ow, f] };
    } else if (n.kind === 'batchNormalization') {
      const [gm, bt, mu, va] = [p('gamma'), p('beta'), p('moving_mean'), p('moving_variance')];
      const ch = ins[0].s[ins[0].s.length - 1];
      out = { d: ins[0].d.map((v, i) => gm[i % ch] * ((v - mu[i % ch]) / Math.sqrt(va[i % ch] + 1e-5)) + bt[i % ch]), s: ins[0].s };
    } else if (n.kind === 'relu') out = { d: ins[0].d.map((v) => Math.max(v, 0)), s: ins[0].s };
    else if (n.kind === 'add') out = { d: ins[0].d.map((v, i) => v + ins[1].d[i]), s: ins[0].s };
    else if (n.kind === 'globalAveragePooling2d') {
      const d = new Float64Array(c);
      for (let i = 0; i < h * wd; i++) for (let q = 0; q < c; q++) d[q] += ins[0].d[i * c + q] / (h * wd);
      out = { d, s: [c] };
    } else if (n.kind === 'dense') {
      const ker = p('kernel');
      const units = n.outputShape[0];
      const d = new Float64Array(units);
      for (let o = 0; o < units; o++) {
        d[o] = p('bias')[o];
        for (let q = 0; q < ins[0].d.length; q++) d[o] += ins[0].d[q] * ker[q * units + o];
      }
      out = { d, s: [units] };
    } else throw new Error(`forward64: no ${n.kind}`);
    vals.set(n.name, out);
  }
  return vals.get('output')!.d;
}

test('lth run resnet-20 (width 4): the stored level’s test accuracy and logits recomputed in float64 from its weights and BatchNorm statistics; same rows with --workers 2 and after SIGKILL + resume', async () => {
  const dir = tmp();
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(SPEC));
  const ref = join(dir, 'ref.db');
  const r = lth(['run', file, '--db', ref, '--backend', 'wasm', '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const rows = levelRows(ref);
  assert.equal(rows.length, 4);
  // the same spec with two workers, in the background while the stored level is checked here
  const two = join(dir, 'two.db');
  const twoRun = lthAsync(['run', file, '--db', two, '--backend', 'wasm', '--quiet', '--workers', '2']);

  const db = new Database(ref, { readonly: true });
  const stored = JSON.parse((db.prepare('SELECT spec_json FROM experiments').get() as { spec_json: string }).spec_json);
  const row = db.prepare("SELECT final_test_accuracy a FROM levels WHERE strategy = 'rewind@2it' AND trial = 1 AND level = 1").get() as { a: number };
  db.close();
  assert.equal(stored.training.augment, 'crop-flip', 'the recipe’s augmentation is stated in the stored spec');
  const spec = specSchema.parse(stored);
  const data = await loadDataset(spec.data, spec.seed, {});
  const model = buildModel('resnet-20', [8, 8, 3], 3, 4);
  const path = join(dir, 'ref.weights', 'dn', 'trial-1', encodeURIComponent('rewind@2it'), 'level-1.bin');
  const { weights, masks } = unpackLevel(decode(readFileSync(path), path));
  assert.ok(
    weights['b4_down_bn/moving_variance'].some((v) => v !== 1),
    'running statistics are stored and moved',
  );
  for (const [name, m] of Object.entries(masks)) weights[name].forEach((v, i) => m[i] || assert.ok(v === 0, `${name}[${i}] pruned`));
  const dim = 8 * 8 * 3;
  let correct = 0;
  let gap = 0;
  const ws = Object.fromEntries(model.params.map((p) => [p.name, tf.tensor(weights[p.name], [...p.shape])]));
  const ours = tf.tidy(() => model.predict(ws, tf.tensor2d(data.test.x, [data.test.n, dim])).arraySync());
  tf.dispose(Object.values(ws));
  for (let e = 0; e < data.test.n; e++) {
    const logits = forward64(model.graph, weights, Float64Array.from(data.test.x.subarray(e * dim, (e + 1) * dim)));
    const best = logits.indexOf(Math.max(...logits));
    correct += best === data.test.y[e] ? 1 : 0;
    gap = Math.max(gap, ...Array.from(logits, (v, i) => Math.abs(v - ours[e][i])));
  }
  assert.ok(gap < 1e-4, `float32 logits within 1e-4 of float64: ${gap}`);
  assert.equal(correct / data.test.n, row.a);

  const killed = join(dir, 'killed.db');
  await runAndKill(['run', file, '--db', killed, '--backend', 'wasm'], /dense t1 level 0/);
  const partial = levelRows(killed).length;
  assert.ok(partial > 0 && partial < 4, `partial rows: ${partial}`);
  assert.equal(lth(['run', file, '--db', killed, '--backend', 'wasm', '--quiet']).status, 0);
  assert.deepEqual(levelRows(killed), rows, 'after SIGKILL + resume');

  const t = await twoRun;
  assert.equal(t.status, 0, t.stderr);
  assert.deepEqual(levelRows(two), rows, '--workers 2');
});
