import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../util/index.js';
import { ARRAY_ROLES, arraysDataset, arraysDigest, arraysMeta, type ArrayRole } from '../arrays.js';
import type { DatasetDef } from '../def.js';
import { parseNpy, readNpyHeader } from '../npy.js';
import { trainingStats } from '../splits.js';

const fields = {
  path: z.string().min(1).describe('folder holding x_train.npy, y_train.npy, x_test.npy, y_test.npy (relative to the working folder)'),
  classes: z.number().int().min(2).max(256).optional().describe('number of classes (default: the largest label + 1)'),
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
    .optional()
    .describe("sha256 of the four files' content, filled in when the spec loads (give it to pin the data); enters the identity instead of path"),
};

/** The four files, checked to exist; `dir` as the spec gives it. @throws UserError naming what is missing */
function filesIn(dir: string): Record<ArrayRole, string> {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new UserError(`data.path ${dir} is not a folder; give the folder that holds x_train.npy, y_train.npy, x_test.npy and y_test.npy`);
  const files = Object.fromEntries(ARRAY_ROLES.map((r) => [r, join(abs, `${r}.npy`)])) as Record<ArrayRole, string>;
  const missing = ARRAY_ROLES.filter((r) => !existsSync(files[r]));
  if (missing.length)
    throw new UserError(`data.path ${dir} lacks ${missing.map((r) => `${r}.npy`).join(', ')}; save the arrays with numpy.save under these names`);
  return files;
}

const readAll = (files: Record<ArrayRole, string>) =>
  Object.fromEntries(ARRAY_ROLES.map((r) => [r, new Uint8Array(readFileSync(files[r]))])) as Record<ArrayRole, Uint8Array>;

/**
 * A folder of NumPy arrays, as Keras' `load_data()` returns them: x_train.npy, y_train.npy,
 * x_test.npy, y_test.npy (numpy.save). Features: uint8 (scaled by 1/255, like the published
 * images), float32 or float64, shape [n, …]; [n, h, w] gets a channel of 1. Labels: integers in
 * [0, 256). Normalize "dataset" = per-channel mean and std of the training examples.
 */
export const npy: DatasetDef<'npy', typeof fields> = {
  name: 'npy',
  help: 'your own arrays: data.path = a folder with x_train.npy, y_train.npy, x_test.npy, y_test.npy (uint8/float32/float64 features of any shape, integer labels)',
  fields,
  meta(spec) {
    const f = filesIn(spec.path);
    const head = (r: 'x_train' | 'x_test') => ({ ...readNpyHeader(f[r]), what: f[r] });
    const labels = (r: 'y_train' | 'y_test') => ({ ...parseNpy(new Uint8Array(readFileSync(f[r])), f[r]), what: f[r] });
    return arraysMeta('npy', { x_train: head('x_train'), x_test: head('x_test') }, { y_train: labels('y_train'), y_test: labels('y_test') }, spec.classes);
  },
  load(spec) {
    const f = filesIn(spec.path);
    const bytes = readAll(f);
    const now = arraysDigest(bytes);
    if (spec.digest && now !== spec.digest)
      throw new UserError(`the files in ${spec.path} changed since the spec was read (sha256 ${now}, was ${spec.digest}); run again`);
    const arrays = Object.fromEntries(ARRAY_ROLES.map((r) => [r, { ...parseNpy(bytes[r], f[r]), what: f[r] }])) as Parameters<typeof arraysDataset>[1];
    return Promise.resolve(arraysDataset('npy', arrays, spec.classes, `${resolve(spec.path)} (sha256 ${now})`));
  },
  stats: (raw, spec) => trainingStats(raw, spec.validation),
  cacheSource: (spec) => spec.digest ?? null,
  digest: (spec) => arraysDigest(readAll(filesIn(spec.path))),
  identity: ({ path, ...rest }) => (void path, rest),
};
