import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tf } from '../util/tf.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { datasetMeta, NORMALIZATION } from '../data/registry.js';
import { toLayersModel, type Graph } from '../models/graph.js';
import { modelDigest, modelField, modelLabel, resolveModel } from '../models/source.js';
import type { Masks, Weights } from '../models/types.js';
import { aliveUnits, unitLayers, type Granularity } from '../pruning/units.js';
import { specSchema, type Spec } from '../spec/schema.js';
import type { Store } from '../storage/db.js';
import { keys } from '../storage/levels.js';
import { noExperiment } from '../storage/no-experiment.js';
import { UserError } from '../util/errors.js';
import { didYouMean } from '../util/closest.js';

/**
 * A stored level as a TensorFlow.js LayersModel (model.json + weights.bin) that plain
 * `tf.loadLayersModel` loads, with nothing of lth: the model's layer graph as a tfjs-layers
 * functional model (src/models/graph.ts toLayersModel; each node its tfjs-layers layer, a ReLU
 * fused as the activation of the conv2d/dense before it), ending in a linear output (logits:
 * argmax is the prediction; apply softmax for probabilities).
 *
 * Neuron/filter-pruned levels are physically smaller: dead units (bias or BatchNorm γ mask 0;
 * channel c of every layer of a residual group), their BatchNorm channels (γ, β, running
 * statistics) and the matching input rows of every kernel they feed are cut out, so a layer of
 * 300 units with 123 alive exports as 123; a pruned channel outputs exactly 0, so cutting it
 * out changes no logit. Weight-pruned levels export their kernels ⊙ mask at full size and write the masks
 * beside them (masks.json + masks.bin, one uint8 per weight, 1 = kept), since a LayersModel has
 * no place for them.
 */
export interface ExportedModel {
  readonly dir: string;
  readonly files: string[];
  /** units per layer of the exported network, e.g. { conv1: 8, fc1: 24, fc2: 12, output: 10 } */
  readonly units: Record<string, number>;
  readonly structured: boolean;
}

export interface LevelRef {
  strategy: string;
  trial: number;
  level: number;
}

/**
 * Which of a level's weights an export writes: `final` (after its last training step; its test
 * accuracy is the level's final_test_accuracy) or `early-stop` (at the evaluation of minimum
 * validation loss, Frankle & Carbin; its accuracy is early_stop_test_accuracy), stored only when
 * the spec sets training.keepEarlyStop.
 */
export const EXPORTED_WEIGHTS = ['final', 'early-stop'] as const;
export type ExportedWeights = (typeof EXPORTED_WEIGHTS)[number];

/** The stored spec of an experiment, its id, and its model's layer graph. */
export function storedExperiment(store: Store, experiment: string): { id: number; spec: Spec; graph: Graph } {
  const info = store.experiments().find((e) => e.name === experiment);
  if (!info) {
    const names = store.experiments().map((e) => e.name);
    throw new UserError(noExperiment(experiment, names, store.path));
  }
  const spec = specSchema.parse(JSON.parse(info.specJson));
  // a model file or module is read again: it must still be what the experiment ran
  if (!('name' in spec.model) && spec.model.digest !== modelDigest(spec.model))
    throw new UserError(
      `${modelField(spec.model)} ${modelLabel(spec.model)} has changed since experiment "${experiment}" ran (its digest differs from model.digest): restore it to export`,
    );
  const meta = datasetMeta(spec.data);
  return { id: info.id, spec, graph: resolveModel(spec.model, meta.inputShape, meta.numClasses) };
}

/**
 * Weights of the exported network: masked (w ⊙ m) and, under neuron/filter granularity, with
 * dead units, their per-unit vectors (bias, BatchNorm γ, β, running statistics) and their
 * outgoing rows removed. Returns the weights and the kept units per layer.
 */
