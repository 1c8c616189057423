import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { z } from 'zod';
import { UserError } from '../../util/index.js';
import { ARRAY_ROLES, arraysDataset, arraysDigest, arraysMeta, type ArrayRole } from '../arrays.js';
import type { DatasetDef } from '../def.js';
import { parseNpy } from '../npy.js';
import { trainingStats } from '../splits.js';

const fields = {
  path: z.string().min(1).describe('an .npz file (numpy.savez or savez_compressed) holding x_train, y_train, x_test, y_test'),
  classes: z.number().int().min(2).max(256).optional().describe('number of classes (default: the largest label + 1)'),
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
    .optional()
    .describe("sha256 of the four arrays' .npy content (as for npy), filled in when the spec loads; enters the identity instead of path"),
};

/** The four members' .npy bytes. @throws UserError naming the file and what is wrong */
function members(path: string): Record<ArrayRole, Uint8Array> {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile())
    throw new UserError(`data.path ${path} is not a file; give an .npz file written by numpy.savez with x_train, y_train, x_test, y_test`);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(new Uint8Array(readFileSync(abs)), { filter: (f) => (ARRAY_ROLES as readonly string[]).includes(f.name.replace(/\.npy$/, '')) });
  } catch (e) {
    throw new UserError(`${abs} is not a readable .npz (zip) file (${(e as Error).message}); write it again with numpy.savez`);
  }
  const missing = ARRAY_ROLES.filter((r) => !files[`${r}.npy`]);
  if (missing.length) throw new UserError(`${abs} lacks ${missing.join(', ')}; write it with numpy.savez(path, x_train=…, y_train=…, x_test=…, y_test=…)`);
  return Object.fromEntries(ARRAY_ROLES.map((r) => [r, files[`${r}.npy`]])) as Record<ArrayRole, Uint8Array>;
}

const parsed = (path: string, bytes: Record<ArrayRole, Uint8Array>) =>
  Object.fromEntries(ARRAY_ROLES.map((r) => [r, { ...parseNpy(bytes[r], `${resolve(path)}:${r}.npy`), what: `${resolve(path)}:${r}.npy` }])) as Parameters<
    typeof arraysDataset
  >[1];

/** One .npz archive of the four arrays the npy data set reads from a folder (see sets/npy.ts); same checks, same digest. */
export const npz: DatasetDef<'npz', typeof fields> = {
  name: 'npz',
  help: 'your own arrays in one file: data.path = an .npz (numpy.savez) with x_train, y_train, x_test, y_test',
  fields,
  meta(spec) {
    const a = parsed(spec.path, members(spec.path));
    return arraysMeta('npz', a, a, spec.classes);
  },
  load(spec) {
    const bytes = members(spec.path);
    const now = arraysDigest(bytes);
    if (spec.digest && now !== spec.digest) throw new UserError(`${spec.path} changed since the spec was read (sha256 ${now}, was ${spec.digest}); run again`);
    return Promise.resolve(arraysDataset('npz', parsed(spec.path, bytes), spec.classes, `${resolve(spec.path)} (sha256 ${now})`));
  },
  stats: (raw, spec) => trainingStats(raw, spec.validation),
  cacheSource: (spec) => spec.digest ?? null,
  digest: (spec) => arraysDigest(members(spec.path)),
  identity: ({ path, ...rest }) => (void path, rest),
};
