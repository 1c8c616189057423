import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { canonicalJson, sha256, UserError } from '../util/index.js';
import { resolveGraph, resolveNodes, type Graph } from './graph.js';
import { fromKeras } from './keras.js';
import type { Node, Shape } from './layers/types.js';
import type { InitName } from './init.js';
import type { Weights } from './types.js';
import { layersOf } from './registry.js';

/**
 * Where a spec's model comes from (the `model` union of src/spec/schema.ts; docs/DESIGN.md#model-files):
 * a registered name, a tfjs LayersModel file (model.json) or a JavaScript module exporting lth
 * nodes. Declared here structurally, since the schema imports this folder.
 */
export type ModelSpec =
  | { readonly name: string; readonly init: string; readonly width?: number }
  | { readonly file: string; readonly weights?: 'none' | 'pretrained'; readonly init: string; readonly digest?: string }
  | { readonly module: string; readonly init: string; readonly digest?: string };

/** Whether a spec's model is a file whose weights are the trained dense network (level 0 is evaluated, not trained). */
export const isPretrained = (m: ModelSpec): boolean => 'file' in m && m.weights === 'pretrained' && m.init !== 'file';

/** The initializer a spec's model draws from (θ0, fresh draws, σ); null when θ0 is a file's weights. */
export const initializerOf = (m: ModelSpec): InitName | null => ('file' in m && m.weights === 'pretrained' ? null : (m.init as InitName));

/** A model's label in messages and tables: its name, or the path of its file or module. */
export const modelLabel = (m: ModelSpec): string => ('name' in m ? m.name : 'file' in m ? m.file : m.module);

/** The spec field that chose the model ("model.name", "model.file", "model.module"), for messages. */
export const modelField = (m: ModelSpec): string => `model.${'name' in m ? 'name' : 'file' in m ? 'file' : 'module'}`;

/** A tfjs model.json: its topology, weights manifest and folder. */
interface LayersModelFile {
  readonly topology: unknown;
  readonly manifest: { paths: string[]; weights: { name: string; shape: number[]; dtype?: string }[] }[];
  readonly dir: string;
}

const FIX = 'give the model.json that tensorflowjs_converter or tfjs model.save("file://…") wrote';

/** Reads and parses a model.json. @throws UserError naming the file: missing, a folder, not JSON, no modelTopology */
function readModelFile(file: string): LayersModelFile {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new UserError(`model.file ${file} not found: ${FIX}`);
  if (statSync(abs).isDirectory()) throw new UserError(`model.file ${file} is a folder: ${FIX} (e.g. ${join(file, 'model.json')})`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(abs, 'utf8'));
  } catch (e) {
    throw new UserError(`model.file ${file} is not valid JSON (${(e as Error).message.split('\n')[0]}): ${FIX}`);
  }
  const j = json as { modelTopology?: unknown; weightsManifest?: unknown };
  if (json === null || typeof json !== 'object' || !j.modelTopology) throw new UserError(`model.file ${file} has no modelTopology: ${FIX}`);
  return { topology: j.modelTopology, manifest: Array.isArray(j.weightsManifest) ? (j.weightsManifest as LayersModelFile['manifest']) : [], dir: dirname(abs) };
}

/** The weight files a model.json's manifest names, in order. @throws UserError naming a missing one */
function weightFiles(file: string, f: LayersModelFile): string[] {
  const paths = f.manifest.flatMap((g) => g.paths.map((p) => join(f.dir, p)));
  const missing = paths.find((p) => !existsSync(p));
  if (missing) throw new UserError(`model.file ${file} names weights ${missing}, which does not exist: keep the .bin files beside model.json`);
  if (paths.length === 0)
    throw new UserError(`model.file ${file} has no weights (no weightsManifest): save the model with its weights, or drop "weights": "pretrained"`);
  return paths;
}

/** A module's absolute path. @throws UserError when it does not exist */
function moduleFile(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || statSync(abs).isDirectory())
    throw new UserError(`model.module ${path} not found: give the path of a JavaScript module that exports "layers" (see examples/my-net.js)`);
  return abs;
}

/**
 * The content digest of a file or module model (sha256, hex): of the topology (canonical JSON),
 * and of the weight files when `weights` is "pretrained"; of the module's source text. Registered
 * models have none (their name is their identity). It enters the experiment's identity instead of the path.
 * @throws UserError as readModelFile, or for a missing module or weight file
 */
export function modelDigest(m: ModelSpec): string | undefined {
  if ('name' in m) return undefined;
  if ('module' in m) return sha256(readFileSync(moduleFile(m.module)));
  const f = readModelFile(m.file);
  const parts = [sha256(canonicalJson(f.topology))];
  if (m.weights === 'pretrained') for (const p of weightFiles(m.file, f)) parts.push(sha256(readFileSync(p)));
  return sha256(parts.join('\n'));
}