export function slimWeights(
  graph: Graph,
  granularity: Granularity,
  weights: Weights,
  masks: Masks,
): { weights: Record<string, { data: Float32Array; shape: number[] }>; units: Record<string, number> } {
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const p of graph.params) {
    const m = masks[p.name];
    out[p.name] = { data: m ? weights[p.name].map((v, i) => (m[i] ? v : 0)) : Float32Array.from(weights[p.name]), shape: [...p.shape] };
  }
  for (const l of unitLayers({ graph }, granularity)) {
    const alive = aliveUnits(l, masks);
    const keep: number[] = [];
    alive.forEach((a, u) => a && keep.push(u));
    if (keep.length === l.units) continue;
    // incoming: the last axis of each kernel of the group
    for (const name of l.kernels) {
      const k = out[name];
      const rows = k.data.length / l.units;
      const nk = new Float32Array(rows * keep.length);
      for (let r = 0; r < rows; r++) keep.forEach((u, j) => (nk[r * keep.length + j] = k.data[r * l.units + u]));
      out[name] = { data: nk, shape: [...k.shape.slice(0, -1), keep.length] };
    }
    // per-unit vectors: the biases, BatchNorm's γ, β and running statistics
    for (const v of [...l.vectors, ...l.state]) out[v] = { data: Float32Array.from(keep, (u) => out[v].data[u]), shape: [keep.length] };
    // outgoing: input rows i of each kernel fed, with i % U kept (NHWC flatten keeps position-major order)
    for (const next of l.nexts) {
      const n = out[next.kernel];
      const inN = n.shape[n.shape.length - 2];
      const outN = n.shape[n.shape.length - 1];
      const taps = n.data.length / (inN * outN);
      const keptRows: number[] = [];
      for (let i = 0; i < inN; i++) if (alive[i % l.units]) keptRows.push(i);
      const nn = new Float32Array(taps * keptRows.length * outN);
      for (let t = 0; t < taps; t++)
        keptRows.forEach((i, j) => nn.set(n.data.subarray((t * inN + i) * outN, (t * inN + i + 1) * outN), (t * keptRows.length + j) * outN));
      out[next.kernel] = { data: nn, shape: [...n.shape.slice(0, -2), keptRows.length, outN] };
    }
  }
  const units: Record<string, number> = {};
  for (const p of graph.params) if (p.kind !== 'none') units[p.name.split('/')[0]] = out[p.name].shape[out[p.name].shape.length - 1];
  return { weights: out, units };
}

/** What a user of the exported file must know: which weights, the input it expects and what it outputs. */
function usage(spec: Spec, inputShape: readonly number[], numClasses: number, from: { experiment: string; weights: ExportedWeights } & LevelRef) {
  const n = spec.data.normalize;
  const stats = n === 'dataset' ? ((NORMALIZATION as Record<string, { mean: readonly number[]; std: readonly number[] }>)[spec.data.dataset] ?? null) : null;
  const norm = typeof n === 'object' ? n : stats;
  const pixels = spec.data.dataset === 'synthetic' ? 'the generated values' : 'pixel bytes / 255';
  return {
    ...from,
    dataset: spec.data.dataset,
    input: {
      shape: [...inputShape],
      layout: inputShape.length === 3 ? 'NHWC' : 'flat',
      normalization: norm
        ? { mean: [...norm.mean], std: [...norm.std], rule: `x = (${pixels} − mean) / std, per channel` }
        : { rule: `x = ${pixels}, unchanged` },
    },
    output: { classes: numClasses, kind: 'logits: argmax is the predicted class; apply softmax for probabilities' },
  };
}

/**
 * Writes one stored level of `experiment` to `out` (created; refused when it holds files), with
 * its `weights` (final or early-stop, see EXPORTED_WEIGHTS).
 * @throws UserError for an unknown experiment, a level not stored, early-stop weights not kept, or a non-empty `out`
 */
