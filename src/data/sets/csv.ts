import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../util/index.js';
import type { DatasetDef } from '../def.js';
import { trainingStats, type RawDataset, type RawSplit } from '../splits.js';

const fields = {
  path: z
    .strictObject({ train: z.string().min(1), test: z.string().min(1) })
    .describe('the training and test CSV files (a header row, comma-separated, no quoting)'),
  label: z.string().min(1).describe('the column holding the class: integers from 0, or class names (sorted names become 0, 1, …)'),
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'a sha256 in hex')
    .optional()
    .describe('sha256 of the two files, filled in when the spec loads (give it to pin the data); enters the identity instead of path'),
};
type CsvSpec = { path: { train: string; test: string }; label: string };

const SPLITS = ['train', 'test'] as const;

interface Table {
  readonly file: string;
  readonly header: string[];
  readonly rows: string[][];
}

/** @throws UserError naming the file and line when it is missing or ragged */
function readTable(file: string): Table {
  const abs = resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new UserError(`data.path: ${file} is not a file; give the CSV files as {"train": FILE, "test": FILE}`);
  const lines = readFileSync(abs, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const header = lines[0].split(',').map((s) => s.trim());
  const rows: string[][] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split(',').map((s) => s.trim());
    if (cells.length !== header.length)
      throw new UserError(`${abs} line ${i + 1}: ${cells.length} cells, the header has ${header.length}; give every row one value per column`);
    rows.push(cells);
  }
  if (rows.length === 0) throw new UserError(`${abs} has no data rows; give a header row and one row per example`);
  return { file: abs, header, rows };
}

function parse(spec: CsvSpec): { tables: Record<(typeof SPLITS)[number], Table>; classes: string[]; numeric: boolean; labelAt: number } {
  const tables = { train: readTable(spec.path.train), test: readTable(spec.path.test) };
  const labelAt = tables.train.header.indexOf(spec.label);
  if (labelAt < 0)
    throw new UserError(
      `data.label "${spec.label}" is not a column of ${tables.train.file} (columns: ${tables.train.header.join(', ')}); name the label column`,
    );
  if (tables.test.header.join() !== tables.train.header.join())
    throw new UserError(`${tables.test.file}: columns ${tables.test.header.join(', ')} differ from ${tables.train.file}'s; give both files the same header`);
  const labels = SPLITS.flatMap((s) => tables[s].rows.map((r) => r[labelAt]));
  const numeric = labels.every((l) => /^\d+$/.test(l));
  const classes = numeric ? [] : [...new Set(tables.train.rows.map((r) => r[labelAt]))].sort();
  return { tables, classes, numeric, labelAt };
}

function split(t: Table, labelAt: number, numeric: boolean, classes: readonly string[]): RawSplit {
  const f = t.header.length - 1;
  const x = new Float32Array(t.rows.length * f);
  const y = new Uint8Array(t.rows.length);
  t.rows.forEach((r, i) => {
    let k = 0;
    r.forEach((cell, c) => {
      if (c === labelAt) return;
      const v = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(v))
        throw new UserError(
          `${t.file} line ${i + 2}, column "${t.header[c]}": "${cell}" is not a number; give numeric feature values (only the label column may hold names)`,
        );
      x[i * f + k++] = v;
    });
    const l = r[labelAt];
    const cls = numeric ? Number(l) : classes.indexOf(l);
    if (cls < 0) throw new UserError(`${t.file} line ${i + 2}: class "${l}" does not occur in the training file; use the training file's class names`);
    if (cls > 255) throw new UserError(`${t.file} line ${i + 2}: label ${l} is out of range: labels must be in [0, 256); renumber the classes from 0`);
    y[i] = cls;
  });
  return { x, y, n: t.rows.length };
}

function load(spec: CsvSpec): RawDataset {
  const { tables, classes, numeric, labelAt } = parse(spec);
  const train = split(tables.train, labelAt, numeric, classes);
  const test = split(tables.test, labelAt, numeric, classes);
  const f = tables.train.header.length - 1;
  let max = 0;
  for (const s of [train, test]) for (const v of s.y) max = Math.max(max, v);
  return {
    name: 'csv',
    inputShape: [f],
    channels: f,
    numClasses: numeric ? max + 1 : classes.length,
    train,
    test,
    source: `${tables.train.file}, ${tables.test.file}`,
  };
}

const digestOf = (spec: CsvSpec) => {
  const h = createHash('sha256');
  for (const s of SPLITS) {
    const b = readFileSync(resolve(spec.path[s]));
    h.update(`${s}\0${b.length}\0`).update(b);
  }
  return h.digest('hex');
};

/**
 * Two CSV files with a header row: numeric feature columns plus a label column (integers from 0,
 * or class names, numbered in sorted order of the training file's names). Examples are [features]
 * vectors; normalize "dataset" = per-column mean and std of the training examples.
 */
export const csv: DatasetDef<'csv', typeof fields> = {
  name: 'csv',
  help: 'your own table: data.path = {"train": FILE, "test": FILE}, CSV with a header row; data.label = the class column (integers or names), the other columns numeric features',
  fields,
  meta(spec) {
    // every cell is checked here, so a bad one is refused before any work
    const raw = load(spec);
    return { name: 'csv', inputShape: raw.inputShape, channels: raw.channels, numClasses: raw.numClasses, trainN: raw.train.n, testN: raw.test.n };
  },
  load(spec) {
    const now = digestOf(spec);
    if (spec.digest && now !== spec.digest) throw new UserError(`the CSV files changed since the spec was read (sha256 ${now}, was ${spec.digest}); run again`);
    return Promise.resolve(load(spec));
  },
  stats: (raw, spec) => trainingStats(raw, spec.validation),
  cacheSource: (spec) => spec.digest ?? null,
  digest: digestOf,
  identity: ({ path, ...rest }) => (void path, rest),
};