/**
 * The weights a model file holds, by their manifest names ("<layer>/kernel", …: lth's parameter
 * names for a graph read from the file), checked against the graph's parameters.
 * @throws UserError naming the file: no weights, a missing .bin, a non-float32 or quantized
 *   weight, a weight file shorter than its manifest, a parameter missing or of another shape
 */
export function readModelWeights(file: string, g: Graph): Weights {
  const f = readModelFile(file);
  weightFiles(file, f);
  const all: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const group of f.manifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(f.dir, p))));
    let at = 0;
    for (const w of group.weights as { name: string; shape: number[]; dtype?: string; quantization?: unknown }[]) {
      if ((w.dtype ?? 'float32') !== 'float32' || w.quantization)
        throw new UserError(
          `model.file ${file}: weight ${w.name} is ${w.quantization ? 'quantized' : w.dtype}; lth reads float32 weights (convert without quantization)`,
        );
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (at + 4 * n > bytes.length)
        throw new UserError(`model.file ${file}: the weight files end before weight ${w.name}: they are truncated; save the model again`);
      all[w.name] = { data: new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 4 * n)), shape: w.shape };
      at += 4 * n;
    }
  }
  const out: Weights = {};
  for (const p of g.params) {
    const w = all[p.name];
    if (!w || w.shape.join() !== p.shape.join())
      throw new UserError(
        `model.file ${file}: ${w ? `weight ${p.name} has shape [${w.shape.join(', ')}], the layer needs [${p.shape.join(', ')}]` : `has no weight ${p.name}`} (weights: ${Object.keys(all).join(', ')}); save the model again with its weights`,
      );
    out[p.name] = w.data;
  }
  return out;
}

/** A model's nodes before resolving: with `own` the list ends in its own output layer (a file), else the output layer is appended. */
interface ModelNodes {
  readonly label: string;
  readonly nodes: readonly Node[];
  readonly own: boolean;
  /** the per-example input the model declares (a file); absent: the data's */
  readonly inputShape?: Shape;
}

/** Loads a module's `layers` (ESM or CommonJS, loaded synchronously). @throws UserError when it is missing or exports no node list */
function moduleNodes(path: string): Node[] {
  const abs = moduleFile(path);
  let mod: { layers?: unknown; default?: { layers?: unknown } };
  try {
    mod = createRequire(import.meta.url)(abs) as typeof mod;
  } catch (e) {
    throw new UserError(`model.module ${path} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  const layers = mod.layers ?? mod.default?.layers;
  if (!Array.isArray(layers) || layers.length === 0 || !layers.every((n) => n !== null && typeof n === 'object' && typeof (n as Node).kind === 'string'))
    throw new UserError(
      `model.module ${path} exports no "layers": export a list of lth nodes, e.g. export const layers = [layers.conv2d(8), layers.relu(), …] (see examples/my-net.js)`,
    );
  return layers as Node[];
}

/**
 * A spec's model as nodes: a registered model's layers, a file's converted topology
 * (src/models/keras.ts), or a module's exported `layers`.
 * @throws UserError for an unknown name, a missing or garbled file or module, an unsupported layer
 */
function modelNodes(m: ModelSpec): ModelNodes {
  if ('name' in m) return { label: m.name, nodes: layersOf(m.name, m.width ?? null), own: false };
  if ('module' in m) return { label: m.module, nodes: moduleNodes(m.module), own: false };
  const g = fromKeras(readModelFile(m.file).topology, `model.file ${m.file}`);
  return { label: m.file, nodes: g.nodes, own: true, inputShape: g.inputShape };
}

/**
 * Reads a spec's model without any data: the mistakes that do not depend on the input shape
 * (an unknown name or width, a missing or garbled file or module, an unsupported layer).
 * @throws UserError as modelNodes
 */
export const readModel = (m: ModelSpec): void => void modelNodes(m);

/**
 * A spec's model resolved for examples of `dataShape` and `numClasses` classes. A file's model
 * keeps its declared input shape when it holds as many values per example as the data (the
 * examples are reshaped row-major, so [784], [28, 28] and [28, 28, 1] fit each other).
 * @throws UserError as modelNodes, for input the model cannot take, or an output of the wrong size
 */
export function resolveModel(m: ModelSpec, dataShape: Shape, numClasses: number): Graph {
  const n = modelNodes(m);
  if (!n.own) return resolveGraph(n.label, n.nodes, dataShape, numClasses);
  const want = n.inputShape!;
  const size = (s: Shape) => s.reduce((a, b) => a * b, 1);
  if (size(want) !== size(dataShape))
    throw new UserError(
      `model.file ${n.label} takes examples of shape [${want.join(', ')}], but the data gives [${dataShape.join(', ')}]: use data of that shape, or save the model with input shape [${dataShape.join(', ')}]`,
    );
  return resolveNodes(n.label, n.nodes, want, numClasses);
}