export async function exportModel(store: Store, experiment: string, ref: LevelRef, out: string, which: ExportedWeights): Promise<ExportedModel> {
  const { id, spec, graph } = storedExperiment(store, experiment);
  const chains = [
    ...new Set(
      store
        .storedRows(id)
        .filter((r) => r.strategy !== '')
        .map((r) => r.strategy),
    ),
  ];
  if (ref.level > 0 && chains.length === 0)
    throw new UserError(`experiment "${experiment}" has no finished pruned levels yet — run \`lth run\` on its spec, or check \`lth status\``);
  if (ref.level > 0 && !chains.includes(ref.strategy))
    throw new UserError(
      `experiment "${experiment}" has no chain "${ref.strategy}"${didYouMean(ref.strategy, chains)} (chains: ${chains.join(', ')}): pass --strategy with one of them`,
    );
  if (!Number.isInteger(ref.level) || ref.level < 0) throw new UserError(`--level must be a whole number ≥ 0 (0 = dense), got ${ref.level}`);
  if (!Number.isInteger(ref.trial) || ref.trial < 0) throw new UserError(`--trial must be a whole number ≥ 0, got ${ref.trial}`);
  const trials = [...new Set(store.storedRows(id).map((r) => r.trial))].sort((a, b) => a - b);
  if (!trials.includes(ref.trial))
    throw new UserError(`trial ${ref.trial} is not stored in "${experiment}" (trials: ${trials.join(', ') || 'none'}): pass a stored --trial`);
  // level 0 is the dense level, stored once per trial and shared by every chain
  const stored = [...store.doneLevels(id, '', ref.trial), ...(chains.includes(ref.strategy) ? store.doneLevels(id, ref.strategy, ref.trial) : [])];
  if (!stored.includes(ref.level))
    throw new UserError(
      `level ${ref.level} of ${ref.strategy} trial ${ref.trial} is not stored in "${experiment}" (stored levels: ${stored.join(', ') || 'none'}): pass a stored --level, or run the experiment further`,
    );
  const earlyKey = keys.earlyStop(ref.trial, ref.strategy, ref.level);
  if (which === 'early-stop' && !store.hasArtifact(id, earlyKey))
    throw new UserError(
      `--weights early-stop: level ${ref.level} of ${ref.strategy} trial ${ref.trial} in "${experiment}" has no early-stop weights (they are kept with training.keepEarlyStop, for level 0 and chain levels that prune between levels): export --weights final, or run the spec with "keepEarlyStop": true in training under a new name`,
    );
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UserError(`--out ${out} is a file: pass a new or empty folder`);
  if (existsSync(out) && readdirSync(out).length > 0) throw new UserError(`--out ${out} is not empty: pass a new or empty folder`);
  const level = store.loadLevel(id, keys.chainLevel(ref.trial, ref.strategy, ref.level));
  const masks = level.masks;
  const weights = which === 'early-stop' ? (store.loadArtifact(id, earlyKey) as Weights) : level.weights;
  const meta = datasetMeta(spec.data);
  const granularity = spec.pruning.granularity;
  const slim = slimWeights(graph, granularity, weights, masks);
  const net = toLayersModel(graph, (name) => slim.weights[name], tfl);
  // Written to a temporary folder and renamed: an interrupted export leaves nothing half-written.
  const tmp = `${out.replace(/[/\\]+$/, '')}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files = ['model.json', 'weights.bin'];
  try {
    await net.save(
      tf.io.withSaveHandler(async (a) => {
        writeFileSync(join(tmp, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        const json = {
          format: 'layers-model',
          generatedBy: `lth export-model (${experiment} ${ref.strategy} trial ${ref.trial} level ${ref.level}, ${which} weights)`,
          // read back with model.getUserDefinedMetadata() after tf.loadLayersModel
          userDefinedMetadata: { lth: usage(spec, meta.inputShape, meta.numClasses, { experiment, weights: which, ...ref }) },
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        };
        writeFileSync(join(tmp, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (granularity === 'weight') {
      const names = Object.keys(masks).sort();
      const bytes = new Uint8Array(names.reduce((s, n) => s + masks[n].length, 0));
      let o = 0;
      const entries = names.map((n) => {
        bytes.set(masks[n], o);
        const e = { name: n, shape: graph.params.find((p) => p.name === n)!.shape, offset: o, length: masks[n].length };
        o += masks[n].length;
        return e;
      });
      writeFileSync(join(tmp, 'masks.bin'), bytes);
      writeFileSync(
        join(tmp, 'masks.json'),
        JSON.stringify({ dtype: 'uint8', note: '1 = kept, 0 = pruned; row-major in the stored shape, as the kernels of model.json', masks: entries }, null, 1),
      );
      files.push('masks.json', 'masks.bin');
    }
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    net.dispose();
  }
  return { dir: out, files, units: slim.units, structured: granularity !== 'weight' };
}
