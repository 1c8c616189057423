import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfjs from '@tensorflow/tfjs';

/** Loads a folder written by `lth export-model` with plain tfjs: model.json's topology and manifest, weights.bin. */
export async function loadExported(dir: string): Promise<tfjs.LayersModel> {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, json.weightsManifest[0].paths[0]));
  return tfjs.loadLayersModel(
    tfjs.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  );
}
